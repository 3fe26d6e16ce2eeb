//! `scir bench load` and `scir bench ceiling`: a load generator for intake's
//! RPCs over the same tonic stack the services use, and an intake server whose
//! handlers do nothing, to measure the transport's own ceiling with the same
//! payloads, concurrency and server settings.
//!
//! Closed loop: `--concurrency` callers, each sending its next request when
//! the last is answered. Open loop (`--rate`): requests start on a fixed
//! schedule whatever the answers do, and each latency counts from the moment
//! the request was due, so a stalled server cannot hide its queue
//! (coordinated omission).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use scir_kit::auth::Role;
use scir_proto::intake::v1 as intake;
use scir_proto::intake::v1::intake_service_server::{IntakeService, IntakeServiceServer};
use tonic::{Request, Response, Status};

use crate::connect::{Caller, Channels, Signer};
use crate::drive::{RunArgs, micros, quantile_ms};

/// What to call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Target {
    /// `ReportIncident`: a durable write (incident, decision, audit, event).
    Report,
    /// `EvaluateEligibility`: the same facts, decided and not stored.
    Evaluate,
}

/// Options of `scir bench load`.
#[derive(Debug, Clone, clap::Args)]
pub struct LoadArgs {
    /// The RPC.
    #[arg(long, value_enum, default_value = "evaluate")]
    pub target: Target,
    /// Callers at once (closed loop), or the most requests in flight (open loop).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=4096))]
    pub concurrency: u32,
    /// Requests per second on a fixed schedule (open loop); closed loop when unset.
    #[arg(long)]
    pub rate: Option<f64>,
    /// Process id of the server, to report its CPU time and peak memory.
    #[arg(long)]
    pub server_pid: Option<u32>,
    /// Call over HTTP/JSON (HTTP/1.1, a kept-alive connection per caller)
    /// instead of gRPC.
    #[arg(long)]
    pub http: bool,
    /// Duration, services (only intake is called), tokens, output.
    #[command(flatten)]
    pub run: RunArgs,
}

/// What a run measured.
#[derive(Debug, Clone, Default)]
pub struct Outcome {
    /// Requests answered OK per second.
    pub throughput: f64,
    /// Latency percentiles of OK answers in milliseconds: p50, p90, p99, p99.9.
    pub percentiles: [f64; 4],
    /// Latency percentiles of failed calls (refusals under overload, say) in
    /// milliseconds: p50, p99; `None` when none failed.
    pub failed_percentiles: Option<[f64; 2]>,
    /// Requests measured, by gRPC code name.
    pub codes: BTreeMap<String, u64>,
    /// Encoded request sizes in bytes: smallest and largest.
    pub request_bytes: (usize, usize),
    /// Server CPU seconds per 1,000 requests, when the server's pid was given.
    pub cpu_per_1000: Option<f64>,
    /// Server peak resident memory in MB, when the server's pid was given.
    pub peak_rss_mb: Option<f64>,
}

impl Outcome {
    /// As JSON.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "throughput": self.throughput,
            "p50_ms": self.percentiles[0],
            "p90_ms": self.percentiles[1],
            "p99_ms": self.percentiles[2],
            "p999_ms": self.percentiles[3],
            "failed_p50_ms": self.failed_percentiles.map(|p| p[0]),
            "failed_p99_ms": self.failed_percentiles.map(|p| p[1]),
            "codes": self.codes,
            "request_bytes_min": self.request_bytes.0,
            "request_bytes_max": self.request_bytes.1,
            "cpu_seconds_per_1000": self.cpu_per_1000,
            "peak_rss_mb": self.peak_rss_mb,
        })
    }
}

