//! Writes every document in both languages, and a bundle of all of them, into a directory:
//! `cargo run -p mimamori-documents --example samples -- /tmp/documents`.

use std::path::PathBuf;

use mimamori_documents::{DocumentFields, DocumentKind, Language, Renderer};

fn fields(kind: DocumentKind) -> DocumentFields {
    DocumentFields::example(kind)
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
