//! Evaluation of notification decisions against ground truth: confusion counts, precision,
//! recall, F1 and ROC curves with their area.

use std::path::Path;

use mimamori_crypto::scoring::{PRESET_NAMES, RiskConfig};
use serde::Serialize;

/// A named risk configuration: one of the crypto crate's presets or a custom JSON file.
#[derive(Clone, Debug, PartialEq)]
pub struct Preset {
    /// `cocoa-v2`, `cocoa-v1`, `cwa`, or the file name of a custom configuration.
    pub name: String,
    /// The configuration.
    pub config: RiskConfig,
}

/// Why a preset could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum PresetError {
    /// The file could not be read.
    #[error("cannot read risk configuration {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not a `RiskConfig` JSON document.
    #[error("invalid risk configuration {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
}

impl Preset {
    /// The three built-in presets (COCOA v2, COCOA v1, Corona-Warn-App).
    pub fn builtin() -> Vec<Preset> {
        PRESET_NAMES
            .iter()
            .filter_map(|name| {
                RiskConfig::preset(name).map(|config| Preset {
                    name: (*name).to_string(),
                    config,
                })
            })
            .collect()
    }

    /// A preset name (`cocoa-v2`, `cocoa-v1`, `cwa`) or a JSON file holding a `RiskConfig`
    /// (`{"kind":"v2"|"v1"|"cwa", ...}`, as `mimamori match --risk-config` reads).
    ///
    /// # Errors
    /// [`PresetError`] when the file cannot be read or parsed.
    pub fn from_spec(spec: &str) -> Result<Preset, PresetError> {
        if let Some(config) = RiskConfig::preset(spec) {
            return Ok(Preset {
                name: spec.to_string(),
                config,
            });
        }
        let path = Path::new(spec);
        let text = std::fs::read_to_string(path).map_err(|source| PresetError::Io {
            path: spec.to_string(),
            source,
        })?;
        let config: RiskConfig = serde_json::from_str(&text).map_err(|e| PresetError::Parse {
            path: spec.to_string(),
            message: e.to_string(),
        })?;
        let name = path
            .file_stem()
            .map_or_else(|| spec.to_string(), |s| s.to_string_lossy().into_owned());
        Ok(Preset { name, config })
    }
}

/// Counts of a binary decision against the truth.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Confusion {
    /// Predicted and actually positive.
    pub true_positives: u64,
    /// Predicted positive, actually negative.
    pub false_positives: u64,
    /// Predicted and actually negative.
    pub true_negatives: u64,
    /// Predicted negative, actually positive.
    pub false_negatives: u64,
}

fn ratio(num: u64, den: u64) -> f64 {
    if den == 0 {
        0.0
    } else {
        num as f64 / den as f64
    }
}

impl Confusion {
    /// Adds one decision.
    pub fn add(&mut self, predicted: bool, actual: bool) {
        match (predicted, actual) {
            (true, true) => self.true_positives += 1,
            (true, false) => self.false_positives += 1,
            (false, false) => self.true_negatives += 1,
            (false, true) => self.false_negatives += 1,
        }
    }

    /// Adds all counts of another table.
    pub fn merge(&mut self, other: &Confusion) {
        self.true_positives += other.true_positives;
        self.false_positives += other.false_positives;
        self.true_negatives += other.true_negatives;
        self.false_negatives += other.false_negatives;
    }

    /// All decisions counted.
    pub fn total(&self) -> u64 {
        self.true_positives + self.false_positives + self.true_negatives + self.false_negatives
    }

    /// Actually positive.
    pub fn positives(&self) -> u64 {
        self.true_positives + self.false_negatives
    }

    /// TP / (TP + FP); 0 when nothing was predicted positive.
    pub fn precision(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_positives,
        )
    }

    /// TP / (TP + FN) (true positive rate); 0 when there are no positives.
    pub fn recall(&self) -> f64 {
        ratio(
            self.true_positives,
            self.true_positives + self.false_negatives,
        )
    }

    /// Harmonic mean of precision and recall; 0 when both are 0.
    pub fn f1(&self) -> f64 {
        let (p, r) = (self.precision(), self.recall());
        if p + r == 0.0 {
            0.0
        } else {
            2.0 * p * r / (p + r)
        }
    }

    /// FP / (FP + TN); 0 when there are no negatives.
    pub fn false_positive_rate(&self) -> f64 {
        ratio(
            self.false_positives,
            self.false_positives + self.true_negatives,
        )
    }
}

/// One point of a ROC curve: predicting positive iff score ≥ threshold.
#[derive(Clone, Debug, Serialize)]
pub struct RocPoint {
    /// Score threshold (`+inf` for the first point, where nothing is positive).
    pub threshold: f64,
    /// Recall at this threshold.
    pub true_positive_rate: f64,
    /// False positive rate at this threshold.
    pub false_positive_rate: f64,
}

/// A ROC curve and the area under it.
#[derive(Clone, Debug, Serialize)]
pub struct Roc {
    /// Points from (0, 0) to (1, 1), one per distinct score.
    pub points: Vec<RocPoint>,
    /// Area under the curve (trapezoids, so tied scores count half), 0.5 when one class is empty.
    pub auc: f64,
}