/// The incident facts of request `n`: a realistic report with a restricted
/// identity, agency names and a history of prior contacts whose length varies
/// with `n`, so encoded requests run from about 1 KB to 4 KB.
pub fn facts(n: u64) -> intake::IncidentFacts {
    use chrono::{Days, NaiveDate};
    let cases = crate::demo::synth::partnership(n, 1, &[]);
    let mut facts = cases
        .into_iter()
        .next()
        .map(|c| c.facts)
        .unwrap_or_default();
    facts.jurisdiction = "us-wi".into();
    facts.reporting_agency =
        "Synthetic County Department of Human Services, Child Protective Services Intake Unit"
            .into();
    facts.law_enforcement_agency =
        "Synthetic City Police Department, Crimes Against Children Unit".into();
    let size = (n % 4) as usize;
    facts.restricted = Some(intake::RestrictedIdentity {
        child_name: format!("Synthetic Child Given-Names Family-Name {n}"),
        birth_date: facts.incident_date,
        caregiver_names: (0..2 + size * 2)
            .map(|i| format!("Synthetic Caregiver {i} Given-Names Family-Name {n}"))
            .collect(),
        case_numbers: (0..2 + size * 3)
            .map(|i| format!("SYN-{:04}-{n:010}", i))
            .collect(),
    });
    let incident = facts.incident_date.unwrap_or_default();
    let day = NaiveDate::from_ymd_opt(
        incident.year,
        u32::try_from(incident.month).unwrap_or(1),
        u32::try_from(incident.day).unwrap_or(1),
    )
    .unwrap_or_default();
    facts.had_prior_contact = scir_proto::common::v1::Answer::Yes as i32;
    facts.prior_contacts = (0..20 + size * 45)
        .map(|i| {
            let date = day - Days::new(20 + (i as u64 * 7) % 340);
            intake::PriorContact {
                kind: intake::ContactKind::Report as i32 + (i % 4) as i32,
                date: Some(crate::journey::date(
                    chrono::Datelike::year(&date),
                    i32::try_from(chrono::Datelike::month(&date)).unwrap_or(1),
                    i32::try_from(chrono::Datelike::day(&date)).unwrap_or(1),
                )),
                outcome: intake::ContactOutcome::ScreenedOut as i32 + (i % 5) as i32,
            }
        })
        .collect();
    facts
}

/// Latencies in microseconds of OK answers and of failures, and answers by code.
#[derive(Debug, Default)]
struct Tally {
    ok: Vec<u64>,
    failed: Vec<u64>,
    codes: BTreeMap<String, u64>,
}

type Samples = Arc<Mutex<Tally>>;

/// Distinct payloads the load cycles through, made before the clock starts.
const PAYLOADS: u64 = 512;

/// How the load reaches intake.
#[derive(Debug, Clone)]
enum Client {
    Grpc(Caller),
    Http(HttpClient),
}

/// HTTP/JSON calls over HTTP/1.1, with the payloads already in JSON (as an
/// HTTP client would hold them), each answer parsed.
#[derive(Debug, Clone)]
struct HttpClient {
    client: hyper_util::client::legacy::Client<
        hyper_util::client::legacy::connect::HttpConnector,
        http_body_util::Full<bytes::Bytes>,
    >,
    base: String,
    authorization: http::HeaderValue,
    facts: Arc<Vec<String>>,
}

impl HttpClient {
    fn new(base: &str, token: &str, payloads: &[intake::IncidentFacts]) -> anyhow::Result<Self> {
        let pool = scir_kit::contract::pool();
        let descriptor = pool
            .get_message_by_name("scir.intake.v1.IncidentFacts")
            .ok_or_else(|| anyhow::anyhow!("IncidentFacts is not in the contract"))?;
        let facts = payloads
            .iter()
            .map(|facts| {
                let message = prost_reflect::DynamicMessage::decode(
                    descriptor.clone(),
                    prost::Message::encode_to_vec(facts).as_slice(),
                )?;
                Ok(serde_json::to_string(&message)?)
            })
            .collect::<anyhow::Result<Vec<String>>>()?;
        let client =
            hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                .build_http();
        Ok(Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            authorization: format!("Bearer {token}").parse()?,
            facts: Arc::new(facts),
        })
    }

    async fn call(&self, target: Target, n: u64, run: u64) -> Result<(), Status> {
        use http_body_util::BodyExt;
        let facts = &self.facts[usize::try_from(n % PAYLOADS).unwrap_or(0)];
        let (path, body) = match target {
            Target::Report => (
                "/v1/incidents:report",
                format!(r#"{{"requestId":"bench-{run}-{n}","incident":{facts}}}"#),
            ),
            Target::Evaluate => (
                "/v1/incidents:evaluateEligibility",
                format!(r#"{{"incident":{facts}}}"#),
            ),
        };
        let request = http::Request::post(format!("{}{path}", self.base))
            .header(http::header::CONTENT_TYPE, "application/json")
            .header(http::header::AUTHORIZATION, self.authorization.clone())
            .body(http_body_util::Full::new(bytes::Bytes::from(body)))
            .map_err(|e| Status::internal(e.to_string()))?;
        let response = self
            .client
            .request(request)
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?;
        let ok = response.status() == http::StatusCode::OK;
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| Status::unavailable(e.to_string()))?
            .to_bytes();
        let answer: serde_json::Value =
            serde_json::from_slice(&body).map_err(|e| Status::internal(e.to_string()))?;
        if ok {
            return Ok(());
        }
        let code = answer["code"].as_i64().unwrap_or(2);
        Err(Status::new(
            tonic::Code::from_i32(i32::try_from(code).unwrap_or(2)),
            answer["message"].as_str().unwrap_or_default(),
        ))
    }
}

