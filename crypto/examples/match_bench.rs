//! Matcher throughput on a synthetic workload (the same as `mimamori bench match`).
//!
//! `cargo run --release -p mimamori-crypto --example match_bench -- KEYS SIGHTINGS [DAYS] [SEED]`

use std::time::Instant;

use mimamori_crypto::matcher::SightingIndex;
use mimamori_crypto::synthetic::{WorkloadSpec, generate};

fn arg(n: usize, default: u64) -> u64 {
    std::env::args()
        .nth(n)
        .and_then(|a| a.parse().ok())
        .unwrap_or(default)
}

fn main() {
    let keys = usize::try_from(arg(1, 1_000_000)).unwrap_or(usize::MAX);
    let sightings = usize::try_from(arg(2, 100_000)).unwrap_or(usize::MAX);
    let days = u32::try_from(arg(3, 14)).unwrap_or(14);
    let spec = WorkloadSpec::new(keys, sightings, days, arg(4, 1));
    let workload = generate(&spec);
    let started = Instant::now();
    let index = SightingIndex::new(&workload.sightings, 0);
    let matches = index.match_keys(&workload.keys);
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "{{\"keys\":{keys},\"sightings\":{sightings},\"matched\":{},\"seconds\":{seconds:.4},\"keys_per_second\":{:.0}}}",
        matches.len(),
        keys as f64 / seconds
    );
}
