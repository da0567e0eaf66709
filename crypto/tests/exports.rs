//! The real export files of shared/data/gaen-exports: parse, verify, re-encode; and the
//! writer's reproducibility and the reader's typed errors.
#![allow(clippy::unwrap_used)]

mod common;

use common::{export_file, hex_field, s, vectors};
use mimamori_crypto::error::ExportError;
use mimamori_crypto::export::{
    DiagnosisKey, Export, ExportSigner, SignatureInfo, VerificationKey, read_archive,
    write_archive, zip_members,
};
use mimamori_crypto::keys::Tek;

fn public_pem() -> VerificationKey {
    VerificationKey::from_text(std::str::from_utf8(&export_file("public.pem")).unwrap()).unwrap()
}

fn key_310() -> VerificationKey {
    VerificationKey::from_text(
        std::str::from_utf8(&export_file("internals-310-v1-public-key.txt")).unwrap(),
    )
    .unwrap()
}

fn signer(id: &str, version: &str) -> ExportSigner {
    ExportSigner::from_pem(
        std::str::from_utf8(&export_file("private.pem")).unwrap(),
        SignatureInfo::ecdsa_p256(id, version),
    )
    .unwrap()
}

fn check_keys(keys: &[DiagnosisKey], expected: &serde_json::Value) {
    for (key, want) in keys.iter().zip(expected.as_array().unwrap()) {
        assert_eq!(
            key.key_data.as_bytes().to_vec(),
            hex_field(want, "key_data")
        );
        assert_eq!(
            i64::from(key.transmission_risk_level),
            want["transmission_risk_level"].as_i64().unwrap()
        );
        assert_eq!(
            u64::from(key.rolling_start_interval_number),
            want["rolling_start_interval_number"].as_u64().unwrap()
        );
        assert_eq!(
            u64::from(key.rolling_period),
            want["rolling_period"].as_u64().unwrap_or(144)
        );
    }
}

fn check_header(export: &Export, header: &serde_json::Value) {
    assert_eq!(
        export.start_timestamp,
        header["start_timestamp"].as_u64().unwrap()
    );
    assert_eq!(
        export.end_timestamp,
        header["end_timestamp"].as_u64().unwrap()
    );
    assert_eq!(export.region, s(header, "region"));
    assert_eq!(
        i64::from(export.batch_num),
        header["batch_num"].as_i64().unwrap()
    );
    assert_eq!(
        i64::from(export.batch_size),
        header["batch_size"].as_i64().unwrap()
    );
}

fn sorted(keys: &[DiagnosisKey]) -> bool {
    keys.windows(2)
        .all(|w| w[0].key_data.as_bytes() <= w[1].key_data.as_bytes())
}

#[test]
fn server_example_parses_verifies_and_reencodes_byte_for_byte() {
    let fixture = &vectors()["export_fixture_server_example"];
    let archive = read_archive(&export_file("testExport-2-records-1-of-1.zip")).unwrap();
    assert_eq!(archive.export_bin, hex_field(fixture, "export_bin_hex"));
    let decoded = &fixture["decoded_export"];
    check_header(&archive.export, decoded);
    assert_eq!(archive.export.keys.len(), 2);
    check_keys(&archive.export.keys, &decoded["keys"]);
    let info = &decoded["signature_infos"][0];
    assert_eq!(
        archive.export.signature_infos,
        vec![SignatureInfo {
            verification_key_id: s(info, "verification_key_id").into(),
            verification_key_version: s(info, "verification_key_version").into(),
            signature_algorithm: s(info, "signature_algorithm").into(),
        }]
    );
    assert_eq!(archive.signatures.len(), 1);
    assert_eq!(
        archive.signatures[0].signature,
        hex_field(&fixture["decoded_signature_list"][0], "signature_hex")
    );

    // The signature verifies with public.pem over the whole export.bin ...
    let key = public_pem();
    assert_eq!(
        archive.check_signatures(std::slice::from_ref(&key)),
        vec![Some(true)]
    );
    archive.verify(std::slice::from_ref(&key)).unwrap();
    let scoped = key.clone().scoped("some_id", "1");
    archive.verify(std::slice::from_ref(&scoped)).unwrap();
    // ... not over the bytes after the header, and not with the 310 key.
    assert!(!key.verify(&archive.export_bin[16..], &archive.signatures[0].signature));
    assert_eq!(archive.check_signatures(&[key_310()]), vec![Some(false)]);
    assert!(matches!(
        archive.verify(&[key_310()]),
        Err(ExportError::BadSignature { .. })
    ));
    assert_eq!(
        archive.check_signatures(&[key.scoped("other", "1")]),
        vec![None]
    );

    // Our encoder reproduces export.bin exactly.
    assert_eq!(archive.export.to_export_bin(), archive.export_bin);
}

