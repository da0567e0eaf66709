//! Export files: `export.bin` and `export.sig` in a zip (gaen-spec.md §5).
//!
//! * `export.bin` = the 16-byte header `"EK Export v1    "` + protobuf
//!   [`TemporaryExposureKeyExport`](crate::proto::TemporaryExposureKeyExport).
//! * `export.sig` = protobuf [`TekSignatureList`](crate::proto::TekSignatureList); each
//!   signature is ECDSA P-256 / SHA-256 over the **whole** `export.bin`, DER-encoded.
//!
//! Writing is byte-for-byte reproducible: keys are sorted by their bytes, the zip entries
//! have a fixed timestamp and permissions, and signatures use RFC 6979 deterministic nonces
//! (`p256`'s `ecdsa`). Verification uses `ring`.

use std::fmt;
use std::io::{Cursor, Read, Write};

use p256::ecdsa::signature::Signer as _;
use p256::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use prost::Message as _;

use crate::error::Error;
pub use crate::error::ExportError;
use crate::interval::TEK_ROLLING_PERIOD;
use crate::keys::Tek;
use crate::proto;

/// The 16-byte header of `export.bin`, space-padded.
pub const EXPORT_HEADER: &[u8; 16] = b"EK Export v1    ";
/// Name of the key file inside the archive.
pub const EXPORT_BIN_NAME: &str = "export.bin";
/// Name of the signature file inside the archive.
pub const EXPORT_SIG_NAME: &str = "export.sig";
/// OID of ECDSA with SHA-256, the only signature algorithm of the format.
pub const ECDSA_P256_SHA256_OID: &str = "1.2.840.10045.4.3.2";
/// Largest `export.bin` accepted when reading (a full day of a large country is ~25 MB).
pub const MAX_EXPORT_BIN_BYTES: u64 = 64 * 1024 * 1024;
/// Largest `export.sig` accepted when reading.
pub const MAX_EXPORT_SIG_BYTES: u64 = 64 * 1024;
/// Most signatures read from one file (clients read at most 10).
pub const MAX_SIGNATURES: usize = 10;

/// The report type of a diagnosis key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
pub enum ReportType {
    /// Not set.
    #[default]
    Unknown = 0,
    /// Confirmed by a test.
    ConfirmedTest = 1,
    /// Confirmed by a clinician.
    ConfirmedClinicalDiagnosis = 2,
    /// Self-reported.
    SelfReport = 3,
    /// Recursive (disabled by devices).
    Recursive = 4,
    /// Revoked: kept only to revoke an earlier report.
    Revoked = 5,
}

impl ReportType {
    /// Decodes the protobuf enum value.
    pub fn from_i32(value: i32) -> Option<Self> {
        Some(match value {
            0 => Self::Unknown,
            1 => Self::ConfirmedTest,
            2 => Self::ConfirmedClinicalDiagnosis,
            3 => Self::SelfReport,
            4 => Self::Recursive,
            5 => Self::Revoked,
            _ => return None,
        })
    }

    /// The protobuf enum value.
    pub fn as_i32(self) -> i32 {
        self as i32
    }
}

/// A published Temporary Exposure Key with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DiagnosisKey {
    /// The 16 key bytes.
    pub key_data: Tek,
    /// First ENIntervalNumber of validity.
    pub rolling_start_interval_number: u32,
    /// Number of intervals of validity, 1..=144.
    pub rolling_period: u32,
    /// Deprecated transmission risk level (0–8, 0 = unknown).
    pub transmission_risk_level: i32,
    /// Report type (Unknown when absent).
    pub report_type: ReportType,
    /// Days since onset of symptoms, when known.
    pub days_since_onset_of_symptoms: Option<i32>,
}

impl DiagnosisKey {
    /// A key with period 144, TRL 0, unknown report type and no onset.
    pub fn new(key_data: Tek, rolling_start_interval_number: u32) -> Self {
        Self {
            key_data,
            rolling_start_interval_number,
            rolling_period: TEK_ROLLING_PERIOD,
            transmission_risk_level: 0,
            report_type: ReportType::Unknown,
            days_since_onset_of_symptoms: None,
        }
    }

