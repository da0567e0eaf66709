//! Render times of one certificate and of a 100-document bundle, with the file sizes printed
//! once: `cargo bench -p mimamori-documents`. Needs a Japanese font (fonts-ipaexfont-gothic).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mimamori_documents::{DocumentFields, DocumentKind, Language, Renderer};

fn fields(kind: DocumentKind, i: usize) -> DocumentFields {
    let some = |s: &str| Some(s.to_owned());
    let mut fields = DocumentFields {
        document_number: format!("みなと保第{}号", 1000 + i),
        person_name: "山田 太郎".to_owned(),
        person_name_kana: some("ヤマダ タロウ"),
        address: some("東京都港区芝公園一丁目二番三号 みなとハイツ405"),
        health_center_name: "みなと保健所".to_owned(),
        health_center_phone: some("03-1234-5678"),
        issue_date: "2022-02-14".to_owned(),
        ..DocumentFields::default()
    };
    match kind {
        DocumentKind::IsolationCertificate => {
            fields.birth_date = some("1980-04-01");
            fields.diagnosis_date = some("2022-02-01");
            fields.isolation_start = some("2022-01-31");
            fields.isolation_end = some("2022-02-09");
        }
        DocumentKind::WorkRestrictionNotice => {
            fields.restricted_from = some("2022-02-01");
            fields.restricted_to = some("2022-02-09");
        }
        DocumentKind::QuarantineStartNotice => {
            fields.last_exposure_date = some("2022-02-02");
            fields.quarantine_start = some("2022-02-03");
            fields.quarantine_end = some("2022-02-09");
            fields.health_report_url = some("https://health.example.invalid/report?token=4f6b2c9a");
        }
        DocumentKind::QuarantineEndNotice => {
            fields.quarantine_start = some("2022-02-03");
            fields.quarantine_end = some("2022-02-09");
        }
    }
    fields
}

fn bench(c: &mut Criterion) {
    let renderer = match Renderer::discover() {
        Ok(renderer) => renderer,
        Err(error) => panic!("{error}"),
    };
    let kind = DocumentKind::IsolationCertificate;
    let certificate = fields(kind, 0);
    let bundle: Vec<_> = (0..100)
        .map(|i| {
            let kind = DocumentKind::ALL[i % 4];
            let lang = if i % 8 < 4 {
                Language::Ja
            } else {
                Language::En
            };
            (kind, lang, fields(kind, i))
        })
        .collect();
    let one = renderer.render(kind, Language::Ja, &certificate).ok();
    let many = renderer.render_bundle(&bundle).ok();
    eprintln!(
        "sizes: certificate (ja) {} bytes, bundle of 100 (ja and en, all kinds) {} bytes",
        one.map_or(0, |pdf| pdf.len()),
        many.map_or(0, |pdf| pdf.len())
    );

    c.bench_function("certificate_ja", |b| {
        b.iter(|| renderer.render(kind, Language::Ja, black_box(&certificate)))
    });
    let mut group = c.benchmark_group("bundle");
    group.sample_size(20);
    group.bench_function("bundle_100", |b| {
        b.iter(|| renderer.render_bundle(black_box(&bundle)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
