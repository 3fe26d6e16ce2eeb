//! `scir bench culture`: a survey wave of many units holding 100,000
//! responses, on the real culture server; times the results over gRPC and
//! answers sent through the answer page as a browser sends them.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::Context;

use crate::bench::report;
use scir_culture::domain::instruments::{Catalogue, Leaning, leaning};
use scir_culture::domain::results::{Tally, UnitNode, results};
use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_kit::shutdown::Shutdown;
use scir_proto::culture::v1 as pb;
use scir_proto::culture::v1::culture_service_client::CultureServiceClient;

/// Options of `scir bench culture`.
#[derive(Debug, Clone, clap::Args)]
pub struct CultureBenchArgs {
    /// Responses loaded into the wave.
    #[arg(long, default_value_t = 100_000)]
    pub responses: usize,
    /// Teams in the wave (under one office).
    #[arg(long, default_value_t = 49)]
    pub teams: usize,
    /// Results calls timed.
    #[arg(long, default_value_t = 200)]
    pub calls: usize,
    /// Answers sent through the page, timed.
    #[arg(long, default_value_t = 300)]
    pub submissions: usize,
    /// Database URL (a fresh SQLite file in a temporary directory when unset).
    #[arg(long)]
    pub database_url: Option<String>,
}

const INSTRUMENT: &str = "surveyInstruments/scir-culture-shape/versions/1.0";

/// A deterministic answer in 0..=5 (0: no answer).
fn answer(seed: &mut u64) -> i32 {
    *seed = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    ((*seed >> 33) % 6) as i32
}

/// Loads `n` responses into the wave's tables directly, as `n` submissions
/// would leave them (responses, tallies, respondents), in one transaction.
async fn load(url: &str, wave_id: &str, units: &[String], n: usize) -> anyhow::Result<()> {
    let db = scir_kit::db::Database::open(url, &Default::default()).await?;
    let catalogue = Catalogue::load(None)?;
    let instrument = catalogue.get(INSTRUMENT).context("shipped instrument")?;
    let items = instrument.items();
    let mut tallies = vec![vec![[0i32; 3]; items.len()]; units.len()];
    let mut respondents = vec![0i32; units.len()];
    let mut seed = 7;
    let mut tx = db.begin_write().await?;
    for i in 0..n {
        let unit = i % units.len();
        let answers: Vec<i32> = items.iter().map(|_| answer(&mut seed)).collect();
        for ((item, value), slot) in items.iter().zip(&answers).zip(&mut tallies[unit]) {
            match leaning(*value, item.reversed) {
                Some(Leaning::Positive) => slot[0] += 1,
                Some(Leaning::Neutral) => slot[1] += 1,
                Some(Leaning::Negative) => slot[2] += 1,
                None => {}
            }
        }
        respondents[unit] += 1;
        let text = answers
            .iter()
            .map(i32::to_string)
            .collect::<Vec<_>>()
            .join(",");
        scir_culture::store::insert_response(&mut tx, wave_id, &units[unit], &text).await?;
    }
    for (u, unit) in units.iter().enumerate() {
        sqlx::query(
            "UPDATE culture_units SET respondents = $1 WHERE wave_id = $2 AND unit_id = $3",
        )
        .bind(respondents[u])
        .bind(wave_id)
        .bind(unit)
        .execute(&mut *tx)
        .await?;
        for (item, [positive, neutral, negative]) in tallies[u].iter().enumerate() {
            sqlx::query(
                "INSERT INTO culture_tallies (wave_id, unit_id, item, positive, neutral, negative) \
                 VALUES ($1, $2, $3, $4, $5, $6)",
            )
            .bind(wave_id)
            .bind(unit)
            .bind(item as i32)
            .bind(positive)
            .bind(neutral)
            .bind(negative)
            .execute(&mut *tx)
            .await?;
        }
    }
    tx.commit().await?;
    db.close().await;
    Ok(())
}

/// What the results cost when read from every response rather than from the
/// tallies (the first version of the results): the responses read and
/// counted, per call, in this process.
async fn from_every_response(
    url: &str,
    wave_id: &str,
    teams: &[String],
    calls: usize,
) -> anyhow::Result<Vec<Duration>> {
    let db = scir_kit::db::Database::open(url, &Default::default()).await?;
    let catalogue = Catalogue::load(None)?;
    let instrument = &catalogue
        .get(INSTRUMENT)
        .context("shipped instrument")?
        .message;
    let mut nodes = vec![UnitNode {
        id: "office".into(),
        parent: String::new(),
        invited: 0,
    }];
    nodes.extend(teams.iter().map(|t| UnitNode {
        id: t.clone(),
        parent: "office".into(),
        invited: 0,
    }));
    let mut times = Vec::with_capacity(calls);
    for _ in 0..calls {
        let started = Instant::now();
        let rows: Vec<(String, String)> =
            sqlx::query_as("SELECT unit_id, answers FROM culture_responses WHERE wave_id = $1")
                .bind(wave_id)
                .fetch_all(db.pool())
                .await?;
        let mut own: HashMap<String, Tally> = HashMap::new();
        let mut answers = Vec::new();
        for (unit, text) in &rows {
            answers.clear();
            answers.extend(text.split(',').map(|v| v.parse::<i32>().unwrap_or(0)));
            own.entry(unit.clone())
                .or_insert_with(|| Tally {
                    respondents: 0,
                    items: vec![[0; 3]; instrument.items.len()],
                })
                .add(&answers, instrument);
        }
        let out = results(&nodes, &own, instrument, 5);
        times.push(started.elapsed());
        anyhow::ensure!(!out.is_empty());
    }
    db.close().await;
    Ok(times)
}