async fn one(
    client: &Client,
    target: Target,
    payloads: &[intake::IncidentFacts],
    n: u64,
    run: u64,
) -> Result<(), Status> {
    let caller = match client {
        Client::Grpc(caller) => caller,
        Client::Http(http) => return http.call(target, n, run).await,
    };
    let facts = payloads[usize::try_from(n % PAYLOADS).unwrap_or(0)].clone();
    match target {
        Target::Report => caller
            .intake()
            .report_incident(intake::ReportIncidentRequest {
                request_id: format!("bench-{run}-{n}"),
                incident: Some(facts),
            })
            .await
            .map(|_| ()),
        Target::Evaluate => caller
            .intake()
            .evaluate_eligibility(intake::EvaluateEligibilityRequest {
                incident: Some(facts),
            })
            .await
            .map(|_| ()),
    }
}

fn record(samples: &Samples, latency: Duration, result: &Result<(), Status>) {
    let elapsed = micros(latency);
    let mut tally = samples.lock().unwrap_or_else(|e| e.into_inner());
    let code = match result {
        Ok(()) => {
            tally.ok.push(elapsed);
            "Ok".to_owned()
        }
        Err(s) => {
            tally.failed.push(elapsed);
            format!("{:?}", s.code())
        }
    };
    *tally.codes.entry(code).or_insert(0) += 1;
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Fields after the command name (which may hold spaces), from field 3.
    let rest = stat.rsplit_once(") ")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    // Linux reports in USER_HZ, 100 on every mainstream configuration.
    Some(ticks / 100.0)
}

