//! Single-threaded RPI derivation throughput, for the side-by-side comparison with Python
//! (`benches/compare-python.sh`), on the matcher's hot path ([`RpiDeriver`]): for each of N random TEKs derive the RPIK with HKDF-SHA256
//! and the 144 RPIs of its day with AES-128.
//!
//! `cargo run --release -p mimamori-crypto --example derive_throughput -- [N] [SEED] [--all-cores]`
//!
//! Reports the median of seven passes. With `--all-cores` the keys are split over all cores with rayon (as the matcher does).

use std::hint::black_box;
use std::time::Instant;

use mimamori_crypto::interval::EnIntervalNumber;
use mimamori_crypto::keys::{RpiDeriver, Tek};
use mimamori_crypto::synthetic::SplitMix64;

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let seed: u64 = std::env::args()
        .nth(2)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1);
    let mut rng = SplitMix64::new(seed);
    let keys: Vec<Tek> = (0..n).map(|_| Tek::from_bytes(rng.bytes16())).collect();
    let start = EnIntervalNumber(2_650_464);
    let mut checksum = 0u8;
    let all_cores = std::env::args().any(|a| a == "--all-cores");
    let derive = |chunk: &[Tek]| {
        let mut deriver = RpiDeriver::new();
        let mut x = 0u8;
        for tek in chunk {
            deriver.derive(black_box(tek), start);
            x ^= deriver.rpi(143).0[0];
        }
        x
    };
    // Seven timed passes over the same keys; report the median.
    let mut runs = Vec::new();
    for _ in 0..7 {
        let started = Instant::now();
        if all_cores {
            use rayon::prelude::*;
            checksum ^= keys.par_chunks(1024).map(derive).reduce(|| 0, |a, b| a ^ b);
        } else {
            checksum ^= derive(&keys);
        }
        runs.push(started.elapsed().as_secs_f64());
    }
    runs.sort_by(f64::total_cmp);
    let seconds = runs[runs.len() / 2];
    let threads = if all_cores {
        rayon::current_num_threads()
    } else {
        1
    };
    println!(
        "{{\"impl\":\"rust\",\"threads\":{threads},\"keys\":{n},\"seconds\":{seconds:.6},\"us_per_key\":{:.3},\"checksum\":{checksum}}}",
        seconds * 1e6 / n as f64
    );
}
