//! Property tests (case counts capped to keep debug CI runs short).
#![allow(clippy::unwrap_used)]

use std::collections::HashSet;

use mimamori_crypto::export::{
    DiagnosisKey, Export, ExportSigner, ReportType, SignatureInfo, read_archive, write_archive,
};
use mimamori_crypto::interval::EnIntervalNumber;
use mimamori_crypto::keys::{Aem, Rpi, Tek};
use mimamori_crypto::matcher::{Sighting, SightingIndex};
use mimamori_crypto::metadata::{CalibrationConfidence, Metadata};
use mimamori_crypto::payload::Advertisement;
use mimamori_crypto::synthetic::{WorkloadSpec, generate};
use mimamori_crypto::tekmac;
use proptest::prelude::*;

fn private_pem() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../shared/data/gaen-exports/private.pem"
    ))
    .unwrap()
}

fn arb_key() -> impl Strategy<Value = DiagnosisKey> {
    (
        any::<[u8; 16]>(),
        0u32..3_000_000,
        1u32..=144,
        0i32..=8,
        0i32..=5,
        proptest::option::of(-14i32..=14),
    )
        .prop_map(|(bytes, start, period, trl, report, dso)| {
            let mut k = DiagnosisKey::new(Tek::from_bytes(bytes), start);
            k.rolling_period = period;
            k.transmission_risk_level = trl;
            k.report_type = ReportType::from_i32(report).unwrap();
            k.days_since_onset_of_symptoms = dso;
            k
        })
}

fn sort_keys(mut keys: Vec<DiagnosisKey>) -> Vec<DiagnosisKey> {
    keys.sort_by(|a, b| {
        a.key_data.as_bytes().cmp(b.key_data.as_bytes()).then(
            a.rolling_start_interval_number
                .cmp(&b.rolling_start_interval_number),
        )
    });
    keys
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn aem_round_trip(tek in any::<[u8; 16]>(), enin in any::<u32>(), meta in any::<[u8; 4]>()) {
        let tek = Tek::from_bytes(tek);
        let rpi = tek.rpik().rpi(EnIntervalNumber(enin));
        let aemk = tek.aemk();
        prop_assert_eq!(aemk.decrypt(&rpi, &aemk.encrypt(&rpi, meta)), meta);
    }

    #[test]
    fn metadata_round_trip(tx in any::<i8>(), conf in 0u8..4, minor in 0u8..2) {
        let m = Metadata { major: 1, minor, calibration_confidence: CalibrationConfidence::from_bits(conf), tx_power: tx };
        prop_assert_eq!(Metadata::from_bytes(m.to_bytes()), m);
    }

    #[test]
    fn payload_round_trip(rpi in any::<[u8; 16]>(), aem in any::<[u8; 4]>(), flags in any::<u8>()) {
        let adv = Advertisement { flags: flags | 0x02, rpi: Rpi(rpi), aem: Aem(aem) };
        prop_assert_eq!(Advertisement::parse(&adv.to_bytes()).unwrap(), adv);
    }

    #[test]
    fn payload_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..40)) {
        let _ = Advertisement::parse(&data);
    }

    #[test]
    fn tekmac_is_order_independent(keys in proptest::collection::vec(arb_key(), 1..12), seed in any::<u64>(), secret in any::<[u8; 32]>()) {
        let mut shuffled = keys.clone();
        let mut rng = mimamori_crypto::synthetic::SplitMix64::new(seed);
        for i in (1..shuffled.len()).rev() {
            shuffled.swap(i, usize::try_from(rng.below(i as u64 + 1)).unwrap());
        }
        let mac = tekmac::tekmac(&secret, &keys);
        prop_assert_eq!(mac, tekmac::tekmac(&secret, &shuffled));
        prop_assert!(tekmac::verify(&secret, &shuffled, &mac));
        if keys.len() > 1 {
            prop_assert_ne!(mac, tekmac::tekmac(&secret, &keys[1..]));
        }
    }
}