fn peak_rss_mb(pid: u32) -> Option<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Runs a load as `args` says against a server whose tokens `signer` signs.
pub async fn measure(args: &LoadArgs, signer: &Signer) -> anyhow::Result<Outcome> {
    let token = signer.token("bench-user", &[Role::Reporter], "us-wi")?;
    let run = u64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)?
            .as_millis(),
    )?;
    let payloads: Arc<Vec<intake::IncidentFacts>> = Arc::new((0..PAYLOADS).map(facts).collect());
    let caller = if args.http {
        Client::Http(HttpClient::new(
            &args.run.endpoints.intake,
            &token,
            &payloads,
        )?)
    } else {
        Client::Grpc(Caller::new(&Channels::new(&args.run.endpoints)?, &token)?)
    };
    let samples: Samples = Arc::default();
    let start = Instant::now();
    let (measure_from, end) = args.run.window(start);
    let cpu_before = Arc::new(Mutex::new(None));
    let pid = args.server_pid;
    {
        let cpu_before = cpu_before.clone();
        tokio::spawn(async move {
            tokio::time::sleep_until(measure_from.into()).await;
            *cpu_before.lock().unwrap_or_else(|e| e.into_inner()) = pid.and_then(cpu_seconds);
        });
    }
    let counter = Arc::new(std::sync::atomic::AtomicU64::new(0));
    match args.rate {
        None => {
            let mut tasks = tokio::task::JoinSet::new();
            for _ in 0..args.concurrency {
                let (caller, samples, counter) = (caller.clone(), samples.clone(), counter.clone());
                let (target, payloads) = (args.target, payloads.clone());
                tasks.spawn(async move {
                    while Instant::now() < end {
                        let n = counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        let sent = Instant::now();
                        let result = one(&caller, target, &payloads, n, run).await;
                        if sent >= measure_from && Instant::now() <= end {
                            record(&samples, sent.elapsed(), &result);
                        }
                    }
                });
            }
            while tasks.join_next().await.is_some() {}
        }
        Some(rate) => {
            anyhow::ensure!(rate > 0.0, "--rate must be positive");
            let interval = Duration::from_secs_f64(1.0 / rate);
            let in_flight = Arc::new(tokio::sync::Semaphore::new(args.concurrency as usize));
            let mut tasks = tokio::task::JoinSet::new();
            let mut due = start;
            let mut n = 0u64;
            while due < end {
                tokio::time::sleep_until(due.into()).await;
                let Ok(permit) = in_flight.clone().try_acquire_owned() else {
                    // More than --concurrency in flight: the client is the
                    // bottleneck; count it rather than queue without bound.
                    if due >= measure_from {
                        let mut tally = samples.lock().unwrap_or_else(|e| e.into_inner());
                        *tally
                            .codes
                            .entry("ClientOverloaded".to_owned())
                            .or_insert(0) += 1;
                    }
                    due += interval;
                    continue;
                };
                let (caller, samples) = (caller.clone(), samples.clone());
                let (target, scheduled, payloads) = (args.target, due, payloads.clone());
                tasks.spawn(async move {
                    let result = one(&caller, target, &payloads, n, run).await;
                    if scheduled >= measure_from {
                        record(&samples, scheduled.elapsed(), &result);
                    }
                    drop(permit);
                });
                n += 1;
                due += interval;
                while tasks.try_join_next().is_some() {}
            }
            while tasks.join_next().await.is_some() {}
        }
    }
    let cpu_after = pid.and_then(cpu_seconds);
    let Tally {
        ok: mut answered,
        mut failed,
        codes,
    } = std::mem::take(&mut *samples.lock().unwrap_or_else(|e| e.into_inner()));
    answered.sort_unstable();
    failed.sort_unstable();
    let ok = codes.get("Ok").copied().unwrap_or(0);
    let before = *cpu_before.lock().unwrap_or_else(|e| e.into_inner());
    Ok(Outcome {
        throughput: ok as f64 / args.run.duration.as_secs_f64(),
        percentiles: [
            quantile_ms(&answered, 0.5),
            quantile_ms(&answered, 0.9),
            quantile_ms(&answered, 0.99),
            quantile_ms(&answered, 0.999),
        ],
        failed_percentiles: (!failed.is_empty())
            .then(|| [quantile_ms(&failed, 0.5), quantile_ms(&failed, 0.99)]),
        request_bytes: {
            let sizes: Vec<usize> = payloads.iter().map(prost::Message::encoded_len).collect();
            (
                sizes.iter().copied().min().unwrap_or(0),
                sizes.iter().copied().max().unwrap_or(0),
            )
        },
        cpu_per_1000: match (before, cpu_after) {
            (Some(b), Some(a)) if ok > 0 => Some((a - b) * 1000.0 / ok as f64),
            _ => None,
        },
        peak_rss_mb: pid.and_then(peak_rss_mb),
        codes,
    })
}

/// Runs `scir bench load` and prints its outcome.
pub async fn run(args: LoadArgs) -> anyhow::Result<()> {
    let outcome = measure(&args, &args.run.signer()?).await?;
    if args.run.json {
        println!("{}", outcome.to_json());
    } else {
        let mode = args.rate.map_or_else(
            || format!("closed loop, {} callers", args.concurrency),
            |r| format!("open loop, {r} req/s"),
        );
        println!(
            "{:?}, {mode}, {} s: {:.0} req/s; p50 {:.2} ms, p90 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms; \
             requests {}-{} bytes; {:?}{}{}{}",
            args.target,
            args.run.duration.as_secs(),
            outcome.throughput,
            outcome.percentiles[0],
            outcome.percentiles[1],
            outcome.percentiles[2],
            outcome.percentiles[3],
            outcome.request_bytes.0,
            outcome.request_bytes.1,
            outcome.codes,
            outcome
                .failed_percentiles
                .map_or_else(String::new, |p| format!(
                    "; failed calls answered in p50 {:.2} ms, p99 {:.2} ms",
                    p[0], p[1]
                )),
            outcome
                .cpu_per_1000
                .map_or_else(String::new, |c| format!("; server CPU {c:.3} s per 1,000")),
            outcome
                .peak_rss_mb
                .map_or_else(String::new, |m| format!("; server peak RSS {m:.1} MB")),
        );
    }
    Ok(())
}

