//! `scir bench insights`: loads a synthetic partnership of de-identified facts
//! straight into an insights database, starts the real insights server on it,
//! and times every question over gRPC.

use std::time::{Duration, Instant};

use anyhow::Context;
use scir_insights::domain::facts::{AGE_BANDS, Action};
use scir_insights::store::{self, ReviewRow};
use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_kit::db::{Database, DbOptions};
use scir_kit::shutdown::Shutdown;
use scir_proto::insights::v1::insights_service_client::InsightsServiceClient;
use scir_proto::insights::v1::{self as pb, Breakdown, Question};

/// Options of `scir bench insights`.
#[derive(Debug, Clone, clap::Args)]
pub struct InsightsBenchArgs {
    /// Reviews to load.
    #[arg(long, default_value_t = 100_000)]
    pub reviews: usize,
    /// Items rated per review (consensus levels); 21 gives 2.1 million ratings
    /// for 100,000 reviews.
    #[arg(long, default_value_t = 21)]
    pub items: usize,
    /// Calls per question.
    #[arg(long, default_value_t = 200)]
    pub calls: usize,
    /// Database URL to load into (a fresh SQLite file in a temporary directory when unset).
    #[arg(long)]
    pub database_url: Option<String>,
    /// Use the database as it is, without loading (with `--database-url`, e.g.
    /// the `insights.db` of a stopped `scir up` after `scir demo`).
    #[arg(long, requires = "database_url")]
    pub existing: bool,
}

/// Every pooled question with every breakdown, unfiltered and for each year:
/// the answers whose cost the perturbation's utility figures measure.
fn utility_requests(years: &[i32]) -> Vec<pb::AskRequest> {
    let questions = [
        (Question::FactorPrevalence, ""),
        (Question::DomainPrevalence, ""),
        (Question::ThemePrevalence, ""),
        (Question::CoOccurrence, ""),
        (Question::Trend, "SAFE_SLEEP"),
        (Question::Recommendations, ""),
        (Question::SystemsMap, "SAFE_SLEEP"),
    ];
    let breakdowns = [
        Breakdown::Unspecified,
        Breakdown::ByCause,
        Breakdown::ByIncidentType,
        Breakdown::ByRaceEthnicity,
        Breakdown::ByTribalStatus,
        Breakdown::ByAgeBand,
        Breakdown::BySex,
        Breakdown::ByJurisdiction,
    ];
    let periods = std::iter::once(None).chain(years.iter().copied().map(Some));
    let mut out = Vec::new();
    for year in periods {
        for (question, code) in questions {
            for breakdown in breakdowns {
                let filters = year.map(|y| pb::Filters {
                    quarter_from: format!("{y}-Q1"),
                    quarter_to: format!("{y}-Q4"),
                    ..Default::default()
                });
                out.push(pb::AskRequest {
                    question: question as i32,
                    filters,
                    breakdown: breakdown as i32,
                    level: 2,
                    code: code.into(),
                    pooled: true,
                });
            }
        }
    }
    out
}

struct Rng(u64);

