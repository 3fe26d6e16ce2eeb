//! The four services, or `scir up`, as child processes.

use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use scir::connect::{Channels, Endpoints, Signer};
use scir::journey::Driver;
use scir_kit::tls::{TlsArgs, Transport};
use scir_testkit::{Backend, TestDatabase};

/// A binary built by this workspace, next to the running test.
pub fn binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable");
    // target/<profile>/deps/<test> -> target/<profile>/<name>
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let path = dir.join(name);
    assert!(
        path.exists(),
        "{} is missing: build the workspace's binaries first (cargo nextest run --workspace builds them)",
        path.display()
    );
    path
}

/// A loopback listener on a port of its own, for a child process to serve
/// ([`Process::start_serving`] hands it over; the port is never released in
/// between).
pub fn listener() -> TcpListener {
    use std::hash::{BuildHasher, Hasher};
    // Below Linux's ephemeral range (32768-60999), so a service restarted on
    // its port finds it free: a port from that range, once released, can be
    // given to any outgoing connection. Each is handed out once per test
    // process.
    static GIVEN: std::sync::Mutex<Vec<u16>> = std::sync::Mutex::new(Vec::new());
    let mut given = GIVEN.lock().unwrap_or_else(|e| e.into_inner());
    loop {
        let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
        hasher.write_u32(std::process::id());
        let port = 20_000 + (hasher.finish() % 12_000) as u16;
        if given.contains(&port) {
            continue;
        }
        if let Ok(listener) = TcpListener::bind(("127.0.0.1", port)) {
            given.push(port);
            return listener;
        }
    }
}

/// The address `listener` is bound to.
pub fn address_of(listener: &TcpListener) -> SocketAddr {
    listener.local_addr().expect("bound address")
}

/// A child process whose output goes to a log file.
#[derive(Debug)]
pub struct Process {
    /// Name shown in failures.
    pub name: String,
    child: Child,
    log: PathBuf,
}

impl Process {
    /// Starts `program` with `args` and `env`, logging to `dir/<name>.log`.
    pub fn start(
        name: &str,
        program: &Path,
        args: &[&str],
        env: &[(&str, String)],
        dir: &Path,
    ) -> Self {
        Self::start_serving(name, program, args, env, dir, Vec::new())
    }

    /// [`Process::start`], handing `sockets` to the child by systemd's socket
    /// activation protocol (`LISTEN_FDS`, `LISTEN_FDNAMES`; the kit's
    /// `server::inherited` takes them by name). This process keeps no copy.
    pub fn start_serving(
        name: &str,
        program: &Path,
        args: &[&str],
        env: &[(&str, String)],
        dir: &Path,
        sockets: Vec<(&str, TcpListener)>,
    ) -> Self {
        use command_fds::{CommandFdExt, FdMapping};
        let log = dir.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let mut command = Command::new(program);
        command
            .args(args)
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .env_remove("RUST_LOG")
            .env("SCIR_LOG", "info");
        for (key, value) in env {
            command.env(key, value);
        }
        // LISTEN_PID stays unset: the child's id is not known before it
        // starts, and the protocol's reader skips the check without it.
        command.env_remove("LISTEN_PID");
        if sockets.is_empty() {
            command
                .env_remove("LISTEN_FDS")
                .env_remove("LISTEN_FDNAMES");
        } else {
            let names: Vec<&str> = sockets.iter().map(|(name, _)| *name).collect();
            command
                .env("LISTEN_FDS", sockets.len().to_string())
                .env("LISTEN_FDNAMES", names.join(":"));
            let mappings = sockets
                .into_iter()
                .zip(3..)
                .map(|((_, listener), child_fd)| FdMapping {
                    parent_fd: listener.into(),
                    child_fd,
                })
                .collect();
            command
                .fd_mappings(mappings)
                .expect("descriptors for the child");
        }
        let child = command
            .spawn()
            .unwrap_or_else(|e| panic!("starting {}: {e}", program.display()));
        Self {
            name: name.to_owned(),
            child,
            log,
        }
    }

    /// Its process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Kills the process at once (SIGKILL) and waits for it.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Asks the process to stop (SIGTERM) and waits for it; returns whether it
    /// exited successfully.
    pub fn terminate(&mut self) -> bool {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        self.child.wait().map(|s| s.success()).unwrap_or(false)
    }

    /// The last lines of its log.
    pub fn tail(&self, lines: usize) -> String {
        let Ok(file) = std::fs::File::open(&self.log) else {
            return String::new();
        };
        let all: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!("---- {} (last lines) ----\n{}", self.name, self.tail(40));
        }
        self.kill();
    }
}

