//! Temporary Exposure Keys and everything derived from them (gaen-spec.md §1–2).
//!
//! | Item | Definition |
//! |---|---|
//! | RPIK | HKDF-SHA256(IKM = TEK, salt = NULL, info = "EN-RPIK", L = 16) |
//! | AEMK | HKDF-SHA256(TEK, NULL, "EN-AEMK", 16) |
//! | RPI_j | AES-128(RPIK, "EN-RPI" ‖ 0x00×6 ‖ ENIN_j as uint32 LE) |
//! | AEM_j | AES-128-CTR(AEMK, IV = RPI_j) over the 4 metadata bytes |
//!
//! Secret key types ([`Tek`], [`Rpik`], [`Aemk`]) zeroize on drop, print `[REDACTED]` in
//! `Debug` and compare in constant time.

use std::fmt;
use std::sync::OnceLock;

use aes::Aes128Enc;
use aes::cipher::{Array, BlockCipherEncrypt, KeyInit};
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;
use zeroize::{Zeroize, ZeroizeOnDrop};

use crate::error::Error;
use crate::interval::{EnIntervalNumber, TEK_ROLLING_PERIOD};

/// HKDF info for the RPIK.
pub const RPIK_INFO: &[u8] = b"EN-RPIK";
/// HKDF info for the AEMK.
pub const AEMK_INFO: &[u8] = b"EN-AEMK";
/// The first six bytes of every `PaddedData` block.
pub const RPI_PADDING_PREFIX: &[u8; 6] = b"EN-RPI";
/// Length of a TEK, RPIK, AEMK and RPI in bytes.
pub const KEY_LEN: usize = 16;

/// One AES block.
type Block = Array<u8, aes::cipher::consts::U16>;

macro_rules! secret_key {
    ($(#[$meta:meta])* $name:ident) => {
        $(#[$meta])*
        #[derive(Clone, Zeroize, ZeroizeOnDrop)]
        pub struct $name([u8; KEY_LEN]);

        impl $name {
            /// Wraps raw key bytes.
            pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
                Self(bytes)
            }

            /// Wraps a slice that must be exactly 16 bytes.
            ///
            /// # Errors
            /// [`Error::InvalidLength`] for any other length.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, Error> {
                <[u8; KEY_LEN]>::try_from(bytes)
                    .map(Self)
                    .map_err(|_| Error::InvalidLength { expected: KEY_LEN, actual: bytes.len() })
            }

            /// The raw key bytes. Handle with care: they are secret.
            pub fn as_bytes(&self) -> &[u8; KEY_LEN] {
                &self.0
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(concat!(stringify!($name), "([REDACTED])"))
            }
        }

        impl ConstantTimeEq for $name {
            fn ct_eq(&self, other: &Self) -> subtle::Choice {
                self.0.ct_eq(&other.0)
            }
        }

        impl PartialEq for $name {
            fn eq(&self, other: &Self) -> bool {
                self.ct_eq(other).into()
            }
        }

        impl Eq for $name {}
    };
}

secret_key!(
    /// A Temporary Exposure Key: 16 random bytes, valid for one rolling period.
    Tek
);
secret_key!(
    /// The Rolling Proximity Identifier Key, the AES-128 key that makes RPIs.
    Rpik
);
secret_key!(
    /// The Associated Encrypted Metadata Key, the AES-128-CTR key that makes AEMs.
    Aemk
);

/// The HMAC-SHA256 state keyed with the NULL salt (32 zero bytes), computed once.
fn zero_salt_hmac() -> &'static Hmac<Sha256> {
    static STATE: OnceLock<Hmac<Sha256>> = OnceLock::new();
    STATE.get_or_init(|| {
        <Hmac<Sha256> as KeyInit>::new_from_slice(&[0u8; 32])
            .expect("invariant: HMAC accepts keys of any length")
    })
}

