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
pub(crate) type Block = Array<u8, aes::cipher::consts::U16>;

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

/// HKDF-SHA256(IKM, NULL salt, info, 16) with the RustCrypto `hkdf` crate.
fn hkdf_generic(ikm: &[u8; KEY_LEN], info: &[u8]) -> [u8; KEY_LEN] {
    let mut okm = [0u8; KEY_LEN];
    hkdf::Hkdf::<sha2::Sha256>::new(None, ikm)
        .expand(info, &mut okm)
        .expect("invariant: 16 bytes is far below HKDF-SHA256's 255 × 32-byte limit");
    okm
}

/// SHA-256 initial hash value (FIPS 180-4 §5.3.3).
const SHA256_IV: [u32; 8] = [
    0x6a09_e667,
    0xbb67_ae85,
    0x3c6e_f372,
    0xa54f_f53a,
    0x510e_527f,
    0x9b05_688c,
    0x1f83_d9ab,
    0x5be0_cd19,
];

/// The SHA-256 state after absorbing one 64-byte block.
fn absorb(block: &[u8; 64]) -> [u32; 8] {
    let mut state = SHA256_IV;
    sha2::block_api::compress256(&mut state, std::slice::from_ref(block));
    state
}

/// Finishes a SHA-256 whose first 64 bytes are already in `state` with a short tail
/// (at most 55 bytes), applying the padding: one compression.
fn finish<const WIPE: bool>(state: &[u32; 8], tail: &[u8]) -> [u8; 32] {
    debug_assert!(tail.len() <= 55);
    let mut block = [0u8; 64];
    block[..tail.len()].copy_from_slice(tail);
    block[tail.len()] = 0x80;
    let bits = (64 + tail.len() as u64) * 8;
    block[56..].copy_from_slice(&bits.to_be_bytes());
    let mut s = *state;
    sha2::block_api::compress256(&mut s, std::slice::from_ref(&block));
    if WIPE {
        block.zeroize();
    }
    let mut out = [0u8; 32];
    for (chunk, word) in out.chunks_exact_mut(4).zip(s) {
        chunk.copy_from_slice(&word.to_be_bytes());
    }
    if WIPE {
        s.zeroize();
    }
    out
}

/// HMAC-SHA256 inner and outer states for a key of at most 64 bytes.
fn hmac_states<const WIPE: bool>(key: &[u8]) -> ([u32; 8], [u32; 8]) {
    let mut ipad = [0x36u8; 64];
    let mut opad = [0x5cu8; 64];
    for (i, k) in key.iter().enumerate() {
        ipad[i] ^= k;
        opad[i] ^= k;
    }
    let states = (absorb(&ipad), absorb(&opad));
    if WIPE {
        ipad.zeroize();
        opad.zeroize();
    }
    states
}

/// HMAC states of the NULL salt (32 zero bytes), computed once.
fn zero_salt_states() -> &'static ([u32; 8], [u32; 8]) {
    static STATES: OnceLock<([u32; 8], [u32; 8])> = OnceLock::new();
    STATES.get_or_init(|| hmac_states::<false>(&[0u8; 32]))
}

/// HKDF-SHA256 (RFC 5869) with NULL salt and L = 16, for IKM and info of at most 31 bytes:
/// PRK = HMAC(0^32, IKM); OKM = HMAC(PRK, info ‖ 0x01)[..16].
///
/// Written on the SHA-256 compression function with the salt's HMAC states precomputed: six
/// compressions and no buffering, the matcher's hot path. The tests check it against the
/// `hkdf` crate, `ring` and the RFC 5869 vectors.
///
/// # Panics
/// If `ikm` or `info` is longer than 31 bytes (EN uses 16 and 7).
pub fn hkdf16(ikm: &[u8], info: &[u8]) -> [u8; KEY_LEN] {
    hkdf16_impl::<true>(ikm, info)
}

