//! The export worker: closed windows → padded, signed, self-verified zip files in the export
//! directory, listed only after they verify; retention; signing-key management.
//!
//! Layout of the export directory (what a CDN serves):
//! `index.txt` is served from the database listing; files are `REGION/START-END-BATCH.zip`;
//! `manifest.jsonl` is the append-only record of every file ever listed (SHA-256, size, keys).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use base64::Engine as _;
use mimamori_crypto::export::{
    ExportSigner, SignatureInfo, VerificationKey, read_archive, write_archive,
};
use mimamori_storage::{SharedClock, StorageError};
use ring::rand::SystemRandom;
use ring::signature::{ECDSA_P256_SHA256_ASN1_SIGNING, EcdsaKeyPair, KeyPair};

use crate::blobs::{BlobError, BlobStore};
use crate::config::{Config, ExportStorage};
use crate::metrics::KeyServerMetrics;
use crate::model::export_plan::{FilePolicy, plan_window};
use crate::store::{ExportFileRecord, KeyServerStore, SigningKeyRecord};

/// Why an export run failed.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The database failed.
    #[error("storage: {0}")]
    Storage(#[from] StorageError),
    /// The export directory could not be written.
    #[error("export directory {path}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// No signing key is active.
    #[error("no active export-signing key; run `mimamori keys export generate`")]
    NoSigningKey,
    /// A stored signing key does not parse.
    #[error("signing key {key_id}/{key_version} is unusable: {reason}")]
    BadSigningKey {
        /// Key id.
        key_id: String,
        /// Version.
        key_version: String,
        /// Why.
        reason: String,
    },
    /// Building or self-verifying a file failed; nothing was listed.
    #[error("export file for {region} {start}-{end} failed its self-check: {reason}")]
    SelfCheck {
        /// Region.
        region: String,
        /// Window start.
        start: u64,
        /// Window end.
        end: u64,
        /// What failed.
        reason: String,
    },
    /// The random number generator failed.
    #[error("random number generator failed")]
    Random,
    /// The export file store failed.
    #[error("{0}")]
    Blob(#[from] BlobError),
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ExportError + '_ {
    move |source| ExportError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// What one run did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExportRunReport {
    /// Windows exported.
    pub windows: usize,
    /// Files written and listed.
    pub files: Vec<ExportFileRecord>,
    /// Real keys exported.
    pub real_keys: usize,
}

/// A signing key ready to sign, with its public half.
pub struct ActiveSigner {
    /// The signer.
    pub signer: ExportSigner,
    /// The matching verification key (scoped to id and version).
    pub verification_key: VerificationKey,
}

/// Wraps DER in PEM armour.
fn pem(label: &str, der: &[u8]) -> String {
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in body.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

/// The SubjectPublicKeyInfo PEM of a signing key, as apps and `export inspect` take it.
pub fn public_key_pem(record: &SigningKeyRecord) -> Result<String, ExportError> {
    let rng = SystemRandom::new();
    let pair =
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &record.private_pkcs8, &rng)
            .map_err(|e| ExportError::BadSigningKey {
                key_id: record.key_id.clone(),
                key_version: record.key_version.clone(),
                reason: e.to_string(),
            })?;
    let prefix: [u8; 26] = [
        0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08,
        0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
    ];
    let mut spki = prefix.to_vec();
    spki.extend_from_slice(pair.public_key().as_ref());
    Ok(pem("PUBLIC KEY", &spki))
}

/// Turns a stored key into a signer and its verification key.
pub fn active_signer(record: &SigningKeyRecord) -> Result<ActiveSigner, ExportError> {
    let info = SignatureInfo::ecdsa_p256(&record.key_id, &record.key_version);
    let signer =
        ExportSigner::from_pem(&pem("PRIVATE KEY", &record.private_pkcs8), info).map_err(|e| {
            ExportError::BadSigningKey {
                key_id: record.key_id.clone(),
                key_version: record.key_version.clone(),
                reason: e.to_string(),
            }
        })?;
    let verification_key = signer.verification_key();
    Ok(ActiveSigner {
        signer,
        verification_key,
    })
}

/// Generates a new P-256 signing key record (PKCS#8) for `key_id`/`key_version`.
pub fn generate_signing_key(
    key_id: &str,
    key_version: &str,
    now_ms: i64,
    activates_at_ms: i64,
) -> Result<SigningKeyRecord, ExportError> {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_ASN1_SIGNING, &rng)
        .map_err(|_| ExportError::Random)?;
    Ok(SigningKeyRecord {
        key_id: key_id.into(),
        key_version: key_version.into(),
        private_pkcs8: pkcs8.as_ref().to_vec(),
        created_at_ms: now_ms,
        activates_at_ms,
        retires_at_ms: None,
    })
}