/// HKDF-SHA256 (RFC 5869) with NULL salt and L = 16: one expand block, HMAC(PRK, info ‖ 0x01)[..16].
///
/// Equivalent to `hkdf::Hkdf::<Sha256>::new(None, tek).expand(info, &mut [0; 16])` (checked in
/// the tests) but reuses the precomputed salt state, which saves two SHA-256 compressions.
pub fn hkdf16(ikm: &[u8], info: &[u8]) -> [u8; KEY_LEN] {
    let mut extract = zero_salt_hmac().clone();
    extract.update(ikm);
    let mut prk = extract.finalize().into_bytes();
    let mut expand = <Hmac<Sha256> as KeyInit>::new_from_slice(&prk)
        .expect("invariant: HMAC accepts keys of any length");
    prk.zeroize();
    expand.update(info);
    expand.update(&[1]);
    let mut okm = expand.finalize().into_bytes();
    let mut out = [0u8; KEY_LEN];
    out.copy_from_slice(&okm[..KEY_LEN]);
    okm.zeroize();
    out
}

impl Tek {
    /// Generates a fresh TEK from a CSPRNG.
    ///
    /// # Errors
    /// [`Error::Random`] if the generator fails.
    pub fn generate(rng: &dyn ring::rand::SecureRandom) -> Result<Self, Error> {
        let mut bytes = [0u8; KEY_LEN];
        rng.fill(&mut bytes).map_err(|_| Error::Random)?;
        Ok(Self(bytes))
    }

    /// RPIK = HKDF-SHA256(TEK, NULL, "EN-RPIK", 16).
    pub fn rpik(&self) -> Rpik {
        Rpik(hkdf16(&self.0, RPIK_INFO))
    }

    /// AEMK = HKDF-SHA256(TEK, NULL, "EN-AEMK", 16).
    pub fn aemk(&self) -> Aemk {
        Aemk(hkdf16(&self.0, AEMK_INFO))
    }
}

/// `PaddedData_j`: "EN-RPI" ‖ six 0x00 ‖ ENIN as uint32 little-endian.
pub fn padded_data(enin: EnIntervalNumber) -> [u8; 16] {
    let mut block = [0u8; 16];
    block[..6].copy_from_slice(RPI_PADDING_PREFIX);
    block[12..].copy_from_slice(&enin.to_le_bytes());
    block
}

impl Rpik {
    fn cipher(&self) -> Aes128Enc {
        Aes128Enc::new(&Array::from(self.0))
    }

    /// The RPI for one interval.
    pub fn rpi(&self, enin: EnIntervalNumber) -> Rpi {
        let mut block = Block::from(padded_data(enin));
        self.cipher().encrypt_block(&mut block);
        Rpi(block.into())
    }

    /// The 144 RPIs of the rolling period starting at `start`, encrypted as one batch.
    pub fn rpis_for_day(&self, start: EnIntervalNumber) -> [Rpi; TEK_ROLLING_PERIOD as usize] {
        let mut blocks = [Block::default(); TEK_ROLLING_PERIOD as usize];
        encrypt_day(&self.cipher(), start, &mut blocks);
        blocks.map(|b| Rpi(b.into()))
    }
}

/// Fills `blocks` with the RPIs for `start`, `start + 1`, … using an expanded RPIK.
pub(crate) fn encrypt_day(cipher: &Aes128Enc, start: EnIntervalNumber, blocks: &mut [Block]) {
    for (i, block) in (0u32..).zip(blocks.iter_mut()) {
        *block = Block::from(padded_data(start.plus(i)));
    }
    cipher.encrypt_blocks(blocks);
}

/// Expands the RPIK of `tek` into an AES key schedule: the hot path of the matcher.
pub(crate) fn rpik_cipher(tek: &Tek) -> Aes128Enc {
    let mut rpik = hkdf16(&tek.0, RPIK_INFO);
    let cipher = Aes128Enc::new(&Array::from(rpik));
    rpik.zeroize();
    cipher
}

impl Aemk {
    fn keystream(&self, rpi: &Rpi) -> [u8; 4] {
        // AES-128-CTR with IV = RPI over 4 bytes uses only the first counter block, so the
        // keystream is the first 4 bytes of AES-128(AEMK, RPI) (gaen-spec.md §2).
        let mut block = Block::from(rpi.0);
        Aes128Enc::new(&Array::from(self.0)).encrypt_block(&mut block);
        let mut ks = [0u8; 4];
        ks.copy_from_slice(&block[..4]);
        block.zeroize();
        ks
    }

