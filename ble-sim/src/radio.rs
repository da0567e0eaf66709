//! Radio model: what RSSI a phone's Bluetooth stack reports for an advertisement sent by another
//! phone at a given distance.
//!
//! The model is a log-distance path loss with a reference level at 1 m, fitted to the DP-3T
//! EPFL measurements (not the textbook −59 dBm / n = 2, which does not fit on-body field data;
//! see `ble-measurements.md` §3):
//!
//! ```text
//! rssi = A + (tx.tx_power − ref_tx) − (rx.rssi_correction − ref_corr)
//!          − 10 · n · s · log10(max(d, d_min))
//!          + persistent (per encounter: N(0, σ_shadow) + body blocking + orientation)
//!          + N(0, σ_sample)                                    (per sample)
//!          + tx.calibration_error + rx.calibration_error
//! ```
//!
//! `A` is the raw RSSI at 1 m between two phones calibrated like the reference pair
//! (`reference_tx_power_dbm`, `reference_rssi_correction_db`: Google's calibration of the
//! Samsung phones in the DP-3T data, TX −24 dBm, RX +5 dB). The TX power and RSSI correction terms
//! make the GAEN attenuation `tx_power − (rssi + rssi_correction)` independent of the phone models
//! when their calibration is right (`calibration_error_db` = 0), exactly what Google's calibration
//! is for; `s` is 1 except in vehicles, where metal decorrelates RSSI from distance.

use std::path::Path;

use rand::{Rng, RngExt};
use serde::{Deserialize, Serialize};

/// How a phone is carried.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Carriage {
    /// Held in the hand, in front of the body.
    Hand,
    /// In a trouser or jacket pocket (the DP-3T calibration condition).
    Pocket,
    /// In a bag or purse.
    Bag,
    /// Lying on a table or desk.
    Table,
}

impl Carriage {
    /// All carriages, in declaration order.
    pub const ALL: [Carriage; 4] = [
        Carriage::Hand,
        Carriage::Pocket,
        Carriage::Bag,
        Carriage::Table,
    ];
}

/// The radio environment of a place.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    /// Inside a building: reflections fill body shadows.
    Indoor,
    /// Outdoors: little multipath, strong body shadowing.
    Outdoor,
    /// Inside a metal vehicle (train, tram, bus): RSSI barely depends on distance.
    Vehicle,
}

/// Per phone model radio calibration, as in Google's calibration CSV.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PhoneRadio {
    /// TX power the phone advertises in its AEM metadata (dBm).
    pub tx_power_dbm: i8,
    /// RSSI correction the EN framework applies on this model when it receives (dB).
    pub rssi_correction_db: i8,
    /// How far this model's real radiated power / receiver gain deviates from what its calibration
    /// claims (dB; 0 = perfectly calibrated). Drawn per model from N(0, ~5 dB) by scenarios.
    #[serde(default)]
    pub calibration_error_db: f64,
}

impl PhoneRadio {
    /// A phone calibrated exactly like the reference pair of `params`.
    pub fn reference(params: &RadioParams) -> Self {
        Self {
            tx_power_dbm: params.reference_tx_power_dbm,
            rssi_correction_db: params.reference_rssi_correction_db,
            calibration_error_db: 0.0,
        }
    }
}

/// Extra loss (dB, positive = weaker signal) per carriage, relative to a phone in a pocket.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CarriageLoss {
    /// In the hand.
    pub hand: f64,
    /// In a pocket (the calibration condition, normally 0).
    pub pocket: f64,
    /// In a bag.
    pub bag: f64,
    /// On a table.
    pub table: f64,
}

impl CarriageLoss {
    /// The value for one carriage.
    pub fn get(&self, carriage: Carriage) -> f64 {
        match carriage {
            Carriage::Hand => self.hand,
            Carriage::Pocket => self.pocket,
            Carriage::Bag => self.bag,
            Carriage::Table => self.table,
        }
    }
}

/// A value per environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PerEnvironment {
    /// Indoors.
    pub indoor: f64,
    /// Outdoors.
    pub outdoor: f64,
    /// In a vehicle.
    pub vehicle: f64,
}

