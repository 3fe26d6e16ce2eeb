//! The contract as an integrator meets it with the official clients of another
//! language: `tests/python/*.py` (grpcio, grpcio-reflection,
//! grpcio-health-checking; `tests/python/requirements.txt`) against `scir up`.

use std::path::Path;
use std::process::Command;

use scir_e2e::processes::Up;

#[tokio::test]
async fn the_official_python_clients_see_each_port_as_it_is() {
    let up = Up::start().await;
    let ports = up
        .services()
        .map(|(service, address)| format!("{address}={service}"));
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
