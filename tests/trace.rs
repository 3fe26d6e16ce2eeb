//! One incident's journey is one trace across every service: the report
//! (intake), the review opened from intake's event (review), the scoring call
//! the review's stage guard makes (scoring), the projection of review's and
//! scoring's events (insights), and learning asking review about a review's
//! learning opportunities (learning), and the lead's survey waves (culture).
//! Every service also exports its call and consumer-lag metrics.

use std::collections::BTreeSet;
use std::time::Duration;

use scir_e2e::cases::wisconsin_case;
use scir_e2e::processes::{Stack, Telemetry};
use scir_kit::auth::Role;
use scir_otlp_sink::{Receiver, Span};
use scir_testkit::Backend;

fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("randomness");
    hex::encode(buffer)
}

fn has(spans: &[Span], service: &str, what: impl Fn(&Span) -> bool) -> bool {
    spans.iter().any(|s| s.service == service && what(s))
}

fn attribute<'a>(span: &'a Span, key: &str) -> Option<&'a str> {
    span.attributes
        .iter()
        .find(|(k, _)| k == key)
        .map(|(_, v)| v.as_str())
}

#[tokio::test]
async fn one_incident_is_one_trace_across_every_service() {
    let receiver = Receiver::start().await;
    let stack = Stack::start(
        Backend::Sqlite,
        &Telemetry {
            otlp_endpoint: Some(receiver.endpoint.clone()),
        },
    )
    .await;
    let trace_id = random_hex(16);
    let traceparent = format!("00-{trace_id}-{}-01", random_hex(8));
    let driver = stack.driver().in_trace(&traceparent);
    let lead = driver
        .caller("lead-e2e", &[Role::ScrLead], "us-wi")
        .expect("caller");
    let instrument = driver.active_instrument(&lead).await.expect("instrument");
    let outcome = driver
        .run(&wisconsin_case("trace-1", &instrument))
        .await
        .expect("journey");
    assert!(outcome.review.is_some());
    // One call that fails, so review has an error to count.
    let missing = lead
        .review()
        .get_review(scir_proto::review::v1::GetReviewRequest {
            name: "jurisdictions/us-wi/reviews/00000000-0000-7000-8000-000000000000".into(),
        })
        .await
        .expect_err("no such review");
    assert_eq!(missing.code(), tonic::Code::NotFound);
    // Learning asks review about the review's opportunities on the lead's
    // behalf, in the same trace (this one is not final, so it is refused).
    let review_name = outcome.review.as_ref().expect("review").name.clone();
    let refused = lead
        .learning()
        .create_aggregate_mapping(scir_proto::learning::v1::CreateAggregateMappingRequest {
            parent: "jurisdictions/us-wi".into(),
            aggregate_mapping: Some(scir_proto::learning::v1::AggregateMapping {
                title: "Traced".into(),
                scope: Some(scir_proto::learning::v1::Scope {
                    learning_opportunities: vec![format!(
                        "{review_name}/learningOpportunities/00000000-0000-7000-8000-000000000001"
                    )],
                    ..Default::default()
                }),
                ..Default::default()
            }),
        })
        .await
        .expect_err("not a finalised review");
    assert_eq!(refused.code(), tonic::Code::InvalidArgument);
    lead.culture()
        .list_survey_waves(scir_proto::culture::v1::ListSurveyWavesRequest {
            parent: "jurisdictions/us-wi".into(),
        })
        .await
        .expect("survey waves");
    // The answer page, counted by status only.
    let culture = stack.address(scir_e2e::processes::Service::Culture);
    let status = scir::survey_page::get(culture, "/survey")
        .await
        .expect("page");
    assert_eq!(status, 200);

    let reached = |spans: &[Span]| {
        let spans: Vec<Span> = spans
            .iter()
            .filter(|s| s.trace_id == trace_id)
            .cloned()
            .collect();
        [
            has(&spans, "scir-intake", |s| {
                s.name == "scir.intake.v1.IntakeService/ReportIncident"
            }),
            has(&spans, "scir-review", |s| {
                s.name == "event.apply" && attribute(s, "source") == Some("intake")
            }),
            has(&spans, "scir-scoring", |s| {
                s.name == "scir.scoring.v1.ScoringService/GetScoringStatus"
            }),
            has(&spans, "scir-insights", |s| {
                s.name == "event.apply" && attribute(s, "source") == Some("review")
            }),
            has(&spans, "scir-insights", |s| {
                s.name == "event.apply" && attribute(s, "source") == Some("scoring")
            }),
            has(&spans, "scir-learning", |s| {
                s.name == "scir.learning.v1.LearningService/CreateAggregateMapping"
            }),
            has(&spans, "scir-culture", |s| {
                s.name == "scir.culture.v1.CultureService/ListSurveyWaves"
            }),
        ]
    };
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let seen = reached(&receiver.spans());
        if seen.iter().all(|s| *s) {
            break;
        }
        if tokio::time::Instant::now() > deadline {
            let services: BTreeSet<(String, String)> = receiver
                .spans()
                .into_iter()
                .filter(|s| s.trace_id == trace_id)
                .map(|s| (s.service, s.name))
                .collect();
            panic!(
                "the trace did not reach every step \
                 [intake report, review apply, scoring guard call, insights apply review, insights apply scoring, \
                 learning create, culture list] = {seen:?}; \
                 spans of the trace: {services:#?}"
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // Spans of other traces exist (health checks, consumers' own calls), so the
    // trace id really selects.
    assert!(receiver.spans().iter().any(|s| s.trace_id != trace_id));

    let expected = [
        ("scir-intake", "rpc.server.calls"),
        ("scir-intake", "rpc.server.call.duration"),
        ("scir-review", "rpc.server.errors"),
        ("scir-review", "scir.events.consumer.lag"),
        ("scir-scoring", "scir.events.consumer.lag"),
        ("scir-insights", "scir.events.consumer.lag"),
        ("scir-insights", "scir.events.consumer.applied"),
        ("scir-learning", "rpc.server.calls"),
        ("scir-culture", "rpc.server.calls"),
        ("scir-culture", "scir.pages.responses"),
    ];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let metrics: BTreeSet<(String, String)> = receiver
            .metrics()
            .into_iter()
            .map(|m| (m.service, m.name))
            .collect();
        let missing: Vec<_> = expected
            .iter()
            .filter(|(s, n)| !metrics.contains(&(s.to_string(), n.to_string())))
            .collect();
        if missing.is_empty() {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "metrics missing: {missing:?}; received {metrics:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// A click in the web console is one trace: the console's page span, and the
/// review service's span of the call the page made with the person's token,
/// under the trace the request named.
#[tokio::test]
async fn a_click_in_the_web_console_is_one_trace() {
    let receiver = Receiver::start().await;
    let up = scir_e2e::processes::Up::start_with(&[(
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        receiver.endpoint.clone(),
    )])
    .await;
    let web: std::net::SocketAddr = up
        .web
        .trim_start_matches("http://")
        .parse()
        .expect("address");
    let cookies = scir::web_bench::sign_in(web, "trace-lead", "us-wi", &[Role::ScrLead])
        .await
        .expect("signed in");
    let trace_id = random_hex(16);
    let traceparent = format!("00-{trace_id}-{}-01", random_hex(8));
    let page = scir::survey_page::exchange_with(
        web,
        "GET",
        "/",
        &cookies,
        "",
        &[("traceparent", &traceparent)],
    )
    .await
    .expect("the reviews page");
    assert_eq!(page.status, 200, "{}", page.body);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let spans: Vec<Span> = receiver
            .spans()
            .into_iter()
            .filter(|s| s.trace_id == trace_id)
            .collect();
        let clicked = spans.iter().any(|s| s.name == "web.page");
        let listed = spans.iter().any(|s| {
            attribute(s, "rpc.service") == Some("scir.review.v1.ReviewService")
                && attribute(s, "rpc.method") == Some("ListReviews")
        });
        if clicked && listed {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the click's trace: {:?}",
            spans.iter().map(|s| s.name.as_str()).collect::<Vec<_>>()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
