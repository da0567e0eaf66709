//! The TOML scenario format: who lives in the simulated world, where they go, which phones
//! they carry, who falls ill and how the outcome is judged.
//!
//! Every section rejects unknown fields, and [`Scenario::validate`] checks ranges and
//! cross-references with one clear message per problem. The README's "BLE simulator"
//! section walks through a complete file; `scenarios/*.toml` are four worked examples.
//!
//! ```toml
//! name = "office"
//! start = "2026-11-02T00:00:00Z"   # UTC midnight
//! days = 1
//! seed = 42
//!
//! [population]
//! size = 24
//! app_uptake = 1.0
//! [[population.phone_models]]
//! name = "Pixel 4"
//! share = 1.0
//! tx_power_dbm = -24
//! rssi_correction_db = -2
//!
//! [[places]]
//! name = "office"
//! environment = "indoor"
//! layout = "desks"
//! width_m = 12.0
//! length_m = 10.0
//! capacity = 30
//!
//! [[schedules]]
//! name = "staff"
//! share = 1.0
//! [[schedules.blocks]]
//! place = "office"
//! start = "09:00"
//! end = "17:00"
//!
//! [epidemic]
//! index_cases = 1
//! ```

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::radio::{Carriage, Environment};

/// Seconds in a day.
pub const DAY_SECONDS: u64 = 86_400;

/// Why a scenario cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    /// The file could not be read.
    #[error("cannot read scenario {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TOML does not parse or has unknown or missing fields.
    #[error("scenario {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What the parser said (with line and column).
        message: String,
    },
    /// A value is out of range or a reference is dangling.
    #[error("scenario: {0}")]
    Invalid(String),
}

/// A complete scenario.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// Short name, used in the report.
    pub name: String,
    /// Free text for the report.
    #[serde(default)]
    pub description: String,
    /// Simulation start, `YYYY-MM-DDT00:00:00Z` (must be a UTC midnight).
    pub start: String,
    /// Days of movement and contacts simulated (1–60).
    pub days: u32,
    /// Seed of every random draw; the same seed gives the same report.
    pub seed: u64,
    /// Radio environment options.
    #[serde(default)]
    pub radio: RadioSection,
    /// The people and their phones.
    pub population: Population,
    /// The places people meet in.
    pub places: Vec<Place>,
    /// Daily routines that move people between places.
    pub schedules: Vec<Schedule>,
    /// Index cases, delays and key registration.
    pub epidemic: Epidemic,
    /// Optional infection model creating secondary cases.
    #[serde(default)]
    pub transmission: Option<Transmission>,
    /// How notifications are judged.
    #[serde(default)]
    pub evaluation: Evaluation,
    /// Exports and app checks.
    #[serde(default)]
    pub pipeline: PipelineSection,
}

/// `[radio]`: the radio model file and the simulated range (the receiver sensitivity is
/// part of the radio model).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RadioSection {
    /// A radio model written by `mimamori sim calibrate` (relative to the scenario file);
    /// absent = the built-in defaults fitted to DP-3T exp05. `--radio` overrides it.
    pub file: Option<PathBuf>,
    /// Pairs farther apart than this (m) are not simulated on the radio (their RSSI would
    /// be near or below the sensitivity anyway). Default 12.
    pub max_range_m: f64,
}

impl Default for RadioSection {
    fn default() -> Self {
        RadioSection {
            file: None,
            max_range_m: 12.0,
        }
    }
}

/// `[population]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Population {
    /// Number of people (1–1,000,000).
    pub size: u32,
    /// Fraction of people running the exposure-notification app (0–1). Only app users
    /// advertise and scan; ground truth covers everybody.
    pub app_uptake: f64,
    /// Phone models and their shares among app users.
    pub phone_models: Vec<PhoneModel>,
    /// Standard deviation (dB) of the per-model calibration error drawn for models that do
    /// not set `calibration_error_db`. Default 0 (perfectly calibrated phones).
    #[serde(default)]
    pub calibration_error_sigma_db: f64,
    /// Default distribution of how phones are carried (places may override it).
    #[serde(default)]
    pub carriage: CarriageWeights,
}