impl PerEnvironment {
    /// The value for one environment.
    pub fn get(&self, environment: Environment) -> f64 {
        match environment {
            Environment::Indoor => self.indoor,
            Environment::Outdoor => self.outdoor,
            Environment::Vehicle => self.vehicle,
        }
    }
}

/// Radio model parameters; `mimamori sim calibrate` writes this as TOML, scenarios may reference
/// a file.
///
/// The defaults of the path loss (`reference_rssi_dbm`, `path_loss_exponent`,
/// `shadowing_sigma_db`, `sample_noise_sigma_db`) are the pooled fit over all exp05 scenarios of
/// the DP-3T measurements, and hand/bag loss, the outdoor orientation width and the outdoor
/// offset the fit of the MIT LL static collects, both produced by
/// `mimamori sim calibrate --dp3t ../shared/data/dp3t-bt-measurements/exp05-epfl-soldiers/*.sqlite
/// --mitll ../shared/data/mitll-ble-rssi-static/*/ --out radio.toml` (see README "BLE simulator:
/// measured data"); the table carriage comes from the same command (office scenario against the
/// pooled fit). Not measured, and marked so below: the vehicle offset and the vehicle
/// decorrelation (from Leith & Farrell's finding, `ble-measurements.md` §3).
///
/// In TOML every key is optional (missing ones take these defaults; a nested table, if given,
/// needs all its keys) and unknown keys are rejected, so a typo cannot silently fall back.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RadioParams {
    /// Raw RSSI (dBm) at 1 m between two phones calibrated like the reference pair (A).
    pub reference_rssi_dbm: f64,
    /// Path loss exponent n (on-body, indoors: 1–1.6).
    pub path_loss_exponent: f64,
    /// Persistent log-normal shadowing per encounter (dB): drawn once per pair meeting.
    pub shadowing_sigma_db: f64,
    /// Per-sample noise (fast fading, channel offsets), dB.
    pub sample_noise_sigma_db: f64,
    /// Distances below this (m) are clamped (the log-distance law breaks down near 0).
    pub min_distance_m: f64,
    /// TX power (dBm) the reference phones advertise (Google calibration of the DP-3T phones).
    pub reference_tx_power_dbm: i8,
    /// RSSI correction (dB) of the reference phones.
    pub reference_rssi_correction_db: i8,
    /// Weakest RSSI (dBm) a receiver reports; weaker advertisements are not heard.
    pub sensitivity_dbm: f64,
    /// Mean extra loss per carriage of each phone, relative to a pocket (dB).
    pub carriage_loss_db: CarriageLoss,
    /// Width (dB) of the uniform body-orientation term per phone and encounter, on top of the
    /// fitted shadowing (which already contains indoor orientation effects): 0 indoors, large
    /// outdoors where no reflections fill the body shadow (MIT LL: 15–25 dB best-to-worst).
    pub orientation_extra_db: PerEnvironment,
    /// Mean environment offset (dB, added to RSSI).
    pub environment_offset_db: PerEnvironment,
    /// Fraction of the distance dependence lost in the environment (0 = none, 1 = RSSI independent
    /// of distance); metal vehicles decorrelate RSSI from distance (Leith & Farrell).
    pub distance_decorrelation: PerEnvironment,
}

