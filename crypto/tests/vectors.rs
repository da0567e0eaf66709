//! Known-answer tests: the published EN v1.2 vector (all 144 intervals, loaded from
//! shared/data/gaen-test-vectors.json) and the RFC 5869 HKDF-SHA256 test cases.
#![allow(clippy::unwrap_used)]

mod common;

use common::{hex_field, s, vectors};
use hkdf::Hkdf;
use mimamori_crypto::interval::EnIntervalNumber;
use mimamori_crypto::keys::{self, Aemk, Rpi, Tek};
use mimamori_crypto::metadata::Metadata;
use mimamori_crypto::payload::Advertisement;
use sha2::Sha256;

fn tek_of(v: &serde_json::Value) -> Tek {
    Tek::from_slice(&hex_field(v, "tek_hex")).unwrap()
}

#[test]
fn rpik_and_aemk_match_the_published_vector() {
    let v = &vectors()["crypto_test_vector_v1_2"];
    let tek = tek_of(v);
    assert_eq!(tek.rpik().as_bytes().to_vec(), hex_field(v, "rpik_hex"));
    assert_eq!(tek.aemk().as_bytes().to_vec(), hex_field(v, "aemk_hex"));
    // The derived PRK of the JSON, through the generic hkdf crate.
    let (prk, _) = Hkdf::<Sha256>::extract(None, tek.as_bytes());
    assert_eq!(
        prk.to_vec(),
        hex_field(&v["derived_helpers"], "hkdf_prk_hex")
    );
}

#[test]
fn all_144_rpis_and_aems_match() {
    let v = &vectors()["crypto_test_vector_v1_2"];
    let tek = tek_of(v);
    let start = EnIntervalNumber(
        u32::try_from(v["en_interval_number_of_generated_key"].as_u64().unwrap()).unwrap(),
    );
    assert_eq!(
        EnIntervalNumber::from_unix_seconds(v["key_generation_unix_seconds"].as_u64().unwrap()),
        start
    );
    let metadata: [u8; 4] = hex_field(v, "ble_metadata_hex").try_into().unwrap();
    assert_eq!(Metadata::from_bytes(metadata), Metadata::v1_0(8));
    let rpik = tek.rpik();
    let aemk = tek.aemk();
    let batch = rpik.rpis_for_day(start);
    let intervals = v["intervals"].as_array().unwrap();
    assert_eq!(intervals.len(), 144);
    for entry in intervals {
        let i = usize::try_from(entry["i"].as_u64().unwrap()).unwrap();
        let enin =
            EnIntervalNumber(u32::try_from(entry["en_interval_number"].as_u64().unwrap()).unwrap());
        assert_eq!(enin, start.plus(u32::try_from(i).unwrap()));
        assert_eq!(
            keys::padded_data(enin).to_vec(),
            hex_field(entry, "padded_data_hex"),
            "padded {i}"
        );
        let expected_rpi = hex_field(entry, "rpi_hex");
        assert_eq!(batch[i].as_bytes().to_vec(), expected_rpi, "batch RPI {i}");
        assert_eq!(
            rpik.rpi(enin).as_bytes().to_vec(),
            expected_rpi,
            "single RPI {i}"
        );
        let aem = aemk.encrypt(&batch[i], metadata);
        assert_eq!(
            aem.as_bytes().to_vec(),
            hex_field(entry, "aem_hex"),
            "AEM {i}"
        );
        assert_eq!(aemk.decrypt(&batch[i], &aem), metadata);
        let adv = Advertisement::new(batch[i], aem);
        assert_eq!(
            adv.service_data().to_vec(),
            hex_field(entry, "service_data_payload_hex")
        );
    }
    let example = hex_field(
        &v["derived_helpers"],
        "example_legacy_adv_data_interval0_hex",
    );
    assert_eq!(
        Advertisement::new(batch[0], aemk.encrypt(&batch[0], metadata))
            .to_bytes()
            .to_vec(),
        example
    );
}

#[test]
fn aem_round_trip_case() {
    let v = &vectors()["aem_roundtrip_test"];
    let tek = Tek::from_slice(&hex_field(v, "tek_hex")).unwrap();
    let rpi = Rpi(hex_field(v, "rpi_hex").try_into().unwrap());
    let metadata: [u8; 4] = hex_field(v, "metadata_hex").try_into().unwrap();
    let aemk: Aemk = tek.aemk();
    let aem = aemk.encrypt(&rpi, metadata);
    assert_ne!(aem.0, metadata);
    assert_eq!(aemk.decrypt(&rpi, &aem), metadata);
}