    fn to_proto(&self) -> proto::TemporaryExposureKey {
        proto::TemporaryExposureKey {
            key_data: Some(self.key_data.as_bytes().to_vec()),
            transmission_risk_level: Some(self.transmission_risk_level),
            // Writer conventions of the reference server: omit the start when 0 and the
            // period when 144.
            rolling_start_interval_number: (self.rolling_start_interval_number != 0)
                .then(|| i32::try_from(self.rolling_start_interval_number).unwrap_or(i32::MAX)),
            rolling_period: (self.rolling_period != TEK_ROLLING_PERIOD)
                .then(|| i32::try_from(self.rolling_period).unwrap_or(i32::MAX)),
            report_type: (self.report_type != ReportType::Unknown)
                .then(|| self.report_type.as_i32()),
            days_since_onset_of_symptoms: self.days_since_onset_of_symptoms,
            variant_of_concern: None,
        }
    }

    fn from_proto(index: usize, key: proto::TemporaryExposureKey) -> Result<Self, ExportError> {
        let invalid = |reason: String| ExportError::InvalidKey { index, reason };
        let data = key
            .key_data
            .ok_or_else(|| invalid("key_data is missing".into()))?;
        let key_data = Tek::from_slice(&data)
            .map_err(|_| invalid(format!("key_data is {} bytes, expected 16", data.len())))?;
        let start = key.rolling_start_interval_number.unwrap_or(0);
        let rolling_start_interval_number = u32::try_from(start)
            .map_err(|_| invalid(format!("negative rolling_start_interval_number {start}")))?;
        let period = key.rolling_period.unwrap_or(TEK_ROLLING_PERIOD as i32);
        let rolling_period = u32::try_from(period)
            .ok()
            .filter(|p| (1..=TEK_ROLLING_PERIOD).contains(p))
            .ok_or_else(|| invalid(format!("rolling_period {period} is not in 1..=144")))?;
        let report = key.report_type.unwrap_or(0);
        let report_type = ReportType::from_i32(report)
            .ok_or_else(|| invalid(format!("unknown report_type {report}")))?;
        Ok(Self {
            key_data,
            rolling_start_interval_number,
            rolling_period,
            transmission_risk_level: key.transmission_risk_level.unwrap_or(0),
            report_type,
            days_since_onset_of_symptoms: key.days_since_onset_of_symptoms,
        })
    }
}

/// Identifies the key that signed an export.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct SignatureInfo {
    /// Key id, e.g. "310".
    pub verification_key_id: String,
    /// Key version, e.g. "v1".
    pub verification_key_version: String,
    /// Algorithm OID ([`ECDSA_P256_SHA256_OID`]).
    pub signature_algorithm: String,
}

impl SignatureInfo {
    /// ECDSA P-256 / SHA-256 info for a key id and version.
    pub fn ecdsa_p256(key_id: impl Into<String>, key_version: impl Into<String>) -> Self {
        Self {
            verification_key_id: key_id.into(),
            verification_key_version: key_version.into(),
            signature_algorithm: ECDSA_P256_SHA256_OID.to_owned(),
        }
    }

    fn to_proto(&self) -> proto::SignatureInfo {
        proto::SignatureInfo {
            verification_key_version: Some(self.verification_key_version.clone()),
            verification_key_id: Some(self.verification_key_id.clone()),
            signature_algorithm: Some(self.signature_algorithm.clone()),
        }
    }

    fn from_proto(info: proto::SignatureInfo) -> Self {
        Self {
            verification_key_id: info.verification_key_id.unwrap_or_default(),
            verification_key_version: info.verification_key_version.unwrap_or_default(),
            signature_algorithm: info.signature_algorithm.unwrap_or_default(),
        }
    }
}

