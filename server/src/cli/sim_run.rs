//! `mimamori sim run SCENARIO.toml --out DIR`: simulates a scenario and drives the real
//! pipeline with it, in process (default) or against a running server (`--server URL`).
//!
//! **In process.** The real application (`Application::build_with_database`) runs on an
//! embedded SQLite file in a temporary directory, bound to a loopback port, with a manual
//! clock that follows the simulation. The simulator sets itself up like an operator would
//! (`admin init`, a prefecture, a health center, an admin and a device API key) and then
//! talks to it over HTTP exactly as health centers and apps do: file and accept the case,
//! issue a processing number, `/api/verify`, `/api/certificate`, `/v1/publish`. Exports are
//! built by the application's own exporter at each app check (the background worker is off so
//! that exports follow the simulated clock; `KeyServerService::export_now` also refreshes the
//! listing) and listed (`index.txt`) and downloaded over HTTP.
//!
//! **`--server URL`.** The same steps against a running `mimamori serve`. The server's clock
//! is real, so the scenario is shifted to end at the current UTC midnight (its keys are then
//! at most 14 days old) and every case registers "now"; the server's export worker builds the
//! files and the simulator waits for them (`--export-timeout`). Delays from test to
//! notification are therefore not meaningful in this mode. Credentials come from
//! `--admin-api-key` / `MIMAMORI_SIM_ADMIN_API_KEY` (a health center's admin API key),
//! `--device-api-key` / `MIMAMORI_SIM_DEVICE_API_KEY` and `--health-center-id` /
//! `MIMAMORI_SIM_HEALTH_CENTER_ID`; `--export-public-key` lets the simulator verify export
//! signatures.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use base64::Engine as _;
use mimamori_ble_sim::engine::{self, World};
use mimamori_ble_sim::pipeline::{self, Backend, BackendError, CaseFiling, Configs, MatchMode};
use mimamori_ble_sim::radio::{RadioModel, RadioParams};
use mimamori_ble_sim::report;
use mimamori_ble_sim::scenario::{DAY_SECONDS, Scenario, civil_date};
use mimamori_cases::CaseRegistry;
use mimamori_cases::model::OrgKind;
use mimamori_cases::store::ApiKeyKind;
use mimamori_crypto::export::DiagnosisKey;
use mimamori_crypto::scoring::RiskConfig;
use mimamori_key_server::export::public_key_pem;
use mimamori_key_server::store::{DatabaseKeyServerStore, KeyServerStore};
use mimamori_storage::ManualClock;
use serde_json::{Value, json};

use crate::config::Settings;
use crate::startup::{self, Application, ServerHandle};

/// `mimamori sim run` flags.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// The scenario (TOML; see `scenarios/` and the README).
    #[arg(value_name = "SCENARIO.toml")]
    pub scenario: PathBuf,
    /// Directory for report.json, CSV tables, SVG plots and the downloaded exports.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
    /// Overrides the scenario's seed.
    #[arg(long)]
    pub seed: Option<u64>,
    /// Radio model file (from `mimamori sim calibrate`); overrides the scenario's.
    #[arg(long, value_name = "FILE")]
    pub radio: Option<PathBuf>,
    /// Run against this server instead of in process (e.g. http://127.0.0.1:8080).
    #[arg(long, value_name = "URL")]
    pub server: Option<String>,
    /// Risk presets to evaluate (repeatable: cocoa-v1, cocoa-v2, cwa); default: the
    /// scenario's list.
    #[arg(long = "preset", value_name = "NAME")]
    pub presets: Vec<String>,
    /// Custom risk configuration, JSON of `RiskConfig` (repeatable).
    #[arg(long = "risk-config", value_name = "FILE")]
    pub risk_configs: Vec<PathBuf>,
    /// With --server: a health center's admin API key.
    #[arg(long, env = "MIMAMORI_SIM_ADMIN_API_KEY", hide_env_values = true)]
    pub admin_api_key: Option<String>,
    /// With --server: a device API key (the app's).
    #[arg(long, env = "MIMAMORI_SIM_DEVICE_API_KEY", hide_env_values = true)]
    pub device_api_key: Option<String>,
    /// With --server: the health center the cases are filed with.
    #[arg(long, env = "MIMAMORI_SIM_HEALTH_CENTER_ID")]
    pub health_center_id: Option<String>,
    /// With --server: PEM public key that signs exports (verified when given).
    #[arg(long, value_name = "FILE")]
    pub export_public_key: Option<PathBuf>,
    /// With --server: how long to wait for the server to export published keys.
    #[arg(long, default_value_t = 900, value_name = "SECONDS")]
    pub export_timeout: u64,
    /// Match every phone against every key instead of only the phones that heard the key's
    /// owner (same result, slower; a check of the shortcut).
    #[arg(long)]
    pub match_all: bool,
    /// No progress bar.
    #[arg(long)]
    pub quiet: bool,
}

