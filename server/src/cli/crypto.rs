//! Command-line access to the crypto core: `mimamori en derive`, `mimamori export
//! inspect|sign`, `mimamori match` and `mimamori bench match`.
//!
//! Every command prints JSON on stdout (one object, or one object per line for `en derive`)
//! so that tools and tests can rely on its shape. All the work happens in `mimamori_crypto`;
//! this module only reads files, parses arguments and formats output.

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Instant;

use anyhow::{Context as _, bail};
use mimamori_crypto::export::{
    self, DiagnosisKey, Export, ExportArchive, ExportSigner, ReportType, SignatureInfo,
    VerificationKey,
};
use mimamori_crypto::hex;
use mimamori_crypto::interval::EnIntervalNumber;
use mimamori_crypto::keys::{Aem, Rpi, Tek};
use mimamori_crypto::matcher::{KeyMatch, MatchedSighting, Sighting, SightingIndex};
use mimamori_crypto::scoring::RiskConfig;
use mimamori_crypto::synthetic::{WorkloadSpec, generate};
use serde::{Deserialize, Serialize};

/// Writes command output to stdout; a closed pipe (`| head`) ends the output quietly.
fn emit(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// One JSON document and a newline.
fn emit_json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut line = serde_json::to_string(value)?;
    line.push('\n');
    emit(&line)
}

/// `mimamori en ...`: exposure-notification identifiers.
#[derive(Debug, clap::Subcommand)]
pub enum EnCommand {
    /// Derive RPIs (and AEMs) from a TEK: one JSON object per line.
    Derive(DeriveArgs),
}

/// `mimamori en derive` flags.
#[derive(Debug, clap::Args)]
pub struct DeriveArgs {
    /// The TEK, 32 hex digits.
    #[arg(long, value_name = "HEX")]
    pub tek: String,
    /// The first ENIntervalNumber.
    #[arg(long, value_name = "N")]
    pub interval: u32,
    /// How many consecutive intervals.
    #[arg(long, value_name = "K", default_value_t = 1)]
    pub count: u32,
    /// Bluetooth metadata, 8 hex digits (e.g. 40080000): also print the AEM.
    #[arg(long, value_name = "HEX")]
    pub metadata: Option<String>,
}

#[derive(Serialize)]
struct DerivedLine {
    interval: u32,
    rpi: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    aem: Option<String>,
}

impl EnCommand {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let Self::Derive(args) = self;
        let tek = Tek::from_bytes(
            hex::decode_array(args.tek.trim()).context("--tek must be 32 hex digits")?,
        );
        let metadata: Option<[u8; 4]> = args
            .metadata
            .as_deref()
            .map(|m| hex::decode_array(m.trim()).context("--metadata must be 8 hex digits"))
            .transpose()?;
        let rpik = tek.rpik();
        let aemk = tek.aemk();
        let mut out = String::new();
        for i in 0..args.count {
            let interval = args
                .interval
                .checked_add(i)
                .context("--interval + --count overflows")?;
            let rpi = rpik.rpi(EnIntervalNumber(interval));
            let line = DerivedLine {
                interval,
                rpi: hex::encode(rpi.as_bytes()),
                aem: metadata.map(|m| hex::encode(aemk.encrypt(&rpi, m).as_bytes())),
            };
            out.push_str(&serde_json::to_string(&line)?);
            out.push('\n');
        }
        emit(&out)?;
        Ok(ExitCode::SUCCESS)
    }
}

/// `mimamori export ...`: export files.
#[derive(Debug, clap::Subcommand)]
pub enum ExportCommand {
    /// Parse an export zip (or a bare export.bin) and verify its signatures.
    Inspect(InspectArgs),
    /// Write a signed, reproducible export zip from a JSON list of keys.
    Sign(SignArgs),
}

/// `mimamori export inspect` flags.
#[derive(Debug, clap::Args)]
pub struct InspectArgs {
    /// The export zip (or bare export.bin).
    #[arg(value_name = "FILE.zip")]
    pub file: PathBuf,
    /// A P-256 public key (PEM, or base64 DER SPKI) that may have signed the file; repeatable.
    /// `ID/VERSION=FILE` restricts the key to signatures with that key id and version.
    #[arg(long = "public-key", value_name = "PEM")]
    pub public_keys: Vec<String>,
}

