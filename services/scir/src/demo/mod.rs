//! `scir demo`: fills a deployment with a synthetic partnership through the
//! public APIs, then prints what the insights service says about it.

pub mod culture;
pub mod learning;
pub mod synth;

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use scir_kit::auth::Role;
use scir_proto::Labelled;
use scir_proto::insights::v1 as insights;
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1::Stage;

use crate::connect::{Caller, Channels, Endpoints, Signer};
use crate::journey::{Driver, Outcome};

/// Options of `scir demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// How many incidents to report.
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub incidents: u32,
    /// Seed of the synthetic partnership: the same seed gives the same data.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Incidents driven at once.
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
    pub concurrency: u32,
    /// Data directory of `scir up`, whose development secret signs the demo's tokens.
    #[arg(long, env = "SCIR_DATA_DIR", default_value = "scir-data")]
    pub data_dir: PathBuf,
    /// HS256 secret of another deployment's development auth (instead of --data-dir).
    #[arg(
        long = "jwt-secret",
        env = "SCIR_DEMO_JWT_SECRET",
        hide_env_values = true
    )]
    pub jwt_secret: Option<String>,
    /// Issuer the deployment expects (with --jwt-secret).
    #[arg(long = "jwt-issuer", default_value = crate::dev_auth::DEV_ISSUER)]
    pub jwt_issuer: String,
    /// Audience the deployment expects (with --jwt-secret).
    #[arg(long = "jwt-audience", default_value = crate::dev_auth::DEV_AUDIENCE)]
    pub jwt_audience: String,
    /// Print no progress bar.
    #[arg(long)]
    pub quiet: bool,
    /// Where the services listen.
    #[command(flatten)]
    pub endpoints: Endpoints,
}

impl DemoArgs {
    fn signer(&self) -> anyhow::Result<Signer> {
        match &self.jwt_secret {
            Some(secret) => Ok(Signer::new(secret, &self.jwt_issuer, &self.jwt_audience)),
            None => {
                let secret = crate::dev_auth::read_secret(&self.data_dir)?;
                Ok(Signer::new(
                    &secret,
                    crate::dev_auth::DEV_ISSUER,
                    crate::dev_auth::DEV_AUDIENCE,
                ))
            }
        }
    }
}

/// What the demo did.
#[derive(Debug, Default, Clone)]
pub struct Report {
    /// Incidents by intake's decision.
    pub decisions: BTreeMap<String, usize>,
    /// Reviews by the stage they were left in.
    pub stages: BTreeMap<String, usize>,
    /// Cases that failed, with the first errors.
    pub failures: Vec<String>,
    /// How many cases failed.
    pub failed: usize,
    /// Finalised reviews of Wisconsin and its counties, for the learning loop.
    pub finalised: Vec<String>,
}

impl Report {
    fn add(&mut self, outcome: &Outcome) {
        let decision = outcome
            .incident
            .decision
            .as_ref()
            .and_then(|d| intake::EligibilityOutcome::try_from(d.outcome).ok())
            .map_or("-", |o| o.label());
        *self.decisions.entry(decision.to_owned()).or_default() += 1;
        if let Some(review) = &outcome.review {
            let stage = Stage::try_from(review.stage).map_or("-", |s| s.label());
            *self.stages.entry(stage.to_owned()).or_default() += 1;
            if review.stage == Stage::Finalised as i32
                && review.name.starts_with("jurisdictions/us-wi")
            {
                self.finalised.push(review.name.clone());
            }
        }
    }

    /// Reviews opened.
    pub fn reviews(&self) -> usize {
        self.stages.values().sum()
    }
}

/// A progress bar on standard error (a line per tenth when it is not a terminal).
struct Progress {
    total: usize,
    started: Instant,
    terminal: bool,
    quiet: bool,
    last_tenth: usize,
}

impl Progress {
    fn new(total: usize, quiet: bool) -> Self {
        Self {
            total,
            started: Instant::now(),
            terminal: std::io::stderr().is_terminal(),
            quiet,
            last_tenth: 0,
        }
    }

    fn show(&mut self, done: usize, report: &Report) {
        if self.quiet {
            return;
        }
        let tenth = done * 10 / self.total.max(1);
        if !self.terminal && tenth == self.last_tenth && done != self.total {
            return;
        }
        self.last_tenth = tenth;
        let width = 30;
        let filled = done * width / self.total.max(1);
        let line = format!(
            "[{}{}] {done}/{} incidents  {} reviews  {} failed  {:.0}s",
            "#".repeat(filled),
            "-".repeat(width - filled),
            self.total,
            report.reviews(),
            report.failed,
            self.started.elapsed().as_secs_f64()
        );
        let mut err = std::io::stderr();
        if self.terminal {
            let _ = write!(err, "\r{line}");
            if done == self.total {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "{line}");
        }
        let _ = err.flush();
    }
}

