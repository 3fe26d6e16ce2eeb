//! `scir bench propagation`: how long an incident takes to reach the services
//! downstream. Reports go to intake on a fixed schedule (open loop); for each
//! that opens a practice review, the time from `ReportIncident` returning to
//! review's `ReviewOpened` event reaching a watcher (the review exists: the
//! event commits with it), and to insights counting the review in the
//! jurisdiction's operational view (polled every few milliseconds).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use prost::Message;
use scir_kit::auth::Role;
use scir_proto::common::v1::WatchEventsRequest;
use scir_proto::insights::v1 as insights;
use scir_proto::intake::v1::{self as intake, EligibilityOutcome};
use scir_proto::review::v1::ReviewOpened;
use tokio_stream::StreamExt;

use crate::connect::{Caller, Channels, Signer};
use crate::drive::{RunArgs, micros, quantile_ms};

/// How often insights is asked whether it counts the new reviews.
const POLL: Duration = Duration::from_millis(5);

/// How long after the last report the downstream services may take.
const GRACE: Duration = Duration::from_secs(5);

/// Options of `scir bench propagation`.
#[derive(Debug, Clone, clap::Args)]
pub struct PropagationArgs {
    /// Incidents reported per second.
    #[arg(long, default_value_t = 100.0)]
    pub rate: f64,
    /// Duration, services, tokens, output.
    #[command(flatten)]
    pub run: RunArgs,
}

/// Latencies of one hop, in milliseconds.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Hop {
    /// Reviews measured.
    pub measured: usize,
    /// Reviews that did not arrive within the grace period.
    pub missing: usize,
    /// p50, p90, p99 and the largest.
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Largest.
    pub max_ms: f64,
}

impl Hop {
    fn from(mut latencies: Vec<u64>, missing: usize) -> Self {
        latencies.sort_unstable();
        Self {
            measured: latencies.len(),
            missing,
            p50_ms: quantile_ms(&latencies, 0.5),
            p90_ms: quantile_ms(&latencies, 0.9),
            p99_ms: quantile_ms(&latencies, 0.99),
            max_ms: quantile_ms(&latencies, 1.0),
        }
    }
}

/// What a run measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Outcome {
    /// Reports answered OK per second while measuring.
    pub reported_per_second: f64,
    /// Reports that failed, by gRPC code.
    pub failures: HashMap<String, u64>,
    /// From the report returning to the review existing.
    pub to_review: Hop,
    /// From the report returning to insights counting the review.
    pub to_insights: Hop,
}

#[derive(Debug, Default)]
struct Seen {
    /// Incident name -> when its report returned, for measured practice reviews.
    returned: HashMap<String, Instant>,
    /// Incident name -> when its review's opening was seen.
    opened: HashMap<String, Instant>,
    /// Incidents in the order their reviews opened.
    order: Vec<String>,
    /// (reviews counted by insights, when first seen).
    counted: Vec<(i64, Instant)>,
    failures: HashMap<String, u64>,
    ok: u64,
}

fn lock(seen: &Mutex<Seen>) -> std::sync::MutexGuard<'_, Seen> {
    seen.lock().unwrap_or_else(|e| e.into_inner())
}

async fn counted(analyst: &Caller) -> anyhow::Result<i64> {
    let view = analyst
        .insights()
        .get_operational_view(insights::GetOperationalViewRequest {
            jurisdiction: "jurisdictions/us-wi".into(),
        })
        .await?
        .into_inner();
    Ok(view.stages.iter().map(|s| s.reviews).sum())
}

