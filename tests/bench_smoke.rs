//! A seconds-long run of the load generator and the gRPC ceiling, so the
//! benchmarks keep working; the measurements themselves are commands in
//! docs/benchmarks.md, not timed tests.

use std::process::Command;

use scir_e2e::processes::{Process, Up, binary, free_address};

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
    let ceiling = free_address();
    let _server = Process::start(
        "scir-bench-ceiling",
        &binary("scir"),
        &["bench", "ceiling", "--listen", &ceiling.to_string()],
        &[],
        dir.path(),
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
    only_ok(&load(
        &up,
        &format!("http://{ceiling}"),
        &["--target", "evaluate"],
    ));
}