    /// AEM = AES-128-CTR(AEMK, IV = RPI, metadata).
    pub fn encrypt(&self, rpi: &Rpi, metadata: [u8; 4]) -> Aem {
        let ks = self.keystream(rpi);
        Aem(std::array::from_fn(|i| metadata[i] ^ ks[i]))
    }

    /// Recovers the metadata bytes from an AEM. The AEM is not authenticated: validate the
    /// result (see [`crate::metadata::Metadata`]).
    pub fn decrypt(&self, rpi: &Rpi, aem: &Aem) -> [u8; 4] {
        let ks = self.keystream(rpi);
        std::array::from_fn(|i| aem.0[i] ^ ks[i])
    }
}

/// A Rolling Proximity Identifier: the 16 bytes a device broadcasts for 10 minutes.
/// Public by design, so it is `Copy` and prints as hex.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Rpi(pub [u8; 16]);

impl Rpi {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Debug for Rpi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Rpi({})", crate::hex::encode(&self.0))
    }
}

/// Associated Encrypted Metadata: 4 bytes broadcast next to the RPI.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Aem(pub [u8; 4]);

impl Aem {
    /// The raw bytes.
    pub fn as_bytes(&self) -> &[u8; 4] {
        &self.0
    }
}

impl fmt::Debug for Aem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Aem({})", crate::hex::encode(&self.0))
    }
}

/// A TEK with its validity: the key a device holds for one (UTC) day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RollingTek {
    /// The key.
    pub key: Tek,
    /// First interval of validity, aligned to UTC midnight when generated here.
    pub rolling_start: EnIntervalNumber,
    /// Number of intervals of validity (144).
    pub rolling_period: u32,
}

impl RollingTek {
    /// Generates a key valid from the UTC midnight before `now` for 144 intervals
    /// (gaen-spec.md §1: start = 144 × floor(ENIN / 144)).
    ///
    /// # Errors
    /// [`Error::Random`] if the generator fails.
    pub fn generate(
        rng: &dyn ring::rand::SecureRandom,
        now: EnIntervalNumber,
    ) -> Result<Self, Error> {
        Ok(Self {
            key: Tek::generate(rng)?,
            rolling_start: now.day_start(),
            rolling_period: TEK_ROLLING_PERIOD,
        })
    }

    /// Whether a new key must be made at `now` (ENIN ≥ rollingStart + rollingPeriod).
    pub fn needs_rotation(&self, now: EnIntervalNumber) -> bool {
        u64::from(now.0) >= u64::from(self.rolling_start.0) + u64::from(self.rolling_period)
    }

    /// Whether `enin` lies inside the key's validity.
    pub fn is_valid_at(&self, enin: EnIntervalNumber) -> bool {
        enin >= self.rolling_start && !self.needs_rotation(enin)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hkdf::Hkdf;

    #[test]
    fn hkdf16_matches_generic_hkdf() {
        let tek = [7u8; 16];
        let mut okm = [0u8; 16];
        Hkdf::<Sha256>::new(None, &tek)
            .expand(RPIK_INFO, &mut okm)
            .unwrap();
        assert_eq!(hkdf16(&tek, RPIK_INFO), okm);
    }

    #[test]
    fn debug_is_redacted() {
        let tek = Tek::from_bytes([0xab; 16]);
        let printed = format!("{tek:?} {:?} {:?}", tek.rpik(), tek.aemk());
        assert!(!printed.contains("ab"), "{printed}");
        assert!(printed.contains("REDACTED"));
    }

    #[test]
    fn generated_key_is_aligned_and_rotates() {
        let rng = ring::rand::SystemRandom::new();
        let now = EnIntervalNumber(2_642_976 + 100);
        let k = RollingTek::generate(&rng, now).unwrap();
        assert_eq!(k.rolling_start, EnIntervalNumber(2_642_976));
        assert!(k.is_valid_at(now));
        assert!(!k.needs_rotation(EnIntervalNumber(2_642_976 + 143)));
        assert!(k.needs_rotation(EnIntervalNumber(2_642_976 + 144)));
        let other = RollingTek::generate(&rng, now).unwrap();
        assert_ne!(k.key, other.key);
    }
}
