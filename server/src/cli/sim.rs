//! `mimamori sim ...`: the BLE simulator's measured-data commands (replay and calibration on the
//! DP-3T databases) and, with the `real-ble` feature, recording real advertisements.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context as _;
use mimamori_ble_sim::dp3t::{self, ReplayOptions};
use mimamori_ble_sim::eval::Preset;
use mimamori_ble_sim::radio::RadioParams;

/// `mimamori sim ...`.
#[derive(Debug, clap::Subcommand)]
pub enum SimCommand {
    /// Simulate a scenario (crowd, phones, radio, cases) and drive the real pipeline with it:
    /// cases, verification, key server, signed exports, matching and risk scoring; evaluate
    /// notifications against the ground truth.
    Run(super::sim_run::RunArgs),
    /// Replay DP-3T measurement databases through the matcher and the risk presets and evaluate
    /// them against the camera-measured distances (15-minute pair windows).
    Replay(ReplayArgs),
    /// Fit the radio model (reference level, exponent, shadowing) to DP-3T databases and write
    /// it as TOML for scenarios.
    Calibrate(CalibrateArgs),
    /// Record real exposure-notification advertisements (service 0xFD6F) as sightings JSON lines.
    #[cfg(feature = "real-ble")]
    Scan(ScanArgs),
}

/// `mimamori sim replay` flags.
#[derive(Debug, clap::Args)]
pub struct ReplayArgs {
    /// DP-3T scenario databases (`scenarioNN-*.sqlite`), opened read-only.
    #[arg(long = "dp3t", value_name = "FILE.sqlite", num_args = 1.., required = true)]
    pub dp3t: Vec<PathBuf>,
    /// Write report.json, windows.csv, results.csv and SVG plots (ROC, attenuation against
    /// distance, notified fraction by distance) here.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
    /// Risk configurations to evaluate: cocoa-v2, cocoa-v1, cwa or a RiskConfig JSON file
    /// (repeatable; default: the three presets).
    #[arg(long = "preset", value_name = "cocoa-v2|cocoa-v1|cwa|FILE.json")]
    pub presets: Vec<String>,
    /// Window length in minutes.
    #[arg(long, value_name = "MINUTES", default_value_t = 15)]
    pub window_minutes: u32,
    /// Print the report as JSON instead of a table.
    #[arg(long)]
    pub json: bool,
    /// Replace the measured RSSI by the radio model's draws at the camera distances (a check of
    /// the model on real geometry): `default` for the built-in parameters or a radio.toml.
    #[arg(long, value_name = "default|radio.toml")]
    pub simulate_radio: Option<String>,
    /// Seed of the simulated radio.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
}

/// `mimamori sim calibrate` flags.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// DP-3T scenario databases to fit (pooled; per-scenario fits are printed too).
    #[arg(long = "dp3t", value_name = "FILE.sqlite", num_args = 1.., required = true)]
    pub dp3t: Vec<PathBuf>,
    /// Where to write the fitted radio parameters (TOML).
    #[arg(long, value_name = "radio.toml")]
    pub out: Option<PathBuf>,
    /// Start from these parameters instead of the defaults (body blocking etc. are kept).
    #[arg(long, value_name = "radio.toml")]
    pub base: Option<PathBuf>,
    /// Also fit body blocking (hand and bag loss, outdoor orientation spread) from MIT LL static
    /// collect folders (anechoic / conference room / courtyard).
    #[arg(long, value_name = "DIR", num_args = 1..)]
    pub mitll: Vec<PathBuf>,
}

/// `mimamori sim scan` flags.
#[cfg(feature = "real-ble")]
#[derive(Debug, clap::Args)]
pub struct ScanArgs {
    /// How long to scan.
    #[arg(long, value_name = "N", default_value_t = 60)]
    pub seconds: u64,
    /// Output file (JSON lines in the `mimamori match --sightings` format).
    #[arg(long, value_name = "FILE.jsonl")]
    pub out: PathBuf,
}

fn load_all(paths: &[PathBuf]) -> anyhow::Result<Vec<dp3t::Scenario>> {
    paths
        .iter()
        .map(|p| dp3t::load(p).map_err(anyhow::Error::from))
        .collect()
}

impl SimCommand {
    /// Runs the command.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        match self {
            Self::Run(args) => args.run(),
            Self::Replay(args) => replay(args),
            Self::Calibrate(args) => calibrate(args),
            #[cfg(feature = "real-ble")]
            Self::Scan(args) => scan(args),
        }
    }
}

