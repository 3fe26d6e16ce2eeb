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

/// Opens a wave titled `title` in `us-wi` with one unit, and issues `count`
/// codes for it; the wave's name and the codes.
async fn open_wave(up: &Up, title: &str, unit: &str, count: i32) -> (String, Vec<String>) {
    use scir_proto::culture::v1 as culture;
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
                title: title.into(),
                instrument: "surveyInstruments/scir-culture-shape/versions/1.0".into(),
                units: vec![culture::OrganisationalUnit {
                    id: unit.into(),
                    title: format!("The {unit}"),
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
            unit: unit.into(),
            count,
        })
        .await
        .expect("codes")
        .into_inner()
        .codes;
    (wave.name, codes)
}

/// The survey answer page as respondents meet it, in headless Chromium
/// (`tests/python/survey_browser.py`, Selenium with axe-core): without
/// JavaScript, by keyboard alone at 320 px, and audited for accessibility on
/// every page. Screenshots go to `SCIR_SCREENSHOTS` when it is set.
#[tokio::test]
async fn the_survey_page_in_a_real_browser() {
    use scir_proto::culture::v1 as culture;
    let up = Up::start().await;
    let (wave, codes) = open_wave(&up, "Spring survey, Dane County", "intake-team", 3).await;
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
    let admin = up
        .driver()
        .caller("survey-admin", &[Role::Admin], "us-wi")
        .expect("caller");
    let after = admin
        .culture()
        .get_survey_wave(culture::GetSurveyWaveRequest { name: wave })
        .await
        .expect("wave")
        .into_inner();
    assert_eq!(after.responses, 3, "three respondents, three responses");
}

/// The item codes of the active SSIT instrument, for synthetic cases.
async fn instrument_items(up: &Up) -> Vec<String> {
    let driver = up.driver();
    let reader = driver
        .caller("web-reader", &[Role::Reviewer], "us-wi")
        .expect("caller");
    let instrument = driver.active_instrument(&reader).await.expect("instrument");
    instrument
        .domains
        .iter()
        .flat_map(|d| d.items.iter().map(|i| i.code.clone()))
        .collect()
}

/// Reports `us-wi` cases until two reviews are open: the first left as
/// opened (no team, so its guard refuses to advance), the second staffed by
/// its walk (so it advances). Returns their ids and the second's SCR lead.
async fn two_open_reviews(up: &Up) -> (String, String, String) {
    let driver = up.driver();
    let items = instrument_items(up).await;
    let lead = driver
        .caller("web-lead", &[Role::ScrLead], "us-wi")
        .expect("caller");
    let mut ids = Vec::new();
    let mut subject = String::new();
    for mut case in scir::demo::synth::partnership(11, 200, &items) {
        if case.facts.jurisdiction != "us-wi" {
            continue;
        }
        let incident = driver.report(&case).await.expect("reported");
        let eligible = incident.decision.as_ref().map_or(0, |d| d.outcome)
            == scir_proto::intake::v1::EligibilityOutcome::PracticeReview as i32;
        if !eligible {
            continue;
        }
        let review = if ids.is_empty() {
            driver
                .review_of(&lead, "us-wi", &incident.name)
                .await
                .expect("opened")
        } else {
            case.until = scir_proto::review::v1::Stage::Opened;
            subject = case.lead.clone();
            driver.walk(&case, &incident.name).await.expect("staffed")
        };
        ids.push(review.name.rsplit('/').next().expect("id").to_owned());
        if ids.len() == 2 {
            return (ids[0].clone(), ids[1].clone(), subject);
        }
    }
    panic!("fewer than two practice reviews in us-wi among the synthetic cases");
}

/// A survey wave in `us-wi` with six answers from one team, for the console's
/// culture pages.
async fn an_answered_wave(up: &Up) {
    let (_, codes) = open_wave(up, "Console survey", "team-a", 6).await;
    let page: std::net::SocketAddr = up
        .endpoints
        .culture
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    for code in codes {
        let form: String = std::iter::once(format!("code={code}"))
            .chain((1..=18).map(|n| format!("q{n}=4")))
            .collect::<Vec<_>>()
            .join("&");
        let status = scir::survey_page::post(page, &form).await.expect("answer");
        assert_eq!(status, 200);
    }
}