/// An intake server whose handlers return empty answers at once.
#[derive(Debug, Clone, Copy, Default)]
pub struct EmptyIntake;

#[tonic::async_trait]
impl IntakeService for EmptyIntake {
    async fn report_incident(
        &self,
        _: Request<intake::ReportIncidentRequest>,
    ) -> Result<Response<intake::Incident>, Status> {
        Ok(Response::new(intake::Incident::default()))
    }
    async fn get_incident(
        &self,
        _: Request<intake::GetIncidentRequest>,
    ) -> Result<Response<intake::Incident>, Status> {
        Ok(Response::new(intake::Incident::default()))
    }
    async fn list_incidents(
        &self,
        _: Request<intake::ListIncidentsRequest>,
    ) -> Result<Response<intake::ListIncidentsResponse>, Status> {
        Ok(Response::new(intake::ListIncidentsResponse::default()))
    }
    async fn amend_incident(
        &self,
        _: Request<intake::AmendIncidentRequest>,
    ) -> Result<Response<intake::Incident>, Status> {
        Ok(Response::new(intake::Incident::default()))
    }
    async fn evaluate_eligibility(
        &self,
        _: Request<intake::EvaluateEligibilityRequest>,
    ) -> Result<Response<intake::EligibilityDecision>, Status> {
        Ok(Response::new(intake::EligibilityDecision::default()))
    }
    async fn list_rule_sets(
        &self,
        _: Request<intake::ListRuleSetsRequest>,
    ) -> Result<Response<intake::ListRuleSetsResponse>, Status> {
        Ok(Response::new(intake::ListRuleSetsResponse::default()))
    }
    async fn get_rule_set(
        &self,
        _: Request<intake::GetRuleSetRequest>,
    ) -> Result<Response<intake::RuleSet>, Status> {
        Ok(Response::new(intake::RuleSet::default()))
    }
    async fn list_jurisdictions(
        &self,
        _: Request<intake::ListJurisdictionsRequest>,
    ) -> Result<Response<intake::ListJurisdictionsResponse>, Status> {
        Ok(Response::new(intake::ListJurisdictionsResponse::default()))
    }
    type WatchEventsStream = tokio_stream::Empty<Result<scir_proto::common::v1::Event, Status>>;
    async fn watch_events(
        &self,
        _: Request<scir_proto::common::v1::WatchEventsRequest>,
    ) -> Result<Response<Self::WatchEventsStream>, Status> {
        Ok(Response::new(tokio_stream::empty()))
    }
}

/// Options of `scir bench ceiling`.
#[derive(Debug, Clone, clap::Args)]
pub struct CeilingArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:50061")]
    pub listen: SocketAddr,
    /// The same limits the services apply.
    #[command(flatten)]
    pub server: scir_kit::server::ServerSettings,
}

/// Serves [`EmptyIntake`] with the services' server settings (timeout,
/// concurrency limit, message limits, TCP_NODELAY) until `shutdown` fires.
pub async fn ceiling(
    listener: tokio::net::TcpListener,
    settings: &scir_kit::server::ServerSettings,
    shutdown: scir_kit::shutdown::ShutdownSignal,
) -> anyhow::Result<()> {
    let mut shutdown = shutdown;
    let service = IntakeServiceServer::new(EmptyIntake)
        .max_decoding_message_size(settings.max_message_bytes)
        .max_encoding_message_size(settings.max_message_bytes);
    tonic::transport::Server::builder()
        .timeout(settings.request_timeout)
        .layer(scir_kit::admission::AdmissionLayer::new(
            settings.admission(),
        ))
        .add_service(service)
        .serve_with_incoming_shutdown(
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            async move { shutdown.fired().await },
        )
        .await?;
    Ok(())
}
