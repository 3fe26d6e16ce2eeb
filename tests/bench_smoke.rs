//! Seconds-long runs of the benchmarks (the load generator, the gRPC ceiling,
//! propagation, hot review updates, overhead, shedding under overload), so they
//! keep working; the measurements themselves are commands in
//! docs/benchmarks.md, not timed tests.

use std::process::Command;

use scir_e2e::processes::{Process, Up, address_of, binary, listener};

fn load(up: &Up, address: &str, extra: &[&str]) -> serde_json::Value {
    let pid = up.process.id().to_string();
    let mut args = vec![
        "bench",
        "load",
        "--json",
        "--warmup",
        "0s",
        "--duration",
        "1s",
        "--intake-addr",
        address,
    ];
    args.extend_from_slice(extra);
    if address == up.endpoints.intake {
        args.extend(["--server-pid", &pid]);
    }
    let out = Command::new(binary("scir"))
        .args(&args)
        .env("SCIR_DATA_DIR", up.data_dir.path())
        .output()
        .expect("scir bench load");
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("json")
}

fn only_ok(result: &serde_json::Value) {
    let codes = result["codes"].as_object().expect("codes");
    assert_eq!(codes.keys().collect::<Vec<_>>(), ["Ok"], "{result}");
    assert!(
        result["throughput"].as_f64().expect("throughput") > 0.0,
        "{result}"
    );
    assert!(result["p99_ms"].as_f64().expect("p99") > 0.0, "{result}");
    assert!(
        result["request_bytes_max"].as_u64().expect("size") > 2000,
        "{result}"
    );
}

#[tokio::test]
async fn the_load_generator_and_the_ceiling_run() {
    let up = Up::start().await;
    let dir = tempfile::tempdir().expect("dir");
    let socket = listener();
    let ceiling = address_of(&socket);
    let _server = Process::start_serving(
        "scir-bench-ceiling",
        &binary("scir"),
        &["bench", "ceiling"],
        &[],
        dir.path(),
        vec![("ceiling", socket)],
    );
    // The ceiling has no health service: wait for its port.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(20);
    while tokio::net::TcpStream::connect(ceiling).await.is_err() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the ceiling never listened"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }

    let intake = up.endpoints.intake.clone();
    let report = load(&up, &intake, &["--target", "report", "--concurrency", "4"]);
    only_ok(&report);
    assert!(
        report["cpu_seconds_per_1000"].as_f64().is_some(),
        "{report}"
    );
    assert!(
        report["peak_rss_mb"].as_f64().expect("rss") > 1.0,
        "{report}"
    );
    only_ok(&load(
        &up,
        &intake,
        &["--target", "evaluate", "--rate", "50"],
    ));
    // The same calls over HTTP/JSON.
    only_ok(&load(&up, &intake, &["--target", "evaluate", "--http"]));
    only_ok(&load(
        &up,
        &intake,
        &["--target", "report", "--http", "--concurrency", "4"],
    ));
    only_ok(&load(
        &up,
        &format!("http://{ceiling}"),
        &["--target", "evaluate"],
    ));
}

fn scir_json(args: &[&str], env: &[(&str, &str)]) -> serde_json::Value {
    let out = Command::new(binary("scir"))
        .args(args)
        .envs(env.iter().copied())
        .output()
        .expect("scir");
    assert!(out.status.success(), "{out:?}");
    serde_json::from_slice(&out.stdout).expect("json")
}

