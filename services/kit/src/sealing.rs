//! Restricted data at rest (identities, debriefing notes) sealed with an AEAD
//! (XChaCha20-Poly1305) under a key from configuration.
//!
//! A sealed value is `0x01 | key-id length | key id | 24-byte nonce | ciphertext
//! with tag`. The key id travels with the value, so keys rotate: add a new key,
//! make it active, and values sealed under the old ones stay readable while
//! their keys are listed. The caller's context (the row the value belongs to)
//! is authenticated as associated data, so a value moved to another row does
//! not open.
//!
//! The same keys also give keyed fingerprints ([`Sealer::fingerprint`]): a
//! value can be recognised again without being stored, and whoever holds only
//! the database cannot test guesses against it.

use std::collections::BTreeMap;

use base64::Engine;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use ring::hmac;

const FORMAT: u8 = 1;
const NONCE_LEN: usize = 24;

/// Keys for restricted data.
#[derive(Clone, clap::Args)]
pub struct SealingConfig {
    /// Data keys as `id:base64(32 bytes)`, comma-separated; the active one seals,
    /// every listed one opens. Generate one with `openssl rand -base64 32`.
    #[arg(long = "data-keys", env = "SCIR_DATA_KEYS", hide_env_values = true)]
    pub keys: Option<String>,
    /// Id of the key new values are sealed with (default: the first listed).
    #[arg(long = "data-key-active", env = "SCIR_DATA_KEY_ACTIVE")]
    pub active: Option<String>,
}

impl std::fmt::Debug for SealingConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingConfig")
            .field("keys", &self.keys.as_ref().map(|_| "<redacted>"))
            .field("active", &self.active)
            .finish()
    }
}

/// Why a sealed value did not open.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SealError {
    /// Not a sealed value of a known format.
    #[error("not a sealed value")]
    Malformed,
    /// Sealed under a key that is not configured.
    #[error("sealed under data key `{0}`, which is not configured")]
    UnknownKey(String),
    /// The value, its context or the key does not match.
    #[error("the sealed value does not authenticate")]
    Forged,
}

/// Seals and opens restricted values.
#[derive(Clone)]
pub struct Sealer {
    active: String,
    keys: BTreeMap<String, XChaCha20Poly1305>,
    /// Per data key, an HMAC key derived from it for fingerprints; the data
    /// key itself is used only to seal.
    macs: BTreeMap<String, hmac::Key>,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealer")
            .field("active", &self.active)
            .field("keys", &self.keys.keys().collect::<Vec<_>>())
            .finish()
    }
}

