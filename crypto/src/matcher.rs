//! Matching a device's sightings against diagnosis keys (gaen-spec.md §6–7).
//!
//! Build a [`SightingIndex`] once from the device's 14 days of sightings, then stream
//! diagnosis keys through [`SightingIndex::match_keys`] (one call per export file is fine).
//! For each key the index derives the RPIK (HKDF-SHA256), encrypts the 144 `PaddedData`
//! blocks of its day in one AES-128 batch and looks every RPI up in a bit filter backed by a
//! hash table of the sighted RPIs. Only the rare keys with a hit are evaluated in full:
//!
//! * only the first `rolling_period` RPIs count;
//! * a sighting counts iff its ENIN ∈ [ENIN_rpi − 12, ENIN_rpi + 13) (±2 h);
//! * sightings more than 20 min after the first sighting of that RPI are replays;
//! * the AEM is decrypted with the AEMK and the TX power must lie in [−50, +20] dBm;
//! * attenuation = max(TX power − (RSSI + receiver correction), 0).
//!
//! RECURSIVE and REVOKED keys are skipped, and a key seen twice is matched once.
//! With the default `parallel` feature the key stream is split over all cores (rayon).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use crate::export::{DiagnosisKey, ReportType};
use crate::interval::{EnIntervalNumber, TEK_ROLLING_PERIOD, utc_day_start};
use crate::keys::{self, Aem, Rpi};
use crate::metadata::{CalibrationConfidence, Metadata};

/// Accepted clock drift between advertiser and scanner, in intervals (±2 h).
pub const CLOCK_DRIFT_INTERVALS: u32 = 12;
/// Sightings more than this many seconds after the first sighting of an RPI are discarded.
pub const REPLAY_WINDOW_SECONDS: u64 = 1200;
/// Sightings at most 25.5 s apart belong to one scan (kept in tenths of a second).
pub const SAME_SCAN_GAP_DECISECONDS: u64 = 255;
/// Lowest plausible TX power in dBm.
pub const TX_POWER_MIN: i8 = -50;
/// Highest plausible TX power in dBm.
pub const TX_POWER_MAX: i8 = 20;
/// An exposure window lasts at most 30 minutes.
pub const MAX_WINDOW_SECONDS: u64 = 30 * 60;
/// `secondsSinceLastScan` is capped at 5 minutes.
pub const MAX_MINUTES_SINCE_LAST_SCAN: u64 = 5;
/// `secondsSinceLastScan` when the previous scan is unknown.
pub const DEFAULT_SECONDS_SINCE_LAST_SCAN: u32 = 120;
/// Keys per parallel work unit.
#[cfg(feature = "parallel")]
const CHUNK: usize = 2048;

/// One received advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sighting {
    /// Reception time, UNIX seconds.
    pub time: u64,
    /// The RPI received.
    pub rpi: Rpi,
    /// The AEM received.
    pub aem: Aem,
    /// Measured RSSI in dBm.
    pub rssi: i16,
}

/// A sighting that matched a diagnosis key, with its decrypted metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct MatchedSighting {
    /// Reception time, UNIX seconds.
    pub time: u64,
    /// The interval the RPI belongs to (rolling start + offset).
    pub rpi_interval: u32,
    /// RSSI after the receiver correction, dBm.
    pub rssi: i16,
    /// TX power from the metadata, dBm.
    pub tx_power: i8,
    /// max(TX power − corrected RSSI, 0), dB.
    pub attenuation: u8,
    /// Calibration confidence from the metadata.
    pub calibration_confidence: CalibrationConfidence,
}

/// A diagnosis key and every sighting that matched it, in time order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyMatch {
    /// The key.
    pub key: DiagnosisKey,
    /// Its accepted sightings, sorted by time.
    pub sightings: Vec<MatchedSighting>,
}