fn replay(args: ReplayArgs) -> anyhow::Result<ExitCode> {
    if args.window_minutes == 0 {
        anyhow::bail!("--window-minutes must be at least 1");
    }
    let presets = if args.presets.is_empty() {
        Preset::builtin()
    } else {
        args.presets
            .iter()
            .map(|s| Preset::from_spec(s))
            .collect::<Result<Vec<_>, _>>()?
    };
    let mut scenarios = load_all(&args.dp3t)?;
    if let Some(spec) = &args.simulate_radio {
        let params = if spec == "default" {
            RadioParams::default()
        } else {
            RadioParams::from_toml_file(std::path::Path::new(spec))?
        };
        let model = mimamori_ble_sim::radio::RadioModel::new(params);
        scenarios = dp3t::resimulate(&scenarios, &model, args.seed);
    }
    let options = ReplayOptions {
        window_minutes: args.window_minutes,
        presets,
        ..ReplayOptions::default()
    };
    let report = dp3t::replay(&scenarios, &options);
    if args.json {
        println!("{}", serde_json::to_string_pretty(&report)?);
    } else {
        print!("{}", report.table());
    }
    if let Some(dir) = args.out {
        let files = report.write_to_dir(&dir)?;
        eprintln!("wrote {} files to {}", files.len(), dir.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn calibrate(args: CalibrateArgs) -> anyhow::Result<ExitCode> {
    let base = match &args.base {
        Some(path) => RadioParams::from_toml_file(path)?,
        None => RadioParams::default(),
    };
    let scenarios = load_all(&args.dp3t)?;
    let report = dp3t::calibrate(&scenarios).context("calibration failed")?;
    println!(
        "{:<40} {:>8} {:>6} {:>7} {:>7} {:>7} {:>8}",
        "scenario", "A (dBm)", "n", "σ (dB)", "σ_pers", "σ_samp", "samples"
    );
    let rows = report
        .scenarios
        .iter()
        .map(|(n, f)| (n.as_str(), f))
        .chain(std::iter::once(("pooled", &report.pooled)));
    for (name, f) in rows {
        println!(
            "{:<40} {:>8.1} {:>6.2} {:>7.1} {:>7.1} {:>7.1} {:>8}",
            name,
            f.reference_rssi_dbm,
            f.path_loss_exponent,
            f.total_sigma_db,
            f.shadowing_sigma_db,
            f.sample_noise_sigma_db,
            f.samples
        );
    }
    if let Some(table) = report.table_loss_db {
        println!("table carriage (office scenario vs pooled at 2 m, per phone): {table:+.1} dB");
    }
    let mut params = report.apply_to(&base);
    if !args.mitll.is_empty() {
        let folders: Vec<&std::path::Path> = args.mitll.iter().map(PathBuf::as_path).collect();
        let body = mimamori_ble_sim::mitll::fit(&mimamori_ble_sim::mitll::load(&folders)?)?;
        println!(
            "body blocking (MIT LL): hand {:+.1} dB, bag {:+.1} dB vs pocket; rotation spread {}; \
             extra outdoor orientation width {:.1} dB",
            body.hand_loss_db,
            body.bag_loss_db,
            body.rotation_spread_db
                .iter()
                .map(|(e, s)| format!("{e:?} {s:.1} dB"))
                .collect::<Vec<_>>()
                .join(", "),
            body.outdoor_extra_orientation_db
        );
        params = body.apply_to(&params);
    }
    params.validate()?;
    if let Some(out) = args.out {
        let text = format!(
            "# Radio parameters fitted by `mimamori sim calibrate` on {} DP-3T scenario file(s);\n\
             # path loss, shadowing and noise from the pooled fit, the rest from the base parameters.\n{}",
            args.dp3t.len(),
            params.to_toml()
        );
        std::fs::write(&out, text).with_context(|| format!("cannot write {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(feature = "real-ble")]
fn scan(args: ScanArgs) -> anyhow::Result<ExitCode> {
    let sightings =
        mimamori_ble_sim::scan::scan_blocking(std::time::Duration::from_secs(args.seconds))?;
    let mut text = String::new();
    for s in &sightings {
        text.push_str(&s.to_json_line());
        text.push('\n');
    }
    std::fs::write(&args.out, text)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "recorded {} exposure-notification advertisements to {}",
        sightings.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