/// The decoded content of `export.bin`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Export {
    /// Start of the window, UTC seconds.
    pub start_timestamp: u64,
    /// End of the window, UTC seconds.
    pub end_timestamp: u64,
    /// Region.
    pub region: String,
    /// 1-based batch number.
    pub batch_num: i32,
    /// Number of files in the batch.
    pub batch_size: i32,
    /// Signature infos (set from the signers by [`write_archive`]).
    pub signature_infos: Vec<SignatureInfo>,
    /// Diagnosis keys.
    pub keys: Vec<DiagnosisKey>,
    /// Revised keys.
    pub revised_keys: Vec<DiagnosisKey>,
}

fn sorted_protos(keys: &[DiagnosisKey]) -> Vec<proto::TemporaryExposureKey> {
    let mut refs: Vec<&DiagnosisKey> = keys.iter().collect();
    refs.sort_by(|a, b| {
        a.key_data.as_bytes().cmp(b.key_data.as_bytes()).then(
            a.rolling_start_interval_number
                .cmp(&b.rolling_start_interval_number),
        )
    });
    refs.into_iter().map(DiagnosisKey::to_proto).collect()
}

impl Export {
    /// Encodes `export.bin`: header + protobuf, keys sorted by their bytes.
    pub fn to_export_bin(&self) -> Vec<u8> {
        let message = proto::TemporaryExposureKeyExport {
            start_timestamp: Some(self.start_timestamp),
            end_timestamp: Some(self.end_timestamp),
            region: Some(self.region.clone()),
            batch_num: Some(self.batch_num),
            batch_size: Some(self.batch_size),
            signature_infos: self
                .signature_infos
                .iter()
                .map(SignatureInfo::to_proto)
                .collect(),
            keys: sorted_protos(&self.keys),
            revised_keys: sorted_protos(&self.revised_keys),
        };
        let mut out = Vec::with_capacity(EXPORT_HEADER.len() + message.encoded_len());
        out.extend_from_slice(EXPORT_HEADER);
        message.encode_raw(&mut out);
        out
    }

    /// Decodes `export.bin`. The protobuf starts at byte 16; nothing is trimmed.
    ///
    /// # Errors
    /// [`ExportError::Truncated`], [`ExportError::WrongHeader`], [`ExportError::TooLarge`],
    /// [`ExportError::Protobuf`] or [`ExportError::InvalidKey`].
    pub fn from_export_bin(bytes: &[u8]) -> Result<Self, ExportError> {
        if bytes.len() as u64 > MAX_EXPORT_BIN_BYTES {
            return Err(ExportError::TooLarge {
                what: EXPORT_BIN_NAME,
                limit: MAX_EXPORT_BIN_BYTES,
            });
        }
        if bytes.len() < EXPORT_HEADER.len() {
            return Err(ExportError::Truncated(bytes.len()));
        }
        if &bytes[..EXPORT_HEADER.len()] != EXPORT_HEADER {
            return Err(ExportError::WrongHeader);
        }
        let message = proto::TemporaryExposureKeyExport::decode(&bytes[EXPORT_HEADER.len()..])
            .map_err(|e| ExportError::Protobuf {
                what: EXPORT_BIN_NAME,
                reason: e.to_string(),
            })?;
        let convert = |list: Vec<proto::TemporaryExposureKey>| {
            list.into_iter()
                .enumerate()
                .map(|(i, k)| DiagnosisKey::from_proto(i, k))
                .collect::<Result<Vec<_>, _>>()
        };
        Ok(Self {
            start_timestamp: message.start_timestamp.unwrap_or(0),
            end_timestamp: message.end_timestamp.unwrap_or(0),
            region: message.region.unwrap_or_default(),
            batch_num: message.batch_num.unwrap_or(1),
            batch_size: message.batch_size.unwrap_or(1),
            signature_infos: message
                .signature_infos
                .into_iter()
                .map(SignatureInfo::from_proto)
                .collect(),
            keys: convert(message.keys)?,
            revised_keys: convert(message.revised_keys)?,
        })
    }
}