/// `mimamori export sign` flags.
#[derive(Debug, clap::Args)]
pub struct SignArgs {
    /// JSON array of keys with the fields `export inspect` prints.
    #[arg(long, value_name = "KEYS.json")]
    pub keys: PathBuf,
    /// P-256 private key, PEM (SEC1 `EC PRIVATE KEY` or PKCS#8).
    #[arg(long = "private-key", value_name = "PEM")]
    pub private_key: PathBuf,
    /// Region of the export.
    #[arg(long)]
    pub region: String,
    /// verification_key_id.
    #[arg(long = "key-id", value_name = "ID")]
    pub key_id: String,
    /// verification_key_version.
    #[arg(long = "key-version", value_name = "V")]
    pub key_version: String,
    /// start_timestamp, UNIX seconds.
    #[arg(long, value_name = "UNIX")]
    pub start: u64,
    /// end_timestamp, UNIX seconds.
    #[arg(long, value_name = "UNIX")]
    pub end: u64,
    /// batch_num.
    #[arg(long = "batch-num", default_value_t = 1)]
    pub batch_num: i32,
    /// batch_size.
    #[arg(long = "batch-size", default_value_t = 1)]
    pub batch_size: i32,
    /// Output zip.
    #[arg(long, value_name = "FILE.zip")]
    pub out: PathBuf,
}

/// A key as `export inspect` prints it and `export sign` reads it.
#[derive(Debug, Serialize, Deserialize)]
pub struct KeyJson {
    /// 32 hex digits.
    pub key_data: String,
    /// First interval.
    pub rolling_start_interval_number: u32,
    /// Intervals of validity (default 144).
    #[serde(default = "default_period")]
    pub rolling_period: u32,
    /// Transmission risk level (default 0).
    #[serde(default)]
    pub transmission_risk_level: i32,
    /// ReportType value 0–5 (default 0).
    #[serde(default, deserialize_with = "report_type_value")]
    pub report_type: i32,
    /// Days since onset of symptoms, or null.
    #[serde(default)]
    pub days_since_onset_of_symptoms: Option<i32>,
}

fn default_period() -> u32 {
    144
}

/// Accepts the report type as a number or as its protobuf name.
fn report_type_value<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i32, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum NumberOrName {
        Number(i32),
        Name(String),
    }
    match NumberOrName::deserialize(d)? {
        NumberOrName::Number(n) => Ok(n),
        NumberOrName::Name(name) => {
            let quoted = format!("\"{}\"", name.to_ascii_uppercase());
            serde_json::from_str::<ReportType>(&quoted)
                .map(ReportType::as_i32)
                .map_err(|_| serde::de::Error::custom(format!("unknown report_type {name}")))
        }
    }
}

impl KeyJson {
    fn from_key(key: &DiagnosisKey) -> Self {
        Self {
            key_data: hex::encode(key.key_data.as_bytes()),
            rolling_start_interval_number: key.rolling_start_interval_number,
            rolling_period: key.rolling_period,
            transmission_risk_level: key.transmission_risk_level,
            report_type: key.report_type.as_i32(),
            days_since_onset_of_symptoms: key.days_since_onset_of_symptoms,
        }
    }

    fn to_key(&self, index: usize) -> anyhow::Result<DiagnosisKey> {
        let context = || format!("key #{index}");
        let bytes = hex::decode_array(&self.key_data).with_context(context)?;
        if !(1..=144).contains(&self.rolling_period) {
            bail!("key #{index}: rolling_period must be 1..=144");
        }
        let report_type = ReportType::from_i32(self.report_type)
            .with_context(|| format!("key #{index}: unknown report_type {}", self.report_type))?;
        Ok(DiagnosisKey {
            key_data: Tek::from_bytes(bytes),
            rolling_start_interval_number: self.rolling_start_interval_number,
            rolling_period: self.rolling_period,
            transmission_risk_level: self.transmission_risk_level,
            report_type,
            days_since_onset_of_symptoms: self.days_since_onset_of_symptoms,
        })
    }
}

