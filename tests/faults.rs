//! Faults across the real binaries: a service killed (SIGKILL) while it takes
//! reports or consumes events, a consumer cut off from its source, and the
//! database going away under load. Nothing that was answered OK is lost, every
//! event takes effect once, callers get UNAVAILABLE (never a hang), and health
//! follows the database.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use scir::connect::Caller;
use scir_e2e::processes::{Process, Service, Stack, Telemetry, address_of, binary, listener};
use scir_kit::auth::Role;
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1 as review;
use scir_testkit::Backend;
use scir_testkit::fixtures::wisconsin_death;

/// No call may take longer than this, whatever is down.
const NO_HANG: Duration = Duration::from_secs(10);

fn report(id: &str) -> intake::ReportIncidentRequest {
    intake::ReportIncidentRequest {
        request_id: id.to_owned(),
        incident: Some(wisconsin_death()),
    }
}

/// What a stream of reports saw: the incidents answered OK, by request id, and
/// the codes of the calls that failed.
#[derive(Debug, Default)]
struct Outcomes {
    accepted: BTreeMap<String, String>,
    failed: BTreeMap<String, usize>,
}

/// Reports from `clients` tasks until `stop`; each call bounded by [`NO_HANG`].
async fn report_until(
    caller: &Caller,
    prefix: &str,
    clients: usize,
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicUsize>,
) -> Outcomes {
    let mut tasks = tokio::task::JoinSet::new();
    for client in 0..clients {
        let caller = caller.clone();
        let stop = stop.clone();
        let ok = ok.clone();
        let prefix = prefix.to_owned();
        tasks.spawn(async move {
            let mut outcomes = Outcomes::default();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                n += 1;
                let id = format!("{prefix}-{client}-{n}");
                let mut client = caller.intake();
                let call = client.report_incident(report(&id));
                match tokio::time::timeout(NO_HANG, call).await {
                    Ok(Ok(incident)) => {
                        outcomes.accepted.insert(id, incident.into_inner().name);
                        ok.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(status)) => {
                        *outcomes
                            .failed
                            .entry(format!("{:?}", status.code()))
                            .or_default() += 1;
                        tokio::time::sleep(Duration::from_millis(20)).await;
                    }
                    Err(_) => panic!("a report hung for {NO_HANG:?}"),
                }
            }
            outcomes
        });
    }
    let mut all = Outcomes::default();
    while let Some(done) = tasks.join_next().await {
        let done = done.expect("client task");
        all.accepted.extend(done.accepted);
        for (code, n) in done.failed {
            *all.failed.entry(code).or_default() += n;
        }
    }
    all
}

