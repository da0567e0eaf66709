//! Revision tokens and the report-type transitions they allow.
//!
//! A publish answers with a revision token: the published keys (key bytes, start, period),
//! encrypted with AES-256-GCM under a key derived from the server's secret, so only this
//! server can read it and the app cannot forge one. A later publish of the same keys with
//! the token may turn "likely" (clinical diagnosis, self report) into "confirmed", or revoke
//! them. Without a token, re-publishing identical keys is an idempotent no-op and anything
//! else is refused.

use base64::Engine as _;
use mimamori_crypto::export::ReportType;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::rand::{SecureRandom, SystemRandom};

const VERSION: u8 = 1;
const ENTRY_LEN: usize = 24;
/// Smallest plaintext, so even a one-key token is not distinguishable by length from a few keys.
const MIN_PLAINTEXT: usize = 2 + 4 * ENTRY_LEN;

/// A key as a revision token remembers it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct RevisableKey {
    /// The key bytes.
    pub key: [u8; 16],
    /// Start interval.
    pub rolling_start: u32,
    /// Period.
    pub rolling_period: u32,
}

/// Why a revision token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RevisionTokenError {
    /// Not base64, wrong version, or fails authentication.
    #[error("revision token is malformed or was not issued by this server")]
    Invalid,
}

/// Seals and opens revision tokens.
pub struct RevisionTokenCipher {
    key: LessSafeKey,
    random: SystemRandom,
}

impl std::fmt::Debug for RevisionTokenCipher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RevisionTokenCipher([REDACTED])")
    }
}

struct KeyLength;

impl ring::hkdf::KeyType for KeyLength {
    fn len(&self) -> usize {
        32
    }
}

impl RevisionTokenCipher {
    /// Derives the token key from `secret` with HKDF-SHA256.
    pub fn new(secret: &[u8]) -> Self {
        let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, b"mimamori revision token");
        let mut key_bytes = [0u8; 32];
        // HKDF with a 32-byte output cannot fail (limit is 255 * 32 bytes).
        let prk = salt.extract(secret);
        if let Ok(okm) = prk.expand(&[b"v1"], KeyLength) {
            let _ = okm.fill(&mut key_bytes);
        }
        let unbound = UnboundKey::new(&AES_256_GCM, &key_bytes)
            .expect("invariant: AES-256-GCM accepts every 32-byte key");
        RevisionTokenCipher {
            key: LessSafeKey::new(unbound),
            random: SystemRandom::new(),
        }
    }

    /// Encrypts `keys` into a base64 token.
    pub fn seal(&self, keys: &[RevisableKey]) -> Result<String, ring::error::Unspecified> {
        let count = u16::try_from(keys.len()).map_err(|_| ring::error::Unspecified)?;
        let mut plaintext = Vec::with_capacity(MIN_PLAINTEXT.max(2 + keys.len() * ENTRY_LEN));
        plaintext.extend_from_slice(&count.to_be_bytes());
        for key in keys {
            plaintext.extend_from_slice(&key.key);
            plaintext.extend_from_slice(&key.rolling_start.to_be_bytes());
            plaintext.extend_from_slice(&key.rolling_period.to_be_bytes());
        }
        plaintext.resize(plaintext.len().max(MIN_PLAINTEXT), 0);
        let mut nonce = [0u8; NONCE_LEN];
        self.random.fill(&mut nonce)?;
        self.key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from([VERSION]),
            &mut plaintext,
        )?;
        let mut token = Vec::with_capacity(1 + NONCE_LEN + plaintext.len());
        token.push(VERSION);
        token.extend_from_slice(&nonce);
        token.extend_from_slice(&plaintext);
        Ok(base64::engine::general_purpose::STANDARD.encode(token))
    }

    /// Decrypts a token; any tampering or foreign token is [`RevisionTokenError::Invalid`].
    pub fn open(&self, token: &str) -> Result<Vec<RevisableKey>, RevisionTokenError> {
        let mut bytes = base64::engine::general_purpose::STANDARD
            .decode(token.as_bytes())
            .map_err(|_| RevisionTokenError::Invalid)?;
        if bytes.len() < 1 + NONCE_LEN + 2 || bytes[0] != VERSION {
            return Err(RevisionTokenError::Invalid);
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[1..=NONCE_LEN]);
        let sealed = &mut bytes[1 + NONCE_LEN..];
        let plaintext = self
            .key
            .open_in_place(
                Nonce::assume_unique_for_key(nonce),
                Aad::from([VERSION]),
                sealed,
            )
            .map_err(|_| RevisionTokenError::Invalid)?;
        let count = usize::from(u16::from_be_bytes([plaintext[0], plaintext[1]]));
        let body = &plaintext[2..];
        if body.len() < count * ENTRY_LEN {
            return Err(RevisionTokenError::Invalid);
        }
        Ok(body
            .chunks_exact(ENTRY_LEN)
            .take(count)
            .map(|entry| {
                let mut key = [0u8; 16];
                key.copy_from_slice(&entry[..16]);
                RevisableKey {
                    key,
                    rolling_start: u32::from_be_bytes([entry[16], entry[17], entry[18], entry[19]]),
                    rolling_period: u32::from_be_bytes([
                        entry[20], entry[21], entry[22], entry[23],
                    ]),
                }
            })
            .collect())
    }
}