/// One scan of a matched device inside an exposure window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ScanInstance {
    /// round(mean attenuation) of the scan's sightings, dB.
    pub typical_attenuation_db: u8,
    /// Minimum attenuation of the scan's sightings, dB.
    pub min_attenuation_db: u8,
    /// 60 × min(5, minutes since the previous scan), or 120 when unknown.
    pub seconds_since_last_scan: u32,
}

/// Up to 30 minutes of scan instances of one matched key (the v2 API's ExposureWindow).
#[derive(Debug, Clone, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ExposureWindow {
    /// Start of the UTC day of the window, UNIX seconds.
    pub date: u64,
    /// Time of the window's first sighting, UNIX seconds.
    pub start_time: u64,
    /// Report type of the key (mapping applied at scoring time).
    pub report_type: ReportType,
    /// Days since onset of symptoms of the key, when known.
    pub days_since_onset_of_symptoms: Option<i32>,
    /// Transmission risk level of the key.
    pub transmission_risk_level: i32,
    /// Calibration confidence from the metadata of the first sighting.
    pub calibration_confidence: CalibrationConfidence,
    /// The scans, in time order.
    pub scan_instances: Vec<ScanInstance>,
}

/// A sighting as stored in the index.
#[derive(Debug, Clone, Copy)]
struct Stored {
    time: u64,
    enin: u32,
    rpi: Rpi,
    aem: Aem,
    rssi: i16,
}

/// Hashes an RPI (already uniformly random) by folding its two halves.
#[derive(Default)]
struct RpiHasher(u64);

impl Hasher for RpiHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut word = [0u8; 8];
            word[..chunk.len()].copy_from_slice(chunk);
            self.0 = self.0.rotate_left(5) ^ u64::from_le_bytes(word);
        }
    }
    fn write_u128(&mut self, value: u128) {
        self.0 = (value as u64) ^ ((value >> 64) as u64);
    }
}

type RpiMap = HashMap<u128, (u32, u32), BuildHasherDefault<RpiHasher>>;

/// A hit of the hot loop: key index, RPI offset in its day, sighting group.
type Hit = (usize, u8, (u32, u32));

/// A device's sightings, indexed for matching. Build once, match many keys.
#[derive(Debug)]
pub struct SightingIndex {
    /// Sightings grouped by RPI, each group sorted by time.
    sightings: Vec<Stored>,
    /// RPI → (first index, count) in `sightings`.
    groups: RpiMap,
    /// Bit filter over the low bits of each RPI's folded hash.
    filter: Vec<u64>,
    filter_mask: u64,
    /// Sorted distinct ENINs with at least one sighting.
    enins: Vec<u32>,
    /// Start times of the device's scans (clusters of sightings ≤ 25.5 s apart), sorted.
    scan_starts: Vec<u64>,
}

impl std::fmt::Debug for RpiHasher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RpiHasher")
    }
}

fn fold(rpi: &[u8; 16]) -> u128 {
    u128::from_le_bytes(*rpi)
}

fn fold64(value: u128) -> u64 {
    (value as u64) ^ ((value >> 64) as u64)
}

