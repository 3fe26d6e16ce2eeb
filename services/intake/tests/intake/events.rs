//! The event log replays from a cursor, then follows live.

use std::time::Duration;

use prost::Message;
use scir_kit::auth::Role;
use scir_proto::common::v1::WatchEventsRequest;
use scir_proto::intake::v1 as pb;
use scir_testkit::Backend;
use scir_testkit::fixtures::wisconsin_death;
use tokio_stream::StreamExt;
use tonic::Code;

use super::harness::{TestIntake, collect_events, replay_all, report};

scir_testkit::on_both_backends!(events_replay_from_a_cursor_and_follow_live);

async fn events_replay_from_a_cursor_and_follow_live(backend: Backend) {
    let intake = TestIntake::start(backend).await;
    let mut reporter = intake.reporter();
    let mut names = Vec::new();
    for i in 0..3 {
        let r = reporter
            .report_incident(report(&format!("ev-{i}"), wisconsin_death()))
            .await
            .expect("report");
        names.push(r.into_inner().name);
    }
    let mut service = intake.client(&[Role::Service], "scir");
    let replay = |after_cursor| WatchEventsRequest {
        after_cursor,
        types: vec![],
        stop_at_end: true,
    };

    let all: Vec<_> = collect_events(&mut service, replay(0)).await;
    assert_eq!(all.len(), 3);
    assert!(all.windows(2).all(|w| w[0].cursor < w[1].cursor));
    assert_eq!(
        all.iter().map(|e| e.subject.clone()).collect::<Vec<_>>(),
        names
    );
    assert!(
        all.iter()
            .all(|e| e.r#type == "scir.intake.v1.IncidentReported" && e.jurisdiction == "us-wi")
    );
    let payload = all[0].payload.as_ref().expect("payload");
    assert_eq!(
        payload.type_url,
        "type.googleapis.com/scir.intake.v1.IncidentReported"
    );
    let body = pb::IncidentReported::decode(payload.value.as_slice()).expect("decodes");
    let incident = body.incident.expect("incident");
    assert_eq!(incident.name, names[0]);
    assert!(
        incident.reported_by.is_empty(),
        "worker identities stay out of events"
    );

    let rest: Vec<_> = collect_events(&mut service, replay(all[0].cursor)).await;
    assert_eq!(
        rest.iter().map(|e| e.cursor).collect::<Vec<_>>(),
        all[1..].iter().map(|e| e.cursor).collect::<Vec<_>>()
    );

    let filtered = WatchEventsRequest {
        after_cursor: 0,
        types: vec!["scir.intake.v1.IncidentAmended".into()],
        stop_at_end: true,
    };
    let none: Vec<_> = collect_events(&mut service, filtered).await;
    assert!(none.is_empty());

    let negative = WatchEventsRequest {
        after_cursor: -1,
        ..Default::default()
    };
    assert_eq!(
        service
            .watch_events(negative)
            .await
            .expect_err("negative")
            .code(),
        Code::InvalidArgument
    );

    // Follow live: a new report arrives on an open stream.
    let live = WatchEventsRequest {
        after_cursor: all[2].cursor,
        types: vec![],
        stop_at_end: false,
    };
    let mut stream = service
        .watch_events(live)
        .await
        .expect("watch")
        .into_inner();
    let fresh = reporter
        .report_incident(report("ev-live", wisconsin_death()))
        .await
        .expect("report")
        .into_inner();
    let next = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("live event in time");
    let next = next.expect("stream open").expect("event");
    assert_eq!(next.subject, fresh.name);
    assert_eq!(next.cursor, all[2].cursor + 1);

    // Shutdown ends open streams so the server can drain.
    intake.stop().await;
    let end = tokio::time::timeout(Duration::from_secs(5), stream.next())
        .await
        .expect("stream ends");
    assert!(matches!(end, None | Some(Err(_))));
}

/// The caller's W3C trace context reaches the event and the audit record, so a
/// consumer continues the same trace.
#[tokio::test]
async fn events_and_audit_records_carry_the_callers_trace() {
    let _telemetry =
        scir_kit::telemetry::init("intake-test", &Default::default()).expect("telemetry");
    let intake = TestIntake::start(Backend::Sqlite).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let mut request = tonic::Request::new(report("tr-1", wisconsin_death()));
    request.metadata_mut().insert(
        "traceparent",
        format!("00-{trace_id}-00f067aa0ba902b7-01")
            .parse()
            .expect("header"),
    );
    intake
        .reporter()
        .report_incident(request)
        .await
        .expect("report");

    let events: Vec<_> =
        collect_events(&mut intake.client(&[Role::Service], "scir"), replay_all()).await;
    let traceparent = &events[0].traceparent;
    assert!(
        traceparent.starts_with(&format!("00-{trace_id}-")),
        "{traceparent}"
    );
    assert!(
        !traceparent.contains("00f067aa0ba902b7"),
        "the event names the server's span, a child of the caller's"
    );

    let database = intake.stop().await;
    let db = scir_kit::db::Database::open(&database.url, &Default::default())
        .await
        .expect("open");
    let records = scir_kit::audit::AuditLog::new(db.clone())
        .recent(10)
        .await
        .expect("audit");
    assert!(
        records
            .iter()
            .any(|r| r.trace_id == trace_id && r.record.method.ends_with("ReportIncident"))
    );
    db.close().await;
}