/// The name a service's socket is handed over as: `scir-intake` -> `intake`.
fn socket_name(binary: &str) -> &str {
    binary.trim_start_matches("scir-")
}

/// Waits until every service at these addresses serves.
async fn wait_all(addresses: [SocketAddr; SERVICES], tls: &TlsArgs) {
    let transport = Transport::from_args(tls).expect("client certificate");
    let services = [
        Service::Intake,
        Service::Review,
        Service::Scoring,
        Service::Insights,
        Service::Learning,
        Service::Culture,
    ];
    for (address, service) in addresses.into_iter().zip(services) {
        wait_serving(&transport, address, service).await;
    }
}

async fn wait_serving(transport: &Transport, address: SocketAddr, service: Service) {
    let channel = transport
        .channel(&format!("http://{address}"))
        .expect("channel");
    scir_testkit::wait_serving_on(channel, address, service.grpc_name()).await;
}

/// Mutual TLS settings naming `dir/NAME/cert.pem`, `key.pem` and `ca.pem`
/// (as `deploy/tls/make-certs.sh DIR NAME` makes them), checked every second.
pub fn tls_files(dir: &Path, name: &str) -> TlsArgs {
    let dir = dir.join(name);
    let mut args = TlsArgs::files(
        dir.join("cert.pem"),
        dir.join("key.pem"),
        dir.join("ca.pem"),
    );
    args.reload_secs = 1;
    args
}

/// Runs `deploy/tls/make-certs.sh dir names...`.
pub fn make_certs(dir: &Path, names: &[&str]) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/tls/make-certs.sh");
    let status = Command::new("bash")
        .arg(script)
        .arg(dir)
        .args(names)
        .status()
        .expect("running make-certs.sh");
    assert!(status.success(), "make-certs.sh failed");
}

/// The `SCIR_TLS_*` environment of a process using `args`.
pub fn tls_env(args: &TlsArgs) -> Vec<(&'static str, String)> {
    let path = |p: &Option<PathBuf>| p.as_ref().expect("path").display().to_string();
    vec![
        ("SCIR_TLS_CERT", path(&args.cert)),
        ("SCIR_TLS_KEY", path(&args.key)),
        ("SCIR_TLS_CA", path(&args.ca)),
        ("SCIR_TLS_RELOAD_SECS", args.reload_secs.to_string()),
    ]
}

/// Where the four services' OTLP data goes.
#[derive(Debug, Clone, Default)]
pub struct Telemetry {
    /// OTLP/gRPC endpoint, `http://host:port`.
    pub otlp_endpoint: Option<String>,
}

/// The four services as four processes.
#[derive(Debug)]
pub struct Stack {
    /// Their addresses.
    pub endpoints: Endpoints,
    /// The processes: intake, review, scoring, insights.
    pub processes: Vec<Process>,
    /// Signs tokens the services accept.
    pub signer: Signer,
    specs: Vec<Spec>,
    /// The databases: intake, review, scoring, insights.
    pub databases: Vec<TestDatabase>,
    dir: tempfile::TempDir,
}

/// How one service of a stack was started, to start it again.
#[derive(Debug)]
struct Spec {
    name: &'static str,
    address: SocketAddr,
    env: Vec<(&'static str, String)>,
}

/// The services of a stack, by their index in [`Stack::processes`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// Intake.
    Intake = 0,
    /// Review.
    Review = 1,
    /// Scoring.
    Scoring = 2,
    /// Insights.
    Insights = 3,
    /// Learning.
    Learning = 4,
    /// Culture.
    Culture = 5,
}

/// How many services a stack runs.
pub const SERVICES: usize = 6;

impl Service {
    /// The gRPC service name health reports.
    pub fn grpc_name(self) -> &'static str {
        match self {
            Self::Intake => "scir.intake.v1.IntakeService",
            Self::Review => "scir.review.v1.ReviewService",
            Self::Scoring => "scir.scoring.v1.ScoringService",
            Self::Insights => "scir.insights.v1.InsightsService",
            Self::Learning => "scir.learning.v1.LearningService",
            Self::Culture => "scir.culture.v1.CultureService",
        }
    }
}

impl Stack {
    /// Starts every service (intake, review, scoring, insights, learning, culture), each with its own fresh
    /// database on `backend`, and waits until all are SERVING.
    pub async fn start(backend: Backend, telemetry: &Telemetry) -> Self {
        Self::launch(backend, telemetry, false).await
    }

    /// The same services, each with its own certificate from one authority (made
    /// with `deploy/tls/make-certs.sh`), serving and calling each other only
    /// over mutual TLS; the stack's endpoints present a client certificate.
    pub async fn start_over_tls(backend: Backend) -> Self {
        Self::launch(backend, &Telemetry::default(), true).await
    }

