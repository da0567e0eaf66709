//! Evaluation of a run against the ground truth and the files written to `--out DIR`.
//!
//! **Who is judged.** Every app user who is not a published case. A person is a *close
//! contact* when, on a day whose key a case published, they spent at least
//! `close_contact_minutes` within `close_contact_distance_m` of that case (default 15 min
//! within 1 m). A person is *notified* under a configuration when their app decided "high
//! risk" at any check. Precision, recall, F1 and the false-positive rate count people; the ROC
//! curve sweeps a threshold over each configuration's continuous score (see
//! [`crate::pipeline::score_of`]).
//!
//! Files: `report.json` (everything below), `presets.csv`, `roc_<config>.csv`,
//! `notifications.csv`, `cases.csv`, `detection.csv`, `roc.svg`,
//! `attenuation_distance.svg`, `detection.svg`, and the downloaded export files under
//! `exports/` (with `public_key.pem`, the key they were verified with, when known).

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::path::Path;

use serde::Serialize;

use crate::engine::{SimOutput, World};
use crate::eval::{Confusion, RocPoint, roc};
use crate::pipeline::{PipelineResult, heard_count, heard_index};
use crate::plot::{Series, line_chart_svg, scatter_svg};
use crate::truth::{self, BANDS_M};

/// Summary of the cases.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct CaseSummary {
    /// Infections (index and secondary) during the run.
    pub infections: usize,
    /// Index cases.
    pub index_cases: usize,
    /// Secondary infections from the transmission model.
    pub secondary_infections: usize,
    /// Cases whose report fell in the horizon and who decided to register keys.
    pub registering: usize,
    /// Cases whose keys were published.
    pub published: usize,
    /// Failures by message.
    pub failures: Vec<String>,
}

/// One export file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ExportSummary {
    /// Name in the index.
    pub name: String,
    /// Keys in it that belong to simulated phones (the server's random padding, whose size
    /// varies from run to run, is left out so that the report is reproducible).
    pub simulated_keys: usize,
    /// Whether the signature verified against the server's public key.
    pub signature_verified: Option<bool>,
}

/// Delay statistics in hours.
#[derive(Debug, Clone, Serialize, PartialEq, Default)]
pub struct DelayStats {
    /// Notified people with a delay.
    pub count: usize,
    /// Mean.
    pub mean: Option<f64>,
    /// Median.
    pub median: Option<f64>,
    /// 90th percentile.
    pub p90: Option<f64>,
}

/// Results of one risk configuration.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ConfigReport {
    /// Preset or file name.
    pub name: String,
    /// Counts.
    pub confusion: Confusion,
    /// TP / (TP + FP).
    pub precision: f64,
    /// TP / (TP + FN).
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
    /// FP / (FP + TN).
    pub false_positive_rate: f64,
    /// Area under the ROC curve of the score.
    pub auc: f64,
    /// People notified.
    pub notifications: u64,
    /// Notified people per published case.
    pub notifications_per_published_case: f64,
    /// Hours from the (earliest matched) case's test to the notification.
    pub delay_hours: DelayStats,
    /// Notified people by their strongest exposure (`close` = the true positives).
    pub notified_by_exposure: ExposureCounts,
}

/// People counted by their strongest exposure to a published case on a day whose key that case
/// published. The classes are exclusive and checked in this order.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq, Default)]
pub struct ExposureCounts {
    /// Close contacts by the configured definition.
    pub close: u64,
    /// Not close, but at least one minute within 2 m.
    pub within_2m: u64,
    /// Never within 2 m, at least one minute within 5 m.
    pub within_5m: u64,
    /// Never within 5 m, but scheduled in the same place instance at an overlapping time.
    pub same_place: u64,
    /// Never in the same place at the same time: a notification here cannot come from the
    /// radio and would mean the pipeline matched the wrong keys.
    pub apart: u64,
}

/// The exposure class of one person (see [`ExposureCounts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Exposure {
    Close,
    Within2m,
    Within5m,
    SamePlace,
    Apart,
}