/// Runs export windows, retention and signing-key upkeep.
#[derive(Clone)]
pub struct Exporter {
    /// Storage.
    pub store: Arc<dyn KeyServerStore>,
    /// Configuration.
    pub config: Arc<Config>,
    /// Time.
    pub clock: SharedClock,
    /// Metrics.
    pub metrics: KeyServerMetrics,
    /// Where the files are stored ([`crate::blobs::from_config`]).
    pub blobs: Arc<dyn BlobStore>,
}

impl std::fmt::Debug for Exporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Exporter").finish_non_exhaustive()
    }
}

impl Exporter {
    /// The export directory (the files with the directory store; `manifest.jsonl` always).
    pub fn directory(&self) -> &Path {
        &self.config.export.directory
    }

    /// The bytes of a listed file, `None` when its blob is missing or is not the listed
    /// content (SHA-256 differs: logged, never served).
    pub async fn file_bytes(&self, file: &ExportFileRecord) -> Result<Option<Vec<u8>>, BlobError> {
        let key = self.blobs.key_for(&file.path, &file.sha256);
        let Some(bytes) = self.blobs.get(&key).await? else {
            return Ok(None);
        };
        if sha256_hex(&bytes) != file.sha256 {
            tracing::error!(path = %file.path, store = self.blobs.kind(), "a stored export file is not the listed content; not serving it");
            return Ok(None);
        }
        Ok(Some(bytes))
    }

    /// Makes sure a signing key exists; generates a development key (and says so) if none.
    pub async fn ensure_signing_key(&self) -> Result<(), ExportError> {
        if !self.store.signing_keys().await?.is_empty() {
            return Ok(());
        }
        let now = self.clock.now_ms();
        let record = generate_signing_key(&self.config.export.signing_key_id, "v1", now, now)?;
        if self.store.insert_signing_key(&record).await? {
            tracing::warn!(
                key_id = %record.key_id,
                key_version = %record.key_version,
                "no export-signing key was configured: generated a DEVELOPMENT key; apps need its public key (`mimamori keys export list`)"
            );
        }
        Ok(())
    }

    /// Signers for every key active now, newest first, at most ten (clients read ten), and
    /// their verification keys.
    pub async fn active_signers(
        &self,
    ) -> Result<(Vec<ExportSigner>, Vec<VerificationKey>), ExportError> {
        let now = self.clock.now_ms();
        let mut signers = Vec::new();
        let mut verification_keys = Vec::new();
        for record in self.store.signing_keys().await? {
            if record.is_active(now) && signers.len() < 10 {
                let active = active_signer(&record)?;
                signers.push(active.signer);
                verification_keys.push(active.verification_key);
            }
        }
        if signers.is_empty() {
            return Err(ExportError::NoSigningKey);
        }
        Ok((signers, verification_keys))
    }

    /// Exports every closed window not exported yet, for every region.
    pub async fn run_once(&self) -> Result<ExportRunReport, ExportError> {
        let now_s = self.clock.now_seconds();
        let window = i64::try_from(self.config.export.window_seconds).unwrap_or(3600);
        let min_age = i64::try_from(self.config.export.min_window_age_seconds).unwrap_or(0);
        let latest_end = (now_s - min_age).div_euclid(window) * window;
        let mut report = ExportRunReport::default();
        for region in &self.config.regions {
            let checkpoint = self.store.export_checkpoint(region).await?;
            // First run: export only the last closed window, but with every key available
            // before it, so nothing published earlier is skipped.
            let mut start = checkpoint.unwrap_or(latest_end - window);
            let mut first_unbounded = checkpoint.is_none();
            while start + window <= latest_end {
                let end = start + window;
                let from_ms = if first_unbounded {
                    i64::MIN
                } else {
                    start * 1000
                };
                let (files, real) = self.export_window(region, start, end, from_ms).await?;
                report.windows += 1;
                report.real_keys += real;
                report.files.extend(files);
                start = end;
                first_unbounded = false;
            }
        }
        self.metrics.last_export_success.set(now_s);
        self.metrics.seconds_since_export.set(0);
        Ok(report)
    }

