//! TLS for calls out to endpoints outside SCIR (webhook receivers): the public
//! web authorities, plus an agency's own authority where its endpoints use one.

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;

use crate::TlsError;

/// A client configuration trusting the public web authorities and the PEM
/// authority certificates in `extra_ca`, if given; HTTP/1.1 by ALPN.
pub fn web_client_config(extra_ca: Option<&Path>) -> Result<Arc<ClientConfig>, TlsError> {
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = extra_ca {
        let pem = |what: String| TlsError::Pem {
            path: path.to_owned(),
            what,
        };
        let bytes = crate::files::read(path)?;
        for cert in crate::files::certificates(&bytes).map_err(pem)? {
            roots
                .add(cert)
                .map_err(|e| pem(format!("not an authority certificate: {e}")))?;
        }
    }
    let mut config = ClientConfig::builder_with_provider(crate::identity::provider())
        .with_safe_default_protocol_versions()
        .map_err(|e| TlsError::Pem {
            path: extra_ca.map(Path::to_owned).unwrap_or_default(),
            what: e.to_string(),
        })?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}