impl Sealer {
    /// The sealer `config` describes; an error names what is wrong (never a key).
    pub fn from_config(config: &SealingConfig) -> anyhow::Result<Self> {
        let Some(list) = config.keys.as_deref().filter(|k| !k.trim().is_empty()) else {
            anyhow::bail!(
                "SCIR_DATA_KEYS is required: this service stores restricted data encrypted \
                 (format id:base64-of-32-bytes, e.g. k1:$(openssl rand -base64 32))"
            );
        };
        let mut keys = BTreeMap::new();
        let mut macs = BTreeMap::new();
        let mut first = None;
        for entry in list.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let Some((id, encoded)) = entry.split_once(':') else {
                anyhow::bail!("SCIR_DATA_KEYS: an entry is not id:base64");
            };
            if id.is_empty()
                || id.len() > 64
                || !id
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
            {
                anyhow::bail!("SCIR_DATA_KEYS: key id `{id}` must be 1 to 64 of A-Z a-z 0-9 - _ .");
            }
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(encoded.trim())
                .map_err(|_| anyhow::anyhow!("SCIR_DATA_KEYS: key `{id}` is not base64"))?;
            if bytes.len() != 32 {
                anyhow::bail!(
                    "SCIR_DATA_KEYS: key `{id}` must be 32 bytes, not {}",
                    bytes.len()
                );
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes)
                .map_err(|_| anyhow::anyhow!("SCIR_DATA_KEYS: key `{id}` is unusable"))?;
            if keys.insert(id.to_owned(), cipher).is_some() {
                anyhow::bail!("SCIR_DATA_KEYS: key id `{id}` is listed twice");
            }
            let derived = hmac::sign(
                &hmac::Key::new(hmac::HMAC_SHA256, &bytes),
                b"scir fingerprint key v1",
            );
            macs.insert(
                id.to_owned(),
                hmac::Key::new(hmac::HMAC_SHA256, derived.as_ref()),
            );
            first.get_or_insert_with(|| id.to_owned());
        }
        let active = match (&config.active, first) {
            (Some(active), _) if keys.contains_key(active) => active.clone(),
            (Some(active), _) => {
                anyhow::bail!("SCIR_DATA_KEY_ACTIVE `{active}` is not in SCIR_DATA_KEYS")
            }
            (None, Some(first)) => first,
            (None, None) => anyhow::bail!("SCIR_DATA_KEYS lists no key"),
        };
        Ok(Self { active, keys, macs })
    }

    /// A keyed fingerprint of `data` for `purpose` under the active key:
    /// `key-id:hex(HMAC-SHA256)`. Equal data gives equal fingerprints while
    /// the key is listed; without the key nothing can be learned from it.
    pub fn fingerprint(&self, purpose: &str, data: &[u8]) -> String {
        self.fingerprint_with(&self.active, purpose, data)
            .unwrap_or_else(|| unreachable!("the active key is always listed"))
    }

    /// Whether `fingerprint` (from [`Sealer::fingerprint`], under any listed
    /// key) is that of `data` for `purpose`; `None` when it names a key that
    /// is no longer listed or is not a fingerprint at all.
    pub fn matches_fingerprint(
        &self,
        fingerprint: &str,
        purpose: &str,
        data: &[u8],
    ) -> Option<bool> {
        let (id, mac) = fingerprint.split_once(':')?;
        let mac = hex::decode(mac).ok()?;
        let key = self.macs.get(id)?;
        Some(hmac::verify(key, &fingerprint_input(purpose, data), &mac).is_ok())
    }

    fn fingerprint_with(&self, id: &str, purpose: &str, data: &[u8]) -> Option<String> {
        let key = self.macs.get(id)?;
        let tag = hmac::sign(key, &fingerprint_input(purpose, data));
        Some(format!("{id}:{}", hex::encode(tag.as_ref())))
    }

    /// Id of the key new values are sealed with.
    pub fn active_key(&self) -> &str {
        &self.active
    }

    /// Seals `plaintext` for the row named by `context`.
    pub fn seal(&self, plaintext: &[u8], context: &str) -> Vec<u8> {
        let mut nonce = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce).unwrap_or_else(|e| panic!("no randomness for a nonce: {e}"));
        let cipher = &self.keys[&self.active];
        let sealed = cipher
            .encrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: plaintext,
                    aad: context.as_bytes(),
                },
            )
            .unwrap_or_else(|e| panic!("sealing failed: {e}"));
        let id = self.active.as_bytes();
        let mut out = Vec::with_capacity(2 + id.len() + NONCE_LEN + sealed.len());
        out.push(FORMAT);
        out.push(u8::try_from(id.len()).unwrap_or(u8::MAX));
        out.extend_from_slice(id);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        out
    }

    /// Opens a value sealed for `context`.
    pub fn open(&self, sealed: &[u8], context: &str) -> Result<Vec<u8>, SealError> {
        let (id, rest) = split(sealed)?;
        let cipher = self
            .keys
            .get(id)
            .ok_or_else(|| SealError::UnknownKey(id.to_owned()))?;
        let (nonce, ciphertext) = rest.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| SealError::Malformed)?;
        cipher
            .decrypt(
                &XNonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context.as_bytes(),
                },
            )
            .map_err(|_| SealError::Forged)
    }
}

/// The purpose, a separator no purpose contains, and the data: fingerprints
/// for one purpose never equal those for another.
fn fingerprint_input(purpose: &str, data: &[u8]) -> Vec<u8> {
    let mut input = Vec::with_capacity(purpose.len() + 1 + data.len());
    input.extend_from_slice(purpose.as_bytes());
    input.push(0);
    input.extend_from_slice(data);
    input
}

/// The key id a sealed value names.
pub fn key_id(sealed: &[u8]) -> Result<&str, SealError> {
    split(sealed).map(|(id, _)| id)
}

fn split(sealed: &[u8]) -> Result<(&str, &[u8]), SealError> {
    let [format, len, rest @ ..] = sealed else {
        return Err(SealError::Malformed);
    };
    let len = usize::from(*len);
    if *format != FORMAT || rest.len() < len + NONCE_LEN + 16 {
        return Err(SealError::Malformed);
    }
    let (id, rest) = rest.split_at(len);
    let id = std::str::from_utf8(id).map_err(|_| SealError::Malformed)?;
    Ok((id, rest))
}

