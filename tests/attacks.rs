//! Attacks on `scir up` (the real binary) from one caller against the others,
//! on loopback only, each bounded in time. During every attack a caller with a
//! valid token of its own keeps calling and must be served within
//! [`SERVED_WITHIN`]; after it, the process's memory must come back within
//! [`RSS_BOUND_MB`] of where it started, and every audit chain must verify.
//! The figures are printed (`--nocapture`) and written down in
//! docs/reliability.md.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use scir_e2e::processes::Up;
use scir_kit::auth::Role;
use tokio::io::AsyncReadExt;
use tokio::net::TcpStream;
use tonic::Code;

/// Longest a legitimate call may take while an attack runs (measured on two
/// cores: p100 of 16 calls during each attack stays under 300 ms).
const SERVED_WITHIN: Duration = Duration::from_secs(2);

/// How far above its starting point the process's memory may stay after an
/// attack ends (it rose by about 500 MB and stayed there before the limits).
const RSS_BOUND_MB: u64 = 64;

const LIST_JURISDICTIONS: &str = "/scir.intake.v1.IntakeService/ListJurisdictions";
const REPORT_INCIDENT: &str = "/scir.intake.v1.IntakeService/ReportIncident";

fn rss_mb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|kb| kb.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

fn address(endpoint: &str) -> SocketAddr {
    endpoint
        .trim_start_matches("http://")
        .parse()
        .expect("address")
}

/// The legitimate caller: 16 calls one after another; every one must be
/// served, and the slowest within [`SERVED_WITHIN`]. Returns the slowest.
async fn legitimate_calls(target: SocketAddr, token: &str) -> Duration {
    let mut slowest = Duration::ZERO;
    for _ in 0..16 {
        let started = Instant::now();
        let status =
            scir_testkit::raw::call(target, LIST_JURISDICTIONS, Vec::new(), false, token).await;
        let took = started.elapsed();
        assert_eq!(
            status.code(),
            Code::Ok,
            "a legitimate call was refused: {status:?}"
        );
        slowest = slowest.max(took);
    }
    assert!(
        slowest < SERVED_WITHIN,
        "a legitimate call took {slowest:?} during the attack"
    );
    slowest
}

/// An HTTP/2 connection of the attacker's own, below any gRPC library.
async fn h2_connection(target: SocketAddr) -> h2::client::SendRequest<Bytes> {
    let tcp = TcpStream::connect(target).await.expect("connect");
    let (send, connection) = h2::client::handshake(tcp).await.expect("handshake");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    send
}

fn grpc_request(target: SocketAddr, path: &str, token: Option<&str>) -> http::Request<()> {
    let mut builder = http::Request::builder()
        .method("POST")
        .uri(format!("http://{target}{path}"))
        .header("content-type", "application/grpc")
        .header("te", "trailers");
    if let Some(token) = token {
        builder = builder.header("authorization", format!("Bearer {token}"));
    }
    builder.body(()).expect("request")
}

/// Opens `streams` calls on `connection` whose request bodies never end; each
/// first sends `data` (possibly nothing). Returns the open streams.
async fn stalled_calls(
    connection: &mut h2::client::SendRequest<Bytes>,
    target: SocketAddr,
    token: &str,
    streams: usize,
    data: Option<Bytes>,
) -> Vec<(h2::client::ResponseFuture, h2::SendStream<Bytes>)> {
    let mut open = Vec::new();
    for _ in 0..streams {
        let Ok(ready) =
            tokio::time::timeout(Duration::from_secs(2), connection.clone().ready()).await
        else {
            break; // the server's stream limit: no more on this connection
        };
        let mut ready = ready.expect("ready");
        let (response, mut body) = ready
            .send_request(grpc_request(target, LIST_JURISDICTIONS, Some(token)), false)
            .expect("send");
        if let Some(data) = &data {
            body.reserve_capacity(data.len());
            let _ = body.send_data(data.clone(), false);
        }
        open.push((response, body));
    }
    open
}

async fn grpc_status(response: h2::client::ResponseFuture) -> Option<Code> {
    let response = response.await.ok()?;
    let status = response
        .headers()
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<i32>().ok());
    status.map(Code::from_i32)
}