impl ExposureCounts {
    fn add(&mut self, exposure: Exposure) {
        let slot = match exposure {
            Exposure::Close => &mut self.close,
            Exposure::Within2m => &mut self.within_2m,
            Exposure::Within5m => &mut self.within_5m,
            Exposure::SamePlace => &mut self.same_place,
            Exposure::Apart => &mut self.apart,
        };
        *slot += 1;
    }
}

/// Detection by distance class and duration.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DetectionRow {
    /// Closest distance band the pair spent ≥ 5 minutes in (m).
    pub within_m: f64,
    /// Lower edge of the duration bucket (minutes in that band).
    pub minutes_from: u32,
    /// Directed app pair-days in the bucket.
    pub pair_days: u64,
    /// Of those, the receiver recorded at least [`NEAR_SCANS`] scans of the advertiser at or
    /// below 55 dB attenuation (the CWA's near threshold, ≈ 15 near minutes).
    pub detected: u64,
    /// detected / pair_days.
    pub rate: f64,
}

/// The whole report (`report.json`). Deterministic for a scenario and seed: no wall-clock
/// times inside.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Report {
    /// Scenario name.
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Start date.
    pub start: String,
    /// Days simulated.
    pub days: u32,
    /// People.
    pub population: usize,
    /// App users.
    pub app_users: usize,
    /// Visits simulated.
    pub visits: u64,
    /// Pair-days with a contact within 5 m.
    pub pair_days: usize,
    /// Sightings recorded by all phones.
    pub sightings: u64,
    /// Ground-truth definition.
    pub close_contact_definition: String,
    /// App users judged.
    pub evaluated_people: u64,
    /// Close contacts among them.
    pub close_contacts: u64,
    /// The judged people by their strongest exposure to a published case.
    pub exposure: ExposureCounts,
    /// Cases.
    pub cases: CaseSummary,
    /// Export files downloaded.
    pub exports: Vec<ExportSummary>,
    /// Results per configuration.
    pub configs: Vec<ConfigReport>,
    /// App download-and-match rounds.
    pub checks: u32,
    /// Matcher runs (phone × check).
    pub matcher_runs: u64,
    /// Detection rate table.
    pub detection: Vec<DetectionRow>,
}

/// ROC curves by configuration, kept beside the report for the CSV and SVG files.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The report.
    pub report: Report,
    /// ROC points per configuration.
    pub rocs: Vec<(String, Vec<RocPoint>)>,
    /// (phone, config, notified at, delay) rows.
    pub notifications: Vec<(u32, String, u64, Option<f64>, bool)>,
    /// Attenuation samples.
    pub attenuation_samples: Vec<(f64, f64)>,
}

fn quantile(sorted: &[f64], q: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let i = ((sorted.len() - 1) as f64 * q).round() as usize;
    Some(sorted[i])
}

const DURATION_BUCKETS: [u32; 7] = [5, 10, 15, 30, 60, 120, 240];

/// A directed pair-day counts as detected when the receiver recorded at least this many scans
/// of the advertiser at or below [`crate::pipeline::NEAR_ATTENUATION_DB`] (three scans ≈ 15
/// minutes at the 5-minute cap of secondsSinceLastScan).
pub const NEAR_SCANS: u32 = 3;