#[tokio::test]
async fn propagation_review_updates_and_overhead_run() {
    let up = Up::start().await;
    let data_dir = up.data_dir.path().display().to_string();
    let endpoints = [
        ("SCIR_INTAKE_ADDR", up.endpoints.intake.as_str()),
        ("SCIR_REVIEW_ADDR", up.endpoints.review.as_str()),
        ("SCIR_SCORING_ADDR", up.endpoints.scoring.as_str()),
        ("SCIR_INSIGHTS_ADDR", up.endpoints.insights.as_str()),
        ("SCIR_DATA_DIR", data_dir.as_str()),
    ];
    let result = scir_json(
        &[
            "bench",
            "propagation",
            "--json",
            "--rate",
            "40",
            "--warmup",
            "0s",
            "--duration",
            "1s",
        ],
        &endpoints,
    );
    for hop in ["to_review", "to_insights"] {
        assert!(
            result[hop]["measured"].as_u64().expect("measured") > 0,
            "{result}"
        );
        assert_eq!(result[hop]["missing"].as_u64(), Some(0), "{result}");
        assert!(
            result[hop]["p99_ms"].as_f64().expect("p99") > 0.0,
            "{result}"
        );
    }

    let updates = scir_json(
        &[
            "bench",
            "review-updates",
            "--json",
            "--reviews",
            "3",
            "--concurrency",
            "4",
            "--warmup",
            "0s",
            "--duration",
            "1s",
        ],
        &endpoints,
    );
    assert!(
        updates["updates_total"].as_u64().expect("total") > 0,
        "{updates}"
    );
    assert_eq!(updates["lost_updates"].as_u64(), Some(0), "{updates}");
    assert!(
        updates["errors"].as_object().expect("errors").is_empty(),
        "{updates}"
    );

    let pairs = scir_json(
        &[
            "bench",
            "overhead",
            "--json",
            "--concurrency",
            "2",
            "--warmup",
            "0s",
            "--duration",
            "1s",
        ],
        &[],
    );
    let pair = &pairs[0];
    for side in ["on", "off"] {
        only_ok(&pair[side]);
    }
    assert!(pair["ratio"].as_f64().expect("ratio") > 0.0, "{pairs}");
}

#[tokio::test]
async fn calls_beyond_the_concurrency_limit_are_shed() {
    // Intake allowing 2 calls at once, driven by 32 callers writing reports:
    // the excess is refused with RESOURCE_EXHAUSTED, the rest served.
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(dir.path().join("dev-jwt-secret"), scir_testkit::SECRET).expect("secret");
    let database = scir_testkit::TestDatabase::new(scir_testkit::Backend::Sqlite).await;
    let socket = listener();
    let address = address_of(&socket);
    let _intake = Process::start_serving(
        "scir-intake",
        &binary("scir-intake"),
        &[],
        &[
            ("SCIR_DATABASE_URL", database.url.clone()),
            ("SCIR_JWT_ISSUER", "scir-dev".to_owned()),
            ("SCIR_JWT_AUDIENCE", "scir".to_owned()),
            ("SCIR_JWT_HS256_SECRET", scir_testkit::SECRET.to_owned()),
            ("SCIR_DATA_KEYS", scir_testkit::DATA_KEYS.to_owned()),
            ("SCIR_CONCURRENCY_LIMIT", "2".to_owned()),
        ],
        dir.path(),
        vec![("intake", socket)],
    );
    scir_testkit::wait_serving(address, "scir.intake.v1.IntakeService").await;
    let data_dir = dir.path().display().to_string();
    let result = scir_json(
        &[
            "bench",
            "load",
            "--json",
            "--target",
            "report",
            "--concurrency",
            "32",
            "--warmup",
            "0s",
            "--duration",
            "1s",
            "--intake-addr",
            &address.to_string(),
        ],
        &[("SCIR_DATA_DIR", data_dir.as_str())],
    );
    let codes = result["codes"].as_object().expect("codes");
    assert!(codes["Ok"].as_u64().unwrap_or(0) > 0, "{result}");
    assert!(
        codes["ResourceExhausted"].as_u64().unwrap_or(0) > 0,
        "{result}"
    );
    assert_eq!(codes.len(), 2, "only served and shed calls: {result}");
    assert!(result["failed_p99_ms"].as_f64().is_some(), "{result}");
}
