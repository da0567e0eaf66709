//! Radio-to-decision checks on the engine: a close contact (0.5 m for 30 minutes, phones on
//! the table indoors, calibrated) is notified under every preset for every seed tried; a far
//! one (10 m) never is under the CWA rule. The sightings come from the engine's scans and the radio model's
//! defaults; matching and scoring are the crypto crate's.
#![allow(clippy::unwrap_used)]

use std::collections::HashMap;

use mimamori_ble_sim::engine::{self, World};
use mimamori_ble_sim::pipeline::{Configs, assess_phone};
use mimamori_ble_sim::radio::{RadioModel, RadioParams};
use mimamori_ble_sim::scenario::Scenario;
use mimamori_crypto::export::ReportType;
use mimamori_crypto::scoring::RiskConfig;

fn two_people(spacing_m: f64, seed: u64, carriage: &str) -> Scenario {
    let weights = ["hand", "pocket", "bag", "table"]
        .map(|c| format!("{c} = {}", if c == carriage { 1.0 } else { 0.0 }))
        .join(", ");
    let width = spacing_m * 2.0;
    let length = spacing_m.max(0.5);
    Scenario::from_toml(&format!(
        r#"
name = "pair"
start = "2026-11-02T00:00:00Z"
days = 1
seed = {seed}
[population]
size = 2
app_uptake = 1.0
carriage = {{ {weights} }}
[[population.phone_models]]
name = "reference"
share = 1.0
tx_power_dbm = -24
rssi_correction_db = -2
calibration_error_db = 0.0
[[places]]
name = "desk"
environment = "indoor"
layout = "desks"
width_m = {width}
length_m = {length}
seat_spacing_m = {spacing_m}
capacity = 2
move_probability = 0.0
[[schedules]]
name = "meeting"
share = 1.0
blocks = [{{ place = "desk", start = "09:00", end = "09:30" }}]
[epidemic]
index_cases = 0
"#
    ))
    .unwrap()
}

fn configs() -> Configs {
    ["cocoa-v1", "cocoa-v2", "cwa"]
        .into_iter()
        .map(|n| (n.to_string(), RiskConfig::preset(n).unwrap()))
        .collect()
}

/// Whether phone 1 is notified (per preset) by phone 0's key of day 0.
fn notified(spacing_m: f64, seed: u64, carriage: &str, shadowing_db: f64) -> Vec<bool> {
    let world = World::new(two_people(spacing_m, seed, carriage));
    assert_eq!(world.phones.len(), 2);
    let params = RadioParams {
        shadowing_sigma_db: shadowing_db,
        ..RadioParams::default()
    };
    let radio = RadioModel::new(params);
    let output = engine::run(&world, &radio, &|_, _, _| {});
    let truth = output.truth.minutes(0, 1, 0);
    if spacing_m <= 1.0 {
        assert_eq!(truth[0], 30, "30 minutes within 1 m: {truth:?}");
    } else {
        assert_eq!(truth[4], 0, "never within 5 m: {truth:?}");
    }
    let keys = engine::key_store(&world, 1);
    let tx = world.people[0].phone.unwrap();
    let rx = world.people[1].phone.unwrap();
    let mut key = keys.diagnosis_key(tx, 0);
    // As the key server exports a confirmed case's key (onset two days later).
    key.report_type = ReportType::ConfirmedTest;
    key.transmission_risk_level = 4;
    key.days_since_onset_of_symptoms = Some(-2);
    let now = world.start_unix + 86_400;
    assess_phone(
        &world,
        &output,
        &keys,
        &keys.owner_index(),
        &HashMap::new(),
        rx,
        &[key],
        &[],
        now,
        &configs(),
    )
    .1
    .into_iter()
    .map(|(_, high, _)| high)
    .collect()
}

#[test]
fn close_contact_is_always_notified() {
    // "Good radio": phones on the table, indoors, calibrated, no persistent shadowing.
    for seed in 1..=20 {
        assert_eq!(
            notified(0.5, seed, "table", 0.0),
            [true, true, true],
            "seed {seed}"
        );
    }
}

#[test]
fn far_contact_is_never_notified_by_the_cwa_rule() {
    // 10 m for 30 minutes, phones in pockets, the measured shadowing. Under the radio model
    // fitted to DP-3T (exponent ~1.2: RSSI hardly falls past 5 m) a 10-m contact has a
    // typical attenuation around 64 dB, inside COCOA v2's 60–65 dB bucket (weight 1.3) and
    // COCOA v1's 51–63 dB bucket: those two presets flag such contacts in about a third of
    // the seeds (see `diagnostic`), as COCOA's own device tests found (65 dB: 84 % false
    // positives). The measured data say the same without any model: replaying DP-3T exp05,
    // COCOA v2 notifies 32 % and COCOA v1 34 % of the 15-minute windows whose camera distance
    // is 5–8 m (`mimamori sim replay`, `windows.csv`). So "never at 10 m" holds only for a
    // rule that stops counting below ~63 dB: the CWA rule (55/63 dB) must never notify.
    for seed in 1..=20 {
        let decisions = notified(
            10.0,
            seed,
            "pocket",
            RadioParams::default().shadowing_sigma_db,
        );
        assert!(!decisions[2], "seed {seed}: {decisions:?}");
    }
}

/// Prints the decisions per seed (`cargo test -p mimamori-ble-sim --test detection -- --ignored
/// --nocapture`).
#[test]
#[ignore]
fn diagnostic() {
    let shadow = RadioParams::default().shadowing_sigma_db;
    for seed in 1..=20 {
        eprintln!(
            "seed {seed} close {:?} far-pocket {:?} far-table-no-shadowing {:?}",
            notified(0.5, seed, "table", 0.0),
            notified(10.0, seed, "pocket", shadow),
            notified(10.0, seed, "table", 0.0)
        );
    }
}