impl Default for RadioParams {
    fn default() -> Self {
        Self {
            // Pooled fit over exp05 (all scenarios with camera distances), 0.3–15 m; see README.
            reference_rssi_dbm: -80.8,
            path_loss_exponent: 1.23,
            shadowing_sigma_db: 5.7,
            sample_noise_sigma_db: 5.5,
            min_distance_m: 0.1,
            reference_tx_power_dbm: -24,
            reference_rssi_correction_db: 5,
            sensitivity_dbm: -105.0,
            // Hand and bag: MIT LL fit (`--mitll`); table: the exp05 office scenario (phones on
            // desks) against the pooled fit at 2 m, per phone.
            carriage_loss_db: CarriageLoss {
                hand: -5.6,
                pocket: 0.0,
                bag: -2.9,
                table: -1.2,
            },
            // Outdoor: MIT LL fit; indoor is inside the DP-3T shadowing; vehicles are
            // multipath-rich like rooms.
            orientation_extra_db: PerEnvironment {
                indoor: 0.0,
                outdoor: 18.3,
                vehicle: 0.0,
            },
            // Outdoor: MIT LL fit; vehicle: not measured (0).
            environment_offset_db: PerEnvironment {
                indoor: 0.0,
                outdoor: -1.0,
                vehicle: 0.0,
            },
            // Vehicle: not measured; Leith & Farrell report RSSI unrelated to distance in trams
            // and buses, so 80 % of the distance dependence is removed.
            distance_decorrelation: PerEnvironment {
                indoor: 0.0,
                outdoor: 0.0,
                vehicle: 0.8,
            },
        }
    }
}

/// Why radio parameters could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum RadioError {
    /// The file could not be read.
    #[error("cannot read radio parameters {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file is not valid TOML for [`RadioParams`].
    #[error("invalid radio parameters {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid radio parameters: {0}")]
    Invalid(String),
}