    async fn launch(backend: Backend, telemetry: &Telemetry, tls: bool) -> Self {
        let dir = tempfile::tempdir().expect("temporary directory");
        let certs = dir.path().join("certs");
        if tls {
            make_certs(
                &certs,
                &[
                    "intake", "review", "scoring", "insights", "learning", "culture", "client",
                ],
            );
        }
        let mut databases = Vec::new();
        for _ in 0..SERVICES {
            databases.push(TestDatabase::new(backend).await);
        }
        let mut listeners = [(); SERVICES].map(|()| Some(listener()));
        let [intake, review, scoring, insights, learning, culture] =
            [0, 1, 2, 3, 4, 5].map(|i| address_of(listeners[i].as_ref().expect("listener")));
        let url = |a: SocketAddr| format!("http://{a}");
        let mut common = vec![
            ("SCIR_JWT_ISSUER", scir_testkit::ISSUER.to_owned()),
            ("SCIR_JWT_AUDIENCE", scir_testkit::AUDIENCE.to_owned()),
            ("SCIR_JWT_HS256_SECRET", scir_testkit::SECRET.to_owned()),
            ("SCIR_DATA_KEYS", scir_testkit::DATA_KEYS.to_owned()),
            ("SCIR_DRAIN_TIMEOUT", "2s".to_owned()),
        ];
        if let Some(endpoint) = &telemetry.otlp_endpoint {
            common.extend([
                ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.clone()),
                ("OTEL_BSP_SCHEDULE_DELAY", "100".to_owned()),
                ("OTEL_METRIC_EXPORT_INTERVAL", "300".to_owned()),
            ]);
        }
        let with = |name: &str, database: &TestDatabase, extra: Vec<(&'static str, String)>| {
            let mut env = common.clone();
            if tls {
                env.extend(tls_env(&tls_files(&certs, name)));
            }
            env.push(("SCIR_DATABASE_URL", database.url.clone()));
            env.extend(extra);
            env
        };
        let specs = [
            ("scir-intake", intake, with("intake", &databases[0], vec![])),
            (
                "scir-review",
                review,
                with(
                    "review",
                    &databases[1],
                    vec![
                        ("SCIR_REVIEW_INTAKE_ADDR", url(intake)),
                        ("SCIR_REVIEW_SCORING_ADDR", url(scoring)),
                    ],
                ),
            ),
            (
                "scir-scoring",
                scoring,
                with(
                    "scoring",
                    &databases[2],
                    vec![("SCIR_SCORING_REVIEW_ADDR", url(review))],
                ),
            ),
            (
                "scir-insights",
                insights,
                with(
                    "insights",
                    &databases[3],
                    vec![
                        ("SCIR_INSIGHTS_REVIEW_ADDR", url(review)),
                        ("SCIR_INSIGHTS_SCORING_ADDR", url(scoring)),
                        ("SCIR_INSIGHTS_LEARNING_ADDR", url(learning)),
                        ("SCIR_INSIGHTS_CULTURE_ADDR", url(culture)),
                        ("SCIR_INSIGHTS_KEY_SALT", "e2e-salt".to_owned()),
                    ],
                ),
            ),
            (
                "scir-learning",
                learning,
                with(
                    "learning",
                    &databases[4],
                    vec![("SCIR_LEARNING_REVIEW_ADDR", url(review))],
                ),
            ),
            (
                "scir-culture",
                culture,
                with("culture", &databases[5], vec![]),
            ),
        ];
        let mut processes = Vec::new();
        for ((name, _, env), listener) in specs.iter().zip(&mut listeners) {
            let socket = (socket_name(name), listener.take().expect("listener"));
            processes.push(Process::start_serving(
                name,
                &binary(name),
                &[],
                env,
                dir.path(),
                vec![socket],
            ));
        }
        let specs = specs
            .into_iter()
            .map(|(name, address, env)| Spec { name, address, env })
            .collect();
        let stack = Self {
            endpoints: Endpoints {
                intake: url(intake),
                review: url(review),
                scoring: url(scoring),
                insights: url(insights),
                learning: url(learning),
                culture: url(culture),
                tls: if tls {
                    tls_files(&certs, "client")
                } else {
                    TlsArgs::default()
                },
            },
            processes,
            signer: Signer::new(
                scir_testkit::SECRET,
                scir_testkit::ISSUER,
                scir_testkit::AUDIENCE,
            ),
            specs,
            databases,
            dir,
        };
        wait_all(
            [intake, review, scoring, insights, learning, culture],
            &stack.endpoints.tls.clone(),
        )
        .await;
        stack
    }

    /// A driver for this stack.
    pub fn driver(&self) -> Driver {
        Driver::new(
            Channels::new(&self.endpoints).expect("channels"),
            self.signer.clone(),
        )
    }

    /// Where `service` listens.
    pub fn address(&self, service: Service) -> SocketAddr {
        self.specs[service as usize].address
    }

    /// Kills `service` at once (SIGKILL).
    pub fn kill(&mut self, service: Service) {
        self.processes[service as usize].kill();
    }

    /// Stops `service` with SIGTERM; returns whether it exited cleanly.
    pub fn terminate(&mut self, service: Service) -> bool {
        self.processes[service as usize].terminate()
    }

    /// Starts `service` again, on the same address and database, and waits
    /// until it is SERVING.
    pub async fn restart(&mut self, service: Service) {
        let spec = &self.specs[service as usize];
        static RESTARTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(1);
        let run = RESTARTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("{}-restart{run}", spec.name);
        // The old process is gone first, so its port is free to bind again
        // (below the ephemeral range, no outgoing connection has taken it).
        self.processes[service as usize].kill();
        let listener = TcpListener::bind(spec.address).expect("the service's port, again");
        let process = Process::start_serving(
            &name,
            &binary(spec.name),
            &[],
            &spec.env,
            self.dir.path(),
            vec![(socket_name(spec.name), listener)],
        );
        self.processes[service as usize] = process;
        let transport = Transport::from_args(&self.endpoints.tls).expect("client certificate");
        wait_serving(&transport, spec.address, service).await;
    }
}

