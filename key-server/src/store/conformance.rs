//! The conformance suite every [`KeyServerStore`] implementation must pass (run on SQLite
//! and PostgreSQL by the crate's tests).
#![allow(clippy::unwrap_used, missing_docs)]

use mimamori_crypto::export::{DiagnosisKey, ReportType};
use mimamori_crypto::keys::Tek;

use super::*;

const HOUR: i64 = 3_600_000;
const T0: i64 = 1_700_000_000_000 - 1_700_000_000_000 % HOUR;

fn key(byte: u8, report_type: ReportType) -> DiagnosisKey {
    DiagnosisKey {
        key_data: Tek::from_bytes([byte; 16]),
        rolling_start_interval_number: 2_833_200 + u32::from(byte) * 144,
        rolling_period: 144,
        transmission_risk_level: 2,
        report_type,
        days_since_onset_of_symptoms: Some(i32::from(byte) % 5 - 2),
    }
}

fn new_key(byte: u8, report_type: ReportType, available_at_ms: i64, cert: &str) -> NewKey {
    NewKey {
        region: "440".into(),
        key: key(byte, report_type),
        available_at_ms,
        certificate_id: Some(cert.into()),
        health_authority: Some("issuer".into()),
        traveler: false,
    }
}

/// Publishing, idempotency, windows, revision, revocation and retention of keys.
pub async fn keys(store: &dyn KeyServerStore) {
    let batch: Vec<NewKey> = (1..=5)
        .map(|b| {
            new_key(
                b,
                ReportType::ConfirmedTest,
                T0 + i64::from(b) * 1000,
                "cert-a",
            )
        })
        .collect();
    let outcome = store.publish(&batch, &[], T0 + 1234).await.unwrap();
    assert_eq!(
        outcome,
        PublishOutcome {
            inserted: 5,
            revised: 0
        }
    );

    // Idempotent: the same keys again insert nothing and change nothing.
    let again = store.publish(&batch, &[], T0 + 5000).await.unwrap();
    assert_eq!(again.inserted, 0);
    assert_eq!(store.count_keys().await.unwrap(), 5);

    // A likely key in another window, embargoed until T0 + 2h.
    let likely = new_key(
        9,
        ReportType::ConfirmedClinicalDiagnosis,
        T0 + 2 * HOUR,
        "cert-b",
    );
    store.publish(&[likely], &[], T0 + 6000).await.unwrap();

    // Windows select by availability, [from, to).
    let first = store.keys_available("440", T0, T0 + HOUR).await.unwrap();
    let mut got: Vec<_> = first.iter().map(|k| k.key_data.as_bytes()[0]).collect();
    got.sort_unstable();
    assert_eq!(got, vec![1, 2, 3, 4, 5]);
    assert_eq!(
        first
            .iter()
            .find(|k| k.key_data.as_bytes()[0] == 3)
            .unwrap(),
        &key(3, ReportType::ConfirmedTest)
    );
    assert!(
        store
            .keys_available("441", T0, T0 + HOUR)
            .await
            .unwrap()
            .is_empty()
    );
    let later = store
        .keys_available("440", T0 + 2 * HOUR, T0 + 3 * HOUR)
        .await
        .unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].report_type, ReportType::ConfirmedClinicalDiagnosis);

    // Existing keys are reported with their types.
    let existing = store
        .existing_keys("440", &[[9; 16], [1; 16], [77; 16]])
        .await
        .unwrap();
    assert_eq!(existing.len(), 2);
    assert!(existing.contains(&(
        [9; 16],
        ExistingKey {
            report_type: ReportType::ConfirmedClinicalDiagnosis,
            revised_report_type: None
        }
    )));

    // Revision: likely → confirmed, once.
    let revision = KeyRevision {
        region: "440".into(),
        key_data: [9; 16],
        report_type: ReportType::ConfirmedTest,
        transmission_risk: 3,
        days_since_onset: Some(1),
    };
    let revised = store
        .publish(&[], std::slice::from_ref(&revision), T0 + 3 * HOUR + 10)
        .await
        .unwrap();
    assert_eq!(revised.revised, 1);
    assert_eq!(
        store
            .publish(&[], &[revision], T0 + 3 * HOUR + 20)
            .await
            .unwrap()
            .revised,
        0,
        "a key is revised at most once"
    );
    let revised_keys = store
        .revised_keys("440", T0 + 3 * HOUR, T0 + 4 * HOUR)
        .await
        .unwrap();
    assert_eq!(revised_keys.len(), 1);
    assert_eq!(revised_keys[0].report_type, ReportType::ConfirmedTest);
    assert_eq!(revised_keys[0].transmission_risk_level, 3);
    assert_eq!(revised_keys[0].days_since_onset_of_symptoms, Some(1));

    // Revocation by certificate: excluded from windows, listed as revised REVOKED.
    let revoked = store
        .revoke_by_certificates(&["cert-a".into()], T0 + 5 * HOUR)
        .await
        .unwrap();
    assert_eq!(revoked, 5);
    assert_eq!(
        store
            .revoke_by_certificates(&["cert-a".into()], T0 + 5 * HOUR)
            .await
            .unwrap(),
        0
    );
    assert!(
        store
            .keys_available("440", T0, T0 + HOUR)
            .await
            .unwrap()
            .is_empty()
    );
    let revocations = store
        .revised_keys("440", T0 + 5 * HOUR, T0 + 6 * HOUR)
        .await
        .unwrap();
    assert_eq!(revocations.len(), 5);
    assert!(
        revocations
            .iter()
            .all(|k| k.report_type == ReportType::Revoked)
    );

    // Retention by creation time (truncated to the hour).
    store
        .publish(
            &[new_key(
                20,
                ReportType::ConfirmedTest,
                T0 + 30 * HOUR,
                "cert-c",
            )],
            &[],
            T0 + 30 * HOUR,
        )
        .await
        .unwrap();
    assert_eq!(
        store.delete_keys_created_before(T0 + HOUR).await.unwrap(),
        6
    );
    assert_eq!(store.count_keys().await.unwrap(), 1);
}

