//! A form sent to a culture service's answer page as a browser without
//! JavaScript sends it: plain HTTP/1.1, one connection per request.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Posts `form` (URL-encoded) to `/survey` at `address`; the status.
pub async fn post(address: SocketAddr, form: &str) -> anyhow::Result<u16> {
    send(address, "POST", "/survey", form).await
}

/// Gets `target` (e.g. `/survey`) at `address`; the status.
pub async fn get(address: SocketAddr, target: &str) -> anyhow::Result<u16> {
    send(address, "GET", target, "").await
}

async fn send(address: SocketAddr, method: &str, target: &str, form: &str) -> anyhow::Result<u16> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let head = String::from_utf8_lossy(&raw[..raw.len().min(16)]).into_owned();
    head.split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("not an HTTP response: {head:?}"))
}