/// `scir up` as one process.
#[derive(Debug)]
pub struct Up {
    /// Its addresses.
    pub endpoints: Endpoints,
    /// The web console's address, `http://host:port`.
    pub web: String,
    /// The process.
    pub process: Process,
    /// Signs development tokens with the secret `scir up` created.
    pub signer: Signer,
    /// Its data directory.
    pub data_dir: tempfile::TempDir,
}

impl Up {
    /// Each service's gRPC name with the loopback address that serves it.
    pub fn services(&self) -> [(&'static str, SocketAddr); SERVICES] {
        let address = |url: &str| -> SocketAddr {
            url.trim_start_matches("http://").parse().expect("address")
        };
        let e = &self.endpoints;
        [
            ("scir.intake.v1.IntakeService", address(&e.intake)),
            ("scir.review.v1.ReviewService", address(&e.review)),
            ("scir.scoring.v1.ScoringService", address(&e.scoring)),
            ("scir.insights.v1.InsightsService", address(&e.insights)),
            ("scir.learning.v1.LearningService", address(&e.learning)),
            ("scir.culture.v1.CultureService", address(&e.culture)),
        ]
    }

    /// Starts `scir up` on free ports with a fresh data directory and waits
    /// until every service is SERVING.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// [`Up::start`] with `env` set for `scir up`.
    pub async fn start_with(env: &[(&str, String)]) -> Self {
        let data_dir = tempfile::tempdir().expect("temporary directory");
        // The services and the web console, each on a port bound here and
        // handed over, so that no two tests' consoles meet on a default port.
        let listeners = [(); SERVICES + 1].map(|()| listener());
        let [intake, review, scoring, insights, learning, culture, web] =
            [0, 1, 2, 3, 4, 5, 6].map(|i| address_of(&listeners[i]));
        let data = data_dir.path().display().to_string();
        let sockets = [
            "intake", "review", "scoring", "insights", "learning", "culture", "web",
        ]
        .into_iter()
        .zip(listeners)
        .collect();
        let process = Process::start_serving(
            "scir-up",
            &binary("scir"),
            &["up", "--data-dir", &data],
            env,
            data_dir.path(),
            sockets,
        );
        wait_all(
            [intake, review, scoring, insights, learning, culture],
            &TlsArgs::default(),
        )
        .await;
        let secret = scir::dev_auth::read_secret(data_dir.path()).expect("development secret");
        let url = |a: SocketAddr| format!("http://{a}");
        Self {
            endpoints: Endpoints {
                intake: url(intake),
                review: url(review),
                scoring: url(scoring),
                insights: url(insights),
                learning: url(learning),
                culture: url(culture),
                tls: Default::default(),
            },
            web: url(web),
            process,
            signer: Signer::new(
                &secret,
                scir::dev_auth::DEV_ISSUER,
                scir::dev_auth::DEV_AUDIENCE,
            ),
            data_dir,
        }
    }

    /// A driver for it.
    pub fn driver(&self) -> Driver {
        Driver::new(
            Channels::new(&self.endpoints).expect("channels"),
            self.signer.clone(),
        )
    }
}