/// Runs the demo and prints its report and the insights.
pub async fn run(args: DemoArgs) -> anyhow::Result<Report> {
    let channels = Channels::new(&args.endpoints)?;
    let driver = Driver::new(channels.clone(), args.signer()?);
    let reader = driver.caller("demo-reader", &[Role::Reviewer], "us-wi")?;
    let instrument = driver.active_instrument(&reader).await.with_context(|| {
        format!(
            "asking scoring at {} for its instrument (is `scir up` running?)",
            args.endpoints.scoring
        )
    })?;
    let items: Vec<String> = instrument
        .domains
        .iter()
        .flat_map(|d| d.items.iter().map(|i| i.code.clone()))
        .collect();
    let cases = synth::partnership(args.seed, args.incidents as usize, &items);
    let jurisdictions: std::collections::BTreeSet<String> =
        cases.iter().map(|c| c.facts.jurisdiction.clone()).collect();
    if !args.quiet {
        eprintln!(
            "Reporting {} synthetic incidents (seed {}) and walking their reviews through {}…",
            cases.len(),
            args.seed,
            args.endpoints.review
        );
    }
    let report = drive(&driver, cases, args.concurrency as usize, args.quiet).await;
    let analysts = jurisdictions
        .iter()
        .map(|j| driver.caller("demo-analyst", &[Role::Analyst], j))
        .collect::<Result<Vec<_>, _>>()?;
    wait_for_insights(&analysts, report.reviews()).await;
    let analyst = driver.caller("demo-partner", &[Role::Partner], "us-wi")?;
    print_report(&report);
    print_insights(&analyst).await?;
    let mut finalised = report.finalised.clone();
    finalised.sort();
    learning::run(&driver, &finalised).await?;
    culture::run(&driver, &args.endpoints.culture, &jurisdictions).await?;
    Ok(report)
}

async fn drive(
    driver: &Driver,
    cases: Vec<crate::journey::Case>,
    concurrency: usize,
    quiet: bool,
) -> Report {
    let total = cases.len();
    let mut progress = Progress::new(total, quiet);
    let semaphore = Arc::new(tokio::sync::Semaphore::new(concurrency));
    let mut tasks = tokio::task::JoinSet::new();
    for case in cases {
        let driver = driver.clone();
        let semaphore = semaphore.clone();
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            let result = driver.run(&case).await;
            (case.request_id, result)
        });
    }
    let mut report = Report::default();
    let mut done = 0;
    progress.show(0, &report);
    while let Some(joined) = tasks.join_next().await {
        done += 1;
        match joined {
            Ok((_, Ok(outcome))) => report.add(&outcome),
            Ok((id, Err(e))) => {
                report.failed += 1;
                if report.failures.len() < 5 {
                    report
                        .failures
                        .push(format!("{id}: {}", crate::cli::explain(&e)));
                }
            }
            Err(e) => {
                report.failed += 1;
                report.failures.push(format!("a case task failed: {e}"));
            }
        }
        progress.show(done, &report);
    }
    report
}