impl SightingIndex {
    /// Indexes sightings; `rssi_correction` (dB) is added to every RSSI, as the receiving
    /// model's calibration demands (gaen-spec.md §4).
    pub fn new(sightings: &[Sighting], rssi_correction: i16) -> Self {
        let mut stored: Vec<Stored> = sightings
            .iter()
            .map(|s| Stored {
                time: s.time,
                enin: EnIntervalNumber::from_unix_seconds(s.time).0,
                rpi: s.rpi,
                aem: s.aem,
                rssi: s.rssi.saturating_add(rssi_correction),
            })
            .collect();
        stored.sort_by(|a, b| a.rpi.cmp(&b.rpi).then(a.time.cmp(&b.time)));

        let mut groups = RpiMap::default();
        let mut start = 0usize;
        while start < stored.len() {
            let rpi = stored[start].rpi;
            let mut end = start + 1;
            while end < stored.len() && stored[end].rpi == rpi {
                end += 1;
            }
            groups.insert(fold(&rpi.0), (index_u32(start), index_u32(end - start)));
            start = end;
        }

        // About 64 filter bits per distinct RPI: ~1.6 % false positives per lookup.
        let bits = (groups.len().max(1) * 64)
            .next_power_of_two()
            .clamp(1 << 12, 1 << 26);
        let mut filter = vec![0u64; bits / 64];
        let filter_mask = (bits - 1) as u64;
        for key in groups.keys() {
            let bit = fold64(*key) & filter_mask;
            filter[(bit >> 6) as usize] |= 1 << (bit & 63);
        }

        let mut enins: Vec<u32> = stored.iter().map(|s| s.enin).collect();
        enins.sort_unstable();
        enins.dedup();

        let mut times: Vec<u64> = stored.iter().map(|s| s.time).collect();
        times.sort_unstable();
        let mut scan_starts = Vec::new();
        let mut prev: Option<u64> = None;
        for t in times {
            if prev.is_none_or(|p| (t - p).saturating_mul(10) > SAME_SCAN_GAP_DECISECONDS) {
                scan_starts.push(t);
            }
            prev = Some(t);
        }

        Self {
            sightings: stored,
            groups,
            filter,
            filter_mask,
            enins,
            scan_starts,
        }
    }

    /// Number of sightings indexed.
    pub fn len(&self) -> usize {
        self.sightings.len()
    }

    /// Whether the index holds no sighting.
    pub fn is_empty(&self) -> bool {
        self.sightings.is_empty()
    }

    /// Number of distinct RPIs indexed.
    pub fn distinct_rpis(&self) -> usize {
        self.groups.len()
    }

    fn any_sighting_in(&self, lo: u32, hi: u32) -> bool {
        let i = self.enins.partition_point(|&e| e < lo);
        i < self.enins.len() && self.enins[i] < hi
    }

    #[inline]
    fn lookup(&self, rpi: u128) -> Option<(u32, u32)> {
        let bit = fold64(rpi) & self.filter_mask;
        if self.filter[(bit >> 6) as usize] & (1 << (bit & 63)) == 0 {
            return None;
        }
        self.groups.get(&rpi).copied()
    }

    /// The hot loop over one slice of keys: derive, encrypt, look up. Eligible keys are
    /// visited in order of rolling start, so the `PaddedData` template is rewritten once per
    /// distinct start rather than once per key.
    fn scan_keys(&self, keys: &[DiagnosisKey], base: usize, hits: &mut Vec<Hit>) {
        let mut order: Vec<(u32, usize)> = keys
            .iter()
            .enumerate()
            .filter(|(_, key)| {
                if matches!(key.report_type, ReportType::Recursive | ReportType::Revoked) {
                    return false;
                }
                let start = key.rolling_start_interval_number;
                let lo = start.saturating_sub(CLOCK_DRIFT_INTERVALS);
                let hi = start.saturating_add(TEK_ROLLING_PERIOD + CLOCK_DRIFT_INTERVALS + 1);
                self.any_sighting_in(lo, hi)
            })
            .map(|(i, key)| (key.rolling_start_interval_number, i))
            .collect();
        order.sort_unstable();
        let mut deriver = keys::RpiDeriver::new();
        for (start, i) in order {
            deriver.derive(&keys[i].key_data, EnIntervalNumber(start));
            for (offset, value) in (0u8..).zip(deriver.rpis_u128()) {
                if let Some(group) = self.lookup(value) {
                    hits.push((base + i, offset, group));
                }
            }
        }
    }