#[derive(Serialize)]
struct SignatureJson {
    verification_key_id: String,
    verification_key_version: String,
    signature_algorithm: String,
    valid: Option<bool>,
}

#[derive(Serialize)]
struct InspectJson {
    start_timestamp: u64,
    end_timestamp: u64,
    region: String,
    batch_num: i32,
    batch_size: i32,
    keys: Vec<KeyJson>,
    revised_keys: Vec<KeyJson>,
    signatures: Vec<SignatureJson>,
}

/// Reads `--public-key` values: `FILE` or `ID/VERSION=FILE`.
fn load_public_key(spec: &str) -> anyhow::Result<VerificationKey> {
    let (scope, path) = match spec.split_once('=') {
        Some((scope, path)) if !Path::new(spec).exists() => (Some(scope), path),
        _ => (None, spec),
    };
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {path}"))?;
    let key = VerificationKey::from_text(&text).with_context(|| format!("public key {path}"))?;
    Ok(match scope {
        Some(scope) => {
            let (id, version) = scope
                .split_once('/')
                .with_context(|| format!("--public-key {spec}: expected ID/VERSION=FILE"))?;
            key.scoped(id, version)
        }
        None => key,
    })
}

/// Parses an export zip, or a bare `export.bin` (no signatures).
fn read_export(bytes: &[u8]) -> Result<ExportArchive, export::ExportError> {
    if bytes.starts_with(export::EXPORT_HEADER) {
        return Ok(ExportArchive {
            export: Export::from_export_bin(bytes)?,
            export_bin: bytes.to_vec(),
            signatures: Vec::new(),
        });
    }
    export::read_archive(bytes)
}

fn inspect(args: InspectArgs) -> anyhow::Result<ExitCode> {
    let keys = args
        .public_keys
        .iter()
        .map(|k| load_public_key(k))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let parsed = std::fs::read(&args.file)
        .map_err(anyhow::Error::from)
        .and_then(|bytes| read_export(&bytes).map_err(anyhow::Error::from));
    let archive = match parsed {
        Ok(archive) => archive,
        Err(error) => {
            eprintln!("error: {}: {error}", args.file.display());
            return Ok(ExitCode::from(1));
        }
    };
    let statuses = archive.check_signatures(&keys);
    let out = InspectJson {
        start_timestamp: archive.export.start_timestamp,
        end_timestamp: archive.export.end_timestamp,
        region: archive.export.region.clone(),
        batch_num: archive.export.batch_num,
        batch_size: archive.export.batch_size,
        keys: archive.export.keys.iter().map(KeyJson::from_key).collect(),
        revised_keys: archive
            .export
            .revised_keys
            .iter()
            .map(KeyJson::from_key)
            .collect(),
        signatures: archive
            .signatures
            .iter()
            .zip(statuses)
            .map(|(sig, valid)| SignatureJson {
                verification_key_id: sig.info.verification_key_id.clone(),
                verification_key_version: sig.info.verification_key_version.clone(),
                signature_algorithm: sig.info.signature_algorithm.clone(),
                valid,
            })
            .collect(),
    };
    emit_json(&out)?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Serialize)]
struct SignedJson {
    out: String,
    keys: usize,
    bytes: usize,
}

fn sign(args: SignArgs) -> anyhow::Result<ExitCode> {
    let text = std::fs::read_to_string(&args.keys)
        .with_context(|| format!("reading {}", args.keys.display()))?;
    let parsed: Vec<KeyJson> =
        serde_json::from_str(&text).with_context(|| format!("parsing {}", args.keys.display()))?;
    let keys = parsed
        .iter()
        .enumerate()
        .map(|(i, k)| k.to_key(i))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let pem = std::fs::read_to_string(&args.private_key)
        .with_context(|| format!("reading {}", args.private_key.display()))?;
    let signer = ExportSigner::from_pem(
        &pem,
        SignatureInfo::ecdsa_p256(args.key_id, args.key_version),
    )?;
    let export = Export {
        start_timestamp: args.start,
        end_timestamp: args.end,
        region: args.region,
        batch_num: args.batch_num,
        batch_size: args.batch_size,
        signature_infos: Vec::new(),
        keys,
        revised_keys: Vec::new(),
    };
    let zip = export::write_archive(&export, std::slice::from_ref(&signer))?;
    std::fs::write(&args.out, &zip).with_context(|| format!("writing {}", args.out.display()))?;
    let summary = SignedJson {
        out: args.out.display().to_string(),
        keys: export.keys.len(),
        bytes: zip.len(),
    };
    emit_json(&summary)?;
    Ok(ExitCode::SUCCESS)
}