fn file(region: &str, start: i64, batch: i32, created: i64) -> ExportFileRecord {
    ExportFileRecord {
        region: region.into(),
        start_s: start,
        end_s: start + 3600 + i64::from(batch - 1),
        batch_num: batch,
        batch_size: 2,
        path: format!("{region}/{start}-{}-{batch:05}.zip", start + 3600),
        sha256: format!("{:064x}", start + i64::from(batch)),
        size_bytes: 1000 + i64::from(batch),
        key_count: 1000,
        created_at_ms: created,
    }
}

/// Checkpoints, listing order, double-export protection and unlisting.
pub async fn exports(store: &dyn KeyServerStore) {
    assert_eq!(store.export_checkpoint("440").await.unwrap(), None);
    let window = [file("440", 7200, 1, T0), file("440", 7200, 2, T0)];
    assert!(store.record_export("440", 10_800, &window).await.unwrap());
    assert_eq!(store.export_checkpoint("440").await.unwrap(), Some(10_800));
    // A second replica exporting the same window records nothing.
    assert!(
        !store
            .record_export("440", 10_800, &[file("440", 7200, 3, T0)])
            .await
            .unwrap()
    );
    assert!(
        store
            .record_export("440", 14_400, &[file("440", 10_800, 1, T0 + HOUR)])
            .await
            .unwrap()
    );
    assert!(
        store
            .record_export("441", 3_600, &[file("441", 0, 1, T0 + HOUR)])
            .await
            .unwrap()
    );

    let all = store.export_files(None).await.unwrap();
    let order: Vec<_> = all
        .iter()
        .map(|f| (f.start_s, f.region.as_str(), f.batch_num))
        .collect();
    assert_eq!(
        order,
        vec![
            (0, "441", 1),
            (7200, "440", 1),
            (7200, "440", 2),
            (10_800, "440", 1)
        ]
    );
    assert_eq!(store.export_files(Some("440")).await.unwrap().len(), 3);
    assert_eq!(all[1], window[0]);

    let unlisted = store
        .unlist_exports_created_before(T0 + 1, T0 + 2 * HOUR)
        .await
        .unwrap();
    assert_eq!(unlisted.len(), 2);
    assert_eq!(store.export_files(None).await.unwrap().len(), 2);
    assert!(
        store
            .unlist_exports_created_before(T0 + 1, T0 + 2 * HOUR)
            .await
            .unwrap()
            .is_empty()
    );
}