/// What a finished run returns (for tests and the CLI summary).
#[derive(Debug)]
pub struct RunSummary {
    /// The evaluated report.
    pub report: report::Report,
    /// Wall-clock seconds per stage.
    pub timings: Vec<(String, f64)>,
}

impl RunArgs {
    /// Runs the command: prints a summary line per configuration.
    pub fn run(self) -> anyhow::Result<ExitCode> {
        let out = self.out.clone();
        let summary = self.execute()?;
        for c in &summary.report.configs {
            println!(
                "{:<10} notified {:>6}  precision {:.3}  recall {:.3}  F1 {:.3}  AUC {:.3}",
                c.name, c.notifications, c.precision, c.recall, c.f1, c.auc
            );
        }
        println!(
            "cases: {} infections, {} published; close contacts {}/{} app users; report in {}",
            summary.report.cases.infections,
            summary.report.cases.published,
            summary.report.close_contacts,
            summary.report.evaluated_people,
            out.display()
        );
        Ok(ExitCode::SUCCESS)
    }

    /// Runs the simulation, the pipeline and the evaluation, and writes the output files.
    ///
    /// # Errors
    /// Bad scenario or radio files, server failures, IO.
    pub fn execute(self) -> anyhow::Result<RunSummary> {
        let started = Instant::now();
        let mut timings = Vec::new();
        let mut scenario = Scenario::from_file(&self.scenario)?;
        if let Some(seed) = self.seed {
            scenario.seed = seed;
        }
        if self.server.is_some() {
            // The server's clock is real: end the horizon at today's UTC midnight.
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs());
            let horizon = u64::from(scenario.days + scenario.pipeline.follow_up_days);
            let latest = (now / DAY_SECONDS).saturating_sub(horizon) * DAY_SECONDS;
            let start = same_weekday_start(scenario.start_unix(), latest, horizon);
            scenario.start = format!("{}T00:00:00Z", civil_date(start));
        }
        let radio_file = self.radio.clone().or_else(|| scenario.radio.file.clone());
        let params = match &radio_file {
            Some(path) => RadioParams::from_toml_file(path)
                .map_err(|e| anyhow::anyhow!("radio model {}: {e}", path.display()))?,
            None => RadioParams::default(),
        };
        let configs = self.configs(&scenario)?;
        let progress = Progress::new(!self.quiet && std::io::stderr().is_terminal());
        let report_progress =
            |stage: &str, done: u64, total: u64| progress.update(stage, done, total);

