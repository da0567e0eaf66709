//! Drift check between `proto/export.proto` and the hand-written prost structs of
//! `src/proto.rs`: every field of the .proto, set alone, must encode with the field number
//! and wire type the .proto gives it, and every struct field must appear in the .proto.
#![allow(clippy::unwrap_used)]

use mimamori_crypto::proto::{
    SignatureInfo, TekSignature, TekSignatureList, TemporaryExposureKey, TemporaryExposureKeyExport,
};
use prost::Message;

/// Encodes a message of type `message` with only `field` set.
fn encode_single(message: &str, field: &str) -> Vec<u8> {
    let key = TemporaryExposureKey::default();
    let info = SignatureInfo::default();
    let export = TemporaryExposureKeyExport::default();
    let sig = TekSignature::default();
    match (message, field) {
        ("TemporaryExposureKeyExport", "start_timestamp") => TemporaryExposureKeyExport {
            start_timestamp: Some(1),
            ..export
        }
        .encode_to_vec(),
        ("TemporaryExposureKeyExport", "end_timestamp") => TemporaryExposureKeyExport {
            end_timestamp: Some(1),
            ..export
        }
        .encode_to_vec(),
        ("TemporaryExposureKeyExport", "region") => TemporaryExposureKeyExport {
            region: Some("x".into()),
            ..export
        }
        .encode_to_vec(),
        ("TemporaryExposureKeyExport", "batch_num") => TemporaryExposureKeyExport {
            batch_num: Some(1),
            ..export
        }
        .encode_to_vec(),
        ("TemporaryExposureKeyExport", "batch_size") => TemporaryExposureKeyExport {
            batch_size: Some(1),
            ..export
        }
        .encode_to_vec(),
        ("TemporaryExposureKeyExport", "signature_infos") => TemporaryExposureKeyExport {
            signature_infos: vec![info],
            ..export
        }
        .encode_to_vec(),
        ("TemporaryExposureKeyExport", "keys") => TemporaryExposureKeyExport {
            keys: vec![key],
            ..export
        }
        .encode_to_vec(),
        ("TemporaryExposureKeyExport", "revised_keys") => TemporaryExposureKeyExport {
            revised_keys: vec![key],
            ..export
        }
        .encode_to_vec(),
        ("SignatureInfo", "verification_key_version") => SignatureInfo {
            verification_key_version: Some("v".into()),
            ..info
        }
        .encode_to_vec(),
        ("SignatureInfo", "verification_key_id") => SignatureInfo {
            verification_key_id: Some("i".into()),
            ..info
        }
        .encode_to_vec(),
        ("SignatureInfo", "signature_algorithm") => SignatureInfo {
            signature_algorithm: Some("a".into()),
            ..info
        }
        .encode_to_vec(),
        ("TemporaryExposureKey", "key_data") => TemporaryExposureKey {
            key_data: Some(vec![1]),
            ..key
        }
        .encode_to_vec(),
        ("TemporaryExposureKey", "transmission_risk_level") => TemporaryExposureKey {
            transmission_risk_level: Some(1),
            ..key
        }
        .encode_to_vec(),
        ("TemporaryExposureKey", "rolling_start_interval_number") => TemporaryExposureKey {
            rolling_start_interval_number: Some(1),
            ..key
        }
        .encode_to_vec(),
        ("TemporaryExposureKey", "rolling_period") => TemporaryExposureKey {
            rolling_period: Some(1),
            ..key
        }
        .encode_to_vec(),
        ("TemporaryExposureKey", "report_type") => TemporaryExposureKey {
            report_type: Some(1),
            ..key
        }
        .encode_to_vec(),
        ("TemporaryExposureKey", "days_since_onset_of_symptoms") => TemporaryExposureKey {
            days_since_onset_of_symptoms: Some(-1),
            ..key
        }
        .encode_to_vec(),
        ("TemporaryExposureKey", "variant_of_concern") => TemporaryExposureKey {
            variant_of_concern: Some(1),
            ..key
        }
        .encode_to_vec(),
        ("TEKSignatureList", "signatures") => TekSignatureList {
            signatures: vec![sig],
        }
        .encode_to_vec(),
        ("TEKSignature", "signature_info") => TekSignature {
            signature_info: Some(info),
            ..sig
        }
        .encode_to_vec(),
        ("TEKSignature", "batch_num") => TekSignature {
            batch_num: Some(1),
            ..sig
        }
        .encode_to_vec(),
        ("TEKSignature", "batch_size") => TekSignature {
            batch_size: Some(1),
            ..sig
        }
        .encode_to_vec(),
        ("TEKSignature", "signature") => TekSignature {
            signature: Some(vec![1]),
            ..sig
        }
        .encode_to_vec(),
        other => panic!("field {other:?} of export.proto has no Rust counterpart"),
    }
}

fn wire_type(proto_type: &str) -> u8 {
    match proto_type {
        "fixed64" => 1,
        "int32" | "sint32" | "ReportType" | "VariantOfConcern" => 0,
        _ => 2, // string, bytes, messages
    }
}

#[test]
fn structs_match_export_proto() {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/proto/export.proto"))
        .unwrap();
    let mut message = String::new();
    let mut checked = 0;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_prefix("message ") {
            message = rest.trim_end_matches(['{', ' ']).to_owned();
            continue;
        }
        let words: Vec<&str> = line.split_whitespace().collect();
        if !matches!(words.first(), Some(&"optional" | &"repeated")) {
            continue;
        }
        let (ty, name, number) = (words[1], words[2], words[4].trim_end_matches(';'));
        let number: u8 = number.parse().unwrap();
        let bytes = encode_single(&message, name);
        assert_eq!(bytes[0], (number << 3) | wire_type(ty), "{message}.{name}");
        if ty == "sint32" {
            // zigzag: -1 encodes as 1.
            assert_eq!(bytes[1], 1, "{message}.{name} must be zigzag-encoded");
        }
        checked += 1;
    }
    // 8 + 3 + 7 + 1 + 4 fields.
    assert_eq!(checked, 23);
}