    /// Builds, signs, self-verifies, writes and lists one window's files.
    async fn export_window(
        &self,
        region: &str,
        start: i64,
        end: i64,
        from_ms: i64,
    ) -> Result<(Vec<ExportFileRecord>, usize), ExportError> {
        let started = Instant::now();
        let keys = self
            .store
            .keys_available(region, from_ms, end * 1000)
            .await?;
        let revised = self
            .store
            .revised_keys(region, start * 1000, end * 1000)
            .await?;
        let (signers, verification_keys) = self.active_signers().await?;
        let policy = FilePolicy {
            min_keys: self.config.export.min_keys_per_file,
            padding_jitter: self.config.export.padding_jitter,
            max_keys: self.config.export.max_keys_per_file,
        };
        let region_owned = region.to_string();
        let now_ms = self.clock.now_ms();
        // CPU-heavy (protobuf, deflate, ECDSA, parse-back): off the async threads.
        let built = tokio::task::spawn_blocking(move || {
            build_window(
                &region_owned,
                start,
                end,
                keys,
                revised,
                policy,
                &signers,
                &verification_keys,
                now_ms,
            )
        })
        .await
        .map_err(|e| ExportError::SelfCheck {
            region: region.into(),
            start: start as u64,
            end: end as u64,
            reason: e.to_string(),
        })??;
        let (built, real_keys) = built;
        // Stored and read back intact before anything is listed.
        for file in &built {
            let key = self.blobs.key_for(&file.record.path, &file.record.sha256);
            self.blobs.put(&key, &file.bytes).await?;
            let stored = self.blobs.get(&key).await?;
            if stored.as_deref().map(sha256_hex).as_deref() != Some(file.record.sha256.as_str()) {
                return Err(ExportError::SelfCheck {
                    region: region.into(),
                    start: start as u64,
                    end: end as u64,
                    reason: format!(
                        "{} did not read back from the {} store",
                        file.record.path,
                        self.blobs.kind()
                    ),
                });
            }
        }
        let files: Vec<ExportFileRecord> = built.into_iter().map(|f| f.record).collect();
        let listed = self.store.record_export(region, end, &files).await?;
        if !listed {
            tracing::info!(
                region,
                start,
                end,
                "window already exported by another replica"
            );
            return Ok((Vec::new(), 0));
        }
        if self.config.export.storage == ExportStorage::Directory {
            // Beside the files; a shared store's record is the database's file table.
            append_manifest(&self.config.export.directory, &files)?;
        }
        for file in &files {
            self.metrics.keys_per_file.observe(file.key_count as f64);
            self.metrics.export_files.inc();
        }
        self.metrics
            .export_duration
            .observe(started.elapsed().as_secs_f64());
        tracing::info!(
            region,
            start,
            end,
            files = files.len(),
            seconds = started.elapsed().as_secs_f64(),
            "export window listed"
        );
        Ok((files, real_keys))
    }

    /// Deletes keys and unlists then removes export files older than the retention, and
    /// COCOA event logs older than theirs.
    pub async fn retention(&self) -> Result<(u64, usize), ExportError> {
        let now = self.clock.now_ms();
        let cutoff = now - i64::from(self.config.retention_days.max(10)) * 86_400_000;
        let event_log_cutoff =
            now - i64::from(self.config.cocoa.event_log_retention_days.max(1)) * 86_400_000;
        let event_logs = self.store.purge_event_logs(event_log_cutoff).await?;
        if event_logs > 0 {
            tracing::info!(event_logs, "retention removed expired COCOA event logs");
        }
        let keys = self.store.delete_keys_created_before(cutoff).await?;
        let files = self
            .store
            .unlist_exports_created_before(cutoff, now)
            .await?;
        for file in &files {
            let key = self.blobs.key_for(&file.path, &file.sha256);
            if let Err(e) = self.blobs.delete(&key).await {
                tracing::warn!(path = %file.path, error = %e, "could not delete an unlisted export file");
            }
        }
        if keys > 0 || !files.is_empty() {
            tracing::info!(keys, files = files.len(), "retention removed expired data");
        }
        Ok((keys, files.len()))
    }
}

/// The file name of one batch file.
pub fn file_path(region: &str, start: i64, end: i64, batch: i32) -> String {
    format!("{region}/{start}-{end}-{batch:05}.zip")
}

/// One built export file: what is listed and its bytes.
#[derive(Debug, Clone)]
pub struct BuiltFile {
    /// The listing record (path, SHA-256, size, keys).
    pub record: ExportFileRecord,
    /// The signed zip.
    pub bytes: Vec<u8>,
}

/// Plans, signs, self-verifies and writes the files of one window into `directory` (the CPU
/// and disk part of an export, without the database). For the export benchmark.
#[allow(clippy::too_many_arguments)]
pub fn build_and_write(
    directory: &Path,
    region: &str,
    start: i64,
    end: i64,
    keys: Vec<mimamori_crypto::export::DiagnosisKey>,
    revised: Vec<mimamori_crypto::export::DiagnosisKey>,
    policy: FilePolicy,
    signers: &[ExportSigner],
    verification_keys: &[VerificationKey],
    now_ms: i64,
) -> Result<(Vec<ExportFileRecord>, usize), ExportError> {
    let (built, real_keys) = build_window(
        region,
        start,
        end,
        keys,
        revised,
        policy,
        signers,
        verification_keys,
        now_ms,
    )?;
    let region_dir = directory.join(region);
    std::fs::create_dir_all(&region_dir).map_err(io_error(&region_dir))?;
    let mut files = Vec::with_capacity(built.len());
    for file in built {
        write_atomically(&directory.join(&file.record.path), &file.bytes)?;
        files.push(file.record);
    }
    Ok((files, real_keys))
}