        let world = World::new(scenario);
        let radio = RadioModel::new(params);
        let output = engine::run(&world, &radio, &report_progress);
        timings.push(("simulate".to_string(), started.elapsed().as_secs_f64()));
        let t = Instant::now();
        let keys = engine::key_store(&world, world.scenario.pipeline.follow_up_days);
        timings.push(("derive keys".to_string(), t.elapsed().as_secs_f64()));
        let t = Instant::now();
        let mode = if self.match_all {
            MatchMode::AllPhones
        } else {
            MatchMode::Candidates
        };
        let result = match &self.server {
            None => {
                let mut backend = InProcess::start(world.start_unix)?;
                let result = pipeline::run(
                    &world,
                    &output,
                    &keys,
                    &configs,
                    &mut backend,
                    mode,
                    &report_progress,
                );
                backend.stop();
                result?
            }
            Some(url) => {
                let mut backend = Remote::new(
                    url,
                    self.admin_api_key.clone(),
                    self.device_api_key.clone(),
                    self.health_center_id.clone(),
                    self.export_public_key.as_deref(),
                    Duration::from_secs(self.export_timeout),
                )?;
                pipeline::run(
                    &world,
                    &output,
                    &keys,
                    &configs,
                    &mut backend,
                    mode,
                    &report_progress,
                )?
            }
        };
        progress.finish();
        timings.push(("pipeline".to_string(), t.elapsed().as_secs_f64()));
        for (stage, seconds) in &result.stage_seconds {
            timings.push((format!("pipeline: {stage}"), *seconds));
        }
        let t = Instant::now();
        let evaluated = report::evaluate(&world, &output, &result);
        report::write(&self.out, &evaluated, &result, world.start_unix)
            .with_context(|| format!("writing the report to {}", self.out.display()))?;
        timings.push(("evaluate and write".to_string(), t.elapsed().as_secs_f64()));
        timings.push(("total".to_string(), started.elapsed().as_secs_f64()));
        let timing_json: serde_json::Map<String, Value> =
            timings.iter().map(|(k, v)| (k.clone(), json!(v))).collect();
        std::fs::write(
            self.out.join("timing.json"),
            serde_json::to_string_pretty(&timing_json)?,
        )?;
        Ok(RunSummary {
            report: evaluated.report,
            timings,
        })
    }

    fn configs(&self, scenario: &Scenario) -> anyhow::Result<Configs> {
        let mut configs = Vec::new();
        let presets = if self.presets.is_empty() {
            &scenario.evaluation.presets
        } else {
            &self.presets
        };
        for name in presets {
            let config = RiskConfig::preset(name).ok_or_else(|| {
                anyhow::anyhow!("unknown preset {name:?}; use cocoa-v1, cocoa-v2 or cwa")
            })?;
            configs.push((name.clone(), config));
        }
        for path in scenario.evaluation.custom.iter().chain(&self.risk_configs) {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading risk configuration {}", path.display()))?;
            let config: RiskConfig = serde_json::from_str(&text)
                .with_context(|| format!("risk configuration {}", path.display()))?;
            let name = path.file_stem().map_or_else(
                || "custom".to_string(),
                |s| s.to_string_lossy().into_owned(),
            );
            configs.push((name, config));
        }
        if configs.is_empty() {
            anyhow::bail!("no risk configuration to evaluate");
        }
        Ok(configs)
    }
}

/// A one-line progress bar on stderr (only on a terminal).
struct Progress {
    enabled: bool,
    last: std::sync::Mutex<(String, u64)>,
}

impl Progress {
    fn new(enabled: bool) -> Self {
        Progress {
            enabled,
            last: std::sync::Mutex::new((String::new(), u64::MAX)),
        }
    }

    fn update(&self, stage: &str, done: u64, total: u64) {
        if !self.enabled || total == 0 {
            return;
        }
        let percent = done * 100 / total;
        let Ok(mut last) = self.last.lock() else {
            return;
        };
        if last.0 == stage && last.1 == percent {
            return;
        }
        *last = (stage.to_string(), percent);
        let filled = (percent / 4) as usize;
        eprint!(
            "\r{stage:<16} [{}{}] {percent:>3}% ({done}/{total})",
            "#".repeat(filled),
            " ".repeat(25 - filled.min(25))
        );
    }

    fn finish(&self) {
        if self.enabled {
            eprintln!();
        }
    }
}

fn backend_error(step: &'static str) -> impl Fn(anyhow::Error) -> BackendError {
    move |e| BackendError::new(step, format!("{e:#}"))
}

/// The HTTP side shared by both backends: the calls health centers and apps make.
struct Http {
    base_url: String,
    client: reqwest::Client,
    admin_key: String,
    device_key: String,
    health_center_id: String,
}