/// ROC over (score, actually_positive); higher score = more likely positive; ties handled
/// correctly (all items with one score move together, giving a diagonal segment). NaN scores
/// are treated as the lowest score.
pub fn roc(scored: &[(f64, bool)]) -> Roc {
    let mut items: Vec<(f64, bool)> = scored
        .iter()
        .map(|&(s, y)| (if s.is_nan() { f64::NEG_INFINITY } else { s }, y))
        .collect();
    items.sort_by(|a, b| b.0.total_cmp(&a.0));
    let positives = items.iter().filter(|(_, y)| *y).count() as f64;
    let negatives = items.len() as f64 - positives;
    let mut points = vec![RocPoint {
        threshold: f64::INFINITY,
        true_positive_rate: 0.0,
        false_positive_rate: 0.0,
    }];
    if positives == 0.0 || negatives == 0.0 {
        return Roc { points, auc: 0.5 };
    }
    let (mut tp, mut fp) = (0.0f64, 0.0f64);
    let mut auc = 0.0;
    let mut i = 0;
    while i < items.len() {
        let threshold = items[i].0;
        let (prev_tpr, prev_fpr) = (tp / positives, fp / negatives);
        while i < items.len() && items[i].0.total_cmp(&threshold).is_eq() {
            if items[i].1 {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        let (tpr, fpr) = (tp / positives, fp / negatives);
        auc += (fpr - prev_fpr) * (tpr + prev_tpr) / 2.0;
        points.push(RocPoint {
            threshold,
            true_positive_rate: tpr,
            false_positive_rate: fpr,
        });
    }
    Roc { points, auc }
}

/// The decision "score ≥ threshold" with the best F1 over all thresholds of the data.
#[derive(Clone, Debug, Serialize)]
pub struct BestThreshold {
    /// The threshold.
    pub threshold: f64,
    /// The counts at that threshold.
    pub confusion: Confusion,
    /// F1 at that threshold.
    pub f1: f64,
}

/// Finds the threshold with the highest F1 (`None` when there are no positives).
pub fn best_f1_threshold(scored: &[(f64, bool)]) -> Option<BestThreshold> {
    let positives = scored.iter().filter(|(_, y)| *y).count() as u64;
    let negatives = scored.len() as u64 - positives;
    if positives == 0 {
        return None;
    }
    let mut items: Vec<(f64, bool)> = scored
        .iter()
        .filter(|(s, _)| !s.is_nan())
        .copied()
        .collect();
    items.sort_by(|a, b| b.0.total_cmp(&a.0));
    let (mut tp, mut fp) = (0u64, 0u64);
    let mut best: Option<BestThreshold> = None;
    let mut i = 0;
    while i < items.len() {
        let threshold = items[i].0;
        while i < items.len() && items[i].0.total_cmp(&threshold).is_eq() {
            if items[i].1 {
                tp += 1;
            } else {
                fp += 1;
            }
            i += 1;
        }
        let confusion = Confusion {
            true_positives: tp,
            false_positives: fp,
            true_negatives: negatives - fp,
            false_negatives: positives - tp,
        };
        let f1 = confusion.f1();
        if best.as_ref().is_none_or(|b| f1 > b.f1) {
            best = Some(BestThreshold {
                threshold,
                confusion,
                f1,
            });
        }
    }
    best
}

/// One bin of [`binned_rate`].
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct RateBin {
    /// Lower edge (inclusive).
    pub lower: f64,
    /// Upper edge (exclusive).
    pub upper: f64,
    /// Items in the bin.
    pub count: u64,
    /// Items with the flag set.
    pub hits: u64,
    /// hits / count (NaN for an empty bin, so plots can skip it).
    pub rate: f64,
}

impl RateBin {
    /// The middle of the bin (for plotting).
    pub fn center(&self) -> f64 {
        (self.lower + self.upper) / 2.0
    }
}

/// The fraction of flagged items per bin of `x` (e.g. detection rate by distance); `edges` must
/// be increasing, items outside `[edges[0], edges[last])` or with a NaN `x` are ignored.
pub fn binned_rate(items: &[(f64, bool)], edges: &[f64]) -> Vec<RateBin> {
    let mut bins: Vec<RateBin> = edges
        .windows(2)
        .map(|w| RateBin {
            lower: w[0],
            upper: w[1],
            count: 0,
            hits: 0,
            rate: f64::NAN,
        })
        .collect();
    for &(x, hit) in items {
        let i = edges.partition_point(|&e| e <= x);
        if i == 0 || i > bins.len() {
            continue;
        }
        let bin = &mut bins[i - 1];
        bin.count += 1;
        bin.hits += u64::from(hit);
    }
    for bin in &mut bins {
        if bin.count > 0 {
            bin.rate = bin.hits as f64 / bin.count as f64;
        }
    }
    bins
}

/// The median (mean of the two middle values for an even count; NaN when empty). Sorts
/// `values` in place.
pub fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn presets_by_name_and_file() {
        assert_eq!(Preset::builtin().len(), 3);
        assert_eq!(Preset::from_spec("cwa").unwrap().config, RiskConfig::cwa());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("strict.json");
        std::fs::write(
            &path,
            serde_json::to_string(&RiskConfig::cocoa_v1()).unwrap(),
        )
        .unwrap();
        let p = Preset::from_spec(path.to_str().unwrap()).unwrap();
        assert_eq!(p.name, "strict");
        assert_eq!(p.config, RiskConfig::cocoa_v1());
        std::fs::write(&path, "{\"kind\":\"nope\"}").unwrap();
        assert!(matches!(
            Preset::from_spec(path.to_str().unwrap()),
            Err(PresetError::Parse { .. })
        ));
        assert!(matches!(
            Preset::from_spec("no-such-preset"),
            Err(PresetError::Io { .. })
        ));
    }

    #[test]
    fn confusion_metrics() {
        let mut c = Confusion::default();
        for (p, a) in [
            (true, true),
            (true, true),
            (true, false),
            (false, true),
            (false, false),
            (false, false),
        ] {
            c.add(p, a);
        }
        assert_eq!(c.total(), 6);
        assert!((c.precision() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.recall() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.f1() - 2.0 / 3.0).abs() < 1e-12);
        assert!((c.false_positive_rate() - 1.0 / 3.0).abs() < 1e-12);
        let empty = Confusion::default();
        assert_eq!(empty.precision(), 0.0);
        assert_eq!(empty.recall(), 0.0);
        assert_eq!(empty.f1(), 0.0);
        let mut merged = c;
        merged.merge(&c);
        assert_eq!(merged.true_positives, 4);
    }

    #[test]
    fn perfect_separation_has_auc_one() {
        let r = roc(&[(0.9, true), (0.8, true), (0.3, false), (0.1, false)]);
        assert!((r.auc - 1.0).abs() < 1e-12);
        assert_eq!(r.points.len(), 5);
        let last = r.points.last().unwrap();
        assert_eq!(
            (last.true_positive_rate, last.false_positive_rate),
            (1.0, 1.0)
        );
    }

    #[test]
    fn inverted_separation_has_auc_zero() {
        let r = roc(&[(0.1, true), (0.2, true), (0.3, false), (0.4, false)]);
        assert!(r.auc.abs() < 1e-12);
    }

    #[test]
    fn all_tied_scores_give_half() {
        let r = roc(&[(1.0, true), (1.0, false), (1.0, true), (1.0, false)]);
        assert!((r.auc - 0.5).abs() < 1e-12);
        assert_eq!(r.points.len(), 2);
    }

    #[test]
    fn ties_count_half_like_mann_whitney() {
        // Positives: 3, 2, 2; negatives: 2, 1. Pairs: (3>2,3>1,2=2,2>1,2=2,2>1) = 4 + 2·0.5 = 5 of 6.
        let data = [
            (3.0, true),
            (2.0, true),
            (2.0, true),
            (2.0, false),
            (1.0, false),
        ];
        let r = roc(&data);
        assert!((r.auc - 5.0 / 6.0).abs() < 1e-12, "{}", r.auc);
    }

    #[test]
    fn random_scores_give_about_half() {
        // A deterministic pseudo-random sequence, labels independent of scores.
        let mut x = 12345u64;
        let mut next = || {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 11) as f64 / (1u64 << 53) as f64
        };
        let data: Vec<(f64, bool)> = (0..20_000).map(|_| (next(), next() < 0.3)).collect();
        let r = roc(&data);
        assert!((r.auc - 0.5).abs() < 0.02, "{}", r.auc);
    }

    #[test]
    fn one_class_only_gives_half() {
        assert_eq!(roc(&[(1.0, true), (2.0, true)]).auc, 0.5);
        assert_eq!(roc(&[]).auc, 0.5);
    }

    #[test]
    fn binned_rates() {
        let items = [
            (0.2, true),
            (0.7, true),
            (0.9, false),
            (1.0, false),
            (2.5, true),
            (9.0, true),
            (f64::NAN, true),
        ];
        let bins = binned_rate(&items, &[0.0, 1.0, 2.0, 3.0]);
        assert_eq!(bins.len(), 3);
        assert_eq!((bins[0].count, bins[0].hits), (3, 2));
        assert!((bins[0].rate - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!((bins[1].count, bins[1].hits), (1, 0));
        assert_eq!(bins[1].rate, 0.0);
        assert_eq!((bins[2].count, bins[2].hits), (1, 1));
        assert_eq!(bins[2].center(), 2.5);
        assert!(binned_rate(&[], &[0.0, 1.0])[0].rate.is_nan());
        assert!(binned_rate(&items, &[]).is_empty());
    }

    #[test]
    fn best_threshold_maximises_f1() {
        let data = [(0.9, true), (0.8, false), (0.7, true), (0.2, false)];
        let best = best_f1_threshold(&data).unwrap();
        assert_eq!(best.threshold, 0.7);
        assert_eq!(best.confusion.true_positives, 2);
        assert!((best.f1 - 0.8).abs() < 1e-12);
        assert!(best_f1_threshold(&[(1.0, false)]).is_none());
    }
}