/// Waits until insights counts every review (its projection follows review's
/// and scoring's events), for at most a minute. Each jurisdiction's analyst
/// counts its own reviews exactly (pooled counts are perturbed, so they cannot
/// tell when every review is in).
async fn wait_for_insights(analysts: &[Caller], reviews: usize) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let mut counted = 0usize;
        for analyst in analysts {
            let own = analyst
                .insights()
                .ask(insights::AskRequest {
                    question: insights::Question::ThemePrevalence as i32,
                    ..Default::default()
                })
                .await
                .ok()
                .and_then(|t| t.into_inner().population.and_then(|p| p.value));
            counted += own.map_or(0, |c| usize::try_from(c).unwrap_or(0));
        }
        if counted >= reviews {
            return;
        }
        if Instant::now() > deadline {
            eprintln!(
                "insights has not counted every review yet; the answers below may be partial"
            );
            return;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

fn print_report(report: &Report) {
    println!();
    let decisions: Vec<String> = report
        .decisions
        .iter()
        .map(|(k, v)| format!("{v} {k}"))
        .collect();
    println!(
        "Incidents reported: {} ({})",
        report.decisions.values().sum::<usize>(),
        decisions.join(", ")
    );
    let mut stages: Vec<(&String, &usize)> = report.stages.iter().collect();
    stages.sort_by_key(|(s, _)| Stage::from_label(s).map_or(99, |s| s as i32));
    let stages: Vec<String> = stages.iter().map(|(k, v)| format!("{v} {k}")).collect();
    println!(
        "Reviews opened: {} ({})",
        report.reviews(),
        stages.join(", ")
    );
    if report.failed > 0 {
        println!("Cases that failed: {}", report.failed);
        for failure in &report.failures {
            println!("  {failure}");
        }
    }
}

async fn ask(
    partner: &Caller,
    title: &str,
    request: insights::AskRequest,
    limit: usize,
) -> anyhow::Result<()> {
    let mut table = partner
        .insights()
        .ask(request)
        .await
        .with_context(|| format!("Ask ({title})"))?
        .into_inner();
    // Most frequent first (hidden counts last), so the cut keeps the top rows.
    if table.question != insights::Question::CoOccurrence as i32 {
        table.rows.sort_by_key(|r| {
            std::cmp::Reverse(r.count.as_ref().and_then(|c| c.value).unwrap_or(-1))
        });
    }
    let hidden = table.rows.len().saturating_sub(limit);
    table.rows.truncate(limit);
    println!("\n== {title} ==\n");
    println!("{}", crate::cli::insights::render(&table));
    if hidden > 0 {
        println!("({hidden} more rows; ask with `scir insights ask` to see them all)");
    }
    Ok(())
}

/// Theme prevalence in all reviews next to that in sudden unexpected infant
/// deaths: two pooled questions, one table.
async fn themes_against_suid(partner: &Caller) -> anyhow::Result<()> {
    let question = |causes: Vec<i32>| insights::AskRequest {
        question: insights::Question::ThemePrevalence as i32,
        pooled: true,
        filters: Some(insights::Filters {
            causes,
            ..Default::default()
        }),
        ..Default::default()
    };
    let all = partner
        .insights()
        .ask(question(vec![]))
        .await
        .context("Ask (themes)")?
        .into_inner();
    let suid = partner
        .insights()
        .ask(question(vec![intake::CauseCategory::Suid as i32]))
        .await
        .context("Ask (themes in SUID)")?
        .into_inner();
    let share =
        |row: Option<&insights::Row>| row.map_or("0%".to_owned(), crate::cli::insights::share);
    let mut rows = all.rows.clone();
    rows.sort_by(|a, b| b.share.unwrap_or(-1.0).total_cmp(&a.share.unwrap_or(-1.0)));
    let mut table = crate::cli::output::Table::new(["theme", "all reviews", "SUID"]);
    for row in &rows {
        let theme = row.keys.first().cloned().unwrap_or_default();
        let in_suid = suid.rows.iter().find(|r| r.keys.first() == Some(&theme));
        table.row([theme, share(Some(row)), share(in_suid)]);
    }
    let population = |t: &insights::Table| {
        t.population
            .as_ref()
            .and_then(|p| p.value)
            .map_or("small".to_owned(), |v| v.to_string())
    };
    println!(
        "\n== Themes of key observations: all reviews and sudden unexpected infant deaths ==\n"
    );
    println!("{}", table.render());
    println!(
        "\nreviews counted: {} in all, {} SUID. Pooled counts are perturbed by the cell key method, so\n\
         no subtraction of answers is exact; \"small\": below k after perturbation (docs/insights.md).",
        population(&all),
        population(&suid)
    );
    Ok(())
}

async fn print_insights(partner: &Caller) -> anyhow::Result<()> {
    println!(
        "\nWhat the partnership sees (pooled across jurisdictions, de-identified, small counts hidden):"
    );
    let pooled =
        |question: insights::Question, breakdown: insights::Breakdown| insights::AskRequest {
            question: question as i32,
            breakdown: breakdown as i32,
            level: 2,
            pooled: true,
            ..Default::default()
        };
    ask(
        partner,
        "SSIT domains rated as contributing (level 2 or more)",
        pooled(
            insights::Question::DomainPrevalence,
            insights::Breakdown::Unspecified,
        ),
        10,
    )
    .await?;
    ask(
        partner,
        "SSIT items rated as contributing, most frequent first",
        pooled(
            insights::Question::FactorPrevalence,
            insights::Breakdown::Unspecified,
        ),
        10,
    )
    .await?;
    themes_against_suid(partner).await?;
    ask(
        partner,
        "Items that occur together more than chance",
        pooled(
            insights::Question::CoOccurrence,
            insights::Breakdown::Unspecified,
        ),
        8,
    )
    .await?;
    ask(
        partner,
        "Recommendations by category and strength",
        pooled(
            insights::Question::Recommendations,
            insights::Breakdown::Unspecified,
        ),
        12,
    )
    .await?;
    ask(
        partner,
        "Did it work? Implemented recommendations checked for effect, by strength",
        pooled(
            insights::Question::RecommendationEffectiveness,
            insights::Breakdown::Unspecified,
        ),
        12,
    )
    .await?;
    println!(
        "\nAll of this is synthetic demo data (docs/demo.md). Ask more with, for example:\n  \
         export SCIR_TOKEN=$(scir token --role partner --jurisdiction us-wi)\n  \
         scir insights ask theme-prevalence --breakdown age-band --pooled"
    );
    Ok(())
}