impl Http {
    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        api_key: &str,
        body: Option<Value>,
    ) -> anyhow::Result<Value> {
        let mut request = self
            .client
            .request(method, format!("{}{path}", self.base_url))
            .header("X-API-Key", api_key);
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await?;
        let status = response.status();
        let text = response.text().await?;
        if !status.is_success() {
            // Error bodies carry a code and a message, never the submitted values.
            let detail: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
            anyhow::bail!(
                "HTTP {} {}",
                status.as_u16(),
                detail["code"].as_str().unwrap_or("")
            );
        }
        Ok(if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text)?
        })
    }

    fn notification(&self, case: &CaseFiling) -> Value {
        json!({
            "name": case.label,
            "vulnerableHousehold": false,
            "healthCenterId": self.health_center_id,
            "municipality": "Simulation",
            "resultDate": case.test_date,
            "diagnosisDate": case.test_date,
            "onsetDate": case.onset_date,
            "admitted": false,
            "icu": false,
            "ventilator": false,
            "ecmo": false,
            "outcome": "under treatment",
            "linkedToOtherCase": false,
            "reportDate": case.report_date,
            "postMortem": false,
            "symptomsAtDiagnosis": ["fever"],
            "diagnosisMethod": "PCR",
            "specimenType": "nasopharyngeal swab",
            "infectionRoute": "droplet",
            "infectionArea": "domestic",
            "infectionConfirmed": false
        })
    }

    async fn register_case(&self, case: &CaseFiling) -> anyhow::Result<String> {
        let body = self
            .call(
                reqwest::Method::POST,
                "/api/cases",
                &self.admin_key,
                Some(self.notification(case)),
            )
            .await?;
        let id = body["id"]
            .as_str()
            .context("no case id in the answer")?
            .to_string();
        if body["status"].as_str() != Some("accepted") {
            self.call(
                reqwest::Method::POST,
                &format!("/api/cases/{id}/status"),
                &self.admin_key,
                Some(json!({"status": "accepted"})),
            )
            .await?;
        }
        Ok(id)
    }

    async fn processing_number(&self, case_id: &str) -> anyhow::Result<String> {
        let body = self
            .call(
                reqwest::Method::POST,
                &format!("/api/cases/{case_id}/processing-number"),
                &self.admin_key,
                None,
            )
            .await?;
        Ok(body["code"]
            .as_str()
            .context("no processing number in the answer")?
            .to_string())
    }

    async fn verify(&self, code: &str) -> anyhow::Result<String> {
        let body = self
            .call(
                reqwest::Method::POST,
                "/api/verify",
                &self.device_key,
                Some(json!({"code": code})),
            )
            .await?;
        Ok(body["token"]
            .as_str()
            .context("no token in the answer")?
            .to_string())
    }

    async fn certificate(&self, token: &str, ekeyhmac: &str) -> anyhow::Result<String> {
        let body = self
            .call(
                reqwest::Method::POST,
                "/api/certificate",
                &self.device_key,
                Some(json!({"token": token, "ekeyhmac": ekeyhmac})),
            )
            .await?;
        Ok(body["certificate"]
            .as_str()
            .context("no certificate in the answer")?
            .to_string())
    }

    async fn publish(
        &self,
        keys: &[DiagnosisKey],
        certificate: &str,
        hmac_key: &[u8],
    ) -> anyhow::Result<()> {
        let b64 = base64::engine::general_purpose::STANDARD;
        let keys: Vec<Value> = keys
            .iter()
            .map(|k| {
                json!({
                    "key": b64.encode(k.key_data.as_bytes()),
                    "rollingStartNumber": k.rolling_start_interval_number,
                    "rollingPeriod": k.rolling_period,
                    "transmissionRisk": k.transmission_risk_level,
                })
            })
            .collect();
        let issuer = Settings::default().verification.certificate_issuer;
        let response = self
            .client
            .post(format!("{}/v1/publish", self.base_url))
            .json(&json!({
                "temporaryExposureKeys": keys,
                "healthAuthorityID": issuer,
                "verificationPayload": certificate,
                "hmacKey": b64.encode(hmac_key),
                "padding": "",
            }))
            .send()
            .await?;
        let status = response.status();
        let body: Value = response.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            anyhow::bail!(
                "HTTP {} {}",
                status.as_u16(),
                body["code"].as_str().unwrap_or("")
            );
        }
        Ok(())
    }

    async fn download(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let response = self
            .client
            .get(format!("{}/v1/exports/{name}", self.base_url))
            .send()
            .await?;
        if !response.status().is_success() {
            anyhow::bail!("HTTP {}", response.status().as_u16());
        }
        Ok(response.bytes().await?.to_vec())
    }

    async fn index(&self) -> anyhow::Result<Vec<String>> {
        let response = self
            .client
            .get(format!("{}/v1/exports/index.txt", self.base_url))
            .send()
            .await?;
        if !response.status().is_success() {
            anyhow::bail!("HTTP {}", response.status().as_u16());
        }
        Ok(response
            .text()
            .await?
            .lines()
            .filter(|l| !l.trim().is_empty())
            .map(str::to_string)
            .collect())
    }
}

