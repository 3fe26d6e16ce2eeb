//! `scir bench review-updates`: optimistic concurrency on a skewed set of hot
//! reviews. Callers pick a review by a Zipf distribution over `--reviews` of
//! them, read it (`GetReview`, for its etag), and change its period
//! (`UpdateReview` with that etag); a stale etag is ABORTED and the caller
//! waits as the answer suggests (doubling for each race lost in a row), reads
//! again and retries, as a client should. Afterwards every review's
//! history must hold exactly one entry per update that was answered OK: any
//! difference is a lost (or phantom) update.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scir_kit::auth::Role;
use scir_proto::intake::v1::{self as intake, EligibilityOutcome};
use scir_proto::review::v1 as review;
use tonic::Code;

use crate::connect::{Caller, Channels, Signer};
use crate::drive::{RunArgs, micros, quantile_ms};

/// Options of `scir bench review-updates`.
#[derive(Debug, Clone, clap::Args)]
pub struct HotArgs {
    /// Reviews in the hot set.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    pub reviews: u32,
    /// Zipf exponent of the choice among them (0 is uniform; 1.1 sends about a
    /// fifth of the traffic of 50 reviews to the hottest).
    #[arg(long, default_value_t = 1.1)]
    pub skew: f64,
    /// Callers at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// Duration, services, tokens, output.
    #[command(flatten)]
    pub run: RunArgs,
}

/// What a run measured.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Outcome {
    /// Updates answered OK per second while measuring.
    pub updates_per_second: f64,
    /// Update attempts (OK or ABORTED) per second while measuring.
    pub attempts_per_second: f64,
    /// Share of attempts ABORTED for a stale etag.
    pub conflict_share: f64,
    /// Latency of an update from the first read to OK, retries included, in ms.
    pub p50_ms: f64,
    /// 99th percentile of the same.
    pub p99_ms: f64,
    /// Answers other than OK and ABORTED, by code.
    pub errors: BTreeMap<String, u64>,
    /// Updates answered OK over the whole run, warm-up included.
    pub updates_total: u64,
    /// History entries that do not match an OK answer, over every review.
    pub lost_updates: u64,
}

/// A Zipf sampler over `0..n`.
struct Zipf {
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(n: usize, s: f64) -> Self {
        let mut total = 0.0;
        let cumulative = (1..=n)
            .map(|k| {
                total += 1.0 / (k as f64).powf(s);
                total
            })
            .collect();
        Self { cumulative }
    }

    fn pick(&self, uniform: f64) -> usize {
        let target = uniform * self.cumulative.last().copied().unwrap_or(0.0);
        self.cumulative
            .partition_point(|&c| c < target)
            .min(self.cumulative.len() - 1)
    }
}

/// SplitMix64, one per caller.
struct Rng(u64);