/// Judges a run.
pub fn evaluate(world: &World, output: &SimOutput, result: &PipelineResult) -> Evaluated {
    let scenario = &world.scenario;
    let ev = &scenario.evaluation;
    let band = truth::band_of(ev.close_contact_distance_m).unwrap_or(0);
    let need = u16::try_from(ev.close_contact_minutes).unwrap_or(u16::MAX);
    // Published cases: person → key days.
    let published: HashMap<u32, HashSet<u16>> = result
        .cases
        .iter()
        .filter(|c| c.error.is_none() && !c.key_days.is_empty())
        .map(|c| {
            (
                c.case.infection.person,
                c.key_days.iter().copied().collect(),
            )
        })
        .collect();
    let mut close: HashSet<u32> = HashSet::new();
    for r in output.truth.records() {
        for (case, other) in [(r.a, r.b), (r.b, r.a)] {
            if let Some(days) = published.get(&case)
                && days.contains(&r.day)
                && r.minutes[band] >= need
            {
                close.insert(other);
            }
        }
    }
    // Looser exposure classes, for the breakdown of the false positives.
    let mut within_2m: HashSet<u32> = HashSet::new();
    let mut within_5m: HashSet<u32> = HashSet::new();
    for r in output.truth.records() {
        for (case, other) in [(r.a, r.b), (r.b, r.a)] {
            if published
                .get(&case)
                .is_some_and(|days| days.contains(&r.day))
            {
                if r.minutes[2] > 0 {
                    within_2m.insert(other);
                }
                if r.minutes[4] > 0 {
                    within_5m.insert(other);
                }
            }
        }
    }
    let same_place = colocated_with(world, &published);
    let exposure_of = |person: u32| {
        if close.contains(&person) {
            Exposure::Close
        } else if within_2m.contains(&person) {
            Exposure::Within2m
        } else if within_5m.contains(&person) {
            Exposure::Within5m
        } else if same_place.contains(&person) {
            Exposure::SamePlace
        } else {
            Exposure::Apart
        }
    };
    let judged: Vec<(u32, u32)> = world
        .people
        .iter()
        .enumerate()
        .filter_map(|(p, person)| person.phone.map(|ph| (p as u32, ph)))
        .filter(|(p, _)| !published.contains_key(p))
        .collect();
    let close_contacts = judged.iter().filter(|(p, _)| close.contains(p)).count() as u64;
    let mut exposure = ExposureCounts::default();
    for &(person, _) in &judged {
        exposure.add(exposure_of(person));
    }
    let mut configs = Vec::new();
    let mut rocs = Vec::new();
    let mut notifications = Vec::new();
    for (name, outcomes) in &result.outcomes {
        let mut confusion = Confusion::default();
        let mut scored = Vec::with_capacity(judged.len());
        let mut delays = Vec::new();
        let mut notified_by_exposure = ExposureCounts::default();
        for &(person, phone) in &judged {
            let o = outcomes[phone as usize];
            let actual = close.contains(&person);
            confusion.add(o.notified_at.is_some(), actual);
            scored.push((o.score, actual));
            if let Some(at) = o.notified_at {
                notified_by_exposure.add(exposure_of(person));
                notifications.push((person, name.clone(), at, o.delay_hours, actual));
                if let Some(d) = o.delay_hours {
                    delays.push(d);
                }
            }
        }
        delays.sort_by(f64::total_cmp);
        let curve = roc(&scored);
        let notified = confusion.true_positives + confusion.false_positives;
        configs.push(ConfigReport {
            name: name.clone(),
            precision: confusion.precision(),
            recall: confusion.recall(),
            f1: confusion.f1(),
            false_positive_rate: confusion.false_positive_rate(),
            confusion,
            auc: curve.auc,
            notifications: notified,
            notifications_per_published_case: if published.is_empty() {
                0.0
            } else {
                notified as f64 / published.len() as f64
            },
            delay_hours: DelayStats {
                count: delays.len(),
                mean: (!delays.is_empty())
                    .then(|| delays.iter().sum::<f64>() / delays.len() as f64),
                median: quantile(&delays, 0.5),
                p90: quantile(&delays, 0.9),
            },
            notified_by_exposure,
        });
        rocs.push((name.clone(), curve.points));
    }
    notifications.sort_by(|a, b| (a.1.as_str(), a.2, a.0).cmp(&(b.1.as_str(), b.2, b.0)));

    // Detection by distance class and duration over directed app pair-days.
    let heard = heard_index(world, output);
    let mut cells: HashMap<(usize, usize), (u64, u64)> = HashMap::new();
    for r in output.truth.records() {
        let (Some(pa), Some(pb)) = (
            world.people[r.a as usize].phone,
            world.people[r.b as usize].phone,
        ) else {
            continue;
        };
        let Some(class) = [0usize, 2, 3, 4].into_iter().find(|&b| r.minutes[b] >= 5) else {
            continue;
        };
        let minutes = u32::from(r.minutes[class]);
        let bucket = DURATION_BUCKETS
            .iter()
            .rposition(|&m| minutes >= m)
            .unwrap_or(0);
        for (rx, tx) in [(pa, pb), (pb, pa)] {
            let cell = cells.entry((class, bucket)).or_default();
            cell.0 += 1;
            if heard_count(&heard, tx, r.day, rx).1 >= NEAR_SCANS {
                cell.1 += 1;
            }
        }
    }
    let mut detection: Vec<DetectionRow> = cells
        .into_iter()
        .map(|((class, bucket), (n, d))| DetectionRow {
            within_m: BANDS_M[class],
            minutes_from: DURATION_BUCKETS[bucket],
            pair_days: n,
            detected: d,
            rate: d as f64 / n.max(1) as f64,
        })
        .collect();
    detection.sort_by(|a, b| {
        a.within_m
            .total_cmp(&b.within_m)
            .then(a.minutes_from.cmp(&b.minutes_from))
    });

    let infections = output.infections.len();
    let index_cases = world.index_cases.len();
    let registering = result.cases.len();
    let mut failures: Vec<String> = result
        .cases
        .iter()
        .filter_map(|c| c.error.clone())
        .collect();
    failures.sort();
    failures.dedup();
    let report = Report {
        scenario: scenario.name.clone(),
        seed: scenario.seed,
        start: scenario.start.clone(),
        days: scenario.days,
        population: world.people.len(),
        app_users: world.phones.len(),
        visits: output.visits,
        pair_days: output.truth.len(),
        sightings: output.sightings.iter().map(|s| s.len() as u64).sum(),
        close_contact_definition: format!(
            "app user, not a published case, >= {} min within {} m of a published case on a day whose key was published",
            ev.close_contact_minutes, ev.close_contact_distance_m
        ),
        evaluated_people: judged.len() as u64,
        close_contacts,
        exposure,
        cases: CaseSummary {
            infections,
            index_cases,
            secondary_infections: infections.saturating_sub(index_cases),
            registering,
            published: published.len(),
            failures,
        },
        exports: result
            .exports
            .iter()
            .map(|e| ExportSummary {
                name: e.name.clone(),
                simulated_keys: e.simulated_keys,
                signature_verified: e.signature_verified,
            })
            .collect(),
        configs,
        checks: result.checks,
        matcher_runs: result.matcher_runs,
        detection,
    };
    Evaluated {
        report,
        rocs,
        notifications,
        attenuation_samples: output.attenuation_samples.clone(),
    }
}

