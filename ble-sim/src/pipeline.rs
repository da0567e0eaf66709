//! The pipeline after the contacts: positive people become cases in the case registry, get
//! processing numbers, their apps verify them, obtain certificates and publish their keys;
//! the key server builds signed exports; every app downloads them, matches its own
//! sightings with `mimamori_crypto::matcher` and scores them with each risk configuration.
//!
//! The server side is behind [`Backend`]; the `mimamori` binary implements it in process
//! (the real services on an embedded SQLite database, driven over loopback HTTP, with a
//! manual clock) and against a running server (`--server URL`).
//!
//! **Matching.** Every app's sightings are matched with the real [`SightingIndex`] against
//! the keys of the downloaded, signature-checked export files. To keep 10,000 phones × many
//! exports fast, a phone runs the matcher only when a downloaded key belongs to a phone it
//! recorded sightings from on that day (±1): a phone that never received one of a key's
//! RPIs cannot match it, so the result is the same as matching every phone against every
//! key ([`MatchMode::AllPhones`] does exactly that, and the tests compare both).

use std::collections::{BTreeMap, HashMap, HashSet};

use mimamori_crypto::export::{DiagnosisKey, VerificationKey, read_archive};
use mimamori_crypto::matcher::{KeyMatch, Sighting, SightingIndex};
use mimamori_crypto::scoring::{Assessment, RiskConfig};
use rand::Rng;
use rayon::prelude::*;

use crate::engine::{Infection, Progress, SimOutput, World};
use crate::protocol::{KeyStore, purpose, rng_for};
use crate::scenario::{DAY_SECONDS, civil_date};

/// A failed backend step.
#[derive(Debug, thiserror::Error)]
#[error("{step}: {message}")]
pub struct BackendError {
    /// The step (register case, verify, publish, ...).
    pub step: &'static str,
    /// What went wrong (no personal data, keys or codes).
    pub message: String,
}

impl BackendError {
    /// A new error.
    pub fn new(step: &'static str, message: impl Into<String>) -> Self {
        BackendError {
            step,
            message: message.into(),
        }
    }
}

/// The notification of occurrence a health center files for a simulated case. Names are
/// synthetic labels, never personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseFiling {
    /// A synthetic label (`sim person 17`).
    pub label: String,
    /// Symptom onset, `YYYY-MM-DD`.
    pub onset_date: String,
    /// Positive test result, `YYYY-MM-DD`.
    pub test_date: String,
    /// Day the case is filed, `YYYY-MM-DD`.
    pub report_date: String,
}

/// The server side of the pipeline, step by step.
pub trait Backend {
    /// Sets the time the server sees (UNIX seconds); a backend that cannot control time
    /// ignores it.
    fn set_time(&mut self, unix_seconds: u64) -> Result<(), BackendError>;
    /// A health center files and accepts the case; returns its id.
    fn register_case(&mut self, case: &CaseFiling) -> Result<String, BackendError>;
    /// The health center issues a processing number for the case.
    fn issue_processing_number(&mut self, case_id: &str) -> Result<String, BackendError>;
    /// The app exchanges the processing number for a verification token.
    fn verify(&mut self, processing_number: &str) -> Result<String, BackendError>;
    /// The app exchanges the token and the HMAC of its keys for a certificate.
    fn certificate(&mut self, token: &str, ekeyhmac: &str) -> Result<String, BackendError>;
    /// The app publishes its keys with the certificate.
    fn publish(
        &mut self,
        keys: &[DiagnosisKey],
        certificate: &str,
        hmac_key: &[u8],
    ) -> Result<(), BackendError>;
    /// Builds the export files that are due (a backend whose server exports on its own
    /// may wait for them instead).
    fn run_exports(&mut self) -> Result<(), BackendError>;
    /// The export files currently listed (`index.txt` entries).
    fn list_exports(&mut self) -> Result<Vec<String>, BackendError>;
    /// Downloads one export file.
    fn download_export(&mut self, name: &str) -> Result<Vec<u8>, BackendError>;
    /// The public key that signs exports, as PEM, when known.
    fn export_public_key(&mut self) -> Result<Option<String>, BackendError>;
}

