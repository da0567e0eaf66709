//! Fitting the log-distance path loss model to measured RSSI.
//!
//! Least squares of `RSSI = A − 10·n·log10(d)` over the samples, then the residuals are split
//! into a persistent per-group offset (one group = one pair in one 15-minute window, or one
//! simulated encounter) and per-sample noise: the within-group residual variance estimates the
//! sample noise; the variance of the group means minus the noise share `σ²_noise / k` estimates
//! the persistent shadowing.

use serde::Serialize;

use crate::radio::RadioParams;

/// Distances used for the fit (m): the log-distance law is meaningless closer, and the DP-3T
/// mean RSSI stops falling beyond about 5 m anyway.
pub const FIT_MIN_DISTANCE_M: f64 = 0.3;
/// Upper end of the fitted distance range (m).
pub const FIT_MAX_DISTANCE_M: f64 = 15.0;

/// One RSSI sample at a known distance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Sample {
    /// Group (pair × window, or encounter) for the persistent/noise split.
    pub group: u64,
    /// True distance (m).
    pub distance_m: f64,
    /// Raw RSSI (dBm).
    pub rssi_dbm: f64,
}

/// The fitted path loss.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct PathLossFit {
    /// A: RSSI at 1 m (dBm).
    pub reference_rssi_dbm: f64,
    /// n: the path loss exponent.
    pub path_loss_exponent: f64,
    /// Standard deviation of all residuals (dB).
    pub total_sigma_db: f64,
    /// Persistent per-group part of the residuals (dB).
    pub shadowing_sigma_db: f64,
    /// Per-sample part of the residuals (dB).
    pub sample_noise_sigma_db: f64,
    /// Samples used (inside 0.3–15 m).
    pub samples: usize,
    /// Groups with at least two samples (used for the split).
    pub groups: usize,
}

impl PathLossFit {
    /// `base` with the fitted path loss, shadowing and noise.
    pub fn apply_to(&self, base: &RadioParams) -> RadioParams {
        let round1 = |v: f64| (v * 10.0).round() / 10.0;
        let round2 = |v: f64| (v * 100.0).round() / 100.0;
        RadioParams {
            reference_rssi_dbm: round1(self.reference_rssi_dbm),
            path_loss_exponent: round2(self.path_loss_exponent),
            shadowing_sigma_db: round1(self.shadowing_sigma_db),
            sample_noise_sigma_db: round1(self.sample_noise_sigma_db),
            ..base.clone()
        }
    }
}

/// Why a fit failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FitError {
    /// Fewer than 10 samples in range, or all at one distance.
    #[error("not enough samples at distinct distances in 0.3–15 m to fit ({0} usable)")]
    NotEnoughData(usize),
}

/// Fits A, n and the residual split. Samples outside 0.3–15 m or not finite are ignored.
///
/// # Errors
/// [`FitError::NotEnoughData`] when fewer than 10 usable samples remain or their distances do not
/// vary.
pub fn fit_path_loss(samples: &[Sample]) -> Result<PathLossFit, FitError> {
    let used: Vec<&Sample> = samples
        .iter()
        .filter(|s| {
            s.distance_m.is_finite()
                && s.rssi_dbm.is_finite()
                && (FIT_MIN_DISTANCE_M..=FIT_MAX_DISTANCE_M).contains(&s.distance_m)
        })
        .collect();
    let n = used.len();
    if n < 10 {
        return Err(FitError::NotEnoughData(n));
    }
    let nf = n as f64;
    let xs: Vec<f64> = used.iter().map(|s| s.distance_m.log10()).collect();
    let mean_x = xs.iter().sum::<f64>() / nf;
    let mean_y = used.iter().map(|s| s.rssi_dbm).sum::<f64>() / nf;
    let mut sxx = 0.0;
    let mut sxy = 0.0;
    for (x, s) in xs.iter().zip(&used) {
        sxx += (x - mean_x) * (x - mean_x);
        sxy += (x - mean_x) * (s.rssi_dbm - mean_y);
    }
    if sxx <= f64::EPSILON * nf {
        return Err(FitError::NotEnoughData(n));
    }
    let slope = sxy / sxx;
    let a = mean_y - slope * mean_x;
    let residuals: Vec<f64> = xs
        .iter()
        .zip(&used)
        .map(|(x, s)| s.rssi_dbm - (a + slope * x))
        .collect();
    let total_var = residuals.iter().map(|r| r * r).sum::<f64>() / (nf - 2.0).max(1.0);

    // Group the residuals.
    let mut groups: std::collections::HashMap<u64, (f64, f64, usize)> =
        std::collections::HashMap::new();
    for (r, s) in residuals.iter().zip(&used) {
        let g = groups.entry(s.group).or_insert((0.0, 0.0, 0));
        g.0 += r;
        g.1 += r * r;
        g.2 += 1;
    }
    let mut within_ss = 0.0;
    let mut within_df = 0usize;
    let mut group_means = Vec::new();
    for &(sum, sum_sq, k) in groups.values() {
        if k < 2 {
            continue;
        }
        let kf = k as f64;
        let mean = sum / kf;
        within_ss += sum_sq - kf * mean * mean;
        within_df += k - 1;
        group_means.push((mean, kf));
    }
    let (shadowing, noise) = if within_df == 0 || group_means.is_empty() {
        (total_var.sqrt(), 0.0)
    } else {
        let noise_var = within_ss / within_df as f64;
        let g = group_means.len() as f64;
        let between = group_means.iter().map(|(m, _)| m * m).sum::<f64>() / g;
        let noise_share = group_means.iter().map(|(_, k)| noise_var / k).sum::<f64>() / g;
        ((between - noise_share).max(0.0).sqrt(), noise_var.sqrt())
    };
    Ok(PathLossFit {
        reference_rssi_dbm: a,
        path_loss_exponent: -slope / 10.0,
        total_sigma_db: total_var.sqrt(),
        shadowing_sigma_db: shadowing,
        sample_noise_sigma_db: noise,
        samples: n,
        groups: group_means.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_line_fits_exactly() {
        let samples: Vec<Sample> = (1..=50u32)
            .map(|i| {
                let d = 0.3 + f64::from(i) * 0.25;
                Sample {
                    group: u64::from(i % 5),
                    distance_m: d,
                    rssi_dbm: -80.0 - 15.0 * d.log10(),
                }
            })
            .collect();
        let fit = fit_path_loss(&samples).unwrap();
        assert!((fit.reference_rssi_dbm + 80.0).abs() < 1e-9);
        assert!((fit.path_loss_exponent - 1.5).abs() < 1e-9);
        assert!(fit.total_sigma_db < 1e-6);
    }

    #[test]
    fn too_little_data_is_an_error() {
        let samples = vec![
            Sample {
                group: 0,
                distance_m: 1.0,
                rssi_dbm: -80.0,
            };
            20
        ];
        assert!(matches!(
            fit_path_loss(&samples),
            Err(FitError::NotEnoughData(20))
        ));
        assert!(matches!(
            fit_path_loss(&samples[..3]),
            Err(FitError::NotEnoughData(3))
        ));
        // Out of range distances are ignored.
        let far: Vec<Sample> = (0..30)
            .map(|i| Sample {
                group: 0,
                distance_m: 20.0 + f64::from(i),
                rssi_dbm: -90.0,
            })
            .collect();
        assert!(matches!(
            fit_path_loss(&far),
            Err(FitError::NotEnoughData(0))
        ));
    }
}