/// An aggregate mapping of Wisconsin being scoped, for the console's pages.
async fn a_mapping_in_wisconsin(up: &Up) {
    use scir_proto::learning::v1 as learning;
    let lead = up
        .driver()
        .caller("web-mapping-lead", &[Role::ScrLead], "us-wi")
        .expect("caller");
    lead.learning()
        .create_aggregate_mapping(learning::CreateAggregateMappingRequest {
            parent: "jurisdictions/us-wi".into(),
            aggregate_mapping: Some(learning::AggregateMapping {
                title: "Safe sleep across cases".into(),
                scope: Some(learning::Scope {
                    theme: scir_proto::review::v1::Theme::SafeSleep as i32,
                    question: learning::Question::WhatFamiliesNeeded as i32,
                    ..Default::default()
                }),
                team: vec![learning::TeamSeat {
                    role: "public health nurse".into(),
                    sector: "health".into(),
                }],
                ..Default::default()
            }),
        })
        .await
        .expect("mapping");
}

/// A safety notice from Tennessee to Wisconsin, for the console's notices.
async fn a_notice_to_wisconsin(up: &Up) {
    use scir_proto::learning::v1 as learning;
    let admin = up
        .driver()
        .caller("web-notice-admin", &[Role::Admin], "us-tn")
        .expect("caller");
    let due = chrono::Utc::now().date_naive() + chrono::Days::new(30);
    admin
        .learning()
        .issue_safety_notice(learning::IssueSafetyNoticeRequest {
            parent: "jurisdictions/us-tn".into(),
            safety_notice: Some(learning::SafetyNotice {
                title: "Safe sleep: share the guidance".into(),
                body: "Check that every home visit leaves the safe sleep guidance behind.".into(),
                theme: scir_proto::review::v1::Theme::SafeSleep as i32,
                recipients: vec!["us-wi".into()],
                response_due: Some(scir_kit::validate::from_date(due)),
                ..Default::default()
            }),
        })
        .await
        .expect("notice");
}

#[tokio::test]
async fn the_web_console_in_a_real_browser() {
    let up = Up::start().await;
    let (refused, advancing, lead) = two_open_reviews(&up).await;
    an_answered_wave(&up).await;
    a_notice_to_wisconsin(&up).await;
    a_mapping_in_wisconsin(&up).await;
    let env = std::env::var("SCIR_SCREENSHOTS")
        .map(|dir| vec![("SCREENSHOTS".to_owned(), dir)])
        .unwrap_or_default();
    let text = python(
        "web_browser.py",
        vec![up.web.clone(), refused, advancing, lead],
        env,
    )
    .await;
    for page in [
        "sign-in",
        "sign-in refused",
        "reviews",
        "review",
        "review refused",
        "review staffed",
        "reviews at 320 px",
        "not found",
        "insights",
        "insights refused",
        "operational view",
        "culture",
        "notice",
        "mappings",
        "mapping",
        "culture trend",
    ] {
        assert!(
            text.contains(&format!("axe {page}:")),
            "{page} audited: {text}"
        );
    }
    assert!(text.contains("forms without their token: 403"), "{text}");
}

/// A practice review of Wisconsin just opened (no team), and a day inside
/// its period under review.
async fn a_fresh_review(up: &Up) -> (String, String) {
    let driver = up.driver();
    let items = instrument_items(up).await;
    let lead = driver
        .caller("web-journey-lead", &[Role::ScrLead], "us-wi")
        .expect("caller");
    for case in scir::demo::synth::partnership(23, 200, &items) {
        if case.facts.jurisdiction != "us-wi" {
            continue;
        }
        let incident = driver.report(&case).await.expect("reported");
        let eligible = incident.decision.as_ref().map_or(0, |d| d.outcome)
            == scir_proto::intake::v1::EligibilityOutcome::PracticeReview as i32;
        if !eligible {
            continue;
        }
        let review = driver
            .review_of(&lead, "us-wi", &incident.name)
            .await
            .expect("opened");
        let end = review.period_end.as_ref().expect("period");
        let day = scir_kit::validate::to_date(end).expect("date") - chrono::Days::new(20);
        let id = review.name.rsplit('/').next().expect("id").to_owned();
        return (id, day.to_string());
    }
    panic!("no practice review in us-wi among the synthetic cases");
}

#[tokio::test]
async fn a_whole_review_in_the_web_console() {
    let up = Up::start().await;
    let (review, day) = a_fresh_review(&up).await;
    let env = std::env::var("SCIR_SCREENSHOTS")
        .map(|dir| vec![("SCREENSHOTS".to_owned(), dir)])
        .unwrap_or_default();
    let text = python(
        "web_review_journey.py",
        vec![up.web.clone(), review, day],
        env,
    )
    .await;
    for page in [
        "review opened",
        "episodes",
        "episode edited",
        "debriefings",
        "key observations",
        "ssit rating",
        "ssit blind",
        "ssit consensus",
        "systems maps",
        "learning opportunities",
        "recommendations",
        "review final",
    ] {
        assert!(
            text.contains(&format!("axe {page}:")),
            "{page} audited: {text}"
        );
    }
    assert!(text.contains("finalised by the console"), "{text}");
}