/// `[[population.phone_models]]`: one model, as in Google's calibration table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PhoneModel {
    /// Model name (report only).
    pub name: String,
    /// Relative share among app users (> 0; shares are normalised).
    pub share: f64,
    /// TX power advertised in the AEM metadata (dBm, −50…20).
    pub tx_power_dbm: i8,
    /// RSSI correction the EN framework applies when this model receives (dB).
    pub rssi_correction_db: i8,
    /// Fixed calibration error of this model (dB); absent = drawn from
    /// N(0, `calibration_error_sigma_db`).
    #[serde(default)]
    pub calibration_error_db: Option<f64>,
}

/// Relative weights of the four carriage positions (need not sum to 1; at least one > 0).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CarriageWeights {
    /// In the hand.
    pub hand: f64,
    /// In a trouser or jacket pocket.
    pub pocket: f64,
    /// In a bag.
    pub bag: f64,
    /// Lying on a table or desk.
    pub table: f64,
}

impl Default for CarriageWeights {
    fn default() -> Self {
        CarriageWeights {
            hand: 0.2,
            pocket: 0.5,
            bag: 0.2,
            table: 0.1,
        }
    }
}

impl CarriageWeights {
    /// The positions with their weights.
    pub fn entries(&self) -> [(Carriage, f64); 4] {
        [
            (Carriage::Hand, self.hand),
            (Carriage::Pocket, self.pocket),
            (Carriage::Bag, self.bag),
            (Carriage::Table, self.table),
        ]
    }

    fn validate(&self, what: &str) -> Result<(), ScenarioError> {
        let entries = self.entries();
        if entries.iter().any(|(_, w)| !w.is_finite() || *w < 0.0)
            || entries.iter().map(|(_, w)| w).sum::<f64>() <= 0.0
        {
            return Err(ScenarioError::Invalid(format!(
                "{what}: carriage weights must be >= 0 with a positive sum"
            )));
        }
        Ok(())
    }
}

/// How people are positioned inside a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Layout {
    /// A grid of desks `seat_spacing_m` apart; people keep their desk and leave it now and
    /// then (`move_probability`) for a few minutes elsewhere in the room.
    Desks,
    /// Rows of 2 + 2 seats (0.5 m apart, 0.9 m row pitch) along the length; when the seats
    /// are taken people stand at random places (a train car, a bus).
    Seats,
    /// Tables of four 0.8 m apart, `seat_spacing_m` between tables; arrivals join a partly
    /// filled table or open a new one (a restaurant, a canteen).
    Tables,
    /// Random positions, redrawn with `move_probability` per minute (random waypoint with
    /// pauses; a shop, a home, a square).
    Open,
}

/// `[[places]]`: a kind of place; `count` identical instances of it exist.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Place {
    /// Name schedules refer to.
    pub name: String,
    /// Indoor, outdoor or vehicle (affects the radio).
    pub environment: Environment,
    /// Positions inside.
    pub layout: Layout,
    /// Width (m, 0.5–1000).
    pub width_m: f64,
    /// Length (m, 0.5–1000).
    pub length_m: f64,
    /// Most people one instance holds at once; `fixed` assignment fills instances up to it.
    pub capacity: u32,
    /// Number of identical instances (homes, offices, cars). Default 1.
    #[serde(default = "one")]
    pub count: u32,
    /// Desk or table spacing (m) for `desks` and `tables`. Default 1.8 (desks), 2.5 (tables).
    #[serde(default)]
    pub seat_spacing_m: Option<f64>,
    /// Probability per minute that a person moves (leaves the desk or seat for 2–10 minutes,
    /// or walks to a new spot in an open layout). Default 0.02.
    #[serde(default = "default_move_probability")]
    pub move_probability: f64,
    /// How phones are carried here; absent = the population default.
    #[serde(default)]
    pub carriage: Option<CarriageWeights>,
}

fn one() -> u32 {
    1
}

fn default_move_probability() -> f64 {
    0.02
}

/// `[[schedules]]`: a routine followed by a share of the population.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    /// Name (report only).
    pub name: String,
    /// Relative share of the population following it (> 0; normalised).
    pub share: f64,
    /// The day's stays, in any order; overlaps are resolved in favour of the later start.
    pub blocks: Vec<Block>,
}

