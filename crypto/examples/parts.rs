//! Cost breakdown of the matcher's hot loop (HKDF, AES, both), single-threaded.
//!
//! `cargo run --release -p mimamori-crypto --example parts -- [N]`

use std::hint::black_box;
use std::time::Instant;

use mimamori_crypto::interval::EnIntervalNumber;
use mimamori_crypto::keys::{self, Rpik, Tek};
use mimamori_crypto::synthetic::SplitMix64;

struct Len16;
impl ring::hkdf::KeyType for Len16 {
    fn len(&self) -> usize {
        16
    }
}

fn time(label: &str, n: usize, mut f: impl FnMut(usize)) {
    let started = Instant::now();
    for i in 0..n {
        f(i);
    }
    let s = started.elapsed().as_secs_f64();
    println!("{label:>28}: {:8.1} ns/key", s * 1e9 / n as f64);
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(200_000);
    let mut rng = SplitMix64::new(7);
    let teks: Vec<[u8; 16]> = (0..n).map(|_| rng.bytes16()).collect();
    let start = EnIntervalNumber(2_650_464);
    time("hkdf16 (RustCrypto hmac)", n, |i| {
        black_box(keys::hkdf16(&teks[i], keys::RPIK_INFO));
    });
    let salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, &[0u8; 32]);
    time("ring hkdf", n, |i| {
        let mut out = [0u8; 16];
        salt.extract(&teks[i])
            .expand(&[keys::RPIK_INFO], Len16)
            .map(|okm| okm.fill(&mut out))
            .ok();
        black_box(out);
    });
    time("aes 144 blocks", n, |i| {
        black_box(Rpik::from_bytes(teks[i]).rpis_for_day(start));
    });
    time("tek.rpik() (hkdf crate)", n, |i| {
        black_box(Tek::from_bytes(teks[i]).rpik());
    });
    time("tek.rpis_for_day (fast)", n, |i| {
        black_box(Tek::from_bytes(teks[i]).rpis_for_day(start));
    });
}