/// [`hkdf16`] without wiping the stack temporaries, for published diagnosis keys only (they
/// are public, and the byte-wise volatile wipes cost about a third of the derivation).
pub(crate) fn hkdf16_public(ikm: &[u8], info: &[u8]) -> [u8; KEY_LEN] {
    hkdf16_impl::<false>(ikm, info)
}

fn hkdf16_impl<const WIPE: bool>(ikm: &[u8], info: &[u8]) -> [u8; KEY_LEN] {
    assert!(
        ikm.len() <= 31 && info.len() <= 31,
        "hkdf16 takes short inputs only"
    );
    let (salt_inner, salt_outer) = zero_salt_states();
    let mut inner = finish::<WIPE>(salt_inner, ikm);
    let mut prk = finish::<WIPE>(salt_outer, &inner);
    let (mut prk_inner, mut prk_outer) = hmac_states::<WIPE>(&prk);
    let mut message = [0u8; 32];
    message[..info.len()].copy_from_slice(info);
    message[info.len()] = 1;
    inner = finish::<WIPE>(&prk_inner, &message[..=info.len()]);
    let mut okm = finish::<WIPE>(&prk_outer, &inner);
    let mut out = [0u8; KEY_LEN];
    out.copy_from_slice(&okm[..KEY_LEN]);
    if WIPE {
        inner.zeroize();
        prk.zeroize();
        okm.zeroize();
        prk_inner.zeroize();
        prk_outer.zeroize();
    }
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

    /// RPIK = HKDF-SHA256(TEK, NULL, "EN-RPIK", 16), with the `hkdf` crate.
    pub fn rpik(&self) -> Rpik {
        Rpik(hkdf_generic(&self.0, RPIK_INFO))
    }

    /// AEMK = HKDF-SHA256(TEK, NULL, "EN-AEMK", 16), with the `hkdf` crate.
    pub fn aemk(&self) -> Aemk {
        Aemk(hkdf_generic(&self.0, AEMK_INFO))
    }

    /// The 144 RPIs of the day starting at `start`, on the matcher's fast path
    /// ([`hkdf16`] and one batch of AES-128 blocks). Same result as
    /// `self.rpik().rpis_for_day(start)`.
    pub fn rpis_for_day(&self, start: EnIntervalNumber) -> [Rpi; TEK_ROLLING_PERIOD as usize] {
        let mut out = day_buffer();
        DayBlocks::new().encrypt(&rpik_cipher(self), start, &mut out);
        out.map(|b| Rpi(b.into()))
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
        let mut out = day_buffer();
        DayBlocks::new().encrypt(&self.cipher(), start, &mut out);
        out.map(|b| Rpi(b.into()))
    }
}

/// One day of `PaddedData` blocks, kept as a template so that only the 4 ENIN bytes of each
/// block are rewritten per key (building 144 blocks from scratch costs more than encrypting
/// them).
pub(crate) struct DayBlocks {
    input: [Block; TEK_ROLLING_PERIOD as usize],
    start: Option<EnIntervalNumber>,
}

impl DayBlocks {
    /// A template with the "EN-RPI" prefix in every block.
    pub(crate) fn new() -> Self {
        let mut input = [Block::default(); TEK_ROLLING_PERIOD as usize];
        for block in &mut input {
            block[..6].copy_from_slice(RPI_PADDING_PREFIX);
        }
        Self { input, start: None }
    }

    /// Encrypts the day starting at `start` into `out`: the 144 RPIs in one AES batch.
    pub(crate) fn encrypt(
        &mut self,
        cipher: &Aes128Enc,
        start: EnIntervalNumber,
        out: &mut [Block; TEK_ROLLING_PERIOD as usize],
    ) {
        if self.start != Some(start) {
            for (i, block) in (0u32..).zip(self.input.iter_mut()) {
                let enin = start.plus(i).to_le_bytes();
                block[12] = enin[0];
                block[13] = enin[1];
                block[14] = enin[2];
                block[15] = enin[3];
            }
            self.start = Some(start);
        }
        cipher
            .encrypt_blocks_b2b(&self.input, out)
            .expect("invariant: input and output both hold 144 blocks");
    }
}