/// Which days a block applies to (day 0 is the scenario's start date).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Days {
    /// Every day.
    #[default]
    All,
    /// Monday to Friday (by the real calendar of the start date).
    Weekdays,
    /// Saturday and Sunday.
    Weekends,
}

/// Whether a person returns to the same instance of a place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Assignment {
    /// The same instance every time (home, office, class); people are spread evenly.
    #[default]
    Fixed,
    /// A random instance each visit (train cars, restaurants, shops).
    Random,
}

/// `[[schedules.blocks]]`: one stay at a place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Block {
    /// A place name from `[[places]]`.
    pub place: String,
    /// Local (UTC) start, `HH:MM`.
    pub start: String,
    /// End, `HH:MM`; `24:00` is midnight; an end before the start wraps past midnight (cut
    /// at the day's end).
    pub end: String,
    /// Each person starts and ends up to this many minutes earlier or later (uniform).
    #[serde(default)]
    pub jitter_minutes: u32,
    /// Which days.
    #[serde(default)]
    pub days: Days,
    /// Probability that a person does this block on a given day. Default 1.
    #[serde(default = "one_f64")]
    pub probability: f64,
    /// Same or random instance.
    #[serde(default)]
    pub assignment: Assignment,
}

fn one_f64() -> f64 {
    1.0
}

/// `[epidemic]`: who is infected, when they test and register their keys.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Epidemic {
    /// Number of index cases, drawn at random (from app users when
    /// `index_cases_use_app`).
    pub index_cases: u32,
    /// Draw index cases among app users only (default true: otherwise most runs publish
    /// nothing at low uptake).
    #[serde(default = "yes")]
    pub index_cases_use_app: bool,
    /// Days after the start when index cases develop symptoms (uniform in this range).
    #[serde(default = "default_onset_range")]
    pub index_onset_days: [f64; 2],
    /// Days from infection to symptom onset (secondary cases). Default 5.
    #[serde(default = "default_incubation")]
    pub incubation_days: f64,
    /// Infectious from this many days before onset. Default 2.
    #[serde(default = "default_before_onset")]
    pub infectious_before_onset_days: f64,
    /// Infectious until this many days after onset. Default 7.
    #[serde(default = "default_after_onset")]
    pub infectious_after_onset_days: f64,
    /// Days from onset to the positive test result (uniform in this range). Default [1, 2].
    #[serde(default = "default_test_delay")]
    pub test_delay_days: [f64; 2],
    /// Hours from the test result to registering the keys in the app (uniform). Default
    /// [2, 24].
    #[serde(default = "default_report_delay")]
    pub report_delay_hours: [f64; 2],
    /// Fraction of positive app users who register their keys (0–1). Default 1.
    #[serde(default = "one_f64")]
    pub registration_fraction: f64,
}

fn yes() -> bool {
    true
}
fn default_onset_range() -> [f64; 2] {
    [1.0, 1.0]
}
fn default_incubation() -> f64 {
    5.0
}
fn default_before_onset() -> f64 {
    2.0
}
fn default_after_onset() -> f64 {
    7.0
}
fn default_test_delay() -> [f64; 2] {
    [1.0, 2.0]
}
fn default_report_delay() -> [f64; 2] {
    [2.0, 24.0]
}

/// `[transmission]`: probability of infection per minute of exposure as a function of
/// distance, p(d) = `probability_per_minute_at_1m` × min(1, d^−`distance_exponent`) up to
/// `max_distance_m`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transmission {
    /// Per-minute probability at 1 m (0–1).
    pub probability_per_minute_at_1m: f64,
    /// Fall-off exponent. Default 2.
    #[serde(default = "two")]
    pub distance_exponent: f64,
    /// No transmission beyond this distance (m). Default 3.
    #[serde(default = "three")]
    pub max_distance_m: f64,
}

fn two() -> f64 {
    2.0
}
fn three() -> f64 {
    3.0
}

