//! The contract as an integrator meets it with the official clients of another
//! language: `tests/python/*.py` (grpcio, grpcio-reflection,
//! grpcio-health-checking, and plain `requests` over HTTP/JSON;
//! `tests/python/requirements.txt`) against `scir up`; and the survey page in
//! headless Chromium (Selenium, axe-core).

use std::path::Path;
use std::process::Command;

use scir_e2e::processes::Up;
use scir_kit::auth::Role;

/// Runs `tests/python/{script}` with `args` and `env`; its output, if it succeeded.
async fn python(script: &str, args: Vec<String>, env: Vec<(String, String)>) -> String {
    let script = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(script);
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args(args)
            .envs(env)
            .output()
            .expect("python3 runs")
    })
    .await
    .expect("joined");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    println!("{text}");
    text
}

#[tokio::test]
async fn the_official_python_clients_see_each_port_as_it_is() {
    let up = Up::start().await;
    // Every service that publishes events also serves its webhooks.
    let ports = up.services().map(|(service, address)| {
        if service.contains("Insights") || service.contains("Culture") {
            format!("{address}={service}")
        } else {
            format!("{address}={service},{}", scir_kit::webhooks::SERVICE_NAME)
        }
    });
    let text = python("reflection.py", ports.to_vec(), Vec::new()).await;
    assert_eq!(text.matches(" ok (").count(), 6, "{text}");
}

#[tokio::test]
async fn a_whole_journey_over_http_json_with_a_plain_http_client() {
    let up = Up::start().await;
    let mut env: Vec<(String, String)> = up
        .services()
        .map(|(service, address)| {
            let short = service.split('.').nth(1).expect("scir.<service>.v1");
            (
                format!("SCIR_{}", short.to_uppercase()),
                address.to_string(),
            )
        })
        .into_iter()
        .collect();
    let tokens = [
        ("TOKEN_REPORTER", "reporter-http", Role::Reporter, "us-wi"),
        ("TOKEN_LEAD", "lead-http", Role::ScrLead, "us-wi"),
        ("TOKEN_ANALYST", "analyst-http", Role::Analyst, "us-wi"),
        ("TOKEN_OTHER_STATE", "reporter-tn", Role::Reporter, "us-tn"),
    ];
    for (variable, subject, role, jurisdiction) in tokens {
        let token = up
            .signer
            .token(subject, &[role], jurisdiction)
            .expect("token");
        env.push((variable.to_owned(), token));
    }
    let text = python("http_journey.py", Vec::new(), env).await;
    assert!(text.contains("http journey ok"), "{text}");
}

#[tokio::test]
async fn generated_http_requests_never_meet_a_server_error() {
    let up = Up::start().await;
    let addresses: Vec<String> = up
        .services()
        .iter()
        .map(|(_, address)| address.to_string())
        .collect();
    let token = up
        .signer
        .token(
            "fuzzer",
            &[
                Role::Reporter,
                Role::ScrLead,
                Role::Reviewer,
                Role::Analyst,
                Role::Admin,
            ],
            "us-wi",
        )
        .expect("token");
    let text = python("fuzz_http.py", addresses, vec![("TOKEN".to_owned(), token)]).await;
    assert!(text.contains("fuzz ok"), "{text}");
}

/// The survey answer page as respondents meet it, in headless Chromium
/// (`tests/python/survey_browser.py`, Selenium with axe-core): without
/// JavaScript, by keyboard alone at 320 px, and audited for accessibility on
/// every page. Screenshots go to `SCIR_SCREENSHOTS` when it is set.
#[tokio::test]
async fn the_survey_page_in_a_real_browser() {
    use scir_proto::culture::v1 as culture;
    let up = Up::start().await;
    let admin = up
        .driver()
        .caller("survey-admin", &[Role::Admin], "us-wi")
        .expect("caller");
    let today = chrono::Utc::now().date_naive();
    let wave = admin
        .culture()
        .create_survey_wave(culture::CreateSurveyWaveRequest {
            parent: "jurisdictions/us-wi".into(),
            survey_wave: Some(culture::SurveyWave {
                title: "Spring survey, Dane County".into(),
                instrument: "surveyInstruments/scir-culture-shape/versions/1.0".into(),
                units: vec![culture::OrganisationalUnit {
                    id: "intake-team".into(),
                    title: "Intake team".into(),
                    ..Default::default()
                }],
                open_date: Some(scir_kit::validate::from_date(today)),
                close_date: Some(scir_kit::validate::from_date(today + chrono::Days::new(14))),
                ..Default::default()
            }),
        })
        .await
        .expect("wave")
        .into_inner();
    let codes = admin
        .culture()
        .issue_invitations(culture::IssueInvitationsRequest {
            wave: wave.name.clone(),
            unit: "intake-team".into(),
            count: 3,
        })
        .await
        .expect("codes")
        .into_inner()
        .codes;
    let mut args = vec![up.endpoints.culture.clone()];
    args.extend(codes);
    let env = std::env::var("SCIR_SCREENSHOTS")
        .map(|dir| vec![("SCREENSHOTS".to_owned(), dir)])
        .unwrap_or_default();
    let text = python("survey_browser.py", args, env).await;
    for page in [
        "code entry",
        "form",
        "confirmation",
        "code that cannot be used",
    ] {
        assert!(
            text.contains(&format!("axe {page}:")),
            "{page} audited: {text}"
        );
    }
    let after = admin
        .culture()
        .get_survey_wave(culture::GetSurveyWaveRequest { name: wave.name })
        .await
        .expect("wave")
        .into_inner();
    assert_eq!(after.responses, 3, "three respondents, three responses");
}
