//! A test verification-certificate issuer: an ES256 key pair whose public key the key server
//! is configured to trust, and certificates in the Google verification protocol's format.

use std::path::PathBuf;

use base64::Engine as _;
use mimamori_crypto::export::DiagnosisKey;
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use serde_json::json;

/// The audience the key server expects in tests.
pub const AUDIENCE: &str = "mimamori-key-server";

/// An issuer with one signing key.
pub struct TestIssuer {
    /// `iss`.
    pub issuer: String,
    /// The key id.
    pub kid: String,
    key: EcdsaKeyPair,
    /// PEM file of the public key.
    pub public_key_path: PathBuf,
    _directory: tempfile::TempDir,
}

/// What a certificate says.
#[derive(Debug, Clone)]
pub struct CertificateClaims {
    /// `reportType`: confirmed, likely, negative, ...
    pub report_type: String,
    /// `symptomOnsetInterval`.
    pub symptom_onset_interval: Option<u32>,
    /// `iat`/`nbf`.
    pub issued_at: i64,
    /// `exp`.
    pub expires_at: i64,
    /// `aud`.
    pub audience: String,
    /// `jti`.
    pub jti: String,
}

impl TestIssuer {
    /// A new issuer named `issuer` with key id `kid`.
    pub fn new(issuer: &str, kid: &str) -> TestIssuer {
        let random = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &random)
            .expect("generate key");
        let key =
            EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &random)
                .expect("parse key");
        let mut spki = vec![
            0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06,
            0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
        ];
        spki.extend_from_slice(key.public_key().as_ref());
        let pem = format!(
            "-----BEGIN PUBLIC KEY-----\n{}\n-----END PUBLIC KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(&spki)
        );
        let directory = tempfile::tempdir().expect("temporary directory");
        let public_key_path = directory.path().join(format!("{kid}.pem"));
        std::fs::write(&public_key_path, pem).expect("write public key");
        TestIssuer {
            issuer: issuer.into(),
            kid: kid.into(),
            key,
            public_key_path,
            _directory: directory,
        }
    }

    /// The key-server configuration entry trusting this issuer.
    pub fn config(&self) -> mimamori_key_server::config::IssuerConfig {
        mimamori_key_server::config::IssuerConfig {
            issuer: self.issuer.clone(),
            audience: AUDIENCE.into(),
            public_keys: vec![format!("{}={}", self.kid, self.public_key_path.display())],
            jwks_url: None,
            jwks_refresh_seconds: 300,
            allowed_clock_skew_seconds: 60,
        }
    }

    /// Claims valid at `now_s` for a confirmed test.
    pub fn claims(&self, now_s: i64) -> CertificateClaims {
        CertificateClaims {
            report_type: "confirmed".into(),
            symptom_onset_interval: None,
            issued_at: now_s - 5,
            expires_at: now_s + 900,
            audience: AUDIENCE.into(),
            jti: format!("cert-{now_s}-{}", rand_suffix()),
        }
    }

    /// A certificate over `keys` (as sent) with `hmac_key`.
    pub fn certificate(
        &self,
        keys: &[DiagnosisKey],
        hmac_key: &[u8],
        claims: &CertificateClaims,
    ) -> String {
        let tekmac = mimamori_crypto::tekmac::tekmac_base64(hmac_key, keys);
        self.sign(&json!({
            "iss": self.issuer,
            "aud": claims.audience,
            "iat": claims.issued_at,
            "nbf": claims.issued_at,
            "exp": claims.expires_at,
            "reportType": claims.report_type,
            "symptomOnsetInterval": claims.symptom_onset_interval,
            "tekmac": tekmac,
            "jti": claims.jti,
        }))
    }

    /// The public key as a JWK (what the issuer's JWKS lists).
    pub fn jwk(&self) -> mimamori_crypto::jws::Jwk {
        mimamori_crypto::jws::Jwk::from_public_key(&self.kid, self.key.public_key().as_ref())
            .expect("P-256 public key")
    }

    /// Signs arbitrary claims with this issuer's key and kid.
    pub fn sign(&self, claims: &serde_json::Value) -> String {
        let bytes = serde_json::to_vec(claims).expect("claims JSON");
        mimamori_crypto::jws::sign(&self.kid, &bytes, &self.key).expect("sign")
    }
}

fn rand_suffix() -> u64 {
    use ring::rand::SecureRandom;
    let mut bytes = [0u8; 8];
    SystemRandom::new().fill(&mut bytes).expect("random");
    u64::from_le_bytes(bytes)
}
