//! TLS for PostgreSQL connections, with libpq's `sslmode` meanings, over rustls.
//!
//! `DATABASE_URL` takes libpq's `sslmode` and `sslrootcert` query parameters:
//!
//! | `sslmode` | encrypted | server certificate checked |
//! | --- | --- | --- |
//! | `disable` | never | – |
//! | `prefer` (the default) | when the server offers TLS | no (as libpq), unless `sslrootcert` is given |
//! | `require` | always | no (as libpq), unless `sslrootcert` is given |
//! | `verify-ca` | always | chain to a trusted root |
//! | `verify-full` | always | chain to a trusted root and the host name |
//!
//! The trusted roots are the PEM certificates in `sslrootcert`, or without it Mozilla's roots
//! (`webpki-roots`). Client certificates (`sslcert`, `sslkey`) are not supported and are
//! rejected with a message rather than ignored.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, verify_tls12_signature, verify_tls13_signature};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme,
};
use tokio_postgres_rustls::MakeRustlsConnect;

use crate::StorageError;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    /// Plain TCP.
    Disable,
    /// TLS when the server offers it.
    Prefer,
    /// TLS or no connection.
    Require,
    /// TLS, and the certificate chains to a trusted root.
    VerifyCa,
    /// TLS, the certificate chains to a trusted root and names the host.
    VerifyFull,
}

impl SslMode {
    fn parse(value: &str) -> Result<Self, StorageError> {
        Ok(match value {
            "disable" => SslMode::Disable,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(StorageError::InvalidUrl {
                    reason: format!(
                        "sslmode={other} is not one of disable, prefer, require, verify-ca, verify-full"
                    ),
                });
            }
        })
    }

    /// What tokio-postgres negotiates: whether TLS is tried and whether it is required.
    fn negotiation(self) -> tokio_postgres::config::SslMode {
        match self {
            SslMode::Disable => tokio_postgres::config::SslMode::Disable,
            SslMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        }
    }
}

/// A PostgreSQL URL split into the tokio-postgres configuration and the TLS settings.
#[derive(Debug, Clone)]
pub struct PgConnectOptions {
    /// Everything but the TLS parameters, with the negotiation mode set.
    pub config: tokio_postgres::Config,
    /// The requested `sslmode`.
    pub ssl_mode: SslMode,
    /// `sslrootcert`: PEM file of trusted roots.
    pub root_cert: Option<PathBuf>,
}

impl PgConnectOptions {
    /// Parses a `postgres://` URL, taking out `sslmode` and `sslrootcert`.
    ///
    /// # Errors
    /// [`StorageError::InvalidUrl`] for a URL tokio-postgres cannot parse, an unknown
    /// `sslmode`, or client-certificate parameters.
    pub fn parse(url: &str) -> Result<Self, StorageError> {
        let invalid = |reason: String| StorageError::InvalidUrl { reason };
        let mut parsed = url::Url::parse(url).map_err(|e| {
            invalid(format!(
                "cannot parse the PostgreSQL URL ({e}); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
            ))
        })?;
        let mut ssl_mode = SslMode::Prefer;
        let mut root_cert = None;
        let mut rest: Vec<(String, String)> = Vec::new();
        for (key, value) in parsed.query_pairs() {
            match key.as_ref() {
                "sslmode" => ssl_mode = SslMode::parse(&value)?,
                "sslrootcert" => root_cert = Some(PathBuf::from(value.as_ref())),
                "sslcert" | "sslkey" | "sslpassword" => {
                    return Err(invalid(format!(
                        "{key} (client certificates) is not supported; use password or trust authentication over sslmode=verify-full"
                    )));
                }
                _ => rest.push((key.into_owned(), value.into_owned())),
            }
        }
        if rest.is_empty() {
            parsed.set_query(None);
        } else {
            parsed.query_pairs_mut().clear().extend_pairs(rest);
        }
        let mut config: tokio_postgres::Config =
            parsed.as_str().parse().map_err(|e: tokio_postgres::Error| {
                // tokio-postgres says only "invalid connection string"; the cause is the source.
                let cause = std::error::Error::source(&e)
                    .map_or_else(|| e.to_string(), |source| format!("{e}: {source}"));
                invalid(format!(
                    "cannot parse the PostgreSQL URL ({cause}); expected postgres://USER[:PASSWORD]@HOST[:PORT]/DATABASE"
                ))
            })?;
        config.ssl_mode(ssl_mode.negotiation());
        Ok(PgConnectOptions {
            config,
            ssl_mode,
            root_cert,
        })
    }