/// A public key that verifies export signatures, optionally scoped to one key id/version.
#[derive(Clone, PartialEq, Eq)]
pub struct VerificationKey {
    /// When set, the key only fits signatures with this `verification_key_id`.
    pub key_id: Option<String>,
    /// When set, the key only fits signatures with this `verification_key_version`.
    pub key_version: Option<String>,
    /// Uncompressed SEC1 point (65 bytes).
    point: Vec<u8>,
}

impl fmt::Debug for VerificationKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VerificationKey")
            .field("key_id", &self.key_id)
            .field("key_version", &self.key_version)
            .field("point", &crate::hex::encode(&self.point))
            .finish()
    }
}

impl VerificationKey {
    /// Parses a DER SubjectPublicKeyInfo holding a P-256 key.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if it is not a P-256 SPKI.
    pub fn from_spki_der(der: &[u8]) -> Result<Self, Error> {
        let key = p256::PublicKey::from_public_key_der(der)
            .map_err(|e| Error::InvalidKey(format!("not a P-256 public key: {e}")))?;
        Ok(Self {
            key_id: None,
            key_version: None,
            point: key.to_sec1_bytes().into_vec(),
        })
    }

    /// Parses a PEM `PUBLIC KEY`, or a base64 DER SPKI on the first non-empty line that does
    /// not start with `#` (the format of `<KEY_ID>-<KEY_VERSION>,<base64 SPKI>` key lists).
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if nothing parses as a P-256 key.
    pub fn from_text(text: &str) -> Result<Self, Error> {
        if text.contains("-----BEGIN") {
            let key = p256::PublicKey::from_public_key_pem(text.trim())
                .map_err(|e| Error::InvalidKey(format!("not a P-256 PEM public key: {e}")))?;
            return Ok(Self {
                key_id: None,
                key_version: None,
                point: key.to_sec1_bytes().into_vec(),
            });
        }
        use base64::Engine as _;
        let line = text
            .lines()
            .map(str::trim)
            .find(|l| !l.is_empty() && !l.starts_with('#'))
            .ok_or_else(|| Error::InvalidKey("no key in text".into()))?;
        let der = base64::engine::general_purpose::STANDARD
            .decode(line)
            .map_err(|e| Error::InvalidKey(format!("invalid base64: {e}")))?;
        Self::from_spki_der(&der)
    }

    /// Restricts the key to signatures with this id and version.
    pub fn scoped(mut self, key_id: impl Into<String>, key_version: impl Into<String>) -> Self {
        self.key_id = Some(key_id.into());
        self.key_version = Some(key_version.into());
        self
    }

    /// Whether this key is a candidate for a signature described by `info`.
    pub fn fits(&self, info: &SignatureInfo) -> bool {
        self.key_id
            .as_ref()
            .is_none_or(|id| *id == info.verification_key_id)
            && self
                .key_version
                .as_ref()
                .is_none_or(|v| *v == info.verification_key_version)
    }

    /// Verifies a DER ECDSA P-256 / SHA-256 signature over `message` with `ring`.
    pub fn verify(&self, message: &[u8], der_signature: &[u8]) -> bool {
        ring::signature::UnparsedPublicKey::new(
            &ring::signature::ECDSA_P256_SHA256_ASN1,
            &self.point,
        )
        .verify(message, der_signature)
        .is_ok()
    }
}

/// A P-256 private key with the [`SignatureInfo`] it signs as.
pub struct ExportSigner {
    key: p256::ecdsa::SigningKey,
    /// Identifies this key in the export.
    pub info: SignatureInfo,
}

impl fmt::Debug for ExportSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ExportSigner")
            .field("key", &"[REDACTED]")
            .field("info", &self.info)
            .finish()
    }
}