    fn find_hits(&self, keys: &[DiagnosisKey]) -> Vec<Hit> {
        #[cfg(feature = "parallel")]
        {
            use rayon::prelude::*;
            if keys.len() > CHUNK {
                return keys
                    .par_chunks(CHUNK)
                    .enumerate()
                    .map(|(c, chunk)| {
                        let mut hits = Vec::new();
                        self.scan_keys(chunk, c * CHUNK, &mut hits);
                        hits
                    })
                    .flatten_iter()
                    .collect();
            }
        }
        let mut hits = Vec::new();
        self.scan_keys(keys, 0, &mut hits);
        hits
    }

    /// Evaluates one key's lookup hits in full (tolerance, replay, metadata).
    fn evaluate(&self, key: &DiagnosisKey, hits: &[Hit]) -> Option<KeyMatch> {
        let aemk = key.key_data.aemk();
        let mut accepted = Vec::new();
        for &(_, offset, (first, count)) in hits {
            if u32::from(offset) >= key.rolling_period {
                continue;
            }
            let rpi_enin = key
                .rolling_start_interval_number
                .saturating_add(u32::from(offset));
            let lo = rpi_enin.saturating_sub(CLOCK_DRIFT_INTERVALS);
            let hi = rpi_enin.saturating_add(CLOCK_DRIFT_INTERVALS + 1);
            let group = &self.sightings[first as usize..(first + count) as usize];
            let mut first_seen: Option<u64> = None;
            for s in group.iter().filter(|s| (lo..hi).contains(&s.enin)) {
                let first_time = *first_seen.get_or_insert(s.time);
                if s.time > first_time.saturating_add(REPLAY_WINDOW_SECONDS) {
                    continue;
                }
                let metadata = Metadata::from_bytes(aemk.decrypt(&s.rpi, &s.aem));
                if !(TX_POWER_MIN..=TX_POWER_MAX).contains(&metadata.tx_power) {
                    continue;
                }
                let attenuation = (i32::from(metadata.tx_power) - i32::from(s.rssi)).clamp(0, 255);
                accepted.push(MatchedSighting {
                    time: s.time,
                    rpi_interval: rpi_enin,
                    rssi: s.rssi,
                    tx_power: metadata.tx_power,
                    attenuation: u8::try_from(attenuation).unwrap_or(u8::MAX),
                    calibration_confidence: metadata.calibration_confidence,
                });
            }
        }
        if accepted.is_empty() {
            return None;
        }
        accepted.sort_by_key(|s| (s.time, s.rpi_interval));
        Some(KeyMatch {
            key: key.clone(),
            sightings: accepted,
        })
    }

    /// Matches keys against the index. Keys with the same bytes are matched once (the
    /// first wins). Results are in key order.
    pub fn match_keys(&self, keys: &[DiagnosisKey]) -> Vec<KeyMatch> {
        let mut hits = self.find_hits(keys);
        hits.sort_unstable_by_key(|h| (h.0, h.1));
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for run in hits.chunk_by(|a, b| a.0 == b.0) {
            let key = &keys[run[0].0];
            if !seen.insert(*key.key_data.as_bytes()) {
                continue;
            }
            out.extend(self.evaluate(key, run));
        }
        out
    }

    /// Matches one export file: its `revised_keys` take precedence over its `keys` (a key
    /// revised to another report type is matched with the new one; a key revised to REVOKED
    /// is not matched at all).
    pub fn match_export(&self, export: &crate::export::Export) -> Vec<KeyMatch> {
        let revoked: HashSet<[u8; 16]> = export
            .revised_keys
            .iter()
            .filter(|k| k.report_type == ReportType::Revoked)
            .map(|k| *k.key_data.as_bytes())
            .collect();
        let mut matches = self.match_keys(&export.revised_keys);
        matches.extend(self.match_keys(&export.keys));
        let mut matches = dedupe_matches(matches);
        matches.retain(|m| !revoked.contains(m.key.key_data.as_bytes()));
        matches
    }

