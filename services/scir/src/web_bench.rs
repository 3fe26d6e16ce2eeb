//! `scir bench web`: the web console on `scir up` (SQLite, in this process)
//! filled with synthetic reviews, and signed-in users asking its pages at
//! once: the reviews, a review, and an insights answer. Times each page from
//! request to last byte on loopback, which is the server's time plus a
//! connection.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use anyhow::Context;
use scir_client::connect::{Channels, Endpoints, Signer};
use scir_client::journey::Driver;
use scir_kit::auth::Role;

use crate::bench::report;
use crate::survey_page::exchange;

/// Options of `scir bench web`.
#[derive(Debug, Clone, clap::Args)]
pub struct WebBenchArgs {
    /// Signed-in users asking pages at once.
    #[arg(long, default_value_t = 16)]
    pub users: usize,
    /// Synthetic incidents reported (and their reviews walked) first.
    #[arg(long, default_value_t = 300)]
    pub incidents: usize,
    /// Seconds of measurement (after a warm-up of a tenth of it).
    #[arg(long, default_value_t = 30)]
    pub seconds: u64,
}

/// The pages each user asks, in turn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Reviews,
    Review,
    Insights,
}

const KINDS: [(Kind, &str); 3] = [
    (Kind::Reviews, "reviews (/)"),
    (Kind::Review, "a review (/reviews/{id})"),
    (Kind::Insights, "insights (domain prevalence by cause)"),
];

/// Signs in through the web console's development sign-in as a browser does;
/// the session cookie.
pub async fn sign_in(
    web: SocketAddr,
    subject: &str,
    jurisdiction: &str,
    roles: &[Role],
) -> anyhow::Result<Vec<String>> {
    let form = exchange(web, "GET", "/sign-in", &[], "").await?;
    let nonce = form
        .body
        .split("name=\"nonce\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .context("the sign-in form's nonce")?
        .to_owned();
    let mut body = format!("nonce={nonce}&subject={subject}&jurisdiction={jurisdiction}");
    for role in roles {
        body.push_str(&format!("&roles={}", role.as_str()));
    }
    let signed = exchange(web, "POST", "/sign-in", &form.cookies, &body).await?;
    anyhow::ensure!(signed.status == 303, "sign-in answered {}", signed.status);
    Ok(signed
        .cookies
        .into_iter()
        .filter(|c| !c.starts_with("scir_sign_in="))
        .collect())
}

/// The review ids a signed-in user's reviews page links to.
fn review_ids(page: &str) -> Vec<String> {
    page.split("href=\"/reviews/")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .map(str::to_owned)
        .collect()
}

/// Runs the benchmark and prints a line per page.
pub async fn run(args: WebBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    // Every simulated user comes from the loopback address: the console's
    // limit per address would measure itself, not the pages.
    let (running, shutdown, task) = crate::up::spawn_with(dir.path().to_owned(), |args| {
        args.web_page_requests_per_minute = u32::MAX;
    })
    .await?;
    let url = |a: SocketAddr| format!("http://{a}");
    let endpoints = Endpoints {
        intake: url(running.intake),
        review: url(running.review),
        scoring: url(running.scoring),
        insights: url(running.insights),
        learning: url(running.learning),
        culture: url(running.culture),
        tls: Default::default(),
    };
    let secret = crate::dev_auth::read_secret(dir.path())?;
    let signer = Signer::new(
        &secret,
        crate::dev_auth::DEV_ISSUER,
        crate::dev_auth::DEV_AUDIENCE,
    );
    let driver = Driver::new(Channels::new(&endpoints)?, signer);
    let reader = driver.caller("bench-reader", &[Role::Reviewer], "us-wi")?;
    let instrument = driver.active_instrument(&reader).await?;
    let items: Vec<String> = instrument
        .domains
        .iter()
        .flat_map(|d| d.items.iter().map(|i| i.code.clone()))
        .collect();
    eprintln!(
        "Reporting {} synthetic incidents and walking their reviews…",
        args.incidents
    );
    let cases = crate::demo::synth::partnership(3, args.incidents, &items);
    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(8));
    let mut tasks = tokio::task::JoinSet::new();
    for case in cases {
        let (driver, semaphore) = (driver.clone(), semaphore.clone());
        tasks.spawn(async move {
            let _permit = semaphore.acquire_owned().await;
            driver.run(&case).await
        });
    }
    let mut failed = 0;
    while let Some(done) = tasks.join_next().await {
        if !matches!(done, Ok(Ok(_))) {
            failed += 1;
        }
    }
    // Let insights count what was driven.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let web = running.web;
    let jurisdictions = ["us-wi", "us-tn", "us-ks", "us-wv"];
    let mut users = Vec::new();
    for u in 0..args.users {
        let jurisdiction = jurisdictions[u % jurisdictions.len()];
        let cookies = sign_in(
            web,
            &format!("bench-user-{u}"),
            jurisdiction,
            &[Role::ScrLead, Role::Analyst],
        )
        .await?;
        let list = exchange(web, "GET", "/", &cookies, "").await?;
        anyhow::ensure!(
            list.status == 200,
            "the reviews page answered {}",
            list.status
        );
        users.push((cookies, review_ids(&list.body)));
    }
    let reviews: usize = users.iter().map(|(_, ids)| ids.len()).sum();
    eprintln!(
        "{} users signed in; {reviews} review links among them; {failed} case(s) failed to drive. Measuring for {} s…",
        users.len(),
        args.seconds
    );
    let warmup = Duration::from_secs(args.seconds.div_ceil(10));
    let start = Instant::now();
    let until = start + warmup + Duration::from_secs(args.seconds);
    let mut workers = tokio::task::JoinSet::new();
    for (cookies, ids) in users {
        workers.spawn(async move {
            let mut times: Vec<(Kind, Duration)> = Vec::new();
            let mut errors = 0u64;
            let mut turn = 0usize;
            while Instant::now() < until {
                let (kind, _) = KINDS[turn % KINDS.len()];
                let target = match kind {
                    Kind::Reviews => "/".to_owned(),
                    Kind::Review if !ids.is_empty() => {
                        format!("/reviews/{}", ids[turn % ids.len()])
                    }
                    Kind::Review => "/".to_owned(),
                    Kind::Insights => {
                        "/insights?question=DOMAIN_PREVALENCE&breakdown=BY_CAUSE".to_owned()
                    }
                };
                turn += 1;
                let began = Instant::now();
                match exchange(web, "GET", &target, &cookies, "").await {
                    Ok(a) if a.status == 200 => {
                        if began >= start + warmup {
                            times.push((kind, began.elapsed()));
                        }
                    }
                    _ => errors += 1,
                }
            }
            (times, errors)
        });
    }
    let (mut all, mut errors) = (Vec::new(), 0);
    while let Some(done) = workers.join_next().await {
        let (times, e) = done?;
        all.extend(times);
        errors += e;
    }
    shutdown.fire();
    task.await??;
    println!(
        "scir bench web: {} users, {} incidents, {} s, {} pages ({:.0}/s), {errors} errors",
        args.users,
        args.incidents,
        args.seconds,
        all.len(),
        all.len() as f64 / args.seconds as f64
    );
    for (kind, name) in KINDS {
        report(
            name,
            all.iter()
                .filter(|(k, _)| *k == kind)
                .map(|(_, t)| *t)
                .collect(),
        );
    }
    report("every page", all.iter().map(|(_, t)| *t).collect());
    Ok(())
}