/// Sends one answered form to the page; the time it took.
async fn send(address: std::net::SocketAddr, form: &str) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let status = crate::survey_page::post(address, form).await?;
    let took = started.elapsed();
    anyhow::ensure!(status == 200, "the page refused an answer: {status}");
    Ok(took)
}

/// Runs the benchmark and prints one line per measure.
pub async fn run(args: CultureBenchArgs) -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let url = args
        .database_url
        .clone()
        .unwrap_or_else(|| format!("sqlite://{}", dir.path().join("culture.db").display()));
    let secret = "bench-secret-0123456789abcdef0123456789";
    let shutdown = Shutdown::new();
    let config = scir_culture::CultureConfig {
        common: scir_kit::config::CommonConfig {
            listener: Default::default(),
            listen_addr: "127.0.0.1:0".parse()?,
            database_url: url.clone().into(),
            db_max_connections: 4,
            auth: crate::dev_auth::auth_config(secret),
            server: Default::default(),
            telemetry: Default::default(),
            tls: Default::default(),
            directory: Default::default(),
        },
        instruments_dir: None,
        min_respondents: 5,
        page_requests_per_minute: u32::MAX,
        trusted_proxies: Vec::new(),
    };
    let app = scir_culture::Application::build(&config, &shutdown)
        .await
        .context("starting culture")?;
    let address = app.address();
    let task = tokio::spawn(app.run());
    let token = crate::dev_auth::mint(
        secret,
        "bench",
        "us-wi",
        &[Role::Admin],
        Duration::from_secs(3600),
    )?;
    let channel = scir_kit::tls::Transport::plain().channel(&format!("http://{address}"))?;
    let mut admin =
        CultureServiceClient::with_interceptor(channel, ClientInterceptor::new(Some(&token))?);
    let today = chrono::Utc::now().date_naive();
    let mut units = vec![pb::OrganisationalUnit {
        id: "office".into(),
        title: "Office".into(),
        ..Default::default()
    }];
    units.extend((0..args.teams).map(|t| pb::OrganisationalUnit {
        id: format!("team-{t}"),
        title: format!("Team {t}"),
        parent: "office".into(),
        invited: 0,
    }));
    let wave = admin
        .create_survey_wave(pb::CreateSurveyWaveRequest {
            parent: "jurisdictions/us-wi".into(),
            survey_wave: Some(pb::SurveyWave {
                title: "Benchmark".into(),
                instrument: INSTRUMENT.into(),
                units,
                open_date: Some(scir_kit::validate::from_date(today)),
                close_date: Some(scir_kit::validate::from_date(today + chrono::Days::new(7))),
                ..Default::default()
            }),
        })
        .await?
        .into_inner();
    let wave_id = wave.name.rsplit('/').next().unwrap_or_default().to_owned();
    let teams: Vec<String> = (0..args.teams).map(|t| format!("team-{t}")).collect();
    let started = Instant::now();
    load(&url, &wave_id, &teams, args.responses).await?;
    eprintln!(
        "{} responses in {} teams loaded in {:.1?}",
        args.responses,
        args.teams,
        started.elapsed()
    );

    let mut times = Vec::with_capacity(args.calls);
    let mut respondents = 0;
    for _ in 0..args.calls {
        let started = Instant::now();
        let results = admin
            .get_survey_results(pb::GetSurveyResultsRequest {
                wave: wave.name.clone(),
            })
            .await?
            .into_inner();
        times.push(started.elapsed());
        respondents = results.units[0].respondents;
    }
    anyhow::ensure!(
        respondents as usize == args.responses,
        "the office counts {respondents} respondents"
    );
    report(
        &format!(
            "results: {} units x 18 items + 6 composites",
            args.teams + 1
        ),
        times,
    );
    let reread = from_every_response(&url, &wave_id, &teams, args.calls.min(20)).await?;
    report("the same, reading every response instead", reread);

    let mut codes = Vec::new();
    while codes.len() < args.submissions {
        let count = (args.submissions - codes.len()).min(500) as i32;
        codes.extend(
            admin
                .issue_invitations(pb::IssueInvitationsRequest {
                    wave: wave.name.clone(),
                    unit: "team-0".into(),
                    count,
                })
                .await?
                .into_inner()
                .codes,
        );
    }
    let mut seed = 11;
    let mut times = Vec::with_capacity(codes.len());
    for code in &codes {
        let mut form = format!("code={code}");
        for n in 1..=18 {
            form.push_str(&format!("&q{n}={}", answer(&mut seed)));
        }
        times.push(send(address, &form).await?);
    }
    report("an answer sent through the page (POST)", times);
    shutdown.fire();
    task.await??;
    Ok(())
}