async fn wait_for(ok: &AtomicUsize, at_least: usize) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while ok.load(Ordering::Relaxed) < at_least {
        assert!(
            tokio::time::Instant::now() < deadline,
            "reports stalled at {}",
            ok.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Every accepted report is there: the same request id gives the same incident.
async fn all_kept(caller: &Caller, accepted: &BTreeMap<String, String>) {
    for (id, name) in accepted {
        let again = caller
            .intake()
            .report_incident(report(id))
            .await
            .unwrap_or_else(|s| panic!("{id}: {s:?}"))
            .into_inner();
        assert_eq!(
            &again.name, name,
            "{id} was answered OK, then lost or replaced"
        );
        caller
            .intake()
            .get_incident(intake::GetIncidentRequest { name: name.clone() })
            .await
            .unwrap_or_else(|s| panic!("{name}: {s:?}"));
    }
}

async fn reports_survive_sigkill(backend: Backend) {
    let mut stack = Stack::start(backend, &Telemetry::default()).await;
    let driver = stack.driver();
    let reporter = driver
        .caller("reporter-kill", &[Role::Reporter], "us-wi")
        .expect("caller");
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let stream = tokio::spawn({
        let (reporter, stop, ok) = (reporter.clone(), stop.clone(), ok.clone());
        // Enough writers at once that SQLite commits them in groups when
        // the kill lands.
        async move { report_until(&reporter, "kill", 16, stop, ok).await }
    });
    wait_for(&ok, 60).await;
    stack.kill(Service::Intake);
    tokio::time::sleep(Duration::from_millis(500)).await;
    stack.restart(Service::Intake).await;
    let before = ok.load(Ordering::Relaxed);
    wait_for(&ok, before + 20).await;
    stop.store(true, Ordering::Relaxed);
    let outcomes = stream.await.expect("stream");
    eprintln!(
        "{backend:?}: {} reports answered OK, failures by code {:?}",
        outcomes.accepted.len(),
        outcomes.failed
    );
    // While intake was gone, calls failed as UNAVAILABLE (or were cut off
    // mid-flight), never hung.
    let unexpected: Vec<_> = outcomes
        .failed
        .keys()
        .filter(|c| !matches!(c.as_str(), "Unavailable" | "Unknown" | "Cancelled"))
        .collect();
    assert!(
        unexpected.is_empty(),
        "unexpected failures: {:?}",
        outcomes.failed
    );
    assert!(
        outcomes.failed.get("Unavailable").copied().unwrap_or(0) > 0,
        "{:?}",
        outcomes.failed
    );
    all_kept(&reporter, &outcomes.accepted).await;
    // A group cut off by the kill left no half of itself in the audit chain.
    let intake_db =
        scir_kit::db::Database::open(&stack.databases[0].url, &scir_kit::db::DbOptions::default())
            .await
            .expect("intake's database");
    let broken = scir_kit::audit::AuditLog::new(intake_db.clone())
        .verify()
        .await
        .expect("verify");
    assert_eq!(broken, None, "intake's audit chain across the kill");
    intake_db.close().await;
    // Every accepted incident opened its review exactly once, across the kill.
    let lead = driver
        .caller("lead-kill", &[Role::ScrLead], "us-wi")
        .expect("caller");
    let opened = reviews_by_incident(&lead, outcomes.accepted.len()).await;
    for name in outcomes.accepted.values() {
        assert_eq!(opened.get(name), Some(&1), "reviews of {name}");
    }
}

/// Reviews of us-wi by incident, once `expected` have opened (at most 30 s).
async fn reviews_by_incident(lead: &Caller, expected: usize) -> BTreeMap<String, usize> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let mut counts = BTreeMap::new();
        let mut page_token = String::new();
        loop {
            let page = lead
                .review()
                .list_reviews(review::ListReviewsRequest {
                    parent: "jurisdictions/us-wi".into(),
                    page_size: 100,
                    page_token,
                    ..Default::default()
                })
                .await
                .expect("list reviews")
                .into_inner();
            for r in page.reviews {
                *counts.entry(r.incident).or_insert(0) += 1;
            }
            if page.next_page_token.is_empty() {
                break;
            }
            page_token = page.next_page_token;
        }
        let total: usize = counts.values().sum();
        if total >= expected || tokio::time::Instant::now() > deadline {
            return counts;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn reports_answered_ok_survive_a_sigkill_on_sqlite() {
    reports_survive_sigkill(Backend::Sqlite).await;
}

#[tokio::test]
async fn reports_answered_ok_survive_a_sigkill_on_postgres() {
    reports_survive_sigkill(Backend::Postgres).await;
}

#[tokio::test]
async fn events_take_effect_once_when_the_consumer_is_killed_mid_stream() {
    let mut stack = Stack::start(Backend::Sqlite, &Telemetry::default()).await;
    let driver = stack.driver();
    let reporter = driver
        .caller("reporter-consumer", &[Role::Reporter], "us-wi")
        .expect("caller");
    let mut names = Vec::new();
    for i in 0..60 {
        if i == 30 {
            // Review is consuming intake's stream right now.
            stack.kill(Service::Review);
        }
        let incident = reporter
            .intake()
            .report_incident(report(&format!("consumer-{i}")))
            .await
            .expect("report")
            .into_inner();
        names.push(incident.name);
    }
    stack.restart(Service::Review).await;
    let lead = driver
        .caller("lead-consumer", &[Role::ScrLead], "us-wi")
        .expect("caller");
    let opened = reviews_by_incident(&lead, names.len()).await;
    for name in &names {
        assert_eq!(
            opened.get(name),
            Some(&1),
            "reviews of {name}: every event applied once"
        );
    }
    assert_eq!(opened.values().sum::<usize>(), names.len());
}

#[tokio::test]
async fn a_consumer_cut_off_from_its_source_catches_up() {
    let mut stack = Stack::start(Backend::Sqlite, &Telemetry::default()).await;
    let driver = stack.driver();
    let reporter = driver
        .caller("reporter-cut", &[Role::Reporter], "us-wi")
        .expect("caller");
    let lead = driver
        .caller("lead-cut", &[Role::ScrLead], "us-wi")
        .expect("caller");
    assert!(stack.terminate(Service::Intake), "intake stops cleanly");
    // Review keeps serving its own data while its source is away.
    tokio::time::sleep(Duration::from_secs(3)).await;
    scir_testkit::wait_serving(stack.address(Service::Review), Service::Review.grpc_name()).await;
    lead.review()
        .list_reviews(review::ListReviewsRequest {
            parent: "jurisdictions/us-wi".into(),
            ..Default::default()
        })
        .await
        .expect("review answers while intake is down");
    stack.restart(Service::Intake).await;
    let mut names = Vec::new();
    for i in 0..5 {
        let incident = reporter
            .intake()
            .report_incident(report(&format!("cut-{i}")))
            .await
            .expect("report")
            .into_inner();
        names.push(incident.name);
    }
    // The consumer reconnects (backing off at most 10 s) and catches up.
    let opened = reviews_by_incident(&lead, names.len()).await;
    for name in &names {
        assert_eq!(opened.get(name), Some(&1), "reviews of {name}");
    }
}

async fn health(address: std::net::SocketAddr, service: &str) -> Option<i32> {
    use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};
    let mut client = HealthClient::new(scir_testkit::channel(address));
    let call = client.check(HealthCheckRequest {
        service: service.to_owned(),
    });
    match tokio::time::timeout(Duration::from_secs(3), call).await {
        Ok(Ok(r)) => Some(r.into_inner().status),
        _ => None,
    }
}

async fn wait_health(address: std::net::SocketAddr, service: &str, status: i32, within: Duration) {
    let deadline = tokio::time::Instant::now() + within;
    loop {
        let now = health(address, service).await;
        if now == Some(status) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "health of {service} stayed {now:?}, not {status}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn the_database_going_away_under_load() {
    use tonic_health::pb::health_check_response::ServingStatus;
    let cluster =
        scir_testkit::postgres::Cluster::start().expect("a PostgreSQL cluster of this test's own");
    let dir = tempfile::tempdir().expect("dir");
    let socket = listener();
    let address = address_of(&socket);
    let env = vec![
        ("SCIR_DATABASE_URL", cluster.url()),
        ("SCIR_JWT_ISSUER", scir_testkit::ISSUER.to_owned()),
        ("SCIR_JWT_AUDIENCE", scir_testkit::AUDIENCE.to_owned()),
        ("SCIR_JWT_HS256_SECRET", scir_testkit::SECRET.to_owned()),
        ("SCIR_DATA_KEYS", scir_testkit::DATA_KEYS.to_owned()),
    ];
    let _intake = Process::start_serving(
        "scir-intake",
        &binary("scir-intake"),
        &[],
        &env,
        dir.path(),
        vec![("intake", socket)],
    );
    let name = Service::Intake.grpc_name();
    scir_testkit::wait_serving(address, name).await;
    let endpoints = scir::connect::Endpoints {
        intake: format!("http://{address}"),
        review: format!("http://{address}"),
        scoring: format!("http://{address}"),
        insights: format!("http://{address}"),
        learning: format!("http://{address}"),
        culture: format!("http://{address}"),
        tls: Default::default(),
    };
    let token = scir_testkit::token_as("reporter-db", &[Role::Reporter], "us-wi");
    let reporter = Caller::new(
        &scir::connect::Channels::new(&endpoints).expect("channels"),
        &token,
    )
    .expect("caller");
    let stop = Arc::new(AtomicBool::new(false));
    let ok = Arc::new(AtomicUsize::new(0));
    let stream = tokio::spawn({
        let (reporter, stop, ok) = (reporter.clone(), stop.clone(), ok.clone());
        async move { report_until(&reporter, "db", 4, stop, ok).await }
    });
    wait_for(&ok, 40).await;

    cluster.stop().expect("stop PostgreSQL");
    wait_health(
        address,
        name,
        ServingStatus::NotServing as i32,
        Duration::from_secs(10),
    )
    .await;
    wait_health(
        address,
        scir_kit::server::LIVENESS_SERVICE,
        ServingStatus::Serving as i32,
        Duration::from_secs(1),
    )
    .await;
    // A call now fails fast with UNAVAILABLE and says when to retry.
    let started = tokio::time::Instant::now();
    let refused = reporter
        .intake()
        .report_incident(report("db-while-down"))
        .await
        .expect_err("no database");
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(started.elapsed() < NO_HANG);
    use tonic_types::StatusExt;
    assert!(
        refused.get_details_retry_info().is_some(),
        "UNAVAILABLE carries RetryInfo: {refused:?}"
    );

    cluster.restart().expect("start PostgreSQL");
    wait_health(
        address,
        name,
        ServingStatus::Serving as i32,
        Duration::from_secs(20),
    )
    .await;
    let before = ok.load(Ordering::Relaxed);
    wait_for(&ok, before + 20).await;
    stop.store(true, Ordering::Relaxed);
    let outcomes = stream.await.expect("stream");
    eprintln!(
        "database restart: {} reports answered OK, failures by code {:?}",
        outcomes.accepted.len(),
        outcomes.failed
    );
    assert!(
        outcomes.failed.keys().all(|c| c == "Unavailable"),
        "while the database was away calls failed only as UNAVAILABLE: {:?}",
        outcomes.failed
    );
    all_kept(&reporter, &outcomes.accepted).await;
}