impl ExportSigner {
    /// Parses a PEM private key: SEC1 `EC PRIVATE KEY` or PKCS#8 `PRIVATE KEY`.
    ///
    /// # Errors
    /// [`Error::InvalidKey`] if it is not a P-256 private key.
    pub fn from_pem(pem: &str, info: SignatureInfo) -> Result<Self, Error> {
        let pem = pem.trim();
        let secret = p256::SecretKey::from_sec1_pem(pem)
            .or_else(|_| p256::SecretKey::from_pkcs8_pem(pem))
            .map_err(|e| Error::InvalidKey(format!("not a P-256 private key: {e}")))?;
        Ok(Self {
            key: p256::ecdsa::SigningKey::from(secret),
            info,
        })
    }

    /// Signs `message` (the whole `export.bin`) with RFC 6979 deterministic nonces; DER.
    pub fn sign(&self, message: &[u8]) -> Vec<u8> {
        let signature: p256::ecdsa::DerSignature = self.key.sign(message);
        signature.as_bytes().to_vec()
    }

    /// The matching verification key, scoped to this signer's id and version.
    pub fn verification_key(&self) -> VerificationKey {
        let point = self.key.verifying_key().to_sec1_point(false);
        VerificationKey {
            key_id: Some(self.info.verification_key_id.clone()),
            key_version: Some(self.info.verification_key_version.clone()),
            point: point.as_bytes().to_vec(),
        }
    }
}

/// One entry of `export.sig`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportSignature {
    /// Which key made it.
    pub info: SignatureInfo,
    /// Batch number.
    pub batch_num: i32,
    /// Batch size.
    pub batch_size: i32,
    /// DER signature bytes.
    pub signature: Vec<u8>,
}

/// A parsed export archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExportArchive {
    /// The decoded `export.bin`.
    pub export: Export,
    /// The raw `export.bin` (what the signatures cover).
    pub export_bin: Vec<u8>,
    /// The signatures of `export.sig` (at most [`MAX_SIGNATURES`]).
    pub signatures: Vec<ExportSignature>,
}

impl ExportArchive {
    /// For each signature: `None` when no given key fits it, else whether a fitting key
    /// verifies it.
    pub fn check_signatures(&self, keys: &[VerificationKey]) -> Vec<Option<bool>> {
        self.signatures
            .iter()
            .map(|sig| {
                let mut fitting = keys.iter().filter(|k| k.fits(&sig.info)).peekable();
                fitting.peek()?;
                Some(fitting.any(|k| k.verify(&self.export_bin, &sig.signature)))
            })
            .collect()
    }

    /// Accepts the archive iff at least one signature fits a given key and every fitting
    /// signature verifies (devices ignore signatures for unknown keys).
    ///
    /// # Errors
    /// [`ExportError::NoMatchingSignature`] or [`ExportError::BadSignature`].
    pub fn verify(&self, keys: &[VerificationKey]) -> Result<(), ExportError> {
        let mut any = false;
        for (sig, status) in self.signatures.iter().zip(self.check_signatures(keys)) {
            match status {
                Some(true) => any = true,
                Some(false) => {
                    return Err(ExportError::BadSignature {
                        key_id: sig.info.verification_key_id.clone(),
                        key_version: sig.info.verification_key_version.clone(),
                    });
                }
                None => {}
            }
        }
        if any {
            Ok(())
        } else {
            Err(ExportError::NoMatchingSignature)
        }
    }
}

/// Encodes `export.sig` for an `export.bin` signed by each signer.
pub fn sign_export_bin(export: &Export, export_bin: &[u8], signers: &[ExportSigner]) -> Vec<u8> {
    proto::TekSignatureList {
        signatures: signers
            .iter()
            .map(|s| proto::TekSignature {
                signature_info: Some(s.info.to_proto()),
                batch_num: Some(export.batch_num),
                batch_size: Some(export.batch_size),
                signature: Some(s.sign(export_bin)),
            })
            .collect(),
    }
    .encode_to_vec()
}

