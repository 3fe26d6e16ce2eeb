//! The contract as an integrator meets it with the official clients of another
//! language: `tests/python/*.py` (grpcio, grpcio-reflection,
//! grpcio-health-checking; `tests/python/requirements.txt`) against `scir up`.

use std::path::Path;
use std::process::Command;

use scir_e2e::processes::Up;

/// `host:port` of an endpoint URL.
fn authority(url: &str) -> String {
    url.trim_start_matches("http://").to_owned()
}

#[tokio::test]
async fn the_official_python_clients_see_each_port_as_it_is() {
    let up = Up::start().await;
    let e = &up.endpoints;
    let ports = [
        (&e.intake, "scir.intake.v1.IntakeService"),
        (&e.review, "scir.review.v1.ReviewService"),
        (&e.scoring, "scir.scoring.v1.ScoringService"),
        (&e.insights, "scir.insights.v1.InsightsService"),
    ]
    .map(|(url, service)| format!("{}={service}", authority(url)));
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("python/reflection.py");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .arg(script)
            .args(ports)
            .output()
            .expect("python3 runs")
    })
    .await
    .expect("joined");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{text}");
    assert_eq!(text.matches(" ok (").count(), 4, "{text}");
}
