//! Planning export files for one closed window: padding with random keys that copy real
//! keys' metadata (so the real volume stays hidden), splitting large windows, and the
//! (start, end, batch) tuple of each file. Pure apart from the random source passed in.

use mimamori_crypto::export::{DiagnosisKey, Export, ReportType};
use mimamori_crypto::interval::{EnIntervalNumber, TEK_ROLLING_PERIOD};
use mimamori_crypto::keys::Tek;
use ring::rand::SecureRandom;

/// Limits for the files of one window.
#[derive(Debug, Clone, Copy)]
pub struct FilePolicy {
    /// Fewest keys per file (padding fills up to it).
    pub min_keys: usize,
    /// Up to this many extra padding keys at random.
    pub padding_jitter: usize,
    /// Most keys per file.
    pub max_keys: usize,
}

/// The planned contents of one window's files, before signing.
#[derive(Debug, Clone)]
pub struct WindowPlan {
    /// One `Export` per file, in batch order (signature infos are set when signing).
    pub exports: Vec<Export>,
    /// Real keys in the window (not padding).
    pub real_keys: usize,
    /// Padding keys added.
    pub padding_keys: usize,
}

fn random_u32(random: &dyn SecureRandom) -> Result<u32, ring::error::Unspecified> {
    let mut bytes = [0u8; 4];
    random.fill(&mut bytes)?;
    Ok(u32::from_le_bytes(bytes))
}

fn random_below(
    random: &dyn SecureRandom,
    bound: usize,
) -> Result<usize, ring::error::Unspecified> {
    if bound == 0 {
        return Ok(0);
    }
    // Modulo bias is negligible for the small bounds used here (< 2^20 vs 2^32).
    Ok(random_u32(random)? as usize % bound)
}

/// A padding key: random bytes with the metadata of a random real key, or — when the
/// window has no real keys — plausible metadata of a confirmed key from the last 14 days.
fn padding_key(
    real: &[DiagnosisKey],
    window_start_seconds: u64,
    random: &dyn SecureRandom,
) -> Result<DiagnosisKey, ring::error::Unspecified> {
    let mut bytes = [0u8; 16];
    random.fill(&mut bytes)?;
    let key_data = Tek::from_bytes(bytes);
    if real.is_empty() {
        let today = EnIntervalNumber::from_unix_seconds(window_start_seconds).day_start();
        let days_back = 1 + random_below(random, 13)? as u32;
        return Ok(DiagnosisKey {
            key_data,
            rolling_start_interval_number: today.0.saturating_sub(days_back * TEK_ROLLING_PERIOD),
            rolling_period: TEK_ROLLING_PERIOD,
            transmission_risk_level: 2,
            report_type: ReportType::ConfirmedTest,
            days_since_onset_of_symptoms: Some(random_below(random, 10)? as i32 - 3),
        });
    }
    let template = &real[random_below(random, real.len())?];
    Ok(DiagnosisKey {
        key_data,
        ..template.clone()
    })
}

