//! Who may call which learning RPC. Jurisdiction is checked per mapping by the
//! use cases.

use scir_kit::auth::Role;

const RUNS: &[Role] = &[Role::ScrLead, Role::Admin];
const READERS: &[Role] = &[Role::ScrLead, Role::Admin, Role::Reviewer, Role::Analyst];

scir_kit::method_rules!("scir.learning.v1.LearningService", {
    "CreateAggregateMapping" => RUNS,
    "GetAggregateMapping" => READERS,
    "ListAggregateMappings" => READERS,
    "UpdateAggregateMapping" => RUNS,
    "AdvanceAggregateMapping" => RUNS,
    "CreateMappingSession" => RUNS,
    "ListMappingSessions" => READERS,
    "CreateConsideration" => RUNS,
    "UpdateConsideration" => RUNS,
    "ListConsiderations" => READERS,
    "ListOverdueConsiderations" => READERS,
    "IssueSafetyNotice" => &[Role::Admin],
    "GetSafetyNotice" => READERS,
    "ListSafetyNotices" => READERS,
    "RespondToSafetyNotice" => RUNS,
    "WatchEvents" => &[Role::Service],
});
