//! Protobuf (proto2) messages of the export file format, written by hand with `prost`
//! derive attributes so that no `protoc` is needed at build time.
//!
//! Field numbers and types are those of google/exposure-notifications-server
//! `internal/pb/export/export.proto` (gaen-spec.md §5); the schema is reproduced in
//! `crypto/proto/export.proto`, and a test checks these structs against it.
//! Reserved fields (SignatureInfo 1–2, TemporaryExposureKey 7) are skipped on decode.

/// The content of `export.bin` after its 16-byte header.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TemporaryExposureKeyExport {
    /// Start of the time window covered, UTC seconds.
    #[prost(fixed64, optional, tag = "1")]
    pub start_timestamp: Option<u64>,
    /// End of the time window covered, UTC seconds.
    #[prost(fixed64, optional, tag = "2")]
    pub end_timestamp: Option<u64>,
    /// Region (e.g. an MCC or ISO code).
    #[prost(string, optional, tag = "3")]
    pub region: Option<String>,
    /// 1-based batch number.
    #[prost(int32, optional, tag = "4")]
    pub batch_num: Option<i32>,
    /// Number of files in the batch.
    #[prost(int32, optional, tag = "5")]
    pub batch_size: Option<i32>,
    /// Which keys signed the file.
    #[prost(message, repeated, tag = "6")]
    pub signature_infos: Vec<SignatureInfo>,
    /// The diagnosis keys.
    #[prost(message, repeated, tag = "7")]
    pub keys: Vec<TemporaryExposureKey>,
    /// Keys whose report type changed since an earlier file.
    #[prost(message, repeated, tag = "8")]
    pub revised_keys: Vec<TemporaryExposureKey>,
}

/// Identifies a signing key and algorithm.
#[derive(Clone, PartialEq, prost::Message)]
pub struct SignatureInfo {
    /// Key version, e.g. "v1".
    #[prost(string, optional, tag = "3")]
    pub verification_key_version: Option<String>,
    /// Key id, e.g. the MCC "310".
    #[prost(string, optional, tag = "4")]
    pub verification_key_id: Option<String>,
    /// ASN.1 OID of the algorithm, "1.2.840.10045.4.3.2" for ECDSA P-256 / SHA-256.
    #[prost(string, optional, tag = "5")]
    pub signature_algorithm: Option<String>,
}

/// One diagnosis key.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TemporaryExposureKey {
    /// The 16 key bytes.
    #[prost(bytes = "vec", optional, tag = "1")]
    pub key_data: Option<Vec<u8>>,
    /// Deprecated transmission risk level 0–8.
    #[prost(int32, optional, tag = "2")]
    pub transmission_risk_level: Option<i32>,
    /// First ENIntervalNumber of validity.
    #[prost(int32, optional, tag = "3")]
    pub rolling_start_interval_number: Option<i32>,
    /// Number of intervals (default 144 when absent).
    #[prost(int32, optional, tag = "4")]
    pub rolling_period: Option<i32>,
    /// Report type (enum ReportType).
    #[prost(int32, optional, tag = "5")]
    pub report_type: Option<i32>,
    /// Days since onset of symptoms (zigzag-encoded).
    #[prost(sint32, optional, tag = "6")]
    pub days_since_onset_of_symptoms: Option<i32>,
    /// Variant of concern (server proto only).
    #[prost(int32, optional, tag = "8")]
    pub variant_of_concern: Option<i32>,
}

/// The content of `export.sig`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TekSignatureList {
    /// One signature per signing key.
    #[prost(message, repeated, tag = "1")]
    pub signatures: Vec<TekSignature>,
}

/// One signature over `export.bin`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TekSignature {
    /// Which key made it.
    #[prost(message, optional, tag = "1")]
    pub signature_info: Option<SignatureInfo>,
    /// Batch number of the signed file.
    #[prost(int32, optional, tag = "2")]
    pub batch_num: Option<i32>,
    /// Batch size of the signed file.
    #[prost(int32, optional, tag = "3")]
    pub batch_size: Option<i32>,
    /// DER-encoded ECDSA signature.
    #[prost(bytes = "vec", optional, tag = "4")]
    pub signature: Option<Vec<u8>>,
}