/// The [`Backend`] steps both backends run the same way: one API call over `self.http`, run to
/// completion on `self.runtime`.
macro_rules! http_steps {
    () => {
        fn issue_processing_number(&mut self, case_id: &str) -> Result<String, BackendError> {
            self.runtime
                .block_on(self.http.processing_number(case_id))
                .map_err(backend_error("issue processing number"))
        }

        fn verify(&mut self, processing_number: &str) -> Result<String, BackendError> {
            self.runtime
                .block_on(self.http.verify(processing_number))
                .map_err(backend_error("verify"))
        }

        fn certificate(&mut self, token: &str, ekeyhmac: &str) -> Result<String, BackendError> {
            self.runtime
                .block_on(self.http.certificate(token, ekeyhmac))
                .map_err(backend_error("certificate"))
        }
    };
}

/// The real application in this process, on a temporary SQLite database, with a manual
/// clock.
struct InProcess {
    runtime: tokio::runtime::Runtime,
    http: Http,
    clock: ManualClock,
    key_server: crate::services::key_server::KeyServerService,
    store: Arc<DatabaseKeyServerStore>,
    handle: ServerHandle,
    _dir: tempfile::TempDir,
}

impl InProcess {
    fn start(start_unix: u64) -> anyhow::Result<Self> {
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()?;
        let clock = ManualClock::new(i64::try_from(start_unix)? * 1000);
        let mut settings = Settings {
            listen: "127.0.0.1:0".into(),
            data_dir: dir.path().to_path_buf(),
            ..Settings::default()
        };
        settings.http.workers = 2;
        settings.key_server.export.enabled = false;
        settings.key_server.export.canary = false;
        settings.key_server.export.directory = dir.path().join("exports");
        let shared: mimamori_storage::SharedClock = Arc::new(clock.clone());
        let (http, handle, store, key_server) = runtime.block_on(async {
            let database = startup::open_and_migrate(&settings).await?;
            // The operator's set-up, as `mimamori admin` does it.
            let registry = CaseRegistry::new(
                database.clone(),
                settings.cases.clone(),
                Arc::clone(&shared),
            );
            let map = |e: mimamori_cases::service::CaseError| anyhow::anyhow!("set-up: {e}");
            registry
                .init("Simulation", "sim-admin")
                .await
                .map_err(map)?;
            let prefecture = registry
                .create_organization(None, OrgKind::Prefecture, "Sim prefecture", None)
                .await
                .map_err(map)?;
            let health_center = registry
                .create_organization(
                    None,
                    OrgKind::HealthCenter,
                    "Sim health center",
                    Some(&prefecture.id),
                )
                .await
                .map_err(map)?;
            let (_, admin_key) = registry
                .create_api_key(None, &health_center.id, ApiKeyKind::Admin, "simulator")
                .await
                .map_err(map)?;
            let (_, device_key) = registry
                .create_api_key(None, &health_center.id, ApiKeyKind::Device, "simulated app")
                .await
                .map_err(map)?;
            let application = Application::build_with_database(
                settings.clone(),
                database.clone(),
                Arc::clone(&shared),
            )
            .await?;
            let base_url = format!("http://{}", application.address());
            let handle = application.handle();
            // The application's own key server: its exporter (on the manual clock) and the
            // listing that the HTTP handlers serve.
            let key_server = application.services().key_server().clone();
            tokio::spawn(application.run_until_stopped());
            let store = Arc::new(DatabaseKeyServerStore::new(database));
            let http = Http {
                base_url,
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .build()?,
                admin_key,
                device_key,
                health_center_id: health_center.id,
            };
            anyhow::Ok((http, handle, store, key_server))
        })?;
        Ok(InProcess {
            runtime,
            http,
            clock,
            key_server,
            store,
            handle,
            _dir: dir,
        })
    }