/// Which phones run the matcher at a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MatchMode {
    /// Phones that received sightings from the owner of a downloaded key (same result,
    /// much faster; see the module documentation).
    #[default]
    Candidates,
    /// Every phone against every downloaded key.
    AllPhones,
}

/// A positive person and the pipeline's timetable for them.
#[derive(Debug, Clone, PartialEq)]
pub struct Case {
    /// The infection.
    pub infection: Infection,
    /// Whether it is an index case.
    pub index: bool,
    /// Their phone, if they use the app.
    pub phone: Option<u32>,
    /// Positive test result, seconds since the start.
    pub test_time: i64,
    /// When they register their keys (seconds since the start).
    pub report_time: i64,
    /// Whether they register their keys at all.
    pub registers: bool,
}

/// Derives test and report times for every infection with onset in the horizon.
pub fn cases(world: &World, output: &SimOutput, horizon_s: i64) -> Vec<Case> {
    let epi = &world.scenario.epidemic;
    let index: HashSet<u32> = world.index_cases.iter().map(|c| c.person).collect();
    let mut out = Vec::new();
    for inf in &output.infections {
        let mut rng = rng_for(&[
            world.scenario.seed,
            purpose::CASES,
            1,
            u64::from(inf.person),
        ]);
        let uniform = |rng: &mut rand_pcg::Pcg64Mcg, r: [f64; 2]| {
            if r[1] > r[0] {
                rand::RngExt::random_range(rng, r[0]..=r[1])
            } else {
                r[0]
            }
        };
        let test_time =
            inf.onset + (uniform(&mut rng, epi.test_delay_days) * DAY_SECONDS as f64) as i64;
        let report_time = test_time + (uniform(&mut rng, epi.report_delay_hours) * 3600.0) as i64;
        let phone = world.people[inf.person as usize].phone;
        let registers =
            phone.is_some() && rand::RngExt::random_bool(&mut rng, epi.registration_fraction);
        if report_time < 0 || report_time >= horizon_s {
            continue;
        }
        out.push(Case {
            infection: *inf,
            index: index.contains(&inf.person),
            phone,
            test_time,
            report_time,
            registers,
        });
    }
    out.sort_by_key(|c| (c.report_time, c.infection.person));
    out
}

/// What happened to one registering case.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseOutcome {
    /// The case.
    pub case: Case,
    /// Days (indices) whose keys were published.
    pub key_days: Vec<u16>,
    /// The failure, if a step failed.
    pub error: Option<String>,
}

/// One downloaded export file.
#[derive(Debug, Clone)]
pub struct DownloadedExport {
    /// Its name in the index.
    pub name: String,
    /// The zip bytes.
    pub bytes: Vec<u8>,
    /// Keys in it (real and padding).
    pub keys: usize,
    /// Keys in it that belong to simulated phones (the rest is the server's random padding).
    pub simulated_keys: usize,
    /// Whether its signature verified against the backend's public key (`None`: no key).
    pub signature_verified: Option<bool>,
    /// Simulation time of the download (UNIX seconds).
    pub downloaded_at: u64,
}

/// The outcome for one phone under one risk configuration.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct PhoneOutcome {
    /// The highest score seen at any check (preset-specific scale, see the report).
    pub score: f64,
    /// When the phone first decided "high risk" (UNIX seconds).
    pub notified_at: Option<u64>,
    /// Hours from the earliest test among the matched cases to the notification.
    pub delay_hours: Option<f64>,
}

/// Everything the pipeline produced.
#[derive(Debug, Clone)]
pub struct PipelineResult {
    /// Registering cases and what happened.
    pub cases: Vec<CaseOutcome>,
    /// Every case (registering or not) with test and report times.
    pub all_cases: Vec<Case>,
    /// Downloaded export files in download order.
    pub exports: Vec<DownloadedExport>,
    /// Per configuration name, per phone.
    pub outcomes: BTreeMap<String, Vec<PhoneOutcome>>,
    /// Checks performed (app download-and-match rounds).
    pub checks: u32,
    /// Matcher runs (phone × check).
    pub matcher_runs: u64,
    /// The PEM public key the exports were verified with, if the backend knew it.
    pub export_public_key: Option<String>,
    /// Wall-clock seconds per pipeline stage (not part of the deterministic report).
    pub stage_seconds: Vec<(String, f64)>,
}