proptest! {
    // Signing is the slow part in debug builds: fewer cases.
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn export_write_parse_round_trip(
        keys in proptest::collection::vec(arb_key(), 0..40),
        revised in proptest::collection::vec(arb_key(), 0..5),
        start in any::<u32>(),
        region in "[A-Z]{2,3}",
    ) {
        let export = Export {
            start_timestamp: u64::from(start),
            end_timestamp: u64::from(start) + 86_400,
            region,
            batch_num: 1,
            batch_size: 1,
            signature_infos: vec![],
            keys: keys.clone(),
            revised_keys: revised.clone(),
        };
        let signer = ExportSigner::from_pem(&private_pem(), SignatureInfo::ecdsa_p256("440", "v1")).unwrap();
        let zip = write_archive(&export, std::slice::from_ref(&signer)).unwrap();
        prop_assert_eq!(&zip, &write_archive(&export, std::slice::from_ref(&signer)).unwrap());
        let archive = read_archive(&zip).unwrap();
        archive.verify(&[signer.verification_key()]).unwrap();
        prop_assert_eq!(archive.export.keys.clone(), sort_keys(keys));
        prop_assert_eq!(archive.export.revised_keys.clone(), sort_keys(revised));
        prop_assert_eq!(archive.export.signature_infos.clone(), vec![signer.info.clone()]);
    }

    #[test]
    fn export_parser_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut bin = mimamori_crypto::export::EXPORT_HEADER.to_vec();
        bin.extend_from_slice(&data);
        let _ = Export::from_export_bin(&bin);
        let _ = read_archive(&data);
    }

    #[test]
    fn matcher_finds_exactly_the_planted_keys(seed in any::<u64>(), keys in 50usize..400, days in 1u32..15) {
        let mut spec = WorkloadSpec::new(keys, 600, days, seed);
        spec.matching_keys = 7.min(keys);
        spec.distinct_rpis = 150;
        let workload = generate(&spec);
        let index = SightingIndex::new(&workload.sightings, 0);
        let matches = index.match_keys(&workload.keys);
        let found: HashSet<[u8; 16]> = matches.iter().map(|m| *m.key.key_data.as_bytes()).collect();
        let planted: HashSet<[u8; 16]> = workload.planted.iter().copied().collect();
        prop_assert_eq!(found, planted);
        for m in &matches {
            prop_assert!(m.sightings.iter().all(|s| s.tx_power == -10 && s.attenuation >= 50));
        }
    }
}

