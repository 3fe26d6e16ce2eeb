//! Development authentication: an HS256 secret kept in the data directory, so
//! that `scir up` and `scir token` agree without any setup.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context;
use scir_kit::auth::{AuthConfig, Role, Secret};

/// Issuer of development tokens.
pub const DEV_ISSUER: &str = "scir-dev";
/// Audience of development tokens.
pub const DEV_AUDIENCE: &str = "scir";
const SECRET_FILE: &str = "dev-jwt-secret";
const DATA_KEY_FILE: &str = "dev-data-key";

fn secret_path(data_dir: &Path) -> PathBuf {
    data_dir.join(SECRET_FILE)
}

/// The development secret of `data_dir`, created on first use (mode 0600).
pub fn ensure_secret(data_dir: &Path) -> anyhow::Result<String> {
    let path = secret_path(data_dir);
    if let Ok(secret) = std::fs::read_to_string(&path) {
        return Ok(secret.trim().to_owned());
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let secret = hex::encode(bytes);
    write_private(&path, &secret)?;
    Ok(secret)
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    file.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("creating {}", path.display()))
}

/// The development data key of `data_dir` (`dev:<base64>`, the format of
/// `SCIR_DATA_KEYS`), created on first use (mode 0600).
pub fn ensure_data_key(data_dir: &Path) -> anyhow::Result<String> {
    use base64::Engine;
    let path = data_dir.join(DATA_KEY_FILE);
    if let Ok(key) = std::fs::read_to_string(&path) {
        return Ok(key.trim().to_owned());
    }
    std::fs::create_dir_all(data_dir)
        .with_context(|| format!("creating {}", data_dir.display()))?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let key = format!(
        "dev:{}",
        base64::engine::general_purpose::STANDARD.encode(bytes)
    );
    write_private(&path, &key)?;
    Ok(key)
}

/// The existing development secret of `data_dir`.
pub fn read_secret(data_dir: &Path) -> anyhow::Result<String> {
    let path = secret_path(data_dir);
    std::fs::read_to_string(&path)
        .map(|s| s.trim().to_owned())
        .with_context(|| {
            format!(
                "reading {} (run `scir up` first, or pass --secret)",
                path.display()
            )
        })
}

/// A signer of development tokens with the secret of `data_dir`, for the
/// benchmarks and commands that act as several people against `scir up`.
pub fn signer(data_dir: &Path) -> anyhow::Result<crate::connect::Signer> {
    Ok(crate::connect::Signer::new(
        &read_secret(data_dir)?,
        DEV_ISSUER,
        DEV_AUDIENCE,
    ))
}

/// Auth configuration verifying development tokens signed with `secret`.
pub fn auth_config(secret: &str) -> AuthConfig {
    AuthConfig {
        issuer: DEV_ISSUER.to_owned(),
        audience: DEV_AUDIENCE.to_owned(),
        hs256_secret: Some(Secret::from(secret)),
        jwks_file: None,
    }
}

/// Mints a development token.
pub fn mint(
    secret: &str,
    subject: &str,
    jurisdiction: &str,
    roles: &[Role],
    ttl: Duration,
) -> anyhow::Result<String> {
    Ok(scir_kit::auth::mint_hs256(
        secret,
        DEV_ISSUER,
        DEV_AUDIENCE,
        subject,
        jurisdiction,
        roles,
        ttl,
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_is_created_once_and_kept() {
        let dir = tempfile::tempdir().expect("tmp");
        let first = ensure_secret(dir.path()).expect("create");
        assert_eq!(first.len(), 64);
        assert_eq!(ensure_secret(dir.path()).expect("reuse"), first);
        assert_eq!(read_secret(dir.path()).expect("read"), first);
    }
}
