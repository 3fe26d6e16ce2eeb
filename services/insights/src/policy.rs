//! Who may call which insights RPC. Scopes (own jurisdiction or pooled) are
//! checked by the use cases.

use scir_kit::auth::Role;

const ASKERS: &[Role] = &[Role::Analyst, Role::Admin, Role::Partner];

scir_kit::method_rules!("scir.insights.v1.InsightsService", {
    "Ask" => ASKERS,
    "ExportCsv" => ASKERS,
    "RenderChart" => ASKERS,
    "GetOperationalView" => &[Role::Analyst, Role::Admin],
});
