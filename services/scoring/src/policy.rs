//! Who may call which scoring RPC. Team membership and the SCR lead's role are
//! checked per review by the use cases.

use scir_kit::auth::Role;

const TEAM: &[Role] = &[Role::Reviewer, Role::ScrLead, Role::Admin];
const READERS: &[Role] = &[Role::Reviewer, Role::ScrLead, Role::Admin, Role::Analyst];

scir_kit::method_rules!("scir.scoring.v1.ScoringService", {
    "ListInstruments" => &Role::ALL,
    "GetInstrument" => &Role::ALL,
    "SubmitRatings" => &[Role::Reviewer],
    "ListRatings" => TEAM,
    "GetScoringStatus" => TEAM,
    "GetAgreement" => READERS,
    "RecordConsensus" => &[Role::ScrLead, Role::Admin],
    "GetConsensusProfile" => READERS,
    "WatchEvents" => &[Role::Service],
});