fn sha256_hex(bytes: &[u8]) -> String {
    mimamori_crypto::hex::encode(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// Plans, signs and self-verifies the files of one window (CPU only: no disk, no database).
#[allow(clippy::too_many_arguments)]
pub fn build_window(
    region: &str,
    start: i64,
    end: i64,
    keys: Vec<mimamori_crypto::export::DiagnosisKey>,
    revised: Vec<mimamori_crypto::export::DiagnosisKey>,
    policy: FilePolicy,
    signers: &[ExportSigner],
    verification_keys: &[VerificationKey],
    now_ms: i64,
) -> Result<(Vec<BuiltFile>, usize), ExportError> {
    let self_check = |reason: String| ExportError::SelfCheck {
        region: region.into(),
        start: start as u64,
        end: end as u64,
        reason,
    };
    let plan = plan_window(
        region,
        start as u64,
        end as u64,
        keys,
        revised,
        policy,
        &SystemRandom::new(),
    )
    .map_err(|_| ExportError::Random)?;
    let mut files = Vec::with_capacity(plan.exports.len());
    for (index, export) in plan.exports.iter().enumerate() {
        let zip = write_archive(export, signers).map_err(|e| self_check(e.to_string()))?;
        // Self-check: parse back, verify every signature, compare the content.
        let archive = read_archive(&zip).map_err(|e| self_check(e.to_string()))?;
        archive
            .verify(verification_keys)
            .map_err(|e| self_check(e.to_string()))?;
        if archive
            .check_signatures(verification_keys)
            .iter()
            .any(|s| *s != Some(true))
        {
            return Err(self_check("a signature does not verify".into()));
        }
        if archive.export.keys.len() != export.keys.len()
            || archive.export.revised_keys.len() != export.revised_keys.len()
            || archive.export.region != region
            || archive.export.start_timestamp != export.start_timestamp
            || archive.export.end_timestamp != export.end_timestamp
        {
            return Err(self_check(
                "parsed content differs from what was written".into(),
            ));
        }
        let end_s = i64::try_from(export.end_timestamp).unwrap_or(end);
        // As the reference server names files: the window's real end and the file number.
        let relative = file_path(region, start, end, i32::try_from(index + 1).unwrap_or(1));
        let record = ExportFileRecord {
            region: region.into(),
            start_s: start,
            end_s,
            batch_num: export.batch_num,
            batch_size: export.batch_size,
            path: relative,
            sha256: sha256_hex(&zip),
            size_bytes: i64::try_from(zip.len()).unwrap_or(i64::MAX),
            key_count: i64::try_from(export.keys.len()).unwrap_or(i64::MAX),
            created_at_ms: now_ms,
        };
        files.push(BuiltFile { record, bytes: zip });
    }
    Ok((files, plan.real_keys))
}

/// Writes `bytes` to a temporary file beside `path`, syncs it, and renames it into place.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let temporary = path.with_extension("zip.tmp");
    let mut file = std::fs::File::create(&temporary).map_err(io_error(&temporary))?;
    file.write_all(bytes).map_err(io_error(&temporary))?;
    file.sync_all().map_err(io_error(&temporary))?;
    std::fs::rename(&temporary, path).map_err(io_error(path))?;
    Ok(())
}

/// Appends one JSON line per file to `manifest.jsonl` (never rewritten).
fn append_manifest(directory: &Path, files: &[ExportFileRecord]) -> Result<(), ExportError> {
    let path = directory.join("manifest.jsonl");
    let mut manifest = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&path)
        .map_err(io_error(&path))?;
    for file in files {
        let line = serde_json::json!({
            "path": file.path,
            "region": file.region,
            "start_timestamp": file.start_s,
            "end_timestamp": file.end_s,
            "batch_num": file.batch_num,
            "batch_size": file.batch_size,
            "sha256": file.sha256,
            "size_bytes": file.size_bytes,
            "key_count": file.key_count,
            "created_at_ms": file.created_at_ms,
        });
        writeln!(manifest, "{line}").map_err(io_error(&path))?;
    }
    manifest.sync_all().map_err(io_error(&path))?;
    Ok(())
}
