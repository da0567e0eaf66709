//! Signing keys: ES256 key pairs whose PKCS#8 is encrypted at rest (AES-256-GCM under the
//! master key, the key id as associated data), the in-memory keyring and the JWKS.

use std::sync::Arc;

use mimamori_crypto::jws::Jwk;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::SecureRandom as _;
use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _};

use crate::store::{SigningKeyRecord, VerificationStore};

/// Why key material could not be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// Encryption, decryption or key generation failed (wrong master key, corrupt data).
    #[error("signing key {0}: cannot decrypt or parse (wrong master key?)")]
    Crypto(String),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] mimamori_cases::sql::StoreError),
}

/// The master key that encrypts signing keys at rest.
pub struct MasterKey(LessSafeKey);

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(***)")
    }
}

impl MasterKey {
    /// A master key from 32 bytes.
    pub fn new(bytes: &[u8]) -> Option<MasterKey> {
        UnboundKey::new(&AES_256_GCM, bytes)
            .ok()
            .map(|k| MasterKey(LessSafeKey::new(k)))
    }

    fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        ring::rand::SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Crypto(kid.into()))?;
        let mut data = plaintext.to_vec();
        self.0
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut data,
            )
            .map_err(|_| KeyError::Crypto(kid.into()))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        Ok(out)
    }

    fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        if sealed.len() < NONCE_LEN {
            return Err(KeyError::Crypto(kid.into()));
        }
        let (nonce, data) = sealed.split_at(NONCE_LEN);
        let nonce =
            Nonce::try_assume_unique_for_key(nonce).map_err(|_| KeyError::Crypto(kid.into()))?;
        let mut data = data.to_vec();
        let plain = self
            .0
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut data)
            .map_err(|_| KeyError::Crypto(kid.into()))?;
        Ok(plain.to_vec())
    }
}

/// One usable signing key.
pub struct SigningKey {
    /// Key id.
    pub kid: String,
    /// The key pair.
    pub pair: EcdsaKeyPair,
    /// Uncompressed public key.
    pub public_key: Vec<u8>,
    /// Whether new tokens are signed with it.
    pub active: bool,
    /// Creation time (ms).
    pub created_at_ms: i64,
}

/// Every known signing key.
#[derive(Default)]
pub struct Keyring {
    keys: Vec<SigningKey>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list()
            .entries(self.keys.iter().map(|k| &k.kid))
            .finish()
    }
}

impl Keyring {
    /// Decrypts every stored key.
    pub fn from_records(
        records: &[SigningKeyRecord],
        master: &MasterKey,
    ) -> Result<Keyring, KeyError> {
        let rng = ring::rand::SystemRandom::new();
        let mut keys = Vec::with_capacity(records.len());
        for record in records {
            let pkcs8 = master.open(&record.kid, &record.encrypted_private)?;
            let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &pkcs8, &rng)
                .map_err(|_| KeyError::Crypto(record.kid.clone()))?;
            keys.push(SigningKey {
                kid: record.kid.clone(),
                public_key: pair.public_key().as_ref().to_vec(),
                pair,
                active: record.active,
                created_at_ms: record.created_at_ms,
            });
        }
        Ok(Keyring { keys })
    }

    /// The key that signs new tokens and certificates.
    pub fn active(&self) -> Option<&SigningKey> {
        self.keys.iter().rev().find(|k| k.active)
    }

    /// The public key of `kid`.
    pub fn public_key(&self, kid: &str) -> Option<&[u8]> {
        self.keys
            .iter()
            .find(|k| k.kid == kid)
            .map(|k| k.public_key.as_slice())
    }

    /// Every key, oldest first.
    pub fn keys(&self) -> &[SigningKey] {
        &self.keys
    }

    /// The JWKS entries (every key, so tokens signed before a rotation still verify).
    pub fn jwks(&self) -> Vec<Jwk> {
        self.keys
            .iter()
            .filter_map(|k| Jwk::from_public_key(&k.kid, &k.public_key).ok())
            .collect()
    }
}

/// Generates a new signing key, stores it encrypted and makes it the active one.
pub async fn generate(
    store: &Arc<dyn VerificationStore>,
    master: &MasterKey,
    now_ms: i64,
) -> Result<String, KeyError> {
    let rng = ring::rand::SystemRandom::new();
    let mut id = [0u8; 6];
    rng.fill(&mut id)
        .map_err(|_| KeyError::Crypto("new".into()))?;
    let kid = format!("k{}", mimamori_crypto::hex::encode(&id));
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
        .map_err(|_| KeyError::Crypto(kid.clone()))?;
    let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
        .map_err(|_| KeyError::Crypto(kid.clone()))?;
    store
        .insert_signing_key(&SigningKeyRecord {
            kid: kid.clone(),
            created_at_ms: now_ms,
            encrypted_private: master.seal(&kid, pkcs8.as_ref())?,
            public_key: pair.public_key().as_ref().to_vec(),
            active: true,
        })
        .await?;
    Ok(kid)
}