/// The people scheduled in the same place instance as a published case, at an overlapping
/// time, on a day whose key that case published. From the schedules, so an upper bound of who
/// was really there together.
fn colocated_with(world: &World, published: &HashMap<u32, HashSet<u16>>) -> HashSet<u32> {
    let mut days: Vec<u16> = published
        .values()
        .flatten()
        .copied()
        .filter(|&d| u32::from(d) < world.scenario.days)
        .collect();
    days.sort_unstable();
    days.dedup();
    let mut colocated = HashSet::new();
    for day in days {
        let visits = world.visits(day);
        let mut case_stays: HashMap<u32, Vec<(u16, u16, u32)>> = HashMap::new();
        for v in &visits {
            if published.get(&v.person).is_some_and(|d| d.contains(&day)) {
                case_stays
                    .entry(v.place)
                    .or_default()
                    .push((v.start, v.end, v.person));
            }
        }
        for v in &visits {
            let Some(stays) = case_stays.get(&v.place) else {
                continue;
            };
            if stays
                .iter()
                .any(|&(start, end, case)| case != v.person && v.start < end && start < v.end)
            {
                colocated.insert(v.person);
            }
        }
    }
    colocated
}

fn file_safe(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// Writes every output file into `dir` (created if needed).
///
/// # Errors
/// IO errors, with the file name.
pub fn write(
    dir: &Path,
    evaluated: &Evaluated,
    result: &PipelineResult,
    start_unix: u64,
) -> std::io::Result<()> {
    let err = |path: &Path, e: std::io::Error| {
        std::io::Error::new(e.kind(), format!("{}: {e}", path.display()))
    };
    let put = |name: &str, text: &[u8]| -> std::io::Result<()> {
        let path = dir.join(name);
        std::fs::write(&path, text).map_err(|e| err(&path, e))
    };
    std::fs::create_dir_all(dir).map_err(|e| err(dir, e))?;
    let report = &evaluated.report;
    let json = serde_json::to_string_pretty(report).map_err(std::io::Error::other)?;
    put("report.json", json.as_bytes())?;

    let mut csv = String::from(
        "config,true_positives,false_positives,true_negatives,false_negatives,precision,recall,f1,false_positive_rate,auc,notifications,notifications_per_published_case,median_delay_hours,notified_within_2m,notified_within_5m,notified_same_place,notified_apart\n",
    );
    for c in &report.configs {
        let k = &c.confusion;
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{:.4},{:.4},{:.4},{:.4},{:.4},{},{:.3},{},{},{},{},{}",
            c.name,
            k.true_positives,
            k.false_positives,
            k.true_negatives,
            k.false_negatives,
            c.precision,
            c.recall,
            c.f1,
            c.false_positive_rate,
            c.auc,
            c.notifications,
            c.notifications_per_published_case,
            c.delay_hours
                .median
                .map_or(String::new(), |d| format!("{d:.1}")),
            c.notified_by_exposure.within_2m,
            c.notified_by_exposure.within_5m,
            c.notified_by_exposure.same_place,
            c.notified_by_exposure.apart,
        );
    }
    put("presets.csv", csv.as_bytes())?;
    for (name, points) in &evaluated.rocs {
        let mut csv = String::from("threshold,true_positive_rate,false_positive_rate\n");
        for p in points {
            let _ = writeln!(
                csv,
                "{},{:.5},{:.5}",
                p.threshold, p.true_positive_rate, p.false_positive_rate
            );
        }
        put(&format!("roc_{}.csv", file_safe(name)), csv.as_bytes())?;
    }
    let mut csv = String::from("person,config,notified_at_unix,delay_hours,close_contact\n");
    for (person, config, at, delay, actual) in &evaluated.notifications {
        let _ = writeln!(
            csv,
            "{person},{config},{at},{},{actual}",
            delay.map_or(String::new(), |d| format!("{d:.2}"))
        );
    }
    put("notifications.csv", csv.as_bytes())?;
    let mut csv =
        String::from("person,index,onset_unix,test_unix,report_unix,registers,published_days\n");
    let published: HashMap<u32, usize> = result
        .cases
        .iter()
        .filter(|c| c.error.is_none())
        .map(|c| (c.case.infection.person, c.key_days.len()))
        .collect();
    let at = |t: i64| start_unix.saturating_add_signed(t);
    for c in &result.all_cases {
        let _ = writeln!(
            csv,
            "{},{},{},{},{},{},{}",
            c.infection.person,
            c.index,
            at(c.infection.onset),
            at(c.test_time),
            at(c.report_time),
            c.registers,
            published.get(&c.infection.person).copied().unwrap_or(0)
        );
    }
    put("cases.csv", csv.as_bytes())?;
    let mut csv = String::from("within_m,minutes_from,pair_days,detected,rate\n");
    for r in &report.detection {
        let _ = writeln!(
            csv,
            "{},{},{},{},{:.4}",
            r.within_m, r.minutes_from, r.pair_days, r.detected, r.rate
        );
    }
    put("detection.csv", csv.as_bytes())?;

    // Plots.
    let mut series: Vec<Series> = evaluated
        .rocs
        .iter()
        .zip(&report.configs)
        .map(|((name, points), c)| Series {
            name: format!("{name} (AUC {:.2})", c.auc),
            points: points
                .iter()
                .map(|p| (p.false_positive_rate, p.true_positive_rate))
                .collect(),
        })
        .collect();
    series.push(Series {
        name: "chance".into(),
        points: vec![(0.0, 0.0), (1.0, 1.0)],
    });
    put(
        "roc.svg",
        line_chart_svg(
            &format!("{}: notification ROC", report.scenario),
            "false positive rate",
            "true positive rate",
            &series,
        )
        .as_bytes(),
    )?;
    put(
        "attenuation_distance.svg",
        scatter_svg(
            &format!("{}: attenuation against distance", report.scenario),
            "true distance (m)",
            "GAEN attenuation (dB)",
            &[Series {
                name: "sightings (sample)".into(),
                points: evaluated.attenuation_samples.clone(),
            }],
        )
        .as_bytes(),
    )?;
    let mut by_class: Vec<Series> = Vec::new();
    for class in [1.0, 2.0, 3.0, 5.0] {
        let points: Vec<(f64, f64)> = report
            .detection
            .iter()
            .filter(|r| (r.within_m - class).abs() < 1e-9)
            .map(|r| (f64::from(r.minutes_from), r.rate))
            .collect();
        if !points.is_empty() {
            by_class.push(Series {
                name: format!("within {class} m"),
                points,
            });
        }
    }
    put(
        "detection.svg",
        line_chart_svg(
            &format!(
                "{}: detected as near (>= 3 scans at <= 55 dB) by distance and duration",
                report.scenario
            ),
            "minutes within the distance (bucket start)",
            "fraction of pair-days detected",
            &by_class,
        )
        .as_bytes(),
    )?;
    let exports = dir.join("exports");
    std::fs::create_dir_all(&exports).map_err(|e| err(&exports, e))?;
    for e in &result.exports {
        let path = exports.join(file_safe(&e.name.replace('/', "-")) + ".zip");
        std::fs::write(&path, &e.bytes).map_err(|x| err(&path, x))?;
    }
    if let Some(pem) = &result.export_public_key {
        let path = exports.join("public_key.pem");
        std::fs::write(&path, pem).map_err(|x| err(&path, x))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    /// Six people in one room: a morning shift and an afternoon shift.
    fn world(seed: u64) -> World {
        World::new(
            Scenario::from_toml(&format!(
                r#"
name = "shifts"
start = "2026-11-02T00:00:00Z"
days = 2
seed = {seed}
[population]
size = 6
app_uptake = 1.0
carriage = {{ pocket = 1.0 }}
[[population.phone_models]]
name = "reference"
share = 1.0
tx_power_dbm = -24
rssi_correction_db = -2
[[places]]
name = "room"
environment = "indoor"
layout = "open"
width_m = 4.0
length_m = 4.0
capacity = 6
[[schedules]]
name = "morning"
share = 0.5
blocks = [{{ place = "room", start = "09:00", end = "12:00" }}]
[[schedules]]
name = "afternoon"
share = 0.5
blocks = [{{ place = "room", start = "13:00", end = "17:00" }}]
[epidemic]
index_cases = 0
"#
            ))
            .unwrap(),
        )
    }

    #[test]
    fn colocation_needs_the_same_place_at_an_overlapping_time_on_a_key_day() {
        // The first seed that puts at least two people on each shift.
        let (world, morning, afternoon) = (1..100)
            .map(|seed| {
                let world = world(seed);
                let shift = |name: &str| -> Vec<u32> {
                    (0..6u32)
                        .filter(|&p| {
                            let schedule = world.people[p as usize].schedule as usize;
                            world.scenario.schedules[schedule].name == name
                        })
                        .collect()
                };
                let (morning, afternoon) = (shift("morning"), shift("afternoon"));
                (world, morning, afternoon)
            })
            .find(|(_, m, a)| m.len() >= 2 && a.len() >= 2)
            .unwrap();
        let case = morning[0];
        // Key of day 0 published: the other morning people were there, the afternoon not.
        let published = HashMap::from([(case, HashSet::from([0u16]))]);
        let colocated = colocated_with(&world, &published);
        for &p in &morning[1..] {
            assert!(colocated.contains(&p), "{p} shared the morning");
        }
        for p in &afternoon {
            assert!(!colocated.contains(p), "{p} came after the case left");
        }
        assert!(
            !colocated.contains(&case),
            "the case is not its own contact"
        );
        // No key day, no colocation; key days past the simulated days are ignored.
        let none = HashMap::from([(case, HashSet::from([5u16]))]);
        assert!(colocated_with(&world, &none).is_empty());
    }
}