#[test]
fn internals_sample_zip_verifies_with_the_310_key() {
    let fixture = &vectors()["export_fixture_internals_sample_zip"];
    let archive = read_archive(&export_file("internals-sample_diagnosis_key_file.zip")).unwrap();
    assert_eq!(
        archive.export_bin.len() as u64,
        fixture["export_bin_len"].as_u64().unwrap()
    );
    assert_eq!(
        archive.export.keys.len() as u64,
        fixture["key_count"].as_u64().unwrap()
    );
    check_header(&archive.export, &fixture["header"]);
    check_keys(&archive.export.keys, &fixture["first_keys"]);
    assert!(
        archive
            .export
            .keys
            .iter()
            .all(|k| k.rolling_period == 144 && k.rolling_start_interval_number % 144 == 0)
    );
    assert!(sorted(&archive.export.keys));
    let key = key_310().scoped("310", "v1");
    archive.verify(std::slice::from_ref(&key)).unwrap();
    assert_eq!(archive.check_signatures(&[public_pem()]), vec![Some(false)]);
    assert_eq!(archive.export.to_export_bin(), archive.export_bin);
}

#[test]
fn bare_internals_export_bins_parse() {
    let v = vectors();
    for (file, fixture) in [
        (
            "internals-raw-export.bin",
            &v["export_fixture_internals_roundtrip"],
        ),
        (
            "internals-native-testdata-export.bin",
            &v["export_fixture_internals_native_testdata"],
        ),
    ] {
        let bytes = export_file(file);
        assert_eq!(
            bytes.len() as u64,
            fixture["export_bin_len"].as_u64().unwrap()
        );
        let export = Export::from_export_bin(&bytes).unwrap();
        assert_eq!(
            export.keys.len() as u64,
            fixture["key_count"].as_u64().unwrap(),
            "{file}"
        );
        check_header(&export, &fixture["header"]);
        if let Some(first) = fixture.get("first_keys") {
            check_keys(&export.keys, first);
        }
        assert!(sorted(&export.keys), "{file}");
        // Legacy SignatureInfo (only the reserved android_package field) decodes as empty.
        assert_eq!(export.signature_infos.len(), 1);
        assert!(export.keys.iter().any(|k| k.rolling_period < 144));
        assert!(
            export
                .keys
                .iter()
                .any(|k| k.rolling_start_interval_number % 144 != 0)
        );
    }
    let raw = Export::from_export_bin(&export_file("internals-raw-export.bin")).unwrap();
    let test_key = &v["export_fixture_internals_roundtrip"]["test_key"];
    let found = raw
        .keys
        .iter()
        .find(|k| k.key_data.as_bytes().to_vec() == hex_field(test_key, "key_data"))
        .unwrap();
    assert_eq!(found.rolling_period, 89);
    assert_eq!(found.rolling_start_interval_number, 2_646_801);
}

fn keys_json_export() -> Export {
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct KeysJson {
        temporary_exposure_keys: Vec<Entry>,
    }
    #[derive(serde::Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Entry {
        key: String,
        rolling_start_number: u32,
        rolling_period: u32,
        transmission_risk: i32,
    }
    use base64::Engine as _;
    let parsed: KeysJson = serde_json::from_slice(&export_file("keys.json")).unwrap();
    Export {
        start_timestamp: 1_590_159_600,
        end_timestamp: 1_590_246_000,
        region: "US".into(),
        batch_num: 1,
        batch_size: 1,
        signature_infos: vec![],
        keys: parsed
            .temporary_exposure_keys
            .into_iter()
            .rev() // the writer must sort them back
            .map(|e| {
                let mut k = DiagnosisKey::new(
                    Tek::from_slice(
                        &base64::engine::general_purpose::STANDARD
                            .decode(e.key)
                            .unwrap(),
                    )
                    .unwrap(),
                    e.rolling_start_number,
                );
                k.rolling_period = e.rolling_period;
                k.transmission_risk_level = e.transmission_risk;
                k
            })
            .collect(),
        revised_keys: vec![],
    }
}