impl From<SealError> for crate::error::ApiError {
    fn from(error: SealError) -> Self {
        crate::error::ApiError::Internal(anyhow::anyhow!("restricted data: {error}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> String {
        base64::engine::general_purpose::STANDARD.encode([byte; 32])
    }

    fn sealer(keys: &str, active: Option<&str>) -> Sealer {
        Sealer::from_config(&SealingConfig {
            keys: Some(keys.to_owned()),
            active: active.map(str::to_owned),
        })
        .expect("sealer")
    }

    #[test]
    fn values_open_only_in_their_context_and_untouched() {
        let s = sealer(&format!("k1:{}", key(1)), None);
        let sealed = s.seal(b"Zyxwa Quonset-Testchild", "incident:1");
        assert!(
            !sealed.windows(5).any(|w| w == b"Zyxwa"),
            "no plaintext in the sealed value"
        );
        assert_eq!(
            s.open(&sealed, "incident:1").expect("open"),
            b"Zyxwa Quonset-Testchild"
        );
        assert_eq!(s.open(&sealed, "incident:2"), Err(SealError::Forged));
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert_eq!(s.open(&flipped, "incident:1"), Err(SealError::Forged));
        assert_eq!(
            s.open(b"plain text", "incident:1"),
            Err(SealError::Malformed)
        );
        assert_ne!(
            s.seal(b"same", "c"),
            s.seal(b"same", "c"),
            "fresh nonce each time"
        );
    }

    #[test]
    fn keys_rotate_and_old_values_stay_readable() {
        let old = sealer(&format!("k1:{}", key(1)), None);
        let sealed_old = old.seal(b"notes", "item:9");
        let rotated = sealer(&format!("k1:{},k2:{}", key(1), key(2)), Some("k2"));
        let sealed_new = rotated.seal(b"notes", "item:9");
        assert_eq!(key_id(&sealed_old), Ok("k1"));
        assert_eq!(key_id(&sealed_new), Ok("k2"));
        assert_eq!(rotated.open(&sealed_old, "item:9").expect("old"), b"notes");
        assert_eq!(rotated.open(&sealed_new, "item:9").expect("new"), b"notes");
        assert_eq!(
            old.open(&sealed_new, "item:9"),
            Err(SealError::UnknownKey("k2".into()))
        );
        // The same id with another key does not open.
        let impostor = sealer(&format!("k1:{}", key(7)), None);
        assert_eq!(impostor.open(&sealed_old, "item:9"), Err(SealError::Forged));
    }

    #[test]
    fn fingerprints_are_keyed_stable_and_survive_rotation() {
        let old = sealer(&format!("k1:{}", key(1)), None);
        let print = old.fingerprint("request", b"facts");
        assert!(print.starts_with("k1:"));
        assert_eq!(print, old.fingerprint("request", b"facts"), "stable");
        assert_ne!(
            print,
            old.fingerprint("identity", b"facts"),
            "purpose-bound"
        );
        let unkeyed = {
            use sha2::Digest;
            hex::encode(sha2::Sha256::digest(b"facts"))
        };
        assert!(!print.contains(&unkeyed), "not a plain hash");
        assert_eq!(
            old.matches_fingerprint(&print, "request", b"facts"),
            Some(true)
        );
        assert_eq!(
            old.matches_fingerprint(&print, "request", b"other"),
            Some(false)
        );
        let rotated = sealer(&format!("k1:{},k2:{}", key(1), key(2)), Some("k2"));
        assert_eq!(
            rotated.matches_fingerprint(&print, "request", b"facts"),
            Some(true)
        );
        let impostor = sealer(&format!("k1:{}", key(9)), None);
        assert_eq!(
            impostor.matches_fingerprint(&print, "request", b"facts"),
            Some(false)
        );
        let other = sealer(&format!("k3:{}", key(1)), None);
        assert_eq!(other.matches_fingerprint(&print, "request", b"facts"), None);
        assert_eq!(
            old.matches_fingerprint("0123abcd", "request", b"facts"),
            None
        );
    }

    #[test]
    fn bad_configuration_is_refused_without_echoing_keys() {
        let config = |keys: Option<&str>, active: Option<&str>| SealingConfig {
            keys: keys.map(str::to_owned),
            active: active.map(str::to_owned),
        };
        let secret = key(3);
        for (keys, active) in [
            (None, None),
            (Some("k1"), None),
            (Some("k1:not-base64!"), None),
            (Some("k1:AAAA"), None),
            (Some(&*format!("k1:{secret},k1:{secret}")), None),
            (Some(&*format!("k1:{secret}")), Some("k9")),
            (Some(&*format!("bad id:{secret}")), None),
        ] {
            let error = Sealer::from_config(&config(keys, active)).expect_err("refused");
            assert!(!format!("{error:#}").contains(&secret), "{error:#}");
        }
    }
}
