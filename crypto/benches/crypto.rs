//! Criterion benches: RPI derivation per key, AEM, export write + sign of 100,000 keys,
//! and the matcher on a small synthetic workload.
//!
//! `cargo bench -p mimamori-crypto --bench crypto`

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use mimamori_crypto::export::{DiagnosisKey, Export, ExportSigner, SignatureInfo, write_archive};
use mimamori_crypto::interval::EnIntervalNumber;
use mimamori_crypto::keys::{Tek, hkdf16};
use mimamori_crypto::matcher::SightingIndex;
use mimamori_crypto::metadata::Metadata;
use mimamori_crypto::synthetic::{SplitMix64, WorkloadSpec, generate};

const PRIVATE_PEM: &str = include_str!("../../../shared/data/gaen-exports/private.pem");

fn derivation(c: &mut Criterion) {
    let mut rng = SplitMix64::new(1);
    let teks: Vec<Tek> = (0..1024).map(|_| Tek::from_bytes(rng.bytes16())).collect();
    let start = EnIntervalNumber(2_650_464);
    let mut group = c.benchmark_group("derivation");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("rpik_hkdf16_per_key", |b| {
        b.iter(|| {
            i = (i + 1) % teks.len();
            black_box(hkdf16(teks[i].as_bytes(), b"EN-RPIK"))
        })
    });
    group.bench_function("rpik_hkdf_crate_per_key", |b| {
        b.iter(|| {
            i = (i + 1) % teks.len();
            black_box(teks[i].rpik())
        })
    });
    group.bench_function("rpis_144_per_key", |b| {
        b.iter(|| {
            i = (i + 1) % teks.len();
            black_box(teks[i].rpis_for_day(start))
        })
    });
    let aemk = teks[0].aemk();
    let rpi = teks[0].rpik().rpi(start);
    let metadata = Metadata::v1_0(-10).to_bytes();
    group.bench_function("aem_encrypt", |b| {
        b.iter(|| black_box(aemk.encrypt(black_box(&rpi), metadata)))
    });
    let aem = aemk.encrypt(&rpi, metadata);
    group.bench_function("aem_decrypt", |b| {
        b.iter(|| black_box(aemk.decrypt(black_box(&rpi), &aem)))
    });
    group.finish();
}

fn export(c: &mut Criterion) {
    let mut rng = SplitMix64::new(2);
    let keys: Vec<DiagnosisKey> = (0..100_000)
        .map(|_| {
            let mut k = DiagnosisKey::new(
                Tek::from_bytes(rng.bytes16()),
                2_650_464 - 144 * u32::try_from(rng.below(14)).unwrap_or(0),
            );
            k.transmission_risk_level = 4;
            k
        })
        .collect();
    let export = Export {
        start_timestamp: 1_590_969_600,
        end_timestamp: 1_591_056_000,
        region: "440".into(),
        batch_num: 1,
        batch_size: 1,
        signature_infos: vec![],
        keys,
        revised_keys: vec![],
    };
    let signer = ExportSigner::from_pem(PRIVATE_PEM, SignatureInfo::ecdsa_p256("440", "v1"))
        .expect("test key parses");
    let mut group = c.benchmark_group("export");
    group.sample_size(10);
    group.throughput(Throughput::Elements(100_000));
    group.bench_function("write_sign_100k_keys", |b| {
        b.iter(|| black_box(write_archive(&export, std::slice::from_ref(&signer)).expect("writes")))
    });
    let zip = write_archive(&export, std::slice::from_ref(&signer)).expect("writes");
    let key = signer.verification_key();
    group.bench_function("read_verify_100k_keys", |b| {
        b.iter(|| {
            let archive = mimamori_crypto::export::read_archive(black_box(&zip)).expect("reads");
            archive
                .verify(std::slice::from_ref(&key))
                .expect("verifies");
            black_box(archive)
        })
    });
    group.finish();
}

fn matcher(c: &mut Criterion) {
    let workload = generate(&WorkloadSpec::new(20_000, 10_000, 14, 3));
    let index = SightingIndex::new(&workload.sightings, 0);
    let mut group = c.benchmark_group("matcher");
    group.sample_size(10);
    group.throughput(Throughput::Elements(20_000));
    group.bench_function("match_20k_keys_10k_sightings", |b| {
        b.iter(|| black_box(index.match_keys(&workload.keys)))
    });
    group.finish();
}

criterion_group!(benches, derivation, export, matcher);
criterion_main!(benches);