/// Writes a signed export zip. `signature_infos` of the export are replaced by the signers'.
/// The output is byte-for-byte identical for the same input.
///
/// # Errors
/// [`ExportError::Zip`] if the archive cannot be written (only on allocation-level failures).
pub fn write_archive(export: &Export, signers: &[ExportSigner]) -> Result<Vec<u8>, ExportError> {
    let mut export = export.clone();
    export.signature_infos = signers.iter().map(|s| s.info.clone()).collect();
    let export_bin = export.to_export_bin();
    let export_sig = sign_export_bin(&export, &export_bin, signers);
    zip_members(&export_bin, &export_sig)
}

/// Puts `export.bin` and `export.sig` into a deterministic zip (deflate, 1980-01-01 00:00,
/// mode 0644).
///
/// # Errors
/// [`ExportError::Zip`] if the zip writer fails.
pub fn zip_members(export_bin: &[u8], export_sig: &[u8]) -> Result<Vec<u8>, ExportError> {
    let zip_err = |e: zip::result::ZipError| ExportError::Zip(e.to_string());
    let io_err = |e: std::io::Error| ExportError::Zip(e.to_string());
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(zip::DateTime::default())
        .unix_permissions(0o644);
    let mut writer = zip::ZipWriter::new(Cursor::new(Vec::new()));
    writer
        .start_file(EXPORT_BIN_NAME, options)
        .map_err(zip_err)?;
    writer.write_all(export_bin).map_err(io_err)?;
    writer
        .start_file(EXPORT_SIG_NAME, options)
        .map_err(zip_err)?;
    writer.write_all(export_sig).map_err(io_err)?;
    Ok(writer.finish().map_err(zip_err)?.into_inner())
}

fn read_member(
    archive: &mut zip::ZipArchive<Cursor<&[u8]>>,
    name: &'static str,
    limit: u64,
) -> Result<Vec<u8>, ExportError> {
    let file = match archive.by_name(name) {
        Ok(file) => file,
        Err(zip::result::ZipError::FileNotFound) => return Err(ExportError::MissingMember(name)),
        Err(e) => return Err(ExportError::Zip(e.to_string())),
    };
    if file.size() > limit {
        return Err(ExportError::TooLarge { what: name, limit });
    }
    let mut out = Vec::new();
    file.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| ExportError::Zip(format!("{name}: {e}")))?;
    if out.len() as u64 > limit {
        return Err(ExportError::TooLarge { what: name, limit });
    }
    Ok(out)
}

/// Decodes `export.sig`.
///
/// # Errors
/// [`ExportError::Protobuf`] if it does not decode.
pub fn decode_export_sig(bytes: &[u8]) -> Result<Vec<ExportSignature>, ExportError> {
    let list = proto::TekSignatureList::decode(bytes).map_err(|e| ExportError::Protobuf {
        what: EXPORT_SIG_NAME,
        reason: e.to_string(),
    })?;
    Ok(list
        .signatures
        .into_iter()
        .take(MAX_SIGNATURES)
        .map(|s| ExportSignature {
            info: SignatureInfo::from_proto(s.signature_info.unwrap_or_default()),
            batch_num: s.batch_num.unwrap_or(1),
            batch_size: s.batch_size.unwrap_or(1),
            signature: s.signature.unwrap_or_default(),
        })
        .collect())
}

/// Reads an export zip: both members must be present and parse. Signatures are not checked
/// here; call [`ExportArchive::verify`].
///
/// # Errors
/// Any [`ExportError`] describing the first problem.
pub fn read_archive(zip_bytes: &[u8]) -> Result<ExportArchive, ExportError> {
    let mut archive = zip::ZipArchive::new(Cursor::new(zip_bytes))
        .map_err(|e| ExportError::Zip(e.to_string()))?;
    let export_bin = read_member(&mut archive, EXPORT_BIN_NAME, MAX_EXPORT_BIN_BYTES)?;
    let export_sig = read_member(&mut archive, EXPORT_SIG_NAME, MAX_EXPORT_SIG_BYTES)?;
    let export = Export::from_export_bin(&export_bin)?;
    let signatures = decode_export_sig(&export_sig)?;
    Ok(ExportArchive {
        export,
        export_bin,
        signatures,
    })
}