    fn stop(self) {
        let handle = self.handle.clone();
        self.runtime.block_on(handle.stop(true));
    }
}

impl Backend for InProcess {
    fn set_time(&mut self, unix_seconds: u64) -> Result<(), BackendError> {
        let ms = i64::try_from(unix_seconds)
            .map_err(|_| BackendError::new("set time", "out of range"))?
            * 1000;
        self.clock.set_ms(ms);
        Ok(())
    }

    fn register_case(&mut self, case: &CaseFiling) -> Result<String, BackendError> {
        self.runtime
            .block_on(self.http.register_case(case))
            .map_err(backend_error("register case"))
    }

    http_steps!();

    fn publish(
        &mut self,
        keys: &[DiagnosisKey],
        certificate: &str,
        hmac_key: &[u8],
    ) -> Result<(), BackendError> {
        self.runtime
            .block_on(self.http.publish(keys, certificate, hmac_key))
            .map_err(backend_error("publish"))
    }

    fn run_exports(&mut self) -> Result<(), BackendError> {
        self.runtime
            .block_on(self.key_server.export_now())
            .map(|_| ())
            .map_err(|e| BackendError::new("export", e.to_string()))
    }

    fn list_exports(&mut self) -> Result<Vec<String>, BackendError> {
        self.runtime
            .block_on(self.http.index())
            .map_err(backend_error("list exports"))
    }

    fn download_export(&mut self, name: &str) -> Result<Vec<u8>, BackendError> {
        self.runtime
            .block_on(self.http.download(name))
            .map_err(backend_error("download export"))
    }

    fn export_public_key(&mut self) -> Result<Option<String>, BackendError> {
        let keys = self
            .runtime
            .block_on(self.store.signing_keys())
            .map_err(|e| BackendError::new("export public key", e.to_string()))?;
        match keys.first() {
            Some(record) => public_key_pem(record)
                .map(Some)
                .map_err(|e| BackendError::new("export public key", e.to_string())),
            None => Ok(None),
        }
    }
}

/// A running `mimamori serve` over HTTP.
struct Remote {
    runtime: tokio::runtime::Runtime,
    http: Http,
    public_key: Option<String>,
    timeout: Duration,
    /// UNIX seconds of the last publish not yet covered by an export.
    published_at: Option<u64>,
}

/// The end (UNIX seconds) of an export file's window, from its name.
fn window_end(name: &str) -> Option<u64> {
    let file = name.rsplit('/').next()?;
    file.split('-').nth(1)?.parse().ok()
}

impl Remote {
    fn new(
        url: &str,
        admin_key: Option<String>,
        device_key: Option<String>,
        health_center_id: Option<String>,
        public_key: Option<&std::path::Path>,
        timeout: Duration,
    ) -> anyhow::Result<Self> {
        let need = |v: Option<String>, what: &str| {
            v.ok_or_else(|| anyhow::anyhow!("--server needs {what}"))
        };
        let public_key = match public_key {
            Some(path) => Some(
                std::fs::read_to_string(path)
                    .with_context(|| format!("reading {}", path.display()))?,
            ),
            None => None,
        };
        Ok(Remote {
            runtime: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()?,
            http: Http {
                base_url: url.trim_end_matches('/').to_string(),
                // Polling waits between requests: do not reuse connections the server may
                // have closed as idle in the meantime.
                client: reqwest::Client::builder()
                    .timeout(Duration::from_secs(60))
                    .pool_max_idle_per_host(0)
                    .build()?,
                admin_key: need(admin_key, "--admin-api-key (or MIMAMORI_SIM_ADMIN_API_KEY)")?,
                device_key: need(
                    device_key,
                    "--device-api-key (or MIMAMORI_SIM_DEVICE_API_KEY)",
                )?,
                health_center_id: need(
                    health_center_id,
                    "--health-center-id (or MIMAMORI_SIM_HEALTH_CENTER_ID)",
                )?,
            },
            public_key,
            timeout,
            published_at: None,
        })
    }
}