/// `[evaluation]`: the ground-truth definition and the risk configurations compared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Evaluation {
    /// A close contact spent at least this many minutes on one day within
    /// `close_contact_distance_m` of a case who registered keys. Default 15.
    pub close_contact_minutes: u32,
    /// 1.0, 1.5 or 2.0 m. Default 1.0.
    pub close_contact_distance_m: f64,
    /// Built-in presets (`cocoa-v1`, `cocoa-v2`, `cwa`). Default all three.
    pub presets: Vec<String>,
    /// Custom risk configurations: JSON files of `mimamori_crypto::scoring::RiskConfig`
    /// (relative to the scenario file).
    pub custom: Vec<PathBuf>,
}

impl Default for Evaluation {
    fn default() -> Self {
        Evaluation {
            close_contact_minutes: 15,
            close_contact_distance_m: 1.0,
            presets: vec!["cocoa-v1".into(), "cocoa-v2".into(), "cwa".into()],
            custom: Vec::new(),
        }
    }
}

/// `[pipeline]`: app behaviour after the contacts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineSection {
    /// Apps download new exports and match every this many hours. Default 4.
    pub check_interval_hours: f64,
    /// Days after the last simulated day during which cases still register and apps still
    /// check. Default 4.
    pub follow_up_days: u32,
}

impl Default for PipelineSection {
    fn default() -> Self {
        PipelineSection {
            check_interval_hours: 4.0,
            follow_up_days: 4,
        }
    }
}

/// Parses `HH:MM` into minutes after midnight (0–1440).
pub fn parse_clock(text: &str) -> Option<u32> {
    let (h, m) = text.split_once(':')?;
    let h: u32 = h.parse().ok()?;
    let m: u32 = m.parse().ok()?;
    (m < 60 && (h < 24 || (h == 24 && m == 0))).then_some(h * 60 + m)
}

/// Days since 1970-01-01 of a civil date (proleptic Gregorian).
pub fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(m);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date `YYYY-MM-DD` of UNIX seconds.
pub fn civil_date(unix_seconds: u64) -> String {
    let z = i64::try_from(unix_seconds / DAY_SECONDS).unwrap_or(0) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = if m <= 2 { y + 1 } else { y };
    format!("{y:04}-{m:02}-{d:02}")
}

/// Parses `YYYY-MM-DDT00:00:00Z` (a UTC midnight) into UNIX seconds.
pub fn parse_start(text: &str) -> Option<u64> {
    let date = text.strip_suffix("T00:00:00Z")?;
    let mut parts = date.split('-');
    let y: i64 = parts.next()?.parse().ok()?;
    let m: u32 = parts.next()?.parse().ok()?;
    let d: u32 = parts.next()?.parse().ok()?;
    if parts.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&d) || y < 1970 {
        return None;
    }
    let days = days_from_civil(y, m, d);
    u64::try_from(days).ok().map(|d| d * DAY_SECONDS)
}

