//! Writes every document in both languages, and a bundle of all of them, into a directory:
//! `cargo run -p mimamori-documents --example samples -- /tmp/documents`.

use std::path::PathBuf;

use mimamori_documents::{DocumentFields, DocumentKind, Language, Renderer};

fn fields(kind: DocumentKind) -> DocumentFields {
    let some = |s: &str| Some(s.to_owned());
    let mut fields = DocumentFields {
        document_number: "みなと保第1234号".to_owned(),
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
            fields.issue_date = "2022-02-01".to_owned();
        }
        DocumentKind::QuarantineStartNotice => {
            fields.last_exposure_date = some("2022-02-02");
            fields.quarantine_start = some("2022-02-03");
            fields.quarantine_end = some("2022-02-09");
            fields.health_report_url = some("https://health.example.invalid/report?token=4f6b2c9a");
            fields.issue_date = "2022-02-03".to_owned();
        }
        DocumentKind::QuarantineEndNotice => {
            fields.quarantine_start = some("2022-02-03");
            fields.quarantine_end = some("2022-02-09");
            fields.issue_date = "2022-02-10".to_owned();
        }
    }
    fields
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "documents-samples".into()),
    );
    std::fs::create_dir_all(&dir)?;
    let renderer = Renderer::discover()?;
    let mut items = Vec::new();
    for kind in DocumentKind::ALL {
        for lang in [Language::Ja, Language::En] {
            let pdf = renderer.render(kind, lang, &fields(kind))?;
            let path = dir.join(format!("{kind}-{lang}.pdf"));
            std::fs::write(&path, &pdf)?;
            println!("{} ({} bytes)", path.display(), pdf.len());
            items.push((kind, lang, fields(kind)));
        }
    }
    let bundle = renderer.render_bundle(&items)?;
    let path = dir.join("bundle.pdf");
    std::fs::write(&path, &bundle)?;
    println!(
        "{} ({} bytes, {} documents)",
        path.display(),
        bundle.len(),
        items.len()
    );
    Ok(())
}