impl Rng {
    fn uniform(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Reports incidents until `count` of them open practice reviews, and returns
/// the reviews' names once review has opened them all.
async fn hot_set(reporter: &Caller, lead: &Caller, count: usize) -> anyhow::Result<Vec<String>> {
    let run = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_millis();
    let mut incidents = Vec::new();
    let mut n = 0u64;
    while incidents.len() < count {
        let incident = reporter
            .intake()
            .report_incident(intake::ReportIncidentRequest {
                request_id: format!("hot-{run}-{n}"),
                incident: Some(crate::loadgen::facts(n)),
            })
            .await?
            .into_inner();
        n += 1;
        if incident.decision.as_ref().map(|d| d.outcome)
            == Some(EligibilityOutcome::PracticeReview as i32)
        {
            incidents.push(incident.name);
        }
    }
    let mut reviews = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    for incident in incidents {
        loop {
            let found = lead
                .review()
                .list_reviews(review::ListReviewsRequest {
                    parent: "jurisdictions/us-wi".into(),
                    incident: incident.clone(),
                    ..Default::default()
                })
                .await?
                .into_inner()
                .reviews;
            if let Some(r) = found.into_iter().next() {
                reviews.push(r.name);
                break;
            }
            anyhow::ensure!(
                Instant::now() < deadline,
                "review never opened the review of {incident}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    Ok(reviews)
}

/// One update, read again and retried on a stale etag. Returns the ABORTED
/// answers it met and how it ended.
async fn update(lead: &Caller, name: &str, n: u64) -> (u64, Result<(), tonic::Status>) {
    let mut conflicts = 0;
    loop {
        let current = match lead
            .review()
            .get_review(review::GetReviewRequest { name: name.into() })
            .await
        {
            Ok(r) => r.into_inner(),
            Err(status) => return (conflicts, Err(status)),
        };
        let start = current.period_start.unwrap_or_default();
        let first = chrono::NaiveDate::from_ymd_opt(
            start.year,
            u32::try_from(start.month).unwrap_or(1),
            u32::try_from(start.day).unwrap_or(1),
        )
        .unwrap_or_default();
        let end = first + chrono::Days::new(1 + n % 300);
        let request = review::UpdateReviewRequest {
            review: Some(review::Review {
                name: name.into(),
                period_end: Some(crate::journey::date(
                    chrono::Datelike::year(&end),
                    i32::try_from(chrono::Datelike::month(&end)).unwrap_or(1),
                    i32::try_from(chrono::Datelike::day(&end)).unwrap_or(1),
                )),
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["period_end".into()],
            }),
            etag: current.etag,
        };
        match lead.review().update_review(request).await {
            Ok(_) => return (conflicts, Ok(())),
            Err(status) if status.code() == Code::Aborted => {
                conflicts += 1;
                tokio::time::sleep(backoff(&status, conflicts)).await;
            }
            Err(status) => return (conflicts, Err(status)),
        }
    }
}

/// How long to wait before the next try, as a well-behaved client does: the
/// delay the server suggests (jittered), doubled for every race lost in a row.
fn backoff(status: &tonic::Status, conflicts: u64) -> Duration {
    use tonic_types::StatusExt;
    let suggested = status
        .get_error_details()
        .retry_info()
        .and_then(|r| r.retry_delay)
        .unwrap_or(Duration::ZERO);
    let factor = 1u32 << conflicts.saturating_sub(1).min(5);
    (suggested * factor).min(Duration::from_millis(400))
}

async fn history_updates(lead: &Caller, name: &str) -> anyhow::Result<u64> {
    let mut count = 0;
    let mut token = String::new();
    loop {
        let page = lead
            .review()
            .list_review_history(review::ListReviewHistoryRequest {
                name: name.into(),
                page_size: 500,
                page_token: token,
            })
            .await?
            .into_inner();
        count += page
            .entries
            .iter()
            .filter(|e| e.action.starts_with("period set to"))
            .count() as u64;
        if page.next_page_token.is_empty() {
            return Ok(count);
        }
        token = page.next_page_token;
    }
}

#[derive(Debug, Default)]
struct Tally {
    ok: u64,
    conflicts: u64,
    latencies: Vec<u64>,
    errors: BTreeMap<String, u64>,
}

/// Runs the benchmark against the services `args` names.
pub async fn measure(args: &HotArgs, signer: &Signer) -> anyhow::Result<Outcome> {
    anyhow::ensure!(
        args.skew.is_finite() && args.skew >= 0.0,
        "--skew must be 0 (uniform) or more"
    );
    let channels = Channels::new(&args.run.endpoints)?;
    let reporter = signer.caller(&channels, "bench-reporter", &[Role::Reporter], "us-wi")?;
    let lead = signer.caller(&channels, "bench-lead", &[Role::ScrLead], "us-wi")?;
    let reviews = Arc::new(hot_set(&reporter, &lead, args.reviews as usize).await?);
    let before = {
        let mut counts = Vec::new();
        for name in reviews.iter() {
            counts.push(history_updates(&lead, name).await?);
        }
        counts
    };
    let zipf = Arc::new(Zipf::new(reviews.len(), args.skew));
    let ok_by_review: Arc<Vec<AtomicU64>> =
        Arc::new((0..reviews.len()).map(|_| AtomicU64::new(0)).collect());
    let tally = Arc::new(Mutex::new(Tally::default()));
    let start = Instant::now();
    let (measure_from, end) = args.run.window(start);
    let mut tasks = tokio::task::JoinSet::new();
    for caller in 0..args.concurrency {
        let (lead, reviews, zipf) = (lead.clone(), reviews.clone(), zipf.clone());
        let (ok_by_review, tally) = (ok_by_review.clone(), tally.clone());
        tasks.spawn(async move {
            let mut rng = Rng(u64::from(caller) * 7919 + 1);
            let mut n = u64::from(caller) << 32;
            while Instant::now() < end {
                let index = zipf.pick(rng.uniform());
                let sent = Instant::now();
                let (conflicts, result) = update(&lead, &reviews[index], n).await;
                n += 1;
                if result.is_ok() {
                    ok_by_review[index].fetch_add(1, Ordering::Relaxed);
                }
                if sent < measure_from || Instant::now() > end {
                    continue;
                }
                let mut tally = tally.lock().unwrap_or_else(|e| e.into_inner());
                tally.conflicts += conflicts;
                match result {
                    Ok(()) => {
                        tally.ok += 1;
                        tally.latencies.push(micros(sent.elapsed()));
                    }
                    Err(status) => {
                        *tally
                            .errors
                            .entry(format!("{:?}", status.code()))
                            .or_insert(0) += 1;
                    }
                }
            }
        });
    }
    while tasks.join_next().await.is_some() {}

    let mut lost = 0;
    let mut total = 0;
    for (index, name) in reviews.iter().enumerate() {
        let answered = ok_by_review[index].load(Ordering::Relaxed);
        let recorded = history_updates(&lead, name).await? - before[index];
        total += answered;
        lost += answered.abs_diff(recorded);
    }
    let mut tally = std::mem::take(&mut *tally.lock().unwrap_or_else(|e| e.into_inner()));
    tally.latencies.sort_unstable();
    let seconds = args.run.duration.as_secs_f64();
    let attempts = tally.ok + tally.conflicts;
    Ok(Outcome {
        updates_per_second: tally.ok as f64 / seconds,
        attempts_per_second: attempts as f64 / seconds,
        conflict_share: if attempts > 0 {
            tally.conflicts as f64 / attempts as f64
        } else {
            0.0
        },
        p50_ms: quantile_ms(&tally.latencies, 0.5),
        p99_ms: quantile_ms(&tally.latencies, 0.99),
        errors: tally.errors,
        updates_total: total,
        lost_updates: lost,
    })
}

/// Runs `scir bench review-updates` and prints its outcome.
pub async fn run(args: HotArgs) -> anyhow::Result<()> {
    let outcome = measure(&args, &args.run.signer()?).await?;
    if args.run.json {
        println!("{}", serde_json::to_string(&outcome)?);
        return Ok(());
    }
    println!(
        "{} hot reviews (Zipf {}), {} callers, {} s: {:.0} updates/s ({:.0} attempts/s, {:.1} % ABORTED and retried); \
         p50 {:.2} ms, p99 {:.2} ms; other errors {:?}; {} updates, {} lost",
        args.reviews,
        args.skew,
        args.concurrency,
        args.run.duration.as_secs(),
        outcome.updates_per_second,
        outcome.attempts_per_second,
        outcome.conflict_share * 100.0,
        outcome.p50_ms,
        outcome.p99_ms,
        outcome.errors,
        outcome.updates_total,
        outcome.lost_updates,
    );
    Ok(())
}
