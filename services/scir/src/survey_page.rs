//! Pages asked as a browser without JavaScript asks them: plain HTTP/1.1, one
//! connection per request, forms URL-encoded, cookies sent back. Used for the
//! culture service's answer page and the web console.

use std::net::SocketAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// What a page answered.
#[derive(Debug, Clone, Default)]
pub struct Answer {
    /// The status.
    pub status: u16,
    /// `name=value` of each `Set-Cookie`.
    pub cookies: Vec<String>,
    /// `Location`, when it redirects.
    pub location: Option<String>,
    /// The body.
    pub body: String,
}

/// Posts `form` (URL-encoded) to `/survey` at `address`; the status.
pub async fn post(address: SocketAddr, form: &str) -> anyhow::Result<u16> {
    Ok(exchange(address, "POST", "/survey", &[], form)
        .await?
        .status)
}

/// Gets `target` (e.g. `/survey`) at `address`; the status.
pub async fn get(address: SocketAddr, target: &str) -> anyhow::Result<u16> {
    Ok(exchange(address, "GET", target, &[], "").await?.status)
}

/// One request with `cookies` (`name=value` each) and, for a POST, `form`.
pub async fn exchange(
    address: SocketAddr,
    method: &str,
    target: &str,
    cookies: &[String],
    form: &str,
) -> anyhow::Result<Answer> {
    exchange_with(address, method, target, cookies, form, &[]).await
}

/// [`exchange`] with more headers (`name`, `value`), e.g. a `traceparent`.
pub async fn exchange_with(
    address: SocketAddr,
    method: &str,
    target: &str,
    cookies: &[String],
    form: &str,
    headers: &[(&str, &str)],
) -> anyhow::Result<Answer> {
    let mut stream = tokio::net::TcpStream::connect(address).await?;
    let mut cookie = if cookies.is_empty() {
        String::new()
    } else {
        format!("Cookie: {}\r\n", cookies.join("; "))
    };
    for (name, value) in headers {
        cookie.push_str(&format!("{name}: {value}\r\n"));
    }
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{cookie}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await?;
    let text = String::from_utf8_lossy(&raw);
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| {
            anyhow::anyhow!("not an HTTP response: {:?}", &head[..head.len().min(16)])
        })?;
    let mut answer = Answer {
        status,
        body: body.to_owned(),
        ..Default::default()
    };
    for line in lines {
        let Some((name, value)) = line.split_once(':') else {
            continue;
        };
        let value = value.trim();
        if name.eq_ignore_ascii_case("set-cookie") {
            answer
                .cookies
                .push(value.split(';').next().unwrap_or_default().to_owned());
        } else if name.eq_ignore_ascii_case("location") {
            answer.location = Some(value.to_owned());
        }
    }
    Ok(answer)
}