    /// The rustls connector for these settings.
    ///
    /// # Errors
    /// [`StorageError::InvalidUrl`] when `sslrootcert` cannot be read or holds no certificate.
    pub fn tls_connector(&self) -> Result<MakeRustlsConnect, StorageError> {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_safe_default_protocol_versions()
            .map_err(|e| StorageError::InvalidUrl {
                reason: format!("TLS set-up: {e}"),
            })?;
        let roots = || -> Result<Arc<RootCertStore>, StorageError> {
            Ok(Arc::new(match &self.root_cert {
                Some(path) => read_roots(path)?,
                None => RootCertStore {
                    roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
                },
            }))
        };
        let chain_verifier = |roots: Arc<RootCertStore>| {
            WebPkiServerVerifier::builder_with_provider(roots, Arc::clone(&provider))
                .build()
                .map_err(|e| StorageError::InvalidUrl {
                    reason: format!("sslrootcert: {e}"),
                })
        };
        let config = match (self.ssl_mode, &self.root_cert) {
            (SslMode::VerifyFull, _) => builder
                .with_root_certificates(roots()?)
                .with_no_client_auth(),
            // libpq checks the chain in prefer/require too once a root file is given;
            // `disable` never uses the connector.
            (mode, root_cert) => {
                let chain = if mode == SslMode::VerifyCa
                    || (mode != SslMode::Disable && root_cert.is_some())
                {
                    Some(chain_verifier(roots()?)?)
                } else {
                    None
                };
                builder
                    .dangerous()
                    .with_custom_certificate_verifier(Arc::new(RelaxedVerifier {
                        provider: Arc::clone(&provider),
                        chain,
                    }))
                    .with_no_client_auth()
            }
        };
        Ok(MakeRustlsConnect::new(config))
    }
}

fn read_roots(path: &Path) -> Result<RootCertStore, StorageError> {
    let unreadable = |e: &dyn std::fmt::Display| StorageError::InvalidUrl {
        reason: format!("sslrootcert {}: {e}", path.display()),
    };
    let certs = CertificateDer::pem_file_iter(path)
        .map_err(|e| unreadable(&e))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| unreadable(&e))?;
    // As libpq, a bundle with a certificate the verifier cannot use still loads the others.
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(certs);
    if roots.is_empty() {
        return Err(unreadable(&"no usable PEM certificate in the file"));
    }
    Ok(roots)
}

/// The certificate check for every mode but `verify-full`.
///
/// Without `chain` (`prefer`/`require` without a root file) the connection is encrypted and
/// the certificate is not checked (libpq's behaviour; use `verify-full` against a man in the
/// middle). With `chain` (`verify-ca`, or a root file given) the certificate must chain to a
/// trusted root; the host name is not compared. Either way the handshake signatures are
/// verified, so the server must hold the key of the certificate it sent.
#[derive(Debug)]
struct RelaxedVerifier {
    provider: Arc<CryptoProvider>,
    chain: Option<Arc<WebPkiServerVerifier>>,
}

impl ServerCertVerifier for RelaxedVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let Some(chain) = &self.chain else {
            return Ok(ServerCertVerified::assertion());
        };
        match chain.verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now) {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls12_signature(message, cert, dss, algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        let algorithms = &self.provider.signature_verification_algorithms;
        verify_tls13_signature(message, cert, dss, algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tls_parameters_are_taken_out_of_the_url() {
        let options = PgConnectOptions::parse(
            "postgres://u:p@db.example:5433/app?sslmode=verify-full&sslrootcert=/etc/ca.pem&application_name=x",
        )
        .unwrap();
        assert_eq!(options.ssl_mode, SslMode::VerifyFull);
        assert_eq!(options.root_cert, Some(PathBuf::from("/etc/ca.pem")));
        assert_eq!(
            options.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Require
        );
        assert_eq!(options.config.get_application_name(), Some("x"));
        assert_eq!(options.config.get_dbname(), Some("app"));

        let default = PgConnectOptions::parse("postgres://u@localhost/app").unwrap();
        assert_eq!(default.ssl_mode, SslMode::Prefer);
        assert!(default.tls_connector().is_ok());
        let disabled =
            PgConnectOptions::parse("postgres://u@localhost/app?sslmode=disable").unwrap();
        assert_eq!(
            disabled.config.get_ssl_mode(),
            tokio_postgres::config::SslMode::Disable
        );
    }

    #[test]
    fn bad_tls_parameters_are_named() {
        let message = |url: &str| PgConnectOptions::parse(url).unwrap_err().to_string();
        assert!(message("postgres://u@h/d?sslmode=allow").contains("sslmode=allow"));
        assert!(message("postgres://u@h/d?sslcert=/c.pem").contains("sslcert"));
        let unknown = message("postgres://u@h/d?nonsense=1");
        assert!(unknown.contains("nonsense"), "{unknown}");
        let missing = PgConnectOptions::parse(
            "postgres://u@h/d?sslmode=verify-ca&sslrootcert=/nonexistent/ca.pem",
        )
        .unwrap()
        .tls_connector()
        .err()
        .unwrap()
        .to_string();
        assert!(missing.contains("/nonexistent/ca.pem"), "{missing}");
    }
}