#[test]
fn unaligned_internals_key() {
    let v = &vectors()["export_fixture_internals_roundtrip"];
    let key = &v["test_key"];
    let tek = Tek::from_slice(&hex_field(key, "key_data")).unwrap();
    let derived = &v["derived"];
    assert_eq!(
        tek.rpik().as_bytes().to_vec(),
        hex_field(derived, "rpik_hex")
    );
    assert_eq!(
        tek.aemk().as_bytes().to_vec(),
        hex_field(derived, "aemk_hex")
    );
    let start = u32::try_from(key["rolling_start_interval_number"].as_u64().unwrap()).unwrap();
    assert_eq!(
        tek.rpik().rpi(EnIntervalNumber(start)).as_bytes().to_vec(),
        hex_field(derived, "rpi_at_enin_2646801_hex")
    );
    // Not aligned to 144, so the batch starts at the key's own start.
    assert_eq!(
        tek.rpik().rpis_for_day(EnIntervalNumber(start))[0],
        tek.rpik().rpi(EnIntervalNumber(start))
    );
}

#[test]
fn aem_keystream_helper() {
    let v = &vectors()["crypto_test_vector_v1_2"];
    let tek = tek_of(v);
    let rpi0 = Rpi(hex_field(&v["intervals"][0], "rpi_hex").try_into().unwrap());
    // AEM XOR metadata = first 4 bytes of AES-128(AEMK, RPI).
    let keystream = hex_field(&v["derived_helpers"], "aes_ecb_aemk_rpi0_keystream_hex");
    assert_eq!(
        tek.aemk().encrypt(&rpi0, [0; 4]).0.to_vec(),
        keystream[..4].to_vec()
    );
}

#[test]
fn constants_match_the_json() {
    let c = &vectors()["constants"];
    assert_eq!(hex::encode(keys::RPIK_INFO), s(c, "rpik_hkdf_info_hex"));
    assert_eq!(hex::encode(keys::AEMK_INFO), s(c, "aemk_hkdf_info_hex"));
    assert_eq!(
        hex::encode(keys::RPI_PADDING_PREFIX),
        s(c, "rpi_padding_prefix_hex")
    );
    assert_eq!(
        hex::encode(mimamori_crypto::export::EXPORT_HEADER),
        s(c, "export_bin_header_hex")
    );
    assert_eq!(
        mimamori_crypto::export::ECDSA_P256_SHA256_OID,
        s(c, "export_signature_algorithm_oid")
    );
    assert_eq!(
        c["en_interval_seconds"].as_u64().unwrap(),
        mimamori_crypto::interval::EN_INTERVAL_SECONDS
    );
}

fn rfc5869() -> serde_json::Value {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/data/rfc5869.json"
    ))
    .unwrap();
    serde_json::from_str(&text).unwrap()
}

#[test]
fn rfc5869_hkdf_sha256() {
    for case in rfc5869()["cases"].as_array().unwrap() {
        let name = s(case, "name");
        let ikm = hex_field(case, "ikm");
        let salt = hex_field(case, "salt");
        let info = hex_field(case, "info");
        let salt = (!salt.is_empty()).then_some(salt.as_slice());
        let (prk, hk) = Hkdf::<Sha256>::extract(salt, &ikm);
        assert_eq!(prk.to_vec(), hex_field(case, "prk"), "{name} PRK");
        let mut okm = vec![0u8; usize::try_from(case["l"].as_u64().unwrap()).unwrap()];
        hk.expand(&info, &mut okm).unwrap();
        assert_eq!(okm, hex_field(case, "okm"), "{name} OKM");
        // ring's HKDF agrees.
        let ring_salt = ring::hkdf::Salt::new(ring::hkdf::HKDF_SHA256, salt.unwrap_or(&[0u8; 32]));
        let mut ring_okm = vec![0u8; okm.len()];
        struct Len(usize);
        impl ring::hkdf::KeyType for Len {
            fn len(&self) -> usize {
                self.0
            }
        }
        ring_salt
            .extract(&ikm)
            .expand(&[&info], Len(okm.len()))
            .unwrap()
            .fill(&mut ring_okm)
            .unwrap();
        assert_eq!(ring_okm, okm, "{name} ring");
        // The EN fast path (NULL salt, L = 16) on the case with an empty (= zero) salt.
        if salt.is_none() {
            assert_eq!(
                keys::hkdf16(&ikm, &info).to_vec(),
                okm[..16].to_vec(),
                "{name} hkdf16"
            );
        }
    }
}
