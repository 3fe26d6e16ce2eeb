//! Who may call which culture RPC. Jurisdiction is checked per wave by the use
//! cases. Respondents call no RPC: they answer on the page, with their code.

use scir_kit::auth::Role;

const READERS: &[Role] = &[Role::Admin, Role::Analyst, Role::ScrLead];
const ADMIN: &[Role] = &[Role::Admin];

scir_kit::method_rules!("scir.culture.v1.CultureService", {
    "ListSurveyInstruments" => READERS,
    "CreateSurveyWave" => ADMIN,
    "GetSurveyWave" => READERS,
    "ListSurveyWaves" => READERS,
    "IssueInvitations" => ADMIN,
    "CloseSurveyWave" => ADMIN,
    "GetSurveyResults" => READERS,
    "GetSurveyTrend" => READERS,
    "ExportSurveyResults" => READERS,
    "RenderSurveyChart" => READERS,
    "WatchEvents" => &[Role::Service],
});
