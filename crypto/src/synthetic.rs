//! Deterministic synthetic workloads: diagnosis keys and sightings with a known set of
//! planted matches. Used by `mimamori bench match`, the benches and the property tests.

use crate::export::{DiagnosisKey, ReportType};
use crate::interval::{EN_INTERVAL_SECONDS, EnIntervalNumber, TEK_ROLLING_PERIOD};
use crate::keys::{Rpi, Tek};
use crate::matcher::Sighting;
use crate::metadata::Metadata;

/// SplitMix64: a small, fast, seedable generator (not for secrets).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from a seed.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    /// 16 random bytes.
    pub fn bytes16(&mut self) -> [u8; 16] {
        let mut out = [0u8; 16];
        out[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        out[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        out
    }
}

/// Parameters of a synthetic workload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkloadSpec {
    /// Number of diagnosis keys.
    pub keys: usize,
    /// Number of sightings.
    pub sightings: usize,
    /// Distinct RPIs among the sightings (each sighted `sightings / distinct` times).
    pub distinct_rpis: usize,
    /// Days covered by keys and sightings.
    pub days: u32,
    /// Keys that really match (their RPIs are among the sightings).
    pub matching_keys: usize,
    /// Seed.
    pub seed: u64,
    /// Last day covered (ENIN of its first interval, 144-aligned).
    pub last_day: EnIntervalNumber,
}

impl WorkloadSpec {
    /// The benchmark's shape: 20,000 distinct RPIs or fewer, 0.1 % matching keys (at least 1).
    pub fn new(keys: usize, sightings: usize, days: u32, seed: u64) -> Self {
        Self {
            keys,
            sightings,
            distinct_rpis: sightings.clamp(1, 20_000),
            days: days.max(1),
            matching_keys: (keys / 1000).max(1).min(keys),
            seed,
            // 2020-06-01T00:00Z.
            last_day: EnIntervalNumber(2_650_464),
        }
    }
}

/// A generated workload.
#[derive(Debug, Clone)]
pub struct Workload {
    /// Diagnosis keys, shuffled.
    pub keys: Vec<DiagnosisKey>,
    /// Sightings, sorted by time.
    pub sightings: Vec<Sighting>,
    /// Bytes of the keys that were planted among the sightings.
    pub planted: Vec<[u8; 16]>,
}

/// Generates keys and sightings; `planted` keys each contribute up to 10 sightings over
/// consecutive scans at realistic attenuation, the rest of the sightings are random RPIs.
pub fn generate(spec: &WorkloadSpec) -> Workload {
    let mut rng = SplitMix64::new(spec.seed);
    let first_day = spec.last_day.0 - (spec.days - 1) * TEK_ROLLING_PERIOD;
    let mut keys: Vec<DiagnosisKey> = (0..spec.keys)
        .map(|_| {
            let day = u32::try_from(rng.below(u64::from(spec.days))).unwrap_or(0);
            let mut key = DiagnosisKey::new(
                Tek::from_bytes(rng.bytes16()),
                first_day + day * TEK_ROLLING_PERIOD,
            );
            key.transmission_risk_level = 4;
            key.report_type = ReportType::ConfirmedTest;
            key
        })
        .collect();
    let planted_count = spec.matching_keys.min(keys.len());
    let mut sightings = Vec::with_capacity(spec.sightings);
    let mut planted = Vec::with_capacity(planted_count);
    let per_rpi = (spec.sightings / spec.distinct_rpis.max(1)).max(1);
    for key in keys.iter().take(planted_count) {
        planted.push(*key.key_data.as_bytes());
        let offset = u32::try_from(rng.below(u64::from(TEK_ROLLING_PERIOD))).unwrap_or(0);
        let enin = EnIntervalNumber(key.rolling_start_interval_number + offset);
        let rpi = key.key_data.rpik().rpi(enin);
        let aem = key
            .key_data
            .aemk()
            .encrypt(&rpi, Metadata::v1_0(-10).to_bytes());
        let t0 = enin.to_unix_seconds() + rng.below(60);
        for j in 0..per_rpi.min(4) as u64 {
            sightings.push(Sighting {
                time: t0 + j * 150,
                rpi,
                aem,
                rssi: -60 - i16::try_from(rng.below(10)).unwrap_or(0),
            });
        }
    }
    let span = u64::from(spec.days) * u64::from(TEK_ROLLING_PERIOD) * EN_INTERVAL_SECONDS;
    let start = EnIntervalNumber(first_day).to_unix_seconds();
    while sightings.len() < spec.sightings {
        let rpi = Rpi(rng.bytes16());
        let aem = crate::keys::Aem(rng.bytes16()[..4].try_into().unwrap_or([0; 4]));
        let t0 = start + rng.below(span);
        for j in 0..per_rpi as u64 {
            if sightings.len() >= spec.sightings {
                break;
            }
            sightings.push(Sighting {
                time: t0 + j * 60,
                rpi,
                aem,
                rssi: -70,
            });
        }
    }
    sightings.sort_by_key(|s| s.time);
    // Shuffle keys (Fisher–Yates) so planted keys are spread over the chunks.
    for i in (1..keys.len()).rev() {
        let j = usize::try_from(rng.below(i as u64 + 1)).unwrap_or(0);
        keys.swap(i, j);
    }
    Workload {
        keys,
        sightings,
        planted,
    }
}
