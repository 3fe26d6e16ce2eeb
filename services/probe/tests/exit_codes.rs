//! `scir-probe`'s exit codes, which container healthchecks and Kubernetes exec
//! probes act on. (Its answers from a real server, plaintext and over mutual
//! TLS, are tested end to end in `tests/tls.rs`; this test also makes
//! `cargo test` build the binary those tests run.)

use std::process::Command;

fn probe(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_scir-probe"))
        .args(args)
        .env_remove("SCIR_TLS_CERT")
        .env_remove("SCIR_TLS_KEY")
        .env_remove("SCIR_TLS_CA")
        .output()
        .expect("scir-probe runs")
}

#[test]
fn nothing_listening_is_a_failure() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address")
        .port();
    let out = probe(&[&format!("127.0.0.1:{port}")]);
    assert_eq!(out.status.code(), Some(1), "{out:?}");
}

#[test]
fn bad_usage_is_exit_code_two() {
    let out = probe(&["127.0.0.1:1", "", "--no-such-flag"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    // Only some of the three TLS files named.
    let out = probe(&["127.0.0.1:1", "", "--tls-cert", "cert.pem"]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("SCIR_TLS_KEY"),
        "{out:?}"
    );
}

#[test]
fn a_plain_probe_ignores_the_tls_settings() {
    // The web console's container carries TLS settings for its calls out,
    // while its own port is plain: the probe asks it plainly.
    for value in ["1", "true"] {
        let out = Command::new(env!("CARGO_BIN_EXE_scir-probe"))
            .args(["127.0.0.1:1", "", "--tls-cert", "cert.pem"])
            .env("SCIR_PROBE_PLAIN", value)
            .output()
            .expect("scir-probe runs");
        assert_eq!(out.status.code(), Some(1), "{value}: {out:?}");
    }
}