#[test]
fn keys_json_reencodes_to_the_published_export_bin_and_signs_reproducibly() {
    let export = keys_json_export();
    let published = read_archive(&export_file("testExport-2-records-1-of-1.zip")).unwrap();
    let signer = signer("some_id", "1");
    let zip1 = write_archive(&export, std::slice::from_ref(&signer)).unwrap();
    let zip2 = write_archive(&export, std::slice::from_ref(&signer)).unwrap();
    assert_eq!(zip1, zip2, "signed zip must be byte-for-byte reproducible");
    let ours = read_archive(&zip1).unwrap();
    assert_eq!(
        ours.export_bin, published.export_bin,
        "same export.bin as the reference server"
    );
    ours.verify(&[public_pem()]).unwrap();
    ours.verify(&[signer.verification_key()]).unwrap();
    // RFC 6979: the same key and message always give the same signature, and ring verifies it.
    assert_eq!(signer.sign(&ours.export_bin), ours.signatures[0].signature);
}

#[test]
fn several_signatures_per_file() {
    let export = keys_json_export();
    let signers = [signer("310", "v1"), signer("440", "v2")];
    let zip = write_archive(&export, &signers).unwrap();
    let archive = read_archive(&zip).unwrap();
    assert_eq!(archive.export.signature_infos.len(), 2);
    assert_eq!(archive.signatures.len(), 2);
    let key = public_pem();
    assert_eq!(
        archive.check_signatures(std::slice::from_ref(&key)),
        vec![Some(true), Some(true)]
    );
    assert_eq!(
        archive.check_signatures(&[key.clone().scoped("440", "v2")]),
        vec![None, Some(true)]
    );
    archive.verify(&[key.scoped("440", "v2")]).unwrap();
    assert_eq!(archive.verify(&[]), Err(ExportError::NoMatchingSignature));
}

#[test]
fn typed_errors() {
    let good = read_archive(&export_file("testExport-2-records-1-of-1.zip")).unwrap();
    let sig = {
        let zip = export_file("testExport-2-records-1-of-1.zip");
        let mut archive = zip::ZipArchive::new(std::io::Cursor::new(zip)).unwrap();
        let mut out = Vec::new();
        std::io::Read::read_to_end(&mut archive.by_name("export.sig").unwrap(), &mut out).unwrap();
        out
    };
    // Wrong header (one byte changed), and the "trimmed" header mistake.
    let mut bad = good.export_bin.clone();
    bad[3] = b'e';
    assert_eq!(Export::from_export_bin(&bad), Err(ExportError::WrongHeader));
    assert_eq!(
        Export::from_export_bin(&good.export_bin[..10]),
        Err(ExportError::Truncated(10))
    );
    assert_eq!(
        Export::from_export_bin(&good.export_bin[16..]),
        Err(ExportError::WrongHeader)
    );
    // Truncated protobuf.
    let cut = &good.export_bin[..good.export_bin.len() - 5];
    assert!(matches!(
        Export::from_export_bin(cut),
        Err(ExportError::Protobuf { .. })
    ));
    // Missing members.
    let only_bin = {
        let options = zip::write::SimpleFileOptions::default();
        let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
        w.start_file("export.bin", options).unwrap();
        std::io::Write::write_all(&mut w, &good.export_bin).unwrap();
        w.finish().unwrap().into_inner()
    };
    assert_eq!(
        read_archive(&only_bin),
        Err(ExportError::MissingMember("export.sig"))
    );
    assert!(matches!(
        read_archive(b"not a zip"),
        Err(ExportError::Zip(_))
    ));
    // A tampered export.bin no longer verifies.
    let mut tampered = good.export_bin.clone();
    let last = tampered.len() - 1;
    tampered[last] ^= 1;
    let archive = read_archive(&zip_members(&tampered, &sig).unwrap()).unwrap();
    assert!(matches!(
        archive.verify(&[public_pem()]),
        Err(ExportError::BadSignature { .. })
    ));
    // Oversize export.bin (declared size above the limit) is refused before reading it all.
    let huge =
        vec![0u8; usize::try_from(mimamori_crypto::export::MAX_EXPORT_BIN_BYTES).unwrap() + 1];
    assert!(matches!(
        Export::from_export_bin(&huge),
        Err(ExportError::TooLarge { .. })
    ));
    // A key with 15 bytes.
    let mut export = good.export.clone();
    export.keys.truncate(1);
    let mut bin = export.to_export_bin();
    let pos = bin.windows(2).position(|w| w == [0x0a, 0x10]).unwrap();
    bin[pos + 1] = 0x0f;
    bin.remove(pos + 2);
    // Fix up the enclosing key message length (0x1b -> 0x1a).
    bin[pos - 1] -= 1;
    assert!(matches!(
        Export::from_export_bin(&bin),
        Err(ExportError::InvalidKey { index: 0, .. })
    ));
}
