//! Where the certificate, its key and the authority come from, and reading them.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// Mutual TLS settings; with none given, the service speaks plaintext gRPC.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct TlsArgs {
    /// PEM certificate chain this process presents, to callers and to the
    /// services it calls. With `--tls-key` and `--tls-ca`, turns on mutual TLS.
    #[arg(long = "tls-cert", env = "SCIR_TLS_CERT")]
    pub cert: Option<PathBuf>,
    /// PEM private key of `--tls-cert` (PKCS#8, PKCS#1 or SEC1).
    #[arg(long = "tls-key", env = "SCIR_TLS_KEY")]
    pub key: Option<PathBuf>,
    /// PEM certificates of the authorities whose certificates are accepted,
    /// from callers and from the services called.
    #[arg(long = "tls-ca", env = "SCIR_TLS_CA")]
    pub ca: Option<PathBuf>,
    /// Seconds between checks of the three files for a renewed certificate.
    #[arg(
        long = "tls-reload-secs",
        env = "SCIR_TLS_RELOAD_SECS",
        default_value_t = 30
    )]
    pub reload_secs: u64,
}

impl TlsArgs {
    /// Settings naming the three files.
    pub fn files(
        cert: impl Into<PathBuf>,
        key: impl Into<PathBuf>,
        ca: impl Into<PathBuf>,
    ) -> Self {
        Self {
            cert: Some(cert.into()),
            key: Some(key.into()),
            ca: Some(ca.into()),
            reload_secs: 30,
        }
    }

    /// The three paths, `None` when none is set; an error naming what is
    /// missing when only some are.
    pub(crate) fn paths(&self) -> Result<Option<Paths>, TlsError> {
        match (&self.cert, &self.key, &self.ca) {
            (None, None, None) => Ok(None),
            (Some(cert), Some(key), Some(ca)) => Ok(Some(Paths {
                cert: cert.clone(),
                key: key.clone(),
                ca: ca.clone(),
            })),
            _ => {
                let missing: Vec<&str> = [
                    ("SCIR_TLS_CERT", self.cert.is_none()),
                    ("SCIR_TLS_KEY", self.key.is_none()),
                    ("SCIR_TLS_CA", self.ca.is_none()),
                ]
                .into_iter()
                .filter_map(|(name, missing)| missing.then_some(name))
                .collect();
                Err(TlsError::Incomplete(missing.join(", ")))
            }
        }
    }
}

/// Why certificates could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// Some of the three files are named, not all.
    #[error("mutual TLS needs a certificate, its key and the authority; missing: {0}")]
    Incomplete(String),
    /// A file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A file holds no usable PEM item of the kind expected.
    #[error("{path}: {what}")]
    Pem {
        /// The file.
        path: PathBuf,
        /// What was wrong.
        what: String,
    },
    /// The certificate, key and authority do not make a configuration.
    #[error("TLS configuration: {0}")]
    Config(String),
}

#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub cert: PathBuf,
    pub key: PathBuf,
    pub ca: PathBuf,
}

/// The raw bytes of the three files, compared to notice a renewal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Contents {
    pub cert: Vec<u8>,
    pub key: Vec<u8>,
    pub ca: Vec<u8>,
}

impl Contents {
    pub(crate) fn read(paths: &Paths) -> Result<Self, TlsError> {
        Ok(Self {
            cert: read(&paths.cert)?,
            key: read(&paths.key)?,
            ca: read(&paths.ca)?,
        })
    }
}

pub(crate) fn read(path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        path: path.to_owned(),
        source,
    })
}

/// Parsed PEM: the chain, its key and the trusted authorities.
pub(crate) struct Parsed {
    pub chain: Vec<CertificateDer<'static>>,
    pub key: PrivateKeyDer<'static>,
    pub roots: Arc<rustls::RootCertStore>,
}

impl Parsed {
    pub(crate) fn from(paths: &Paths, contents: &Contents) -> Result<Self, TlsError> {
        let pem = |path: &Path, what: String| TlsError::Pem {
            path: path.to_owned(),
            what,
        };
        let chain = certificates(&contents.cert).map_err(|e| pem(&paths.cert, e))?;
        let key = PrivateKeyDer::from_pem_slice(&contents.key)
            .map_err(|e| pem(&paths.key, format!("no private key: {e}")))?;
        let mut roots = rustls::RootCertStore::empty();
        for cert in certificates(&contents.ca).map_err(|e| pem(&paths.ca, e))? {
            roots
                .add(cert)
                .map_err(|e| pem(&paths.ca, format!("not an authority certificate: {e}")))?;
        }
        Ok(Self {
            chain,
            key,
            roots: Arc::new(roots),
        })
    }
}

pub(crate) fn certificates(bytes: &[u8]) -> Result<Vec<CertificateDer<'static>>, String> {
    let chain = CertificateDer::pem_slice_iter(bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("not PEM certificates: {e}"))?;
    if chain.is_empty() {
        return Err("no certificate in the file".to_owned());
    }
    Ok(chain)
}