/// Runs the benchmark against the services `args` names.
pub async fn measure(args: &PropagationArgs, signer: &Signer) -> anyhow::Result<Outcome> {
    anyhow::ensure!(args.rate > 0.0, "--rate must be positive");
    let channels = Channels::new(&args.run.endpoints)?;
    let reporter = signer.caller(&channels, "bench-reporter", &[Role::Reporter], "us-wi")?;
    let watcher = signer.caller(&channels, "bench-watcher", &[Role::Service], "us-wi")?;
    let analyst = signer.caller(&channels, "bench-analyst", &[Role::Analyst], "us-wi")?;
    let seen = Arc::new(Mutex::new(Seen::default()));

    // Follow review's events from the end of its log as it is now.
    let mut last = 0;
    let mut replay = watcher
        .review()
        .watch_events(WatchEventsRequest {
            after_cursor: 0,
            types: vec!["scir.review.v1.ReviewOpened".into()],
            stop_at_end: true,
        })
        .await?
        .into_inner();
    while let Some(event) = replay.next().await {
        last = event?.cursor;
    }
    let mut stream = watcher
        .review()
        .watch_events(WatchEventsRequest {
            after_cursor: last,
            types: vec!["scir.review.v1.ReviewOpened".into()],
            stop_at_end: false,
        })
        .await?
        .into_inner();
    let follow = {
        let seen = seen.clone();
        tokio::spawn(async move {
            while let Some(Ok(event)) = stream.next().await {
                let now = Instant::now();
                let Some(payload) = event.payload else {
                    continue;
                };
                if let Ok(opened) = ReviewOpened::decode(payload.value.as_slice()) {
                    let mut seen = lock(&seen);
                    seen.opened.insert(opened.incident.clone(), now);
                    seen.order.push(opened.incident);
                }
            }
        })
    };
    let base = counted(&analyst).await?;
    let poll = {
        let (seen, analyst) = (seen.clone(), analyst.clone());
        tokio::spawn(async move {
            let mut last = base;
            loop {
                if let Ok(count) = counted(&analyst).await
                    && count != last
                {
                    lock(&seen).counted.push((count, Instant::now()));
                    last = count;
                }
                tokio::time::sleep(POLL).await;
            }
        })
    };

    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let payloads: Arc<Vec<intake::IncidentFacts>> =
        Arc::new((0..512).map(crate::loadgen::facts).collect());
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let start = Instant::now();
    let (measure_from, end) = args.run.window(start);
    let mut due = start;
    let mut n = 0u64;
    let mut tasks = tokio::task::JoinSet::new();
    while due < end {
        tokio::time::sleep_until(due.into()).await;
        let (reporter, seen, payloads) = (reporter.clone(), seen.clone(), payloads.clone());
        let measured = due >= measure_from;
        tasks.spawn(async move {
            let result = reporter
                .intake()
                .report_incident(intake::ReportIncidentRequest {
                    request_id: format!("propagation-{run}-{n}"),
                    incident: Some(payloads[(n % 512) as usize].clone()),
                })
                .await;
            let returned = Instant::now();
            let mut seen = lock(&seen);
            match result {
                Ok(incident) => {
                    let incident = incident.into_inner();
                    let review = incident.decision.as_ref().map(|d| d.outcome)
                        == Some(EligibilityOutcome::PracticeReview as i32);
                    if measured {
                        seen.ok += 1;
                        if review {
                            seen.returned.insert(incident.name, returned);
                        }
                    }
                }
                Err(status) if measured => {
                    *seen
                        .failures
                        .entry(format!("{:?}", status.code()))
                        .or_insert(0) += 1;
                }
                Err(_) => {}
            }
        });
        n += 1;
        due += interval;
        while tasks.try_join_next().is_some() {}
    }
    while tasks.join_next().await.is_some() {}

    // Wait for the stragglers, then stop watching.
    let deadline = Instant::now() + GRACE;
    loop {
        let done = {
            let seen = lock(&seen);
            let opened = seen
                .returned
                .keys()
                .all(|incident| seen.opened.contains_key(incident));
            let expected = base + i64::try_from(seen.order.len()).unwrap_or(i64::MAX);
            opened && seen.counted.last().is_some_and(|(c, _)| *c >= expected)
        };
        if done || Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    follow.abort();
    poll.abort();

    let seen = lock(&seen);
    let ms = |from: Instant, to: Instant| micros(to.saturating_duration_since(from));
    let mut to_review = Vec::new();
    let mut review_missing = 0;
    for (incident, returned) in &seen.returned {
        match seen.opened.get(incident) {
            Some(opened) => to_review.push(ms(*returned, *opened)),
            None => review_missing += 1,
        }
    }
    // Insights applies review's events in order: the k-th review opened is
    // counted when the count first reaches base + k.
    let mut to_insights = Vec::new();
    let mut insights_missing = 0;
    for (k, incident) in seen.order.iter().enumerate() {
        let Some(returned) = seen.returned.get(incident) else {
            continue;
        };
        let target = base + i64::try_from(k).unwrap_or(i64::MAX) + 1;
        match seen.counted.iter().find(|(count, _)| *count >= target) {
            Some((_, at)) => to_insights.push(ms(*returned, *at)),
            None => insights_missing += 1,
        }
    }
    Ok(Outcome {
        reported_per_second: seen.ok as f64 / args.run.duration.as_secs_f64(),
        failures: seen.failures.clone(),
        to_review: Hop::from(to_review, review_missing),
        to_insights: Hop::from(to_insights, insights_missing),
    })
}

/// Runs `scir bench propagation` and prints its outcome.
pub async fn run(args: PropagationArgs) -> anyhow::Result<()> {
    let outcome = measure(&args, &args.run.signer()?).await?;
    if args.run.json {
        println!("{}", serde_json::to_string(&outcome)?);
        return Ok(());
    }
    println!(
        "{:.0} reports/s for {} s ({} failed)",
        outcome.reported_per_second,
        args.run.duration.as_secs(),
        outcome.failures.values().sum::<u64>()
    );
    for (name, hop) in [
        ("report -> review exists", &outcome.to_review),
        ("report -> insights counts it", &outcome.to_insights),
    ] {
        println!(
            "{name:<30} {} reviews: p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms; {} missing",
            hop.measured, hop.p50_ms, hop.p90_ms, hop.p99_ms, hop.max_ms, hop.missing
        );
    }
    Ok(())
}