impl Backend for Remote {
    fn set_time(&mut self, _unix_seconds: u64) -> Result<(), BackendError> {
        Ok(())
    }

    fn register_case(&mut self, case: &CaseFiling) -> Result<String, BackendError> {
        // The server's "today": dates may not lie in its future.
        let today = civil_date(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        let clamp = |d: &str| {
            if d > today.as_str() {
                today.clone()
            } else {
                d.to_string()
            }
        };
        let case = CaseFiling {
            label: case.label.clone(),
            onset_date: clamp(&case.onset_date),
            test_date: clamp(&case.test_date),
            report_date: clamp(&case.report_date),
        };
        self.runtime
            .block_on(self.http.register_case(&case))
            .map_err(backend_error("register case"))
    }

    http_steps!();

    fn publish(
        &mut self,
        keys: &[DiagnosisKey],
        certificate: &str,
        hmac_key: &[u8],
    ) -> Result<(), BackendError> {
        self.runtime
            .block_on(self.http.publish(keys, certificate, hmac_key))
            .map_err(backend_error("publish"))?;
        self.published_at = Some(
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
        );
        Ok(())
    }

    fn run_exports(&mut self) -> Result<(), BackendError> {
        let Some(published_at) = self.published_at else {
            return Ok(());
        };
        // The server's worker exports closed windows; wait for a file whose window (its name
        // is `REGION/START-END-BATCH.zip`) ends after the last publish.
        let deadline = Instant::now() + self.timeout;
        loop {
            let files = self
                .runtime
                .block_on(self.http.index())
                .map_err(backend_error("list exports"))?;
            let covered = files
                .iter()
                .any(|f| window_end(f).is_some_and(|end| end > published_at));
            if covered {
                self.published_at = None;
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(BackendError::new(
                    "export",
                    "the server exported nothing new in time; shorten key_server.export.window_seconds or raise --export-timeout",
                ));
            }
            std::thread::sleep(Duration::from_secs(5));
        }
    }

    fn list_exports(&mut self) -> Result<Vec<String>, BackendError> {
        self.runtime
            .block_on(self.http.index())
            .map_err(backend_error("list exports"))
    }

    fn download_export(&mut self, name: &str) -> Result<Vec<u8>, BackendError> {
        self.runtime
            .block_on(self.http.download(name))
            .map_err(backend_error("download export"))
    }

    fn export_public_key(&mut self) -> Result<Option<String>, BackendError> {
        Ok(self.public_key.clone())
    }
}

/// The start of a scenario shifted to a real clock: the latest start no later than `latest`
/// that falls on the scenario's own weekday (a weekday office day stays a weekday), as long
/// as its keys stay within 14 days; otherwise `latest` itself.
fn same_weekday_start(original: u64, latest: u64, horizon_days: u64) -> u64 {
    const WEEK: i64 = 7 * DAY_SECONDS as i64;
    if horizon_days + 6 > 14 {
        return latest;
    }
    let (Ok(original), Ok(latest_signed)) = (i64::try_from(original), i64::try_from(latest)) else {
        return latest;
    };
    let weeks = (latest_signed - original).div_euclid(WEEK);
    u64::try_from(original + weeks * WEEK).unwrap_or(latest)
}

#[cfg(test)]
mod tests {
    #[test]
    fn server_runs_keep_the_scenarios_weekday() {
        // Scenario on Monday 2026-11-02; a server run on Wednesday 2026-12-02 with a 4-day
        // horizon: the latest Monday on or before Saturday 2026-11-28 is 2026-11-23.
        let day = super::DAY_SECONDS;
        let monday = 1_793_577_600; // 2026-11-02T00:00:00Z
        let latest = 1_795_824_000; // 2026-11-28T00:00:00Z
        let start = super::same_weekday_start(monday, latest, 4);
        assert_eq!(start, monday + 21 * day);
        assert_eq!(
            (start / day + 3) % 7,
            0,
            "a Monday (day 0 of 1970 was a Thursday)"
        );
        assert_eq!(super::same_weekday_start(monday, latest, 14), latest);
        assert_eq!(super::same_weekday_start(latest, latest, 4), latest);
    }
}
