//! Who may call which intake RPC. The one table the auth layer checks; an RPC
//! missing here is denied to everyone.

use scir_kit::auth::{MethodRule, Role};

/// Full gRPC paths of intake's RPCs.
pub mod method {
    /// `ReportIncident`.
    pub const REPORT_INCIDENT: &str = "/scir.intake.v1.IntakeService/ReportIncident";
    /// `GetIncident`.
    pub const GET_INCIDENT: &str = "/scir.intake.v1.IntakeService/GetIncident";
    /// `ListIncidents`.
    pub const LIST_INCIDENTS: &str = "/scir.intake.v1.IntakeService/ListIncidents";
    /// `AmendIncident`.
    pub const AMEND_INCIDENT: &str = "/scir.intake.v1.IntakeService/AmendIncident";
    /// `EvaluateEligibility`.
    pub const EVALUATE_ELIGIBILITY: &str = "/scir.intake.v1.IntakeService/EvaluateEligibility";
    /// `ListRuleSets`.
    pub const LIST_RULE_SETS: &str = "/scir.intake.v1.IntakeService/ListRuleSets";
    /// `GetRuleSet`.
    pub const GET_RULE_SET: &str = "/scir.intake.v1.IntakeService/GetRuleSet";
    /// `ListJurisdictions`.
    pub const LIST_JURISDICTIONS: &str = "/scir.intake.v1.IntakeService/ListJurisdictions";
    /// `WatchEvents`.
    pub const WATCH_EVENTS: &str = "/scir.intake.v1.IntakeService/WatchEvents";
}

const CASE_READERS: &[Role] = &[Role::Reporter, Role::Reviewer, Role::ScrLead, Role::Admin];
const WRITERS: &[Role] = &[Role::Reporter, Role::Admin];

/// Roles that may read restricted identity fields (of their own jurisdiction).
pub const RESTRICTED_READERS: &[Role] = &[Role::Reviewer, Role::ScrLead, Role::Admin];

/// The authorisation table.
pub const RULES: &[MethodRule] = &[
    MethodRule {
        method: method::REPORT_INCIDENT,
        roles: WRITERS,
    },
    MethodRule {
        method: method::GET_INCIDENT,
        roles: CASE_READERS,
    },
    MethodRule {
        method: method::LIST_INCIDENTS,
        roles: CASE_READERS,
    },
    MethodRule {
        method: method::AMEND_INCIDENT,
        roles: WRITERS,
    },
    MethodRule {
        method: method::EVALUATE_ELIGIBILITY,
        roles: CASE_READERS,
    },
    MethodRule {
        method: method::LIST_RULE_SETS,
        roles: &Role::ALL,
    },
    MethodRule {
        method: method::GET_RULE_SET,
        roles: &Role::ALL,
    },
    MethodRule {
        method: method::LIST_JURISDICTIONS,
        roles: &Role::ALL,
    },
    MethodRule {
        method: method::WATCH_EVENTS,
        roles: &[Role::Service],
    },
];