#[tokio::test]
async fn one_caller_cannot_deny_service_to_another() {
    let up = Up::start().await;
    let pid = up.process.id();
    let intake = address(&up.endpoints.intake);
    let attacker = up
        .signer
        .token("attacker", &[Role::Partner], "us-tn")
        .expect("token");
    let legitimate = up
        .signer
        .token("legitimate", &[Role::Reporter], "us-wi")
        .expect("token");
    let rss_start = rss_mb(pid);
    println!("RSS at start: {rss_start} MB");

    // 1. Streams whose bodies never come, as many as the server allows on
    //    three connections (it advertises 100 per connection).
    let mut connections = Vec::new();
    let mut stalled = Vec::new();
    for _ in 0..3 {
        let mut connection = h2_connection(intake).await;
        stalled.extend(stalled_calls(&mut connection, intake, &attacker, 120, None).await);
        connections.push(connection);
    }
    println!("stalled streams opened: {}", stalled.len());
    let beyond_limit = stalled.len().saturating_sub(3 * 100);
    let slowest = legitimate_calls(intake, &legitimate).await;
    println!("stalled bodies: slowest legitimate call {slowest:?}");
    for connection in &connections {
        // Beyond it, the client holds streams back until others end.
        assert_eq!(
            connection.current_max_send_streams(),
            100,
            "the advertised limit"
        );
    }
    let mut codes = std::collections::BTreeMap::<String, usize>::new();
    for (response, _body) in stalled {
        let ended = match tokio::time::timeout(Duration::from_secs(25), grpc_status(response)).await
        {
            Err(_) => "still open".to_owned(),
            // Sent before the client learnt the stream limit: reset by the server.
            Ok(None) => "refused stream".to_owned(),
            Ok(Some(code)) => format!("{code:?}"),
        };
        *codes.entry(ended).or_default() += 1;
    }
    println!("stalled streams ended: {codes:?}");
    assert_eq!(codes.get("still open"), None, "every stalled call ends");
    // Exactly the share waits for its bodies and times out. Streams beyond a
    // connection's 100 are refused by the server, unless the client learnt the
    // limit first (on a loaded machine) and held them back: those open when a
    // slot frees, at the first timeouts, and may then wait in their turn.
    let waited = codes.get("DeadlineExceeded").copied().unwrap_or(0);
    let refused = codes.get("refused stream").copied().unwrap_or(0);
    let held_back = beyond_limit.saturating_sub(refused);
    assert!(
        (128..=128 + held_back).contains(&waited),
        "the caller's share (half of 256 permits) waits for its bodies, then times out: \
         {waited} waited, {held_back} streams were held back by the client"
    );
    drop(connections);

    // 2. Messages one byte under 4 MiB that never finish: 128 of them.
    let size: u32 = 4 * 1024 * 1024 - 1;
    let mut prefix = vec![0u8];
    prefix.extend_from_slice(&size.to_be_bytes());
    let mut message = prefix;
    message.resize(4 * 1024 * 1024 - 64, 7);
    let message = Bytes::from(message);
    let mut connection = h2_connection(intake).await;
    let large = stalled_calls(&mut connection, intake, &attacker, 128, Some(message)).await;
    let mut rss_peak = rss_mb(pid);
    let slowest = legitimate_calls(intake, &legitimate).await;
    println!("large bodies: slowest legitimate call {slowest:?}");
    for _ in 0..10 {
        tokio::time::sleep(Duration::from_millis(200)).await;
        rss_peak = rss_peak.max(rss_mb(pid));
    }
    drop(large);
    drop(connection);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let rss_after = rss_mb(pid);
    println!("large bodies: RSS {rss_start} MB -> peak {rss_peak} MB -> after {rss_after} MB");
    assert!(
        rss_peak < rss_start + 2 * RSS_BOUND_MB,
        "buffered request bytes are bounded: {rss_start} -> {rss_peak} MB"
    );
    assert!(
        rss_after < rss_start + RSS_BOUND_MB,
        "memory comes back: {rss_start} -> {rss_after} MB"
    );

    // 3. A second message in a unary call is refused.
    let connection = h2_connection(intake).await;
    let mut ready = connection.clone().ready().await.expect("ready");
    let (response, mut body) = ready
        .send_request(
            grpc_request(intake, LIST_JURISDICTIONS, Some(&legitimate)),
            false,
        )
        .expect("send");
    body.send_data(Bytes::from_static(&[0, 0, 0, 0, 0, 0, 0, 0, 0, 0]), true)
        .expect("two empty messages");
    assert_eq!(grpc_status(response).await, Some(Code::InvalidArgument));
    drop(connection);

    // 4. Connections that send nothing are closed within the preface timeout.
    let started = Instant::now();
    let mut idle = Vec::new();
    for _ in 0..300 {
        idle.push(TcpStream::connect(intake).await.expect("connect"));
    }
    let slowest = legitimate_calls(intake, &legitimate).await;
    println!("300 idle connections: slowest legitimate call {slowest:?}");
    let mut closed = 0;
    for mut connection in idle {
        let mut buffer = [0u8; 64];
        let deadline = Duration::from_secs(15).saturating_sub(started.elapsed());
        // The server's SETTINGS may come first; then the close.
        loop {
            match tokio::time::timeout(deadline, connection.read(&mut buffer)).await {
                Ok(Ok(0)) | Ok(Err(_)) => {
                    closed += 1;
                    break;
                }
                Ok(Ok(_)) => continue,
                Err(_) => break,
            }
        }
    }
    println!(
        "idle connections closed: {closed} of 300 in {:?}",
        started.elapsed()
    );
    assert_eq!(closed, 300, "every silent connection is closed");

    // 5. A flood of calls without a token: refused before any database work.
    let intake_db = up.data_dir.path().join("intake.db");
    let size_before = std::fs::metadata(&intake_db).map_or(0, |m| m.len());
    let flood_until = Instant::now() + Duration::from_secs(4);
    let mut flooders = Vec::new();
    for _ in 0..4 {
        flooders.push(tokio::spawn(async move {
            let connection = h2_connection(intake).await;
            let mut sent = 0u64;
            while Instant::now() < flood_until {
                let mut batch = Vec::new();
                for _ in 0..50 {
                    let Ok(mut ready) = connection.clone().ready().await else {
                        return sent;
                    };
                    let Ok((response, mut body)) =
                        ready.send_request(grpc_request(intake, LIST_JURISDICTIONS, None), false)
                    else {
                        return sent;
                    };
                    let _ = body.send_data(Bytes::from_static(&[0, 0, 0, 0, 0]), true);
                    batch.push(response);
                }
                for response in batch {
                    let _ = grpc_status(response).await;
                    sent += 1;
                }
            }
            sent
        }));
    }
    let slowest = legitimate_calls(intake, &legitimate).await;
    let mut flood = 0;
    for flooder in flooders {
        flood += flooder.await.expect("flooder");
    }
    tokio::time::sleep(scir_kit::auth::UNAUTHENTICATED_AUDIT_INTERVAL + Duration::from_secs(1))
        .await;
    let size_after = std::fs::metadata(&intake_db).map_or(0, |m| m.len());
    let wal = std::fs::metadata(up.data_dir.path().join("intake.db-wal")).map_or(0, |m| m.len());
    println!(
        "unauthenticated flood: {flood} calls; slowest legitimate call {slowest:?}; intake.db {size_before} -> {size_after} bytes (log {wal})"
    );
    assert!(flood > 1000, "the flood was a flood: {flood}");
    assert!(
        size_after <= size_before + 256 * 1024,
        "the flood grew the database: {size_before} -> {size_after}"
    );

    // Nothing above broke an audit chain.
    let output = std::process::Command::new(scir_e2e::processes::binary("scir"))
        .args(["audit", "verify", "--all", "--data-dir"])
        .arg(up.data_dir.path())
        .output()
        .expect("scir audit verify");
    assert!(
        output.status.success(),
        "audit verify: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[tokio::test]
async fn a_person_token_claiming_the_service_role_reaches_no_other_jurisdiction() {
    let up = Up::start().await;
    let intake = address(&up.endpoints.intake);
    let crafted = up
        .signer
        .token("crafted", &[Role::Reporter, Role::Service], "us-tn")
        .expect("token");
    for path in [
        LIST_JURISDICTIONS,
        REPORT_INCIDENT,
        "/scir.intake.v1.IntakeService/ListIncidents",
        "/scir.intake.v1.IntakeService/GetIncident",
        "/scir.intake.v1.IntakeService/AmendIncident",
        "/scir.intake.v1.IntakeService/WatchEvents",
    ] {
        let streaming = path.ends_with("WatchEvents");
        let status = scir_testkit::raw::call(intake, path, Vec::new(), streaming, &crafted).await;
        assert_eq!(status.code(), Code::Unauthenticated, "{path}: {status:?}");
    }
}

/// Sends the head of an HTTP/1.1 POST declaring `declared` body bytes and the
/// first `sent` of them, then stalls; returns the connection.
async fn stalled_http(
    target: SocketAddr,
    path: &str,
    token: Option<&str>,
    declared: usize,
    sent: usize,
) -> Option<TcpStream> {
    use tokio::io::AsyncWriteExt;
    let mut tcp = TcpStream::connect(target).await.ok()?;
    let authorization = token
        .map(|t| format!("authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "POST {path} HTTP/1.1\r\nhost: {target}\r\ncontent-type: application/json\r\n\
         {authorization}content-length: {declared}\r\n\r\n"
    );
    tcp.write_all(head.as_bytes()).await.ok()?;
    tcp.write_all(&vec![b' '; sent]).await.ok()?;
    Some(tcp)
}

/// The HTTP status a connection answers within `within`, if any.
async fn http_status(tcp: &mut TcpStream, within: Duration) -> Option<u16> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    let read = async {
        while !head.ends_with(b"\r\n") {
            if tcp.read(&mut byte).await.ok()? == 0 {
                return None;
            }
            head.push(byte[0]);
        }
        Some(())
    };
    tokio::time::timeout(within, read).await.ok()??;
    String::from_utf8_lossy(&head)
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

/// HTTP/JSON calls cost the server what gRPC calls cost: no body byte is read
/// before the caller is authenticated, and an authenticated caller's bodies
/// are bounded by the same share, size and time as its gRPC messages.
#[tokio::test]
async fn http_json_bodies_are_bounded_like_grpc_messages() {
    const REPORT: &str = "/v1/incidents:report";
    let up = Up::start().await;
    let pid = up.process.id();
    let intake = address(&up.endpoints.intake);
    let token = |subject: &str| {
        up.signer
            .token(subject, &[Role::Reporter], "us-wi")
            .expect("token")
    };
    let (attacker, legitimate) = (token("http-attacker"), token("http-legitimate"));
    let rss_before = rss_mb(pid);

    // Without a token: 300 connections declaring 4 MiB bodies, sending 1 KiB.
    // Each is answered 401 at once; nothing waits for the rest of the body.
    let started = Instant::now();
    let mut readers = Vec::new();
    for _ in 0..300 {
        if let Some(mut tcp) = stalled_http(intake, REPORT, None, 4 << 20, 1024).await {
            readers.push(tokio::spawn(async move {
                http_status(&mut tcp, Duration::from_secs(2)).await
            }));
        }
    }
    let mut answered = 0;
    for reader in readers {
        if reader.await.expect("reader") == Some(401) {
            answered += 1;
        }
    }
    let took = started.elapsed();
    println!("unauthenticated HTTP bodies: {answered}/300 answered 401 in {took:?}");
    assert_eq!(
        answered, 300,
        "every unauthenticated call is refused at once"
    );

    // With a token: 160 stalled bodies of 4 MiB - 1 byte, 32 KiB sent (so the
    // caller's 128 stay within its byte budget). The caller's share (128)
    // waits for the read timeout, the rest is refused at once; another
    // caller is served throughout.
    let mut stalled = Vec::new();
    for _ in 0..160 {
        if let Some(tcp) =
            stalled_http(intake, REPORT, Some(&attacker), (4 << 20) - 1, 32 << 10).await
        {
            stalled.push(tcp);
        }
    }
    // Each connection is read as soon as its answer comes: a connection the
    // server closes with the client's bytes unread may be reset, and a reset
    // discards what the client had not read yet.
    let opened = Instant::now();
    let readers: Vec<_> = stalled
        .into_iter()
        .map(|mut tcp| {
            tokio::spawn(async move {
                let status = http_status(&mut tcp, Duration::from_secs(15)).await;
                (opened.elapsed(), status)
            })
        })
        .collect();
    let slowest = legitimate_calls(intake, &legitimate).await;
    let rss_peak = rss_mb(pid);
    let mut ended = std::collections::BTreeMap::new();
    let mut refused = 0;
    for reader in readers {
        let (took, status) = reader.await.expect("reader");
        if status == Some(429) && took < Duration::from_secs(1) {
            refused += 1;
        }
        *ended.entry(status).or_insert(0) += 1;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = rss_mb(pid);
    println!(
        "authenticated stalled HTTP bodies: {refused} refused at once (429); all ended as \
         {ended:?} (429: over the caller's share, 504: the read timeout); \
         slowest legitimate call {slowest:?}; RSS {rss_before} -> {rss_peak} peak -> \
         {rss_after} MB"
    );
    // The caller's share is half the server's 256 permits.
    assert_eq!(
        refused,
        160 - 128,
        "beyond the caller's share is refused at once"
    );
    assert_eq!(
        ended,
        [(Some(429), 32), (Some(504), 128)].into_iter().collect(),
        "every stalled call ended: refused, or at the read timeout"
    );
    assert!(
        rss_after <= rss_before + RSS_BOUND_MB,
        "memory stayed up: {rss_before} -> {rss_after} MB"
    );

    // A body over the message limit is refused without being kept.
    let mut big = stalled_http(intake, REPORT, Some(&legitimate), 5 << 20, (4 << 20) + 1024)
        .await
        .expect("connect");
    assert_eq!(
        http_status(&mut big, Duration::from_secs(5)).await,
        Some(429),
        "an oversized body is RESOURCE_EXHAUSTED"
    );
}