/// Derives the 144 RPIs of one day for many published diagnosis keys, reusing its buffers:
/// the matcher's hot path, for benchmarks and bulk tools.
///
/// Diagnosis keys are public, so unlike [`Tek::rpik`] this path does not wipe its
/// temporaries.
pub struct RpiDeriver {
    blocks: DayBlocks,
    out: [Block; TEK_ROLLING_PERIOD as usize],
}

impl fmt::Debug for RpiDeriver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RpiDeriver").finish_non_exhaustive()
    }
}

impl Default for RpiDeriver {
    fn default() -> Self {
        Self::new()
    }
}

impl RpiDeriver {
    /// A deriver with empty buffers.
    pub fn new() -> Self {
        Self {
            blocks: DayBlocks::new(),
            out: day_buffer(),
        }
    }

    /// Derives the RPIs of `start`, `start + 1`, …, `start + 143` for `key`.
    pub fn derive(&mut self, key: &Tek, start: EnIntervalNumber) {
        self.blocks
            .encrypt(&rpik_cipher_public(key), start, &mut self.out);
    }

    /// RPI number `i` (0..144) of the last derivation.
    pub fn rpi(&self, i: usize) -> Rpi {
        Rpi(self.out[i].into())
    }

    /// The RPIs of the last derivation as 128-bit little-endian integers.
    pub fn rpis_u128(&self) -> impl Iterator<Item = u128> + '_ {
        self.out.iter().map(|b| u128::from_le_bytes((*b).into()))
    }
}

/// An empty output buffer for [`DayBlocks::encrypt`].
pub(crate) fn day_buffer() -> [Block; TEK_ROLLING_PERIOD as usize] {
    [Block::default(); TEK_ROLLING_PERIOD as usize]
}

/// Expands the RPIK of `tek` into an AES key schedule: the hot path of the matcher.
pub(crate) fn rpik_cipher(tek: &Tek) -> Aes128Enc {
    let mut rpik = hkdf16(&tek.0, RPIK_INFO);
    let cipher = Aes128Enc::new(&Array::from(rpik));
    rpik.zeroize();
    cipher
}

/// [`rpik_cipher`] for published diagnosis keys: no wiping of temporaries.
pub(crate) fn rpik_cipher_public(tek: &Tek) -> Aes128Enc {
    Aes128Enc::new(&Array::from(hkdf16_public(&tek.0, RPIK_INFO)))
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
    use sha2::Sha256;

    #[test]
    fn hkdf16_matches_generic_hkdf() {
        let tek = [7u8; 16];
        let mut okm = [0u8; 16];
        Hkdf::<Sha256>::new(None, &tek)
            .expand(RPIK_INFO, &mut okm)
            .unwrap();
        assert_eq!(hkdf16(&tek, RPIK_INFO), okm);
        let tek = Tek::from_bytes(tek);
        assert_eq!(tek.rpik().as_bytes(), &okm);
        let start = EnIntervalNumber(2_650_000);
        assert_eq!(tek.rpis_for_day(start), tek.rpik().rpis_for_day(start));
    }

    #[test]
    fn hkdf16_on_many_inputs() {
        for len in [0usize, 1, 16, 31] {
            for info in [&b""[..], b"EN-AEMK", &[0xaa; 31]] {
                let ikm: Vec<u8> = (0..len).map(|i| i as u8 * 7).collect();
                let mut okm = [0u8; 16];
                Hkdf::<Sha256>::new(None, &ikm)
                    .expand(info, &mut okm)
                    .unwrap();
                assert_eq!(hkdf16(&ikm, info), okm, "len {len}");
            }
        }
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