/// Tolerance, replay, TX bounds, rolling period, report types, RSSI correction, duplicates.
#[test]
fn matcher_rules() {
    let tek = Tek::from_bytes([9; 16]);
    let start = 2_650_464u32;
    let offset = 30u32;
    let enin = EnIntervalNumber(start + offset);
    let rpi = tek.rpik().rpi(enin);
    let aem = tek.aemk().encrypt(
        &rpi,
        Metadata::v1_1(-20, CalibrationConfidence::High).to_bytes(),
    );
    let bad_aem = tek.aemk().encrypt(&rpi, Metadata::v1_0(30).to_bytes());
    let t = enin.to_unix_seconds();
    let sighting = |time: u64, aem: Aem, rssi: i16| Sighting {
        time,
        rpi,
        aem,
        rssi,
    };
    let key = || {
        let mut k = DiagnosisKey::new(tek.clone(), start);
        k.report_type = ReportType::ConfirmedTest;
        k
    };

    // ±2 h: 12 intervals before is in, 13 after is out.
    let early = t - 12 * 600;
    let index = SightingIndex::new(&[sighting(early, aem, -70)], 0);
    assert_eq!(index.match_keys(&[key()]).len(), 1);
    let index = SightingIndex::new(&[sighting(t - 12 * 600 - 1, aem, -70)], 0);
    assert!(index.match_keys(&[key()]).is_empty());
    let index = SightingIndex::new(&[sighting(t + 12 * 600 + 599, aem, -70)], 0);
    assert_eq!(index.match_keys(&[key()]).len(), 1);
    let index = SightingIndex::new(&[sighting(t + 13 * 600, aem, -70)], 0);
    assert!(index.match_keys(&[key()]).is_empty());

    // Replay: more than 20 min after the first sighting is discarded.
    let index = SightingIndex::new(
        &[
            sighting(t, aem, -70),
            sighting(t + 1200, aem, -70),
            sighting(t + 1201, aem, -70),
        ],
        0,
    );
    let m = index.match_keys(&[key()]);
    assert_eq!(m[0].sightings.len(), 2);

    // TX power outside [-50, 20] is rejected.
    let index = SightingIndex::new(&[sighting(t, bad_aem, -70)], 0);
    assert!(index.match_keys(&[key()]).is_empty());

    // Attenuation = TX - (RSSI + correction), clamped at 0; metadata is decrypted.
    let index = SightingIndex::new(&[sighting(t, aem, -70)], -5);
    let m = index.match_keys(&[key()]);
    let s = m[0].sightings[0];
    assert_eq!((s.rssi, s.tx_power, s.attenuation), (-75, -20, 55));
    assert_eq!(s.calibration_confidence, CalibrationConfidence::High);
    assert_eq!(s.rpi_interval, enin.0);
    let index = SightingIndex::new(&[sighting(t, aem, 0)], 0);
    assert_eq!(index.match_keys(&[key()])[0].sightings[0].attenuation, 0);

    // Only the first rolling_period RPIs count.
    let index = SightingIndex::new(&[sighting(t, aem, -70)], 0);
    let mut short = key();
    short.rolling_period = offset;
    assert!(index.match_keys(&[short]).is_empty());
    let mut just = key();
    just.rolling_period = offset + 1;
    assert_eq!(index.match_keys(&[just]).len(), 1);

    // RECURSIVE and REVOKED keys are skipped; duplicates match once.
    for rt in [ReportType::Recursive, ReportType::Revoked] {
        let mut k = key();
        k.report_type = rt;
        assert!(index.match_keys(&[k]).is_empty());
    }
    assert_eq!(index.match_keys(&[key(), key()]).len(), 1);

    // Revised keys win over the original; a revision to REVOKED removes the match.
    let mut export = Export {
        keys: vec![key()],
        ..Default::default()
    };
    let mut revised = key();
    revised.report_type = ReportType::SelfReport;
    export.revised_keys = vec![revised.clone()];
    let m = index.match_export(&export);
    assert_eq!(m.len(), 1);
    assert_eq!(m[0].key.report_type, ReportType::SelfReport);
    revised.report_type = ReportType::Revoked;
    export.revised_keys = vec![revised];
    assert!(index.match_export(&export).is_empty());

    // Windows: 30-minute limit and scan instances; secondsSinceLastScan from device scans.
    let rpi2 = tek.rpik().rpi(enin.plus(1));
    let aem2 = tek.aemk().encrypt(&rpi2, Metadata::v1_0(-20).to_bytes());
    let other = Sighting {
        time: t - 200,
        rpi: Rpi([7; 16]),
        aem: Aem([0; 4]),
        rssi: -90,
    };
    let sightings = vec![
        other,
        sighting(t, aem, -70),
        sighting(t + 10, aem, -74), // same scan (<= 25.5 s)
        sighting(t + 300, aem, -80),
        Sighting {
            time: t + 600,
            rpi: rpi2,
            aem: aem2,
            rssi: -70,
        },
        Sighting {
            time: t + 1800,
            rpi: rpi2,
            aem: aem2,
            rssi: -70,
        }, // opens a new window
    ];
    let index = SightingIndex::new(&sightings, 0);
    let m = index.match_keys(&[key()]);
    assert_eq!(m[0].sightings.len(), 5);
    let windows = index.exposure_windows(&m[0]);
    assert_eq!(windows.len(), 2);
    let w = &windows[0];
    assert_eq!(w.scan_instances.len(), 3);
    // typical = round((50 + 54) / 2) = 52, min 50; the previous device scan was 200 s earlier.
    assert_eq!(w.scan_instances[0].typical_attenuation_db, 52);
    assert_eq!(w.scan_instances[0].min_attenuation_db, 50);
    assert_eq!(
        u64::from(w.scan_instances[0].seconds_since_last_scan),
        60 * ((t / 60) - (t - 200) / 60).min(5)
    );
    assert_eq!(w.scan_instances[1].seconds_since_last_scan, 300);
    assert_eq!(w.calibration_confidence, CalibrationConfidence::High);
    assert_eq!(windows[1].scan_instances.len(), 1);
    assert_eq!(windows[1].date, t / 86_400 * 86_400);
}