/// What a publish does with one key that may already be stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionDecision {
    /// New key: insert it.
    Insert,
    /// Already stored with the same report type: nothing to do (idempotent).
    Unchanged,
    /// Stored with a report type this publish may revise: record the revision.
    Revise,
}

/// Why a publish may not touch a stored key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum RevisionError {
    /// The key exists with other metadata and no valid token covers it.
    #[error("a key was already published with different metadata; send the revision token")]
    TokenRequired,
    /// The key was already revised.
    #[error("a key was already revised")]
    AlreadyRevised,
    /// The report type cannot change this way (only likely → confirmed or revoked).
    #[error("report type {from:?} cannot be revised to {to:?}")]
    InvalidTransition {
        /// Stored type.
        from: ReportType,
        /// Requested type.
        to: ReportType,
    },
}

/// Decides what a publish of `new` does with a key stored as `existing`
/// (`None`: not stored), given whether a valid revision token covers it and whether it was
/// revised before (`revised_to`).
pub fn decide(
    existing: Option<ReportType>,
    revised_to: Option<ReportType>,
    new: ReportType,
    covered_by_token: bool,
) -> Result<RevisionDecision, RevisionError> {
    let Some(existing) = existing else {
        return Ok(RevisionDecision::Insert);
    };
    let current = revised_to.unwrap_or(existing);
    if current == new {
        return Ok(RevisionDecision::Unchanged);
    }
    if !covered_by_token {
        return Err(RevisionError::TokenRequired);
    }
    if revised_to.is_some() {
        return Err(RevisionError::AlreadyRevised);
    }
    let revisable = matches!(
        existing,
        ReportType::ConfirmedClinicalDiagnosis | ReportType::SelfReport
    );
    let allowed_target = matches!(new, ReportType::ConfirmedTest | ReportType::Revoked);
    if revisable && allowed_target {
        Ok(RevisionDecision::Revise)
    } else {
        Err(RevisionError::InvalidTransition {
            from: existing,
            to: new,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(n: u8) -> Vec<RevisableKey> {
        (0..n)
            .map(|i| RevisableKey {
                key: [i; 16],
                rolling_start: 2_650_000 + u32::from(i) * 144,
                rolling_period: 144,
            })
            .collect()
    }

    #[test]
    fn tokens_round_trip_and_resist_tampering() {
        let cipher = RevisionTokenCipher::new(b"secret one");
        for n in [0, 1, 14, 30] {
            let token = cipher.seal(&keys(n)).unwrap();
            assert_eq!(cipher.open(&token).unwrap(), keys(n));
        }
        let token = cipher.seal(&keys(1)).unwrap();
        let other = RevisionTokenCipher::new(b"secret two");
        assert_eq!(other.open(&token), Err(RevisionTokenError::Invalid));

        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(&token)
            .unwrap();
        let last = raw.len() - 1;
        raw[last] ^= 1;
        let tampered = base64::engine::general_purpose::STANDARD.encode(raw);
        assert_eq!(cipher.open(&tampered), Err(RevisionTokenError::Invalid));
        assert_eq!(cipher.open("not base64!"), Err(RevisionTokenError::Invalid));
        assert_eq!(cipher.open(""), Err(RevisionTokenError::Invalid));
        // Short and long tokens do not reveal the key count below four keys.
        assert_eq!(
            cipher.seal(&keys(1)).unwrap().len(),
            cipher.seal(&keys(3)).unwrap().len()
        );
    }

    #[test]
    fn transitions() {
        use ReportType::*;
        assert_eq!(
            decide(None, None, ConfirmedTest, false),
            Ok(RevisionDecision::Insert)
        );
        assert_eq!(
            decide(Some(ConfirmedTest), None, ConfirmedTest, false),
            Ok(RevisionDecision::Unchanged)
        );
        assert_eq!(
            decide(Some(ConfirmedClinicalDiagnosis), None, ConfirmedTest, false),
            Err(RevisionError::TokenRequired)
        );
        assert_eq!(
            decide(Some(ConfirmedClinicalDiagnosis), None, ConfirmedTest, true),
            Ok(RevisionDecision::Revise)
        );
        assert_eq!(
            decide(Some(SelfReport), None, Revoked, true),
            Ok(RevisionDecision::Revise)
        );
        assert_eq!(
            decide(Some(ConfirmedTest), None, ConfirmedClinicalDiagnosis, true),
            Err(RevisionError::InvalidTransition {
                from: ConfirmedTest,
                to: ConfirmedClinicalDiagnosis
            })
        );
        assert_eq!(
            decide(
                Some(ConfirmedClinicalDiagnosis),
                Some(ConfirmedTest),
                Revoked,
                true
            ),
            Err(RevisionError::AlreadyRevised)
        );
        assert_eq!(
            decide(
                Some(ConfirmedClinicalDiagnosis),
                Some(ConfirmedTest),
                ConfirmedTest,
                false
            ),
            Ok(RevisionDecision::Unchanged)
        );
    }
}