impl Rng {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

const JURISDICTIONS: [&str; 8] = [
    "us-wi",
    "us-tn",
    "us-wv",
    "us-ks",
    "us-wi-dane",
    "us-wi-milwaukee",
    "tribal-sample",
    "us-wa",
];

async fn load(db: &Database, args: &InsightsBenchArgs) -> anyhow::Result<()> {
    let mut rng = Rng(7);
    let started = Instant::now();
    let batch = 1000;
    for start in (0..args.reviews).step_by(batch) {
        let mut tx = db.begin_write().await?;
        for i in start..(start + batch).min(args.reviews) {
            let key = format!("bench-{i:07}");
            let year = 2023 + rng.next(3) as i32;
            let month = 1 + rng.next(12) as i32;
            let row = ReviewRow {
                review_key: key.clone(),
                jurisdiction: JURISDICTIONS[rng.next(JURISDICTIONS.len() as u64) as usize]
                    .to_owned(),
                incident_type: 1 + rng.next(4) as i32,
                cause: 1 + rng.next(13) as i32,
                quarter: format!("{year}-Q{}", (month - 1) / 3 + 1),
                age_band: AGE_BANDS[rng.next(6) as usize].to_owned(),
                sex: 1 + rng.next(2) as i32,
                races: (1 + rng.next(7)).to_string(),
                tribal: 1 + rng.next(3) as i32,
                placement: 1 + rng.next(2) as i32,
                stage: 1 + rng.next(8) as i32,
                opened_month: format!("{year}-{month:02}"),
                next_due_month: format!("{}-{:02}", year + 1, month),
            };
            store::put_review(&mut tx, &row).await?;
            let levels: Vec<(String, String, i32)> = (0..args.items)
                .map(|n| {
                    (
                        format!("I{n:02}"),
                        format!("D{}", n % 4),
                        rng.next(4) as i32,
                    )
                })
                .collect();
            store::put_levels(&mut tx, &key, "ko", "instruments/bench/versions/1", &levels).await?;
            let themes: Vec<i32> = (1..=15).filter(|_| rng.next(4) == 0).collect();
            store::put_themes(&mut tx, &key, "ko", &themes).await?;
            for r in 0..rng.next(3) {
                let (category, strength, status) = (
                    1 + rng.next(8) as i32,
                    1 + rng.next(3) as i32,
                    1 + rng.next(5) as i32,
                );
                let rec = Action {
                    category,
                    strength,
                    status,
                    due_month: format!("{}-{:02}", year + 1, month),
                    // Implemented ones checked for effect, without drawing
                    // from `rng`, so the rest of the load is as before.
                    effectiveness: if status == 4 { 1 + (r as i32) % 4 } else { 0 },
                    cell_key: 0,
                };
                store::put_recommendation(&mut tx, &format!("{key}-r{r}"), &key, Some((&rec, "")))
                    .await?;
            }
            store::put_stage_days(&mut tx, &key, 1 + rng.next(7) as i32, rng.next(60) as i32)
                .await?;
        }
        tx.commit().await?;
        if start % 10_000 == 0 {
            eprint!("\rloaded {start} of {} reviews", args.reviews);
        }
    }
    eprintln!(
        "\rloaded {} reviews and {} ratings in {:.1?}",
        args.reviews,
        args.reviews * args.items,
        started.elapsed()
    );
    Ok(())
}

/// The `p` quantile of `sorted` (nearest rank).
pub(crate) fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Prints one line of timings: count, median, p99 and maximum.
pub(crate) fn report(what: &str, mut times: Vec<Duration>) {
    times.sort();
    if times.is_empty() {
        return;
    }
    println!(
        "{what:<44} n={:<6} median {:>8.2?}  p99 {:>8.2?}  max {:>8.2?}",
        times.len(),
        percentile(&times, 0.5),
        percentile(&times, 0.99),
        times.last().copied().unwrap_or_default()
    );
}

/// Runs the benchmark and prints one line per question.
pub async fn run(args: InsightsBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("insights.db").display()));
    let secret = "bench-secret-0123456789abcdef0123456789";
    let db = Database::connect(
        &url,
        &scir_insights::startup::MIGRATIONS,
        &DbOptions::default(),
    )
    .await?;
    if !args.existing {
        load(&db, &args).await?;
    }
    if db.backend() == scir_kit::db::Backend::Postgres {
        // Otherwise autovacuum wakes for the fresh tables while questions are
        // timed and takes a core from the service.
        let started = Instant::now();
        sqlx::query("VACUUM (ANALYZE)").execute(db.pool()).await?;
        eprintln!("vacuumed and analysed in {:.1?}", started.elapsed());
    }
    db.close().await;

    let shutdown = Shutdown::new();
    let config = scir_insights::InsightsConfig {
        common: scir_kit::config::CommonConfig {
            listener: Default::default(),
            listen_addr: "127.0.0.1:0".parse()?,
            database_url: url.into(),
            db_max_connections: 4,
            auth: crate::dev_auth::auth_config(secret),
            server: Default::default(),
            telemetry: Default::default(),
            tls: Default::default(),
            directory: Default::default(),
        },
        review_addr: "http://127.0.0.1:1".into(),
        scoring_addr: "http://127.0.0.1:1".into(),
        learning_addr: None,
        culture_addr: None,
        min_members: 5,
        k: 10,
        noise_max: scir_insights::config::DEFAULT_NOISE_MAX,
        noise_sd: scir_insights::config::DEFAULT_NOISE_SD,
        key_salt: "bench".into(),
        service_token: scir_kit::credentials::ServiceTokenConfig { token_file: None },
    };
    let started = Instant::now();
    let app = scir_insights::Application::build(&config, &shutdown)
        .await
        .context("starting insights")?;
    eprintln!(
        "index of {} reviews loaded in {:.1?}",
        app.index().read(|f, _| f.len()),
        started.elapsed()
    );
    let address = app.address();
    let insights = app.insights();
    let task = tokio::spawn(app.run());

    let token = |roles: &[Role]| {
        crate::dev_auth::mint(secret, "bench", "us-wi", roles, Duration::from_secs(3600))
    };
    let channel = scir_kit::tls::Transport::plain().channel(&format!("http://{address}"))?;
    let mut partner = InsightsServiceClient::with_interceptor(
        channel.clone(),
        ClientInterceptor::new(Some(&token(&[Role::Partner])?))?,
    );
    let mut analyst = InsightsServiceClient::with_interceptor(
        channel,
        ClientInterceptor::new(Some(&token(&[Role::Analyst])?))?,
    );
    let ask = |question: Question, breakdown: Breakdown, code: &str, pooled: bool| pb::AskRequest {
        question: question as i32,
        filters: Some(pb::Filters {
            quarter_from: "2024-Q1".into(),
            quarter_to: "2024-Q4".into(),
            ..Default::default()
        }),
        breakdown: breakdown as i32,
        level: 2,
        code: code.into(),
        pooled,
    };
    let questions = [
        (
            "factor prevalence by cause (pooled)",
            ask(Question::FactorPrevalence, Breakdown::ByCause, "", true),
        ),
        (
            "domain prevalence (pooled)",
            ask(Question::DomainPrevalence, Breakdown::Unspecified, "", true),
        ),
        (
            "theme prevalence by cause (pooled)",
            ask(Question::ThemePrevalence, Breakdown::ByCause, "", true),
        ),
        (
            "equity: factor prevalence by race (pooled)",
            ask(
                Question::FactorPrevalence,
                Breakdown::ByRaceEthnicity,
                "",
                true,
            ),
        ),
        (
            "equity: theme prevalence by tribal status (pooled)",
            ask(
                Question::ThemePrevalence,
                Breakdown::ByTribalStatus,
                "",
                true,
            ),
        ),
        (
            "co-occurrence (pooled)",
            ask(Question::CoOccurrence, Breakdown::Unspecified, "", true),
        ),
        (
            "trend of an item (pooled)",
            ask(Question::Trend, Breakdown::Unspecified, "I03", true),
        ),
        (
            "recommendations (pooled)",
            ask(Question::Recommendations, Breakdown::Unspecified, "", true),
        ),
        (
            "aggregate systems map (pooled)",
            ask(
                Question::SystemsMap,
                Breakdown::Unspecified,
                "SAFE_SLEEP",
                true,
            ),
        ),
        (
            "factor prevalence by cause (own jurisdiction)",
            ask(Question::FactorPrevalence, Breakdown::ByCause, "", false),
        ),
    ];
    let battery = utility_requests(&[2023, 2024, 2025]);
    println!(
        "utility over {} pooled questions (every question and breakdown; all years, and each of 2023-2025): {}",
        battery.len(),
        insights.utility(&battery)?
    );
    println!();
    println!("| question | calls | median | p90 | p99 | rows |");
    println!("|---|---|---|---|---|---|");
    for (label, request) in questions {
        let client = if request.pooled {
            &mut partner
        } else {
            &mut analyst
        };
        let mut times = Vec::with_capacity(args.calls);
        let mut rows = 0;
        for _ in 0..args.calls {
            let t = Instant::now();
            let table = client.ask(request.clone()).await?.into_inner();
            times.push(t.elapsed());
            rows = table.rows.len();
        }
        times.sort();
        println!(
            "| {label} | {} | {:.2?} | {:.2?} | {:.2?} | {rows} |",
            args.calls,
            percentile(&times, 0.5),
            percentile(&times, 0.9),
            percentile(&times, 0.99)
        );
    }
    let mut times = Vec::new();
    for _ in 0..args.calls {
        let t = Instant::now();
        analyst
            .get_operational_view(pb::GetOperationalViewRequest {
                jurisdiction: "jurisdictions/us-wi".into(),
            })
            .await?;
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "| operational view (own jurisdiction) | {} | {:.2?} | {:.2?} | {:.2?} | - |",
        args.calls,
        percentile(&times, 0.5),
        percentile(&times, 0.9),
        percentile(&times, 0.99)
    );
    shutdown.fire();
    task.await??;
    Ok(())
}