/// Plans the files of the window [`start`, `end`) (Unix seconds) for `region`.
pub fn plan_window(
    region: &str,
    start: u64,
    end: u64,
    mut keys: Vec<DiagnosisKey>,
    revised_keys: Vec<DiagnosisKey>,
    policy: FilePolicy,
    random: &dyn SecureRandom,
) -> Result<WindowPlan, ring::error::Unspecified> {
    let real_keys = keys.len();
    let target = policy.min_keys + random_below(random, policy.padding_jitter + 1)?;
    let padding_keys = target.saturating_sub(real_keys);
    let mut padding = Vec::with_capacity(padding_keys);
    for _ in 0..padding_keys {
        padding.push(padding_key(&keys, start, random)?);
    }
    keys.extend(padding);
    // Shuffle before splitting so each file holds a random subset (the writer sorts each
    // file by key bytes, so the order inside a file reveals nothing).
    for i in (1..keys.len()).rev() {
        let j = random_below(random, i + 1)?;
        keys.swap(i, j);
    }
    let max = policy.max_keys.max(1);
    let files = keys.len().div_ceil(max).max(1);
    let per_file = keys.len().div_ceil(files).max(1);
    let mut exports = Vec::with_capacity(files);
    let mut remaining = keys.into_iter();
    let mut revised = Some(revised_keys);
    let split = files > 1;
    for index in 0..files {
        let chunk: Vec<DiagnosisKey> = remaining.by_ref().take(per_file).collect();
        exports.push(Export {
            start_timestamp: start,
            // Each file stands alone as batch 1 of 1; in a split window file k ends k
            // seconds after the window, as the reference server writes them
            // (`internal/export/exportfile.go`): devices that de-duplicate on (start, end,
            // batch) keep every file, and none waits for the rest of a batch.
            end_timestamp: if split { end + index as u64 + 1 } else { end },
            region: region.to_string(),
            batch_num: 1,
            batch_size: 1,
            signature_infos: Vec::new(),
            keys: chunk,
            revised_keys: revised.take().unwrap_or_default(),
        });
    }
    Ok(WindowPlan {
        exports,
        real_keys,
        padding_keys,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ring::rand::SystemRandom;

    fn real(n: usize) -> Vec<DiagnosisKey> {
        (0..n)
            .map(|i| DiagnosisKey {
                key_data: Tek::from_bytes([i as u8; 16]),
                rolling_start_interval_number: 2_700_000 - 144 * (i as u32 % 14 + 1),
                rolling_period: 144,
                transmission_risk_level: 2 + (i % 3) as i32,
                report_type: ReportType::ConfirmedTest,
                days_since_onset_of_symptoms: Some(i as i32 % 5),
            })
            .collect()
    }

    #[test]
    fn pads_to_the_minimum_with_copied_metadata() {
        let policy = FilePolicy {
            min_keys: 1000,
            padding_jitter: 100,
            max_keys: 500_000,
        };
        let keys = real(14);
        let plan = plan_window(
            "440",
            0,
            3600,
            keys.clone(),
            vec![],
            policy,
            &SystemRandom::new(),
        )
        .unwrap();
        assert_eq!(plan.exports.len(), 1);
        let file = &plan.exports[0];
        assert!(
            (1000..=1100).contains(&file.keys.len()),
            "{}",
            file.keys.len()
        );
        assert_eq!(plan.real_keys, 14);
        assert_eq!(plan.real_keys + plan.padding_keys, file.keys.len());
        for key in &file.keys {
            assert!(
                keys.iter().any(|r| r.rolling_start_interval_number
                    == key.rolling_start_interval_number
                    && r.transmission_risk_level == key.transmission_risk_level
                    && r.days_since_onset_of_symptoms == key.days_since_onset_of_symptoms),
                "padding copies real metadata"
            );
        }
        for real_key in &keys {
            assert!(file.keys.contains(real_key), "every real key is exported");
        }
    }

    #[test]
    fn empty_windows_still_get_a_padded_file() {
        let policy = FilePolicy {
            min_keys: 50,
            padding_jitter: 0,
            max_keys: 100,
        };
        let plan = plan_window(
            "440",
            1_700_000_000,
            1_700_003_600,
            vec![],
            vec![],
            policy,
            &SystemRandom::new(),
        )
        .unwrap();
        assert_eq!(plan.exports.len(), 1);
        assert_eq!(plan.exports[0].keys.len(), 50);
        assert_eq!(plan.real_keys, 0);
    }

    #[test]
    fn large_windows_split_with_distinct_tuples() {
        let policy = FilePolicy {
            min_keys: 0,
            padding_jitter: 0,
            max_keys: 100,
        };
        let keys = real(250);
        let revised = real(3);
        let plan = plan_window(
            "440",
            7200,
            10_800,
            keys.clone(),
            revised.clone(),
            policy,
            &SystemRandom::new(),
        )
        .unwrap();
        assert_eq!(plan.exports.len(), 3);
        let total: usize = plan.exports.iter().map(|e| e.keys.len()).sum();
        assert_eq!(total, 250);
        assert!(plan.exports.iter().all(|e| e.keys.len() <= 100));
        let mut tuples: Vec<_> = plan
            .exports
            .iter()
            .map(|e| (e.start_timestamp, e.end_timestamp, e.batch_num))
            .collect();
        tuples.dedup();
        assert_eq!(tuples.len(), 3);
        assert_eq!(plan.exports[0].revised_keys, revised);
        assert!(plan.exports[1].revised_keys.is_empty());
        assert!(
            plan.exports
                .iter()
                .all(|e| (e.batch_num, e.batch_size) == (1, 1)),
            "each file is batch 1 of 1"
        );
        let ends: Vec<u64> = plan.exports.iter().map(|e| e.end_timestamp).collect();
        assert_eq!(
            ends,
            [10_801, 10_802, 10_803],
            "file k ends k seconds later"
        );
    }
}