/// Signing keys and secrets.
pub async fn signing_keys_and_secrets(store: &dyn KeyServerStore) {
    let record = |version: &str, activates: i64| SigningKeyRecord {
        key_id: "440".into(),
        key_version: version.into(),
        private_pkcs8: vec![1, 2, 3, version.len() as u8],
        created_at_ms: T0,
        activates_at_ms: activates,
        retires_at_ms: None,
    };
    assert!(store.insert_signing_key(&record("v1", T0)).await.unwrap());
    assert!(!store.insert_signing_key(&record("v1", T0)).await.unwrap());
    assert!(
        store
            .insert_signing_key(&record("v2", T0 + HOUR))
            .await
            .unwrap()
    );
    assert!(
        store
            .retire_signing_key("440", "v1", T0 + 2 * HOUR)
            .await
            .unwrap()
    );
    let keys = store.signing_keys().await.unwrap();
    assert_eq!(keys.len(), 2);
    assert_eq!(keys[0].key_version, "v2", "newest first");
    let active_at = |t: i64| keys.iter().filter(|k| k.is_active(t)).count();
    assert_eq!(active_at(T0), 1);
    assert_eq!(active_at(T0 + HOUR), 2, "overlap while rotating");
    assert_eq!(active_at(T0 + 2 * HOUR), 1);
    assert!(
        !format!("{:?}", keys[0]).contains("[1, 2, 3"),
        "Debug redacts the private key"
    );

    let first = store.secret_or_insert("revision", b"aaaa").await.unwrap();
    let second = store.secret_or_insert("revision", b"bbbb").await.unwrap();
    assert_eq!(first, b"aaaa");
    assert_eq!(second, b"aaaa", "first writer wins");
}

/// The publish fast path: inserts, idempotent repeats, and all-or-nothing on a conflict.
pub async fn fast_path(store: &dyn KeyServerStore) {
    let batch: Vec<NewKey> = (30..44)
        .map(|b| new_key(b, ReportType::ConfirmedTest, T0, "cert-f"))
        .collect();
    assert_eq!(
        store.insert_unless_conflicting(&batch, T0).await.unwrap(),
        Some(14)
    );
    assert_eq!(
        store.insert_unless_conflicting(&batch, T0).await.unwrap(),
        Some(0)
    );
    assert_eq!(store.count_keys().await.unwrap(), 14);

    // One key already stored as confirmed, sent as likely: nothing of the batch is stored.
    let mut conflicting: Vec<NewKey> = (50..55)
        .map(|b| new_key(b, ReportType::ConfirmedClinicalDiagnosis, T0, "cert-g"))
        .collect();
    conflicting.push(new_key(
        30,
        ReportType::ConfirmedClinicalDiagnosis,
        T0,
        "cert-g",
    ));
    assert_eq!(
        store
            .insert_unless_conflicting(&conflicting, T0)
            .await
            .unwrap(),
        None
    );
    assert_eq!(store.count_keys().await.unwrap(), 14);
    assert_eq!(
        store.insert_unless_conflicting(&[], T0).await.unwrap(),
        Some(0)
    );
}

/// Several publishes in one call are decided one by one.
pub async fn many_fast_paths(store: &dyn KeyServerStore) {
    let first: Vec<NewKey> = (60..63)
        .map(|b| new_key(b, ReportType::ConfirmedTest, T0, "m1"))
        .collect();
    store.insert_unless_conflicting(&first, T0).await.unwrap();
    let fresh: Vec<NewKey> = (70..74)
        .map(|b| new_key(b, ReportType::ConfirmedTest, T0, "m2"))
        .collect();
    let conflicting = vec![
        new_key(80, ReportType::SelfReport, T0, "m3"),
        new_key(60, ReportType::SelfReport, T0, "m3"),
    ];
    let repeat = first.clone();
    let results = store
        .insert_many_unless_conflicting(&[fresh, conflicting, repeat, Vec::new()], T0)
        .await
        .unwrap();
    assert_eq!(results, vec![Some(4), None, Some(0), Some(0)]);
    assert_eq!(store.count_keys().await.unwrap(), 7);
}