impl Scenario {
    /// Reads, parses and validates a scenario file; relative paths inside are resolved
    /// against its directory.
    ///
    /// # Errors
    /// [`ScenarioError`] with the file name and the problem.
    pub fn from_file(path: &Path) -> Result<Self, ScenarioError> {
        let text = std::fs::read_to_string(path).map_err(|source| ScenarioError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mut scenario = Self::from_toml(&text).map_err(|e| match e {
            ScenarioError::Parse { message, .. } => ScenarioError::Parse {
                path: path.to_path_buf(),
                message,
            },
            other => other,
        })?;
        let base = path.parent().unwrap_or(Path::new("."));
        if let Some(file) = &scenario.radio.file
            && file.is_relative()
        {
            scenario.radio.file = Some(base.join(file));
        }
        for file in &mut scenario.evaluation.custom {
            if file.is_relative() {
                *file = base.join(&*file);
            }
        }
        Ok(scenario)
    }

    /// Parses and validates TOML text.
    ///
    /// # Errors
    /// [`ScenarioError::Parse`] or [`ScenarioError::Invalid`].
    pub fn from_toml(text: &str) -> Result<Self, ScenarioError> {
        let scenario: Scenario = toml::from_str(text).map_err(|e| ScenarioError::Parse {
            path: PathBuf::from("<text>"),
            message: e.to_string().trim().replace('\n', " "),
        })?;
        scenario.validate()?;
        Ok(scenario)
    }

    /// Start as UNIX seconds (validated).
    pub fn start_unix(&self) -> u64 {
        parse_start(&self.start).unwrap_or(0)
    }

    /// Checks every range and reference.
    ///
    /// # Errors
    /// [`ScenarioError::Invalid`] naming the first problem.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let bad = |m: String| Err(ScenarioError::Invalid(m));
        if parse_start(&self.start).is_none() {
            return bad(format!(
                "start {:?} must be a UTC midnight like 2026-11-02T00:00:00Z",
                self.start
            ));
        }
        if !(1..=60).contains(&self.days) {
            return bad(format!("days = {} must be 1..=60", self.days));
        }
        let r = &self.radio;
        if !(r.max_range_m.is_finite() && r.max_range_m > 0.0 && r.max_range_m <= 100.0) {
            return bad("radio.max_range_m must be in (0, 100]".into());
        }
        let p = &self.population;
        if !(1..=1_000_000).contains(&p.size) {
            return bad(format!("population.size = {} must be 1..=1000000", p.size));
        }
        if !(0.0..=1.0).contains(&p.app_uptake) {
            return bad("population.app_uptake must be in [0, 1]".into());
        }
        if p.phone_models.is_empty() {
            return bad("population.phone_models: at least one model is needed".into());
        }
        for model in &p.phone_models {
            if !(model.share.is_finite() && model.share > 0.0) {
                return bad(format!("phone model {:?}: share must be > 0", model.name));
            }
            if !(-50..=20).contains(&model.tx_power_dbm) {
                return bad(format!(
                    "phone model {:?}: tx_power_dbm must be in [-50, 20]",
                    model.name
                ));
            }
        }
        if !(p.calibration_error_sigma_db.is_finite()
            && (0.0..=20.0).contains(&p.calibration_error_sigma_db))
        {
            return bad("population.calibration_error_sigma_db must be in [0, 20]".into());
        }
        p.carriage.validate("population.carriage")?;
        if self.places.is_empty() {
            return bad("at least one [[places]] entry is needed".into());
        }
        let mut names = HashSet::new();
        for place in &self.places {
            let what = format!("place {:?}", place.name);
            if !names.insert(place.name.as_str()) {
                return bad(format!("{what} is defined twice"));
            }
            for (field, v) in [("width_m", place.width_m), ("length_m", place.length_m)] {
                if !(v.is_finite() && (0.5..=1000.0).contains(&v)) {
                    return bad(format!("{what}: {field} must be in [0.5, 1000]"));
                }
            }
            if place.capacity == 0 || place.count == 0 || place.count > 1_000_000 {
                return bad(format!(
                    "{what}: capacity must be > 0 and count in 1..=1000000"
                ));
            }
            if let Some(s) = place.seat_spacing_m
                && !(s.is_finite() && (0.5..=50.0).contains(&s))
            {
                return bad(format!("{what}: seat_spacing_m must be in [0.5, 50]"));
            }
            if !(0.0..=1.0).contains(&place.move_probability) {
                return bad(format!("{what}: move_probability must be in [0, 1]"));
            }
            if let Some(c) = &place.carriage {
                c.validate(&what)?;
            }
        }
        if self.schedules.is_empty() {
            return bad("at least one [[schedules]] entry is needed".into());
        }
        for schedule in &self.schedules {
            let what = format!("schedule {:?}", schedule.name);
            if !(schedule.share.is_finite() && schedule.share > 0.0) {
                return bad(format!("{what}: share must be > 0"));
            }
            for block in &schedule.blocks {
                if !names.contains(block.place.as_str()) {
                    return bad(format!(
                        "{what}: block refers to unknown place {:?}",
                        block.place
                    ));
                }
                let (Some(start), Some(end)) = (parse_clock(&block.start), parse_clock(&block.end))
                else {
                    return bad(format!(
                        "{what}: block at {:?} needs start and end as HH:MM",
                        block.place
                    ));
                };
                if start == end || start >= 1440 {
                    return bad(format!(
                        "{what}: block at {:?} is empty or starts at 24:00",
                        block.place
                    ));
                }
                if !(0.0..=1.0).contains(&block.probability) || block.jitter_minutes > 240 {
                    return bad(format!(
                        "{what}: block at {:?}: probability in [0, 1], jitter_minutes <= 240",
                        block.place
                    ));
                }
            }
        }
        let e = &self.epidemic;
        if e.index_cases > p.size {
            return bad("epidemic.index_cases exceeds the population".into());
        }
        let range_ok = |r: [f64; 2], max: f64| {
            r[0].is_finite() && r[1].is_finite() && 0.0 <= r[0] && r[0] <= r[1] && r[1] <= max
        };
        if !range_ok(e.index_onset_days, 60.0) {
            return bad("epidemic.index_onset_days must be [min, max] within [0, 60]".into());
        }
        if !range_ok(e.test_delay_days, 30.0) || !range_ok(e.report_delay_hours, 24.0 * 30.0) {
            return bad(
                "epidemic.test_delay_days / report_delay_hours must be [min, max] with 0 <= min <= max"
                    .into(),
            );
        }
        for (field, v) in [
            ("incubation_days", e.incubation_days),
            (
                "infectious_before_onset_days",
                e.infectious_before_onset_days,
            ),
            ("infectious_after_onset_days", e.infectious_after_onset_days),
        ] {
            if !(v.is_finite() && (0.0..=30.0).contains(&v)) {
                return bad(format!("epidemic.{field} must be in [0, 30]"));
            }
        }
        if e.infectious_before_onset_days > e.incubation_days {
            return bad(
                "epidemic.infectious_before_onset_days must not exceed incubation_days".into(),
            );
        }
        if !(0.0..=1.0).contains(&e.registration_fraction) {
            return bad("epidemic.registration_fraction must be in [0, 1]".into());
        }
        if let Some(t) = &self.transmission
            && !((0.0..=1.0).contains(&t.probability_per_minute_at_1m)
                && t.distance_exponent.is_finite()
                && t.distance_exponent >= 0.0
                && t.max_distance_m.is_finite()
                && (0.0..=20.0).contains(&t.max_distance_m))
        {
            return bad(
                "transmission: probability_per_minute_at_1m in [0, 1], distance_exponent >= 0, max_distance_m in [0, 20]"
                    .into(),
            );
        }
        let ev = &self.evaluation;
        if crate::truth::band_of(ev.close_contact_distance_m).is_none() {
            return bad("evaluation.close_contact_distance_m must be 1.0, 1.5 or 2.0".into());
        }
        if ev.close_contact_minutes == 0 {
            return bad("evaluation.close_contact_minutes must be > 0".into());
        }
        for preset in &ev.presets {
            if mimamori_crypto::scoring::RiskConfig::preset(preset).is_none() {
                return bad(format!(
                    "evaluation.presets: unknown preset {preset:?} (cocoa-v1, cocoa-v2, cwa)"
                ));
            }
        }
        let pl = &self.pipeline;
        if !(pl.check_interval_hours.is_finite()
            && (0.25..=48.0).contains(&pl.check_interval_hours))
        {
            return bad("pipeline.check_interval_hours must be in [0.25, 48]".into());
        }
        if pl.follow_up_days > 30 {
            return bad("pipeline.follow_up_days must be <= 30".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates_round_trip() {
        let t = parse_start("2026-11-02T00:00:00Z").unwrap();
        assert_eq!(civil_date(t), "2026-11-02");
        assert_eq!(civil_date(0), "1970-01-01");
        assert_eq!(civil_date(t + DAY_SECONDS * 30), "2026-12-02");
        assert!(parse_start("2026-11-02T01:00:00Z").is_none());
    }

    #[test]
    fn shipped_scenarios_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios");
        for name in ["office", "train", "restaurant", "town"] {
            let path = dir.join(format!("{name}.toml"));
            let s = Scenario::from_file(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(s.name, name);
        }
    }

    #[test]
    fn unknown_fields_and_bad_references_are_named() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../scenarios/office.toml");
        let text = std::fs::read_to_string(path).unwrap();
        let err = Scenario::from_toml(&format!("colour = 1\n{text}")).unwrap_err();
        assert!(err.to_string().contains("colour"), "{err}");
        let err =
            Scenario::from_toml(&text.replace("place = \"office-3f\"", "place = \"nowhere\""))
                .unwrap_err();
        assert!(err.to_string().contains("nowhere"), "{err}");
    }
}