impl ExportCommand {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            Self::Inspect(args) => inspect(args),
            Self::Sign(args) => sign(args),
        }
    }
}

/// `mimamori match ...`: match sightings against export files.
#[derive(Debug, clap::Args)]
pub struct MatchArgs {
    /// Export zips (or bare export.bin files) with diagnosis keys.
    #[arg(long, value_name = "FILE.zip", num_args = 1.., required = true)]
    pub exports: Vec<PathBuf>,
    /// The device's sightings, JSON lines:
    /// {"time":UNIX_SECONDS,"rpi":"<32 hex>","aem":"<8 hex>","rssi":DBM}.
    #[arg(long, value_name = "FILE.jsonl")]
    pub sightings: PathBuf,
    /// Risk configuration: a preset (cocoa-v2, cocoa-v1, cwa) or a JSON file holding a
    /// `RiskConfig` ({"kind":"v2"|"v1"|"cwa", ...}); default cocoa-v2. (Not `--config`: that
    /// is the global server configuration file.)
    #[arg(long = "risk-config", value_name = "cocoa-v2|cocoa-v1|cwa|FILE.json")]
    pub risk_config: Option<PathBuf>,
    /// Receiver RSSI correction in dB, added to every measured RSSI.
    #[arg(
        long = "rssi-correction",
        value_name = "DB",
        default_value_t = 0,
        allow_negative_numbers = true
    )]
    pub rssi_correction: i16,
    /// Evaluation time, UNIX seconds (default: the latest sighting).
    #[arg(long, value_name = "UNIX")]
    pub now: Option<u64>,
}

#[derive(Deserialize)]
struct SightingJson {
    time: u64,
    rpi: String,
    aem: String,
    rssi: i16,
}

#[derive(Serialize)]
struct MatchJson<'a> {
    #[serde(flatten)]
    key: KeyJson,
    sightings: &'a [MatchedSighting],
}

#[derive(Serialize)]
struct MatchOutput<'a> {
    config: String,
    keys_checked: usize,
    sightings: usize,
    now: u64,
    matches: Vec<MatchJson<'a>>,
    exposure_windows: Vec<mimamori_crypto::matcher::ExposureWindow>,
    daily_summaries: &'a [mimamori_crypto::scoring::DailySummary],
    decision: Decision<'a>,
}

#[derive(Serialize)]
struct Decision<'a> {
    high_risk: bool,
    high_risk_dates: &'a [u64],
    #[serde(skip_serializing_if = "Option::is_none")]
    exposures: Option<&'a [mimamori_crypto::scoring::ExposureInformation]>,
    #[serde(skip_serializing_if = "Option::is_none")]
    exposure_summary: Option<&'a mimamori_crypto::scoring::ExposureSummary>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cwa: Option<&'a mimamori_crypto::scoring::CwaResult>,
}

fn load_sightings(path: &Path) -> anyhow::Result<Vec<Sighting>> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    text.lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty())
        .map(|(n, line)| {
            let context = || format!("{} line {}", path.display(), n + 1);
            let s: SightingJson = serde_json::from_str(line).with_context(context)?;
            Ok(Sighting {
                time: s.time,
                rpi: Rpi(hex::decode_array(&s.rpi).with_context(context)?),
                aem: Aem(hex::decode_array(&s.aem).with_context(context)?),
                rssi: s.rssi,
            })
        })
        .collect()
}

