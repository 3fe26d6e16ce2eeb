//! Who may call which insights RPC. Scopes (own jurisdiction or pooled) are
//! checked by the use cases.

use scir_kit::auth::{MethodRule, Role};

const ASKERS: &[Role] = &[Role::Analyst, Role::Admin, Role::Partner];

/// The authorisation table.
pub const RULES: &[MethodRule] = &[
    MethodRule {
        method: "/scir.insights.v1.InsightsService/Ask",
        roles: ASKERS,
    },
    MethodRule {
        method: "/scir.insights.v1.InsightsService/ExportCsv",
        roles: ASKERS,
    },
    MethodRule {
        method: "/scir.insights.v1.InsightsService/RenderChart",
        roles: ASKERS,
    },
    MethodRule {
        method: "/scir.insights.v1.InsightsService/GetOperationalView",
        roles: &[Role::Analyst, Role::Admin],
    },
];

/// The full path of a method, for audit records.
pub fn method(name: &str) -> String {
    format!("/scir.insights.v1.InsightsService/{name}")
}