    /// Number of keys with at least one lookup hit, without full evaluation (benchmarks).
    pub fn count_candidate_keys(&self, keys: &[DiagnosisKey]) -> usize {
        let mut hits = self.find_hits(keys);
        hits.sort_unstable_by_key(|h| h.0);
        hits.dedup_by_key(|h| h.0);
        hits.len()
    }

    /// The start of the device scan before the one at `time`, if any.
    fn previous_scan(&self, time: u64) -> Option<u64> {
        // The scan containing `time` starts at the last scan start <= time.
        let i = self.scan_starts.partition_point(|&s| s <= time);
        (i >= 2).then(|| self.scan_starts[i - 2])
    }

    /// Builds the exposure windows of one matched key (gaen-spec.md §7).
    pub fn exposure_windows(&self, m: &KeyMatch) -> Vec<ExposureWindow> {
        let mut windows: Vec<ExposureWindow> = Vec::new();
        let mut instance: Vec<u8> = Vec::new();
        let mut instance_start = 0u64;
        let mut last_time: Option<u64> = None;
        let flush = |windows: &mut Vec<ExposureWindow>, instance: &mut Vec<u8>, start: u64| {
            if instance.is_empty() {
                return;
            }
            let sum: u32 = instance.iter().map(|&a| u32::from(a)).sum();
            let n = u32::try_from(instance.len()).unwrap_or(u32::MAX);
            let typical = u8::try_from((sum + n / 2) / n).unwrap_or(u8::MAX);
            let min = instance.iter().copied().min().unwrap_or(0);
            let seconds = self
                .previous_scan(start)
                .map_or(DEFAULT_SECONDS_SINCE_LAST_SCAN, |p| {
                    let minutes = (start / 60 - p / 60).min(MAX_MINUTES_SINCE_LAST_SCAN);
                    u32::try_from(minutes * 60).unwrap_or(u32::MAX)
                });
            if let Some(w) = windows.last_mut() {
                w.scan_instances.push(ScanInstance {
                    typical_attenuation_db: typical,
                    min_attenuation_db: min,
                    seconds_since_last_scan: seconds,
                });
            }
            instance.clear();
        };
        for s in &m.sightings {
            let new_window = windows
                .last()
                .is_none_or(|w| s.time >= w.start_time.saturating_add(MAX_WINDOW_SECONDS));
            let new_instance = new_window
                || last_time
                    .is_none_or(|t| (s.time - t).saturating_mul(10) > SAME_SCAN_GAP_DECISECONDS);
            if new_instance {
                flush(&mut windows, &mut instance, instance_start);
                instance_start = s.time;
            }
            if new_window {
                windows.push(ExposureWindow {
                    date: utc_day_start(s.time),
                    start_time: s.time,
                    report_type: m.key.report_type,
                    days_since_onset_of_symptoms: m.key.days_since_onset_of_symptoms,
                    transmission_risk_level: m.key.transmission_risk_level,
                    calibration_confidence: s.calibration_confidence,
                    scan_instances: Vec::new(),
                });
            }
            instance.push(s.attenuation);
            last_time = Some(s.time);
        }
        flush(&mut windows, &mut instance, instance_start);
        windows
    }

    /// Exposure windows of all matches, sorted by start time.
    pub fn all_exposure_windows(&self, matches: &[KeyMatch]) -> Vec<ExposureWindow> {
        let mut windows: Vec<ExposureWindow> = matches
            .iter()
            .flat_map(|m| self.exposure_windows(m))
            .collect();
        windows.sort_by_key(|w| w.start_time);
        windows
    }
}

fn index_u32(i: usize) -> u32 {
    u32::try_from(i).unwrap_or(u32::MAX)
}

/// Keeps the first match of every key (for results gathered over several export files).
pub fn dedupe_matches(matches: Vec<KeyMatch>) -> Vec<KeyMatch> {
    let mut seen = HashSet::new();
    matches
        .into_iter()
        .filter(|m| seen.insert(*m.key.key_data.as_bytes()))
        .collect()
}