impl RadioParams {
    /// Reads and validates a TOML file written by [`RadioParams::to_toml`].
    ///
    /// # Errors
    /// [`RadioError`] when the file is unreadable, not valid TOML or has out-of-range values.
    pub fn from_toml_file(path: &Path) -> Result<Self, RadioError> {
        let text = std::fs::read_to_string(path).map_err(|source| RadioError::Io {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml_str(&text).map_err(|e| match e {
            RadioError::Parse { message, .. } => RadioError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses and validates TOML text.
    ///
    /// # Errors
    /// [`RadioError::Parse`] or [`RadioError::Invalid`].
    pub fn from_toml_str(text: &str) -> Result<Self, RadioError> {
        let params: Self = toml::from_str(text).map_err(|e| RadioError::Parse {
            path: String::new(),
            message: e.to_string(),
        })?;
        params.validate()?;
        Ok(params)
    }

    /// The parameters as TOML (what `mimamori sim calibrate` writes).
    pub fn to_toml(&self) -> String {
        // Serialising plain numbers and tables cannot fail.
        toml::to_string(self).unwrap_or_default()
    }

    /// Checks that every value is finite and in a plausible range.
    ///
    /// # Errors
    /// [`RadioError::Invalid`] naming the first bad value.
    pub fn validate(&self) -> Result<(), RadioError> {
        let check = |name: &str, v: f64, lo: f64, hi: f64| {
            if v.is_finite() && (lo..=hi).contains(&v) {
                Ok(())
            } else {
                Err(RadioError::Invalid(format!(
                    "{name} = {v} is not in [{lo}, {hi}]"
                )))
            }
        };
        check("reference_rssi_dbm", self.reference_rssi_dbm, -130.0, 20.0)?;
        check("path_loss_exponent", self.path_loss_exponent, 0.0, 6.0)?;
        check("shadowing_sigma_db", self.shadowing_sigma_db, 0.0, 40.0)?;
        check(
            "sample_noise_sigma_db",
            self.sample_noise_sigma_db,
            0.0,
            40.0,
        )?;
        check("min_distance_m", self.min_distance_m, 0.001, 10.0)?;
        check("sensitivity_dbm", self.sensitivity_dbm, -150.0, 0.0)?;
        for c in Carriage::ALL {
            check(
                "carriage_loss_db",
                self.carriage_loss_db.get(c),
                -40.0,
                40.0,
            )?;
        }
        for e in [
            Environment::Indoor,
            Environment::Outdoor,
            Environment::Vehicle,
        ] {
            check(
                "orientation_extra_db",
                self.orientation_extra_db.get(e),
                0.0,
                60.0,
            )?;
            check(
                "environment_offset_db",
                self.environment_offset_db.get(e),
                -40.0,
                40.0,
            )?;
            check(
                "distance_decorrelation",
                self.distance_decorrelation.get(e),
                0.0,
                1.0,
            )?;
        }
        Ok(())
    }

    /// The GAEN attenuation (dB) at 1 m between correctly calibrated phones:
    /// `ref_tx − ref_corr − A`.
    pub fn reference_attenuation_db(&self) -> f64 {
        f64::from(self.reference_tx_power_dbm)
            - f64::from(self.reference_rssi_correction_db)
            - self.reference_rssi_dbm
    }
}

/// One draw from the standard normal distribution (Box–Muller).
pub fn standard_normal<R: Rng + ?Sized>(rng: &mut R) -> f64 {
    // u1 in (0, 1] so that ln(u1) is finite.
    let u1 = 1.0 - rng.random::<f64>();
    let u2 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// A persistent draw for one pair meeting once (shadowing, body blocking, orientation).
#[derive(Clone, Copy, Debug)]
pub struct Encounter {
    /// Added to every RSSI sample of the encounter (dB).
    pub persistent_offset_db: f64,
    /// Multiplies the distance dependence (1 normally, less in vehicles).
    pub distance_scale: f64,
}

/// The radio model: draws encounters and RSSI samples.
#[derive(Clone, Debug)]
pub struct RadioModel {
    params: RadioParams,
}

impl RadioModel {
    /// A model with these parameters.
    pub fn new(params: RadioParams) -> Self {
        Self { params }
    }

    /// The parameters.
    pub fn params(&self) -> &RadioParams {
        &self.params
    }

    /// Draws the persistent part for a pair meeting in `environment`, tx/rx carried as given.
    pub fn encounter<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        environment: Environment,
        tx_carriage: Carriage,
        rx_carriage: Carriage,
    ) -> Encounter {
        let p = &self.params;
        let shadow = p.shadowing_sigma_db * standard_normal(rng);
        let body = -(p.carriage_loss_db.get(tx_carriage) + p.carriage_loss_db.get(rx_carriage));
        let width = p.orientation_extra_db.get(environment);
        // Each phone's orientation: uniform over [−width/2, +width/2].
        let orientation = width * (rng.random::<f64>() - 0.5) + width * (rng.random::<f64>() - 0.5);
        Encounter {
            persistent_offset_db: shadow
                + body
                + orientation
                + p.environment_offset_db.get(environment),
            distance_scale: 1.0 - p.distance_decorrelation.get(environment),
        }
    }

    /// An encounter with no persistent offset (indoors, both in pockets, median shadowing).
    pub fn median_encounter(&self) -> Encounter {
        Encounter {
            persistent_offset_db: 0.0,
            distance_scale: 1.0,
        }
    }

    /// Mean raw RSSI (dBm) for this encounter and distance, without per-sample noise.
    pub fn mean_rssi_dbm(
        &self,
        encounter: &Encounter,
        distance_m: f64,
        tx: &PhoneRadio,
        rx: &PhoneRadio,
    ) -> f64 {
        let p = &self.params;
        let d = if distance_m.is_finite() {
            distance_m.max(p.min_distance_m)
        } else {
            p.min_distance_m
        };
        let tx_term = f64::from(tx.tx_power_dbm) - f64::from(p.reference_tx_power_dbm);
        let rx_term = f64::from(rx.rssi_correction_db) - f64::from(p.reference_rssi_correction_db);
        p.reference_rssi_dbm + tx_term
            - rx_term
            - 10.0 * p.path_loss_exponent * encounter.distance_scale * d.log10()
            + encounter.persistent_offset_db
            + tx.calibration_error_db
            + rx.calibration_error_db
    }

    /// One raw RSSI sample (dBm) the receiver's Bluetooth stack reports (before rssi_correction),
    /// such that tx.tx_power_dbm - (rssi + rx.rssi_correction_db) is the GAEN attenuation.
    pub fn sample_rssi_dbm<R: Rng + ?Sized>(
        &self,
        rng: &mut R,
        encounter: &Encounter,
        distance_m: f64,
        tx: &PhoneRadio,
        rx: &PhoneRadio,
    ) -> f64 {
        self.mean_rssi_dbm(encounter, distance_m, tx, rx)
            + self.params.sample_noise_sigma_db * standard_normal(rng)
    }

    /// Whether a sample this strong is reported at all (at or above the sensitivity).
    pub fn is_heard(&self, rssi_dbm: f64) -> bool {
        rssi_dbm >= self.params.sensitivity_dbm
    }

    /// The GAEN attenuation (dB) the receiver computes for a raw RSSI: `tx − (rssi + corr)`,
    /// rounded as the phone does (RSSI is an integer) and clamped at 0.
    pub fn attenuation_db(rssi_dbm: f64, tx: &PhoneRadio, rx: &PhoneRadio) -> u8 {
        let rssi = rssi_dbm.round();
        let att = f64::from(tx.tx_power_dbm) - (rssi + f64::from(rx.rssi_correction_db));
        // Clamped to 0..=255 so the cast cannot wrap.
        att.clamp(0.0, 255.0) as u8
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::{Sample, fit_path_loss};
    use rand::SeedableRng;
    use rand_pcg::Pcg64Mcg;

    #[test]
    fn standard_normal_has_unit_variance() {
        let mut rng = Pcg64Mcg::seed_from_u64(1);
        let n = 200_000;
        let xs: Vec<f64> = (0..n).map(|_| standard_normal(&mut rng)).collect();
        let mean = xs.iter().sum::<f64>() / n as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / n as f64;
        assert!(mean.abs() < 0.01, "mean {mean}");
        assert!((var - 1.0).abs() < 0.02, "variance {var}");
    }

    #[test]
    fn calibrated_phones_give_model_independent_attenuation() {
        let params = RadioParams::default();
        let model = RadioModel::new(params.clone());
        let e = model.median_encounter();
        let reference = PhoneRadio::reference(&params);
        let other = PhoneRadio {
            tx_power_dbm: -15,
            rssi_correction_db: -4,
            calibration_error_db: 0.0,
        };
        let att_ref = f64::from(reference.tx_power_dbm)
            - (model.mean_rssi_dbm(&e, 1.0, &reference, &reference)
                + f64::from(reference.rssi_correction_db));
        let att_other = f64::from(other.tx_power_dbm)
            - (model.mean_rssi_dbm(&e, 1.0, &other, &other) + f64::from(other.rssi_correction_db));
        assert!((att_ref - att_other).abs() < 1e-9);
        assert!((att_ref - params.reference_attenuation_db()).abs() < 1e-9);
        // A miscalibrated phone is off by its error.
        let bad = PhoneRadio {
            calibration_error_db: 6.0,
            ..other.clone()
        };
        let att_bad = f64::from(other.tx_power_dbm)
            - (model.mean_rssi_dbm(&e, 1.0, &other, &bad) + f64::from(other.rssi_correction_db));
        assert!((att_other - att_bad - 6.0).abs() < 1e-9);
        assert_eq!(
            RadioModel::attenuation_db(-84.0, &reference, &reference),
            55
        );
    }

    #[test]
    fn rssi_falls_with_distance_except_in_vehicles() {
        let model = RadioModel::new(RadioParams::default());
        let phone = PhoneRadio::reference(model.params());
        let mut rng = Pcg64Mcg::seed_from_u64(2);
        let mean = |env: Environment, d: f64, rng: &mut Pcg64Mcg| {
            let n = 4000;
            (0..n)
                .map(|_| {
                    let e = model.encounter(rng, env, Carriage::Pocket, Carriage::Pocket);
                    model.sample_rssi_dbm(rng, &e, d, &phone, &phone)
                })
                .sum::<f64>()
                / f64::from(n)
        };
        let near = mean(Environment::Indoor, 0.5, &mut rng);
        let far = mean(Environment::Indoor, 5.0, &mut rng);
        assert!(near - far > 10.0, "indoor near {near} far {far}");
        let vnear = mean(Environment::Vehicle, 0.5, &mut rng);
        let vfar = mean(Environment::Vehicle, 5.0, &mut rng);
        assert!(vnear - vfar < 5.0, "vehicle near {vnear} far {vfar}");
    }

    #[test]
    fn outdoor_orientation_spreads_more_than_indoor() {
        let model = RadioModel::new(RadioParams::default());
        let mut rng = Pcg64Mcg::seed_from_u64(3);
        let sd = |env: Environment, rng: &mut Pcg64Mcg| {
            let xs: Vec<f64> = (0..20_000)
                .map(|_| {
                    model
                        .encounter(rng, env, Carriage::Hand, Carriage::Pocket)
                        .persistent_offset_db
                })
                .collect();
            let m = xs.iter().sum::<f64>() / xs.len() as f64;
            (xs.iter().map(|x| (x - m).powi(2)).sum::<f64>() / xs.len() as f64).sqrt()
        };
        assert!(sd(Environment::Outdoor, &mut rng) > sd(Environment::Indoor, &mut rng) + 2.0);
    }

    /// Issue acceptance: a dataset generated from the radio model fits back to its configured
    /// exponent and shadowing.
    #[test]
    fn generated_dataset_fits_back_to_configured_parameters() {
        let params = RadioParams {
            reference_rssi_dbm: -75.0,
            path_loss_exponent: 1.8,
            shadowing_sigma_db: 6.0,
            sample_noise_sigma_db: 4.0,
            ..RadioParams::default()
        };
        let model = RadioModel::new(params.clone());
        let phone = PhoneRadio::reference(&params);
        let mut rng = Pcg64Mcg::seed_from_u64(42);
        let mut samples = Vec::new();
        for group in 0..2000u64 {
            // Log-uniform distance in 0.3–15 m, 20 samples per encounter.
            let d = 0.3 * (50.0f64).powf(rng.random::<f64>());
            let e = model.encounter(
                &mut rng,
                Environment::Indoor,
                Carriage::Pocket,
                Carriage::Pocket,
            );
            for _ in 0..20 {
                let rssi = model.sample_rssi_dbm(&mut rng, &e, d, &phone, &phone);
                samples.push(Sample {
                    group,
                    distance_m: d,
                    rssi_dbm: rssi,
                });
            }
        }
        let fit = fit_path_loss(&samples).unwrap();
        assert!(
            (fit.reference_rssi_dbm - -75.0).abs() < 0.5,
            "A = {}",
            fit.reference_rssi_dbm
        );
        assert!(
            (fit.path_loss_exponent - 1.8).abs() < 0.1,
            "n = {}",
            fit.path_loss_exponent
        );
        assert!(
            (fit.shadowing_sigma_db - 6.0).abs() < 0.5,
            "shadowing = {}",
            fit.shadowing_sigma_db
        );
        assert!(
            (fit.sample_noise_sigma_db - 4.0).abs() < 0.2,
            "noise = {}",
            fit.sample_noise_sigma_db
        );
        let total = (36.0f64 + 16.0).sqrt();
        assert!((fit.total_sigma_db - total).abs() < 0.5);
    }

    #[test]
    fn toml_round_trip_and_validation() {
        let params = RadioParams::default();
        let text = params.to_toml();
        let back = RadioParams::from_toml_str(&text).unwrap();
        assert_eq!(back, params);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("radio.toml");
        std::fs::write(&path, &text).unwrap();
        assert_eq!(RadioParams::from_toml_file(&path).unwrap(), params);
        let bad = text.replace("path_loss_exponent = 1.23", "path_loss_exponent = -1.0");
        assert!(matches!(
            RadioParams::from_toml_str(&bad),
            Err(RadioError::Invalid(_))
        ));
        assert!(matches!(
            RadioParams::from_toml_str("reference_rssi_dbm = \"x\""),
            Err(RadioError::Parse { .. })
        ));
        // Partial files take the defaults; typos are rejected.
        let partial = RadioParams::from_toml_str("path_loss_exponent = 2.0").unwrap();
        assert_eq!(partial.path_loss_exponent, 2.0);
        assert_eq!(partial.reference_rssi_dbm, params.reference_rssi_dbm);
        assert!(matches!(
            RadioParams::from_toml_str("path_los_exponent = 2.0"),
            Err(RadioError::Parse { .. })
        ));
        assert!(matches!(
            RadioParams::from_toml_file(&dir.path().join("missing.toml")),
            Err(RadioError::Io { .. })
        ));
    }
}