fn load_config(spec: Option<&Path>) -> anyhow::Result<(String, RiskConfig)> {
    let name = spec.map_or("cocoa-v2".to_owned(), |p| p.display().to_string());
    if let Some(preset) = RiskConfig::preset(&name) {
        return Ok((name, preset));
    }
    let text = std::fs::read_to_string(&name).with_context(|| {
        format!("--risk-config {name}: not a preset (cocoa-v2, cocoa-v1, cwa) nor a readable file")
    })?;
    let config = serde_json::from_str(&text).with_context(|| format!("parsing {name}"))?;
    Ok((name, config))
}

impl MatchArgs {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let (config_name, config) = load_config(self.risk_config.as_deref())?;
        let sightings = load_sightings(&self.sightings)?;
        let index = SightingIndex::new(&sightings, self.rssi_correction);
        let mut matches: Vec<KeyMatch> = Vec::new();
        let mut keys_checked = 0;
        for path in &self.exports {
            let bytes =
                std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let archive = read_export(&bytes).with_context(|| format!("{}", path.display()))?;
            keys_checked += archive.export.keys.len() + archive.export.revised_keys.len();
            matches.extend(index.match_export(&archive.export));
        }
        let matches = mimamori_crypto::matcher::dedupe_matches(matches);
        let windows = index.all_exposure_windows(&matches);
        let now = self
            .now
            .or_else(|| sightings.iter().map(|s| s.time).max())
            .unwrap_or(0);
        let assessment = config.assess(&matches, &windows, now);
        let v1 = assessment.exposure_summary.is_some();
        let output = MatchOutput {
            config: config_name,
            keys_checked,
            sightings: sightings.len(),
            now,
            matches: matches
                .iter()
                .map(|m| MatchJson {
                    key: KeyJson::from_key(&m.key),
                    sightings: &m.sightings,
                })
                .collect(),
            exposure_windows: windows,
            daily_summaries: &assessment.daily_summaries,
            decision: Decision {
                high_risk: assessment.high_risk,
                high_risk_dates: &assessment.high_risk_dates,
                exposures: v1.then_some(assessment.exposures.as_slice()),
                exposure_summary: assessment.exposure_summary.as_ref(),
                cwa: assessment.cwa.as_ref(),
            },
        };
        emit_json(&output)?;
        Ok(ExitCode::SUCCESS)
    }
}

/// `mimamori bench ...`: synthetic benchmarks.
#[derive(Debug, clap::Subcommand)]
pub enum BenchCommand {
    /// Matcher throughput on a synthetic workload (0.1 % of the keys really match).
    Match(BenchMatchArgs),
}

/// `mimamori bench match` flags.
#[derive(Debug, clap::Args)]
pub struct BenchMatchArgs {
    /// Number of diagnosis keys.
    #[arg(long, value_name = "N")]
    pub keys: usize,
    /// Number of sightings (at most 20,000 distinct RPIs).
    #[arg(long, value_name = "M")]
    pub sightings: usize,
    /// Days covered by keys and sightings.
    #[arg(long, default_value_t = 14)]
    pub days: u32,
    /// Seed of the generator.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

#[derive(Serialize)]
struct BenchJson {
    keys: usize,
    sightings: usize,
    matched: usize,
    seconds: f64,
    keys_per_second: f64,
}

impl BenchCommand {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let Self::Match(args) = self;
        if args.days == 0 || args.days > 10_000 {
            bail!("--days must be 1..=10000");
        }
        let workload = generate(&WorkloadSpec::new(
            args.keys,
            args.sightings,
            args.days,
            args.seed,
        ));
        // Timed: building the index and matching every key (not generating the workload).
        let started = Instant::now();
        let index = SightingIndex::new(&workload.sightings, 0);
        let matches = index.match_keys(&workload.keys);
        let seconds = started.elapsed().as_secs_f64();
        let out = BenchJson {
            keys: args.keys,
            sightings: args.sightings,
            matched: matches.len(),
            seconds: (seconds * 1e6).round() / 1e6,
            keys_per_second: (args.keys as f64 / seconds.max(1e-9)).round(),
        };
        emit_json(&out)?;
        Ok(ExitCode::SUCCESS)
    }
}
