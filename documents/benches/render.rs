//! Render times of one certificate and of a 100-document bundle, with the file sizes printed
//! once: `cargo bench -p mimamori-documents`. Needs a Japanese font (fonts-ipaexfont-gothic).

// criterion_group! generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mimamori_documents::{DocumentFields, DocumentKind, Language, Renderer};

fn fields(kind: DocumentKind, i: usize) -> DocumentFields {
    DocumentFields {
        document_number: format!("みなと保第{}号", 1000 + i),
        ..DocumentFields::example(kind)
    }
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