/// Per configuration: (score, high risk, earliest test time among matched cases).
pub type Judgement = (f64, bool, Option<i64>);

/// Named risk configurations.
pub type Configs = Vec<(String, RiskConfig)>;

/// The continuous score of an assessment used for ROC curves: v2 the highest daily
/// ScoreSum, v1 the highest raw risk product, CWA the normalised weighted minutes.
pub fn score_of(config: &RiskConfig, assessment: &Assessment) -> f64 {
    match config {
        RiskConfig::V2(_) => assessment
            .daily_summaries
            .iter()
            .map(|d| d.day_summary.score_sum)
            .fold(0.0, f64::max),
        RiskConfig::V1(_) => assessment
            .exposures
            .iter()
            .map(|e| f64::from(e.risk.raw_product))
            .fold(0.0, f64::max),
        RiskConfig::Cwa(_) => assessment
            .cwa
            .as_ref()
            .map_or(0.0, |c| c.normalized_minutes),
    }
}

/// Runs the pipeline against `backend`.
///
/// # Errors
/// A [`BackendError`] from exports or listings (case failures are recorded per case).
#[allow(clippy::too_many_arguments)]
pub fn run(
    world: &World,
    output: &SimOutput,
    keys: &KeyStore,
    configs: &Configs,
    backend: &mut dyn Backend,
    mode: MatchMode,
    progress: Progress<'_>,
) -> Result<PipelineResult, BackendError> {
    let scenario = &world.scenario;
    let start = world.start_unix;
    let horizon_days = i64::from(scenario.days + scenario.pipeline.follow_up_days);
    let horizon_s = horizon_days * DAY_SECONDS as i64;
    let all_cases = cases(world, output, horizon_s);
    let check_step = (scenario.pipeline.check_interval_hours * 3600.0) as i64;
    let mut checks: Vec<i64> = (1..)
        .map(|k| k * check_step)
        .take_while(|t| *t <= horizon_s)
        .collect();
    if checks.last() != Some(&horizon_s) {
        checks.push(horizon_s);
    }
    // (time, 0 = case report / 1 = check, index)
    let mut events: Vec<(i64, u8, usize)> = all_cases
        .iter()
        .enumerate()
        .filter(|(_, c)| c.registers)
        .map(|(i, c)| (c.report_time, 0, i))
        .collect();
    events.extend(checks.iter().enumerate().map(|(i, t)| (*t, 1, i)));
    events.sort_unstable();

    // Who heard whom on which day: (tx, day, rx), sorted.
    let heard = heard_index(world, output);
    let owners = keys.owner_index();
    let test_time_of_phone: HashMap<u32, i64> = all_cases
        .iter()
        .filter_map(|c| c.phone.map(|p| (p, c.test_time)))
        .collect();
    let mut rng = rng_for(&[scenario.seed, purpose::PIPELINE]);
    let mut outcomes: BTreeMap<String, Vec<PhoneOutcome>> = configs
        .iter()
        .map(|(n, _)| (n.clone(), vec![PhoneOutcome::default(); world.phones.len()]))
        .collect();
    let mut case_outcomes = Vec::new();
    let mut exports: Vec<DownloadedExport> = Vec::new();
    let mut seen_exports: HashSet<String> = HashSet::new();
    // Keys a phone has not matched yet, and what it matched so far (matching is per key, so
    // matching only the new keys at each check gives the same matches as re-matching all).
    let mut phone_keys: Vec<Vec<DiagnosisKey>> = vec![Vec::new(); world.phones.len()];
    let mut phone_matches: Vec<Vec<KeyMatch>> = vec![Vec::new(); world.phones.len()];
    let mut seen_keys: HashSet<[u8; 16]> = HashSet::new();
    let mut public_key: Option<Option<VerificationKey>> = None;
    let mut public_key_pem: Option<String> = None;
    let mut matcher_runs = 0u64;
    // Wall-clock seconds: publishing cases, exporting, listing + downloading + parsing,
    // matching and scoring.
    let mut stage_seconds = [0.0f64; 4];
    let mut check_count = 0u32;
    let total_events = events.len() as u64;

    for (done, (time, kind, i)) in events.into_iter().enumerate() {
        progress("pipeline", done as u64, total_events);
        let now = start + u64::try_from(time.max(0)).unwrap_or(0);
        backend.set_time(now)?;
        if kind == 0 {
            let case = &all_cases[i];
            let t = std::time::Instant::now();
            let outcome = publish_case(world, keys, case, backend, &mut rng);
            stage_seconds[0] += t.elapsed().as_secs_f64();
            case_outcomes.push(outcome);
            continue;
        }
        check_count += 1;
        let t = std::time::Instant::now();
        backend.run_exports()?;
        stage_seconds[1] += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let names = backend.list_exports()?;
        if public_key.is_none() {
            public_key = Some(match backend.export_public_key()? {
                Some(pem) => {
                    let key = VerificationKey::from_text(&pem)
                        .map_err(|e| BackendError::new("export public key", e.to_string()))?;
                    public_key_pem = Some(pem);
                    Some(key)
                }
                None => None,
            });
        }
        let verifier = public_key.clone().flatten();
        let mut dirty: HashSet<u32> = HashSet::new();
        let mut new_keys: Vec<DiagnosisKey> = Vec::new();
        for name in names {
            if !seen_exports.insert(name.clone()) {
                continue;
            }
            let bytes = backend.download_export(&name)?;
            let archive = read_archive(&bytes)
                .map_err(|e| BackendError::new("read export", format!("{name}: {e}")))?;
            let signature_verified = verifier
                .as_ref()
                .map(|k| archive.verify(std::slice::from_ref(k)).is_ok());
            if signature_verified == Some(false) {
                return Err(BackendError::new(
                    "verify export",
                    format!("{name}: the signature does not verify"),
                ));
            }
            let export = archive.export;
            for key in export.keys.iter().chain(&export.revised_keys) {
                if !seen_keys.insert(*key.key_data.as_bytes()) {
                    continue;
                }
                new_keys.push(key.clone());
                if mode == MatchMode::Candidates
                    && let Some(&(tx, day)) = owners.get(key.key_data.as_bytes())
                {
                    for rx in receivers(&heard, tx, day) {
                        phone_keys[rx as usize].push(key.clone());
                        dirty.insert(rx);
                    }
                }
            }
            exports.push(DownloadedExport {
                name,
                keys: export.keys.len() + export.revised_keys.len(),
                simulated_keys: export
                    .keys
                    .iter()
                    .chain(&export.revised_keys)
                    .filter(|k| owners.contains_key(k.key_data.as_bytes()))
                    .count(),
                bytes,
                signature_verified,
                downloaded_at: now,
            });
        }
        let phones: Vec<u32> = match mode {
            MatchMode::Candidates => {
                let mut v: Vec<u32> = dirty.into_iter().collect();
                v.sort_unstable();
                v
            }
            MatchMode::AllPhones if new_keys.is_empty() => Vec::new(),
            MatchMode::AllPhones => (0..world.phones.len() as u32).collect(),
        };
        matcher_runs += phones.len() as u64;
        stage_seconds[2] += t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let results: Vec<(u32, Vec<KeyMatch>, Vec<Judgement>)> = phones
            .par_iter()
            .map(|&rx| {
                let keys_for = match mode {
                    MatchMode::Candidates => &phone_keys[rx as usize],
                    MatchMode::AllPhones => &new_keys,
                };
                let (matches, judgements) = assess_phone(
                    world,
                    output,
                    keys,
                    &owners,
                    &test_time_of_phone,
                    rx,
                    keys_for,
                    &phone_matches[rx as usize],
                    now,
                    configs,
                );
                (rx, matches, judgements)
            })
            .collect();
        stage_seconds[3] += t.elapsed().as_secs_f64();
        for (rx, matches, per_config) in results {
            phone_matches[rx as usize] = matches;
            phone_keys[rx as usize].clear();
            for ((name, _), (score, high, earliest_test)) in configs.iter().zip(per_config) {
                let Some(list) = outcomes.get_mut(name) else {
                    continue;
                };
                let o = &mut list[rx as usize];
                o.score = o.score.max(score);
                if high && o.notified_at.is_none() {
                    o.notified_at = Some(now);
                    o.delay_hours = earliest_test.map(|t| (time - t) as f64 / 3600.0);
                }
            }
        }
    }
    progress("pipeline", total_events, total_events);
    Ok(PipelineResult {
        cases: case_outcomes,
        all_cases,
        exports,
        outcomes,
        checks: check_count,
        matcher_runs,
        export_public_key: public_key_pem,
        stage_seconds: [
            ("publish cases", stage_seconds[0]),
            ("export", stage_seconds[1]),
            ("list, download, verify", stage_seconds[2]),
            ("match and score", stage_seconds[3]),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect(),
    })
}

/// Attenuation (dB) at or below which a scan counts as "near" in the detection table: the
/// Corona-Warn-App's full-weight threshold (about 1.5 m).
pub const NEAR_ATTENUATION_DB: i32 = 55;

/// One row of [`heard_index`]: advertiser, day, receiver, sightings, sightings at or below
/// [`NEAR_ATTENUATION_DB`].
pub type Heard = (u32, u16, u32, u32, u32);

/// Every (advertiser, day, receiver) with at least one sighting that day, sorted, with the
/// number of sightings and of near ones (GAEN attenuation = TX power − (RSSI + correction)).
pub fn heard_index(world: &World, output: &SimOutput) -> Vec<Heard> {
    let mut heard: Vec<Heard> = output
        .sightings
        .par_iter()
        .enumerate()
        .flat_map_iter(|(rx, list)| {
            let correction = i32::from(world.phones[rx].radio.rssi_correction_db);
            let mut counts: HashMap<(u32, u16), (u32, u32)> = HashMap::new();
            for s in list {
                let tx_power = i32::from(world.phones[s.tx as usize].radio.tx_power_dbm);
                let attenuation = tx_power - (i32::from(s.rssi) + correction);
                let c = counts
                    .entry((s.tx, (u64::from(s.time) / DAY_SECONDS) as u16))
                    .or_default();
                c.0 += 1;
                if attenuation <= NEAR_ATTENUATION_DB {
                    c.1 += 1;
                }
            }
            counts
                .into_iter()
                .map(move |((tx, day), (n, near))| (tx, day, rx as u32, n, near))
        })
        .collect();
    heard.par_sort_unstable();
    heard
}

/// Phones that heard `tx` on `day` ± 1.
fn receivers(heard: &[Heard], tx: u32, day: usize) -> Vec<u32> {
    let day = day as u16;
    let lo = heard.partition_point(|h| (h.0, h.1) < (tx, day.saturating_sub(1)));
    let hi = heard.partition_point(|h| (h.0, h.1) <= (tx, day.saturating_add(1)));
    let mut out: Vec<u32> = heard[lo..hi].iter().map(|h| h.2).collect();
    out.sort_unstable();
    out.dedup();
    out
}

/// (sightings, near sightings) of `rx` hearing `tx` on `day`.
pub fn heard_count(heard: &[Heard], tx: u32, day: u16, rx: u32) -> (u32, u32) {
    heard
        .binary_search_by(|h| (h.0, h.1, h.2).cmp(&(tx, day, rx)))
        .map_or((0, 0), |i| (heard[i].3, heard[i].4))
}

/// One phone's matching and scoring at `now` with the real matcher: its sightings up to
/// `now` (at most 14 days old) against `new_keys`, added to the matches of earlier checks
/// (`previous`); returns all matches and, per configuration, (score, high risk, earliest test
/// time among the matched keys' owners in `test_times`).
#[allow(clippy::too_many_arguments)]
pub fn assess_phone(
    world: &World,
    output: &SimOutput,
    keys: &KeyStore,
    owners: &HashMap<[u8; 16], (u32, usize)>,
    test_times: &HashMap<u32, i64>,
    rx: u32,
    new_keys: &[DiagnosisKey],
    previous: &[KeyMatch],
    now: u64,
    configs: &Configs,
) -> (Vec<KeyMatch>, Vec<Judgement>) {
    let start = world.start_unix;
    let oldest = now.saturating_sub(14 * DAY_SECONDS);
    let sightings: Vec<Sighting> = output.sightings[rx as usize]
        .iter()
        .map(|s| keys.sighting(start, s))
        .filter(|s| s.time <= now && s.time >= oldest)
        .collect();
    let mut matches: Vec<KeyMatch> = previous
        .iter()
        .cloned()
        .filter_map(|mut m| {
            m.sightings.retain(|s| s.time >= oldest);
            (!m.sightings.is_empty()).then_some(m)
        })
        .collect();
    if sightings.is_empty() || (new_keys.is_empty() && matches.is_empty()) {
        return (
            matches,
            configs.iter().map(|_| (0.0, false, None)).collect(),
        );
    }
    let phone = &world.phones[rx as usize];
    let index = SightingIndex::new(&sightings, i16::from(phone.radio.rssi_correction_db));
    matches.extend(index.match_keys(new_keys));
    let windows = index.all_exposure_windows(&matches);
    let earliest_test = matches
        .iter()
        .filter_map(|m| owners.get(m.key.key_data.as_bytes()))
        .filter_map(|(owner, _)| test_times.get(owner).copied())
        .min();
    let judgements = configs
        .iter()
        .map(|(_, config)| {
            let assessment = config.assess(&matches, &windows, now);
            (
                score_of(config, &assessment),
                assessment.high_risk,
                earliest_test,
            )
        })
        .collect();
    (matches, judgements)
}

/// Transmission risk level the app sets on a key by its age in days at submission (index 0 =
/// the submission day): the Corona-Warn-App's default vector. The key server keeps non-zero
/// client values (it backfills only 0, with 2 for confirmed tests, which the COCOA v1 and CWA
/// rules would score as no risk).
pub const TRANSMISSION_RISK_BY_AGE: [i32; 14] = [5, 6, 8, 8, 8, 5, 3, 1, 1, 1, 1, 1, 1, 1];

/// Files, verifies and publishes one case; failures are recorded, not fatal.
fn publish_case(
    world: &World,
    keys: &KeyStore,
    case: &Case,
    backend: &mut dyn Backend,
    rng: &mut rand_pcg::Pcg64Mcg,
) -> CaseOutcome {
    let start = world.start_unix;
    let to_date = |t: i64| civil_date(start.saturating_add_signed(t));
    // Keys of completed days only (today's key is still in use), at most 14, within the
    // days the phones have keys for.
    let report_day = case.report_time / DAY_SECONDS as i64;
    let last = (report_day - 1).min(keys.days() as i64 - 1);
    let first = (report_day - 14).max(0);
    let key_days: Vec<u16> = (first..=last).map(|d| d as u16).collect();
    let mut outcome = CaseOutcome {
        case: case.clone(),
        key_days: key_days.clone(),
        error: None,
    };
    let Some(phone) = case.phone else {
        outcome.error = Some("no app".into());
        return outcome;
    };
    if key_days.is_empty() {
        outcome.error = Some("no completed day with keys to publish".into());
        return outcome;
    }
    let filing = CaseFiling {
        label: format!("sim person {}", case.infection.person),
        onset_date: to_date(case.infection.onset),
        test_date: to_date(case.test_time),
        report_date: to_date(case.report_time),
    };
    let diagnosis_keys: Vec<DiagnosisKey> = key_days
        .iter()
        .map(|&d| {
            let mut key = keys.diagnosis_key(phone, usize::from(d));
            let age = usize::try_from(report_day - i64::from(d)).unwrap_or(usize::MAX);
            key.transmission_risk_level = TRANSMISSION_RISK_BY_AGE.get(age).copied().unwrap_or(1);
            key
        })
        .collect();
    let mut hmac_key = [0u8; 32];
    rng.fill_bytes(&mut hmac_key);
    let result = (|| -> Result<(), BackendError> {
        let id = backend.register_case(&filing)?;
        let number = backend.issue_processing_number(&id)?;
        let token = backend.verify(&number)?;
        let ekeyhmac = mimamori_crypto::tekmac::tekmac_base64(&hmac_key, &diagnosis_keys);
        let certificate = backend.certificate(&token, &ekeyhmac)?;
        backend.publish(&diagnosis_keys, &certificate, &hmac_key)
    })();
    if let Err(e) = result {
        outcome.error = Some(e.to_string());
        outcome.key_days.clear();
    }
    outcome
}
