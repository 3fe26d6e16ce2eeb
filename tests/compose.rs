//! The journey against the docker compose stack, with the review container
//! stopped in the middle: incidents reported while it is down open their
//! reviews once it is back, each exactly once, and every journey completes.
//!
//! Ignored in the ordinary test run: it needs the stack up. `.ci/compose.sh`
//! brings it up and runs it with `--run-ignored only`, giving
//! `SCIR_COMPOSE` (the compose command, e.g. `docker-compose -p scir-ci`) and
//! `SCIR_COMPOSE_JWT_SECRET`.

use std::process::Command;
use std::time::Duration;

use scir::connect::{Channels, Endpoints, Signer};
use scir::journey::Driver;
use scir_e2e::cases::wisconsin_case;
use scir_kit::auth::Role;
use scir_kit::tls::TlsArgs;
use scir_proto::insights::v1 as insights;
use scir_proto::review::v1::{self as review, Stage};

fn compose(args: &[&str]) {
    let command = std::env::var("SCIR_COMPOSE").expect("SCIR_COMPOSE: the compose command");
    let mut words = command.split_whitespace();
    let program = words.next().expect("a command");
    let status = Command::new(program)
        .args(words)
        .args(args)
        .status()
        .expect("run compose");
    assert!(status.success(), "{command} {args:?} failed");
}

async fn reviews_counted(analyst: &scir::connect::Caller) -> i64 {
    analyst
        .insights()
        .ask(insights::AskRequest {
            question: insights::Question::ThemePrevalence as i32,
            filters: Some(insights::Filters {
                finalised_only: true,
                ..Default::default()
            }),
            ..Default::default()
        })
        .await
        .expect("ask")
        .into_inner()
        .population
        .and_then(|p| p.value)
        .unwrap_or(0)
}

#[tokio::test]
#[ignore = "needs the docker compose stack: .ci/compose.sh runs it"]
async fn the_journey_survives_a_service_restart() {
    let secret = std::env::var("SCIR_COMPOSE_JWT_SECRET").expect("SCIR_COMPOSE_JWT_SECRET");
    let host = std::env::var("SCIR_COMPOSE_HOST").unwrap_or_else(|_| "127.0.0.1".to_owned());
    let endpoints = Endpoints {
        intake: format!("http://{host}:50051"),
        review: format!("http://{host}:50052"),
        scoring: format!("http://{host}:50053"),
        insights: format!("http://{host}:50054"),
        learning: format!("http://{host}:50055"),
        culture: format!("http://{host}:50056"),
        // The stack serves mutual TLS only: the client certificate comes from
        // SCIR_TLS_* (.ci/compose.sh points them at deploy/compose/tls/client/).
        tls: TlsArgs {
            cert: std::env::var_os("SCIR_TLS_CERT").map(Into::into),
            key: std::env::var_os("SCIR_TLS_KEY").map(Into::into),
            ca: std::env::var_os("SCIR_TLS_CA").map(Into::into),
            reload_secs: 30,
        },
    };
    let driver = Driver::new(
        Channels::new(&endpoints).expect("channels"),
        Signer::new(&secret, "scir-dev", "scir"),
    );
    let lead = driver
        .caller("lead-e2e", &[Role::ScrLead], "us-wi")
        .expect("caller");
    let analyst = driver
        .caller("analyst-e2e", &[Role::Analyst], "us-wi")
        .expect("caller");
    let instrument = driver.active_instrument(&lead).await.expect("instrument");
    let before = reviews_counted(&analyst).await;

    // Six incidents; review is stopped after the first three are reported.
    let run = std::process::id();
    let cases: Vec<_> = (0..6)
        .map(|i| wisconsin_case(&format!("compose-{run}-{i}"), &instrument))
        .collect();
    let mut incidents = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        if i == 3 {
            eprintln!("stopping the review container");
            compose(&["stop", "review"]);
        }
        incidents.push(driver.report(case).await.expect("report").name);
    }
    eprintln!("starting the review container again");
    compose(&["start", "review"]);

    // Every journey completes once review is back.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
    for (case, incident) in cases.iter().zip(&incidents) {
        let walked = loop {
            match driver.walk(case, incident).await {
                Ok(r) => break r,
                Err(e) if tokio::time::Instant::now() < deadline => {
                    eprintln!("retrying while the stack settles: {e:#}");
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                Err(e) => panic!("the journey of {incident} did not complete: {e:#}"),
            }
        };
        assert_eq!(walked.stage, Stage::Finalised as i32);
    }

    // One review per incident, no event lost and none applied twice.
    for incident in &incidents {
        let reviews = lead
            .review()
            .list_reviews(review::ListReviewsRequest {
                parent: "jurisdictions/us-wi".into(),
                incident: incident.clone(),
                ..Default::default()
            })
            .await
            .expect("list")
            .into_inner()
            .reviews;
        assert_eq!(reviews.len(), 1, "reviews of {incident}: {reviews:?}");
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let counted = reviews_counted(&analyst).await - before;
        if counted == 6 {
            break;
        }
        assert!(counted < 6, "insights counted {counted} new reviews, not 6");
        assert!(
            tokio::time::Instant::now() < deadline,
            "insights counted {counted} of the 6 final reviews"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

#[tokio::test]
#[ignore = "needs the docker compose stack: .ci/compose.sh runs it"]
async fn the_console_reads_the_reviews_over_mutual_tls() {
    let web: std::net::SocketAddr = "127.0.0.1:50057".parse().expect("address");
    // Development sign-in (the stack's tokens are development HS256); the
    // console's calls to review present the console's own certificate.
    let cookies = scir::web_bench::sign_in(web, "compose-lead", "us-wi", &[Role::ScrLead])
        .await
        .expect("signed in");
    assert!(
        cookies.iter().any(|c| c.starts_with("__Host-scir=")),
        "with mutual TLS to the services the session cookie is Secure: {cookies:?}"
    );
    let page = scir::survey_page::exchange(web, "GET", "/", &cookies, "")
        .await
        .expect("the reviews page");
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains("<h1>Reviews</h1>"), "{}", page.body);
    assert!(page.body.contains("reviews in us-wi"), "{}", page.body);
}
