//! Renders every document and reads it back with an independent extractor (pdf-extract, on
//! lopdf): the text a person sees must come out of the file as the same Japanese text.
//!
//! Needs a Japanese font: Debian's `fonts-ipaexfont-gothic`, or `MIMAMORI_DOCUMENT_FONT`.

use std::sync::OnceLock;

use mimamori_documents::{DocumentError, DocumentFields, DocumentKind, Language, Renderer};

fn renderer() -> &'static Renderer {
    static RENDERER: OnceLock<Renderer> = OnceLock::new();
    RENDERER.get_or_init(|| match Renderer::discover() {
        Ok(renderer) => renderer,
        Err(error) => panic!("{error}"),
    })
}

const URL: &str = "https://health.example.invalid/report?token=4f6b2c9a";

/// A person of the sixth wave with every field a kind may show.
fn fields(kind: DocumentKind) -> DocumentFields {
    DocumentFields::example(kind)
}

/// What a reader must find on the page, in the document's language.
fn expected(kind: DocumentKind, lang: Language) -> Vec<&'static str> {
    let mut texts = vec![
        kind.title(lang),
        "山田 太郎",
        "ヤマダ タロウ",
        "みなと保第1234号",
        "みなと保健所",
    ];
    let dates: &[(&str, &str)] = match kind {
        DocumentKind::IsolationCertificate => &[
            ("昭和55年4月1日", "1 April 1980"),
            ("令和4年2月1日", "1 February 2022"),
            ("令和4年1月31日", "31 January 2022"),
            ("令和4年2月9日", "9 February 2022"),
            ("令和4年2月14日", "14 February 2022"),
        ],
        DocumentKind::WorkRestrictionNotice => &[
            ("令和4年2月1日", "1 February 2022"),
            ("令和4年2月9日", "9 February 2022"),
        ],
        DocumentKind::QuarantineStartNotice => &[
            ("令和4年2月2日", "2 February 2022"),
            ("令和4年2月3日", "3 February 2022"),
            ("令和4年2月9日", "9 February 2022"),
        ],
        DocumentKind::QuarantineEndNotice => &[
            (
                "令和4年2月3日から令和4年2月9日まで",
                "3 February 2022 to 9 February 2022",
            ),
            ("令和4年2月10日", "10 February 2022"),
        ],
    };
    texts.extend(dates.iter().map(|(ja, en)| match lang {
        Language::Ja => *ja,
        Language::En => *en,
    }));
    match (kind, lang) {
        (DocumentKind::IsolationCertificate, Language::Ja) => {
            texts.extend(["療養開始日", "療養終了日", "東京都港区芝公園一丁目二番三号"])
        }
        (DocumentKind::IsolationCertificate, Language::En) => {
            texts.extend(["Isolation started", "Isolation ended"])
        }
        (DocumentKind::WorkRestrictionNotice, Language::Ja) => {
            texts.extend(["第18条第1項", "就業制限開始日", "山田 太郎 様"])
        }
        (DocumentKind::WorkRestrictionNotice, Language::En) => texts.extend([
            "Article 18, paragraph 1",
            "Restricted from",
            "To: 山田 太郎",
        ]),
        (DocumentKind::QuarantineStartNotice, _) => texts.extend([URL, "03-1234-5678"]),
        (DocumentKind::QuarantineEndNotice, Language::Ja) => texts.push("健康観察期間"),
        (DocumentKind::QuarantineEndNotice, Language::En) => texts.push("Monitoring period"),
    }
    texts
}

/// Text of each page, as an independent extractor reads it from the file.
fn extract_pages(pdf: &[u8]) -> Vec<String> {
    pdf_extract::extract_text_from_mem_by_pages(pdf).expect("the PDF parses and its text extracts")
}

/// Whitespace-insensitive search: extractors place spaces by glyph positions, not by the
/// original string, so only the characters and their order are compared.
fn squeeze(text: &str) -> String {
    text.chars().filter(|c| !c.is_whitespace()).collect()
}

fn assert_contains(page: &str, wanted: &str, what: &str) {
    assert!(
        squeeze(page).contains(&squeeze(wanted)),
        "{what}: {wanted:?} not found in the extracted text:\n{page}"
    );
}

/// Renders every kind in both languages with `renderer` and finds the expected text in each.
fn check_every_document(renderer: &Renderer) {
    for kind in DocumentKind::ALL {
        for lang in [Language::Ja, Language::En] {
            let pdf = renderer
                .render(kind, lang, &fields(kind))
                .unwrap_or_else(|error| panic!("{kind} {lang}: {error}"));
            assert!(pdf.starts_with(b"%PDF-"), "{kind} {lang}");
            let pages = extract_pages(&pdf);
            assert_eq!(pages.len(), 1, "{kind} {lang} fits one page");
            for wanted in expected(kind, lang) {
                assert_contains(&pages[0], wanted, &format!("{kind} {lang}"));
            }
            // Words of one line are kept apart: the name's space survives extraction.
            assert!(
                pages[0].contains("山田 太郎"),
                "{kind} {lang}: {:?}",
                pages[0]
            );
        }
    }
}

#[test]
fn every_document_in_both_languages_has_its_text_extractable() {
    check_every_document(renderer());
}

/// The CFF path (FontFile3) and the choice of the JP face of a collection.
#[test]
#[ignore = "needs the Debian package fonts-noto-cjk"]
fn noto_cjk_collection_renders() {
    let path = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc";
    let renderer = match Renderer::from_font_file(path) {
        Ok(renderer) => renderer,
        Err(error) => panic!("{error} (apt-get install fonts-noto-cjk)"),
    };
    let name = renderer.fonts().postscript_name();
    assert!(name.contains("jp") || name.contains("JP"), "{name}");
    check_every_document(&renderer);
    let kind = DocumentKind::IsolationCertificate;
    let pdf = renderer.render(kind, Language::Ja, &fields(kind)).unwrap();
    eprintln!("{kind} ja with {name}: {} bytes", pdf.len());
    assert!(pdf.len() < 100_000, "{} bytes", pdf.len());
}

#[test]
fn the_pdf_embeds_a_subset_cid_font_with_to_unicode() {
    let kind = DocumentKind::IsolationCertificate;
    let pdf = renderer()
        .render(kind, Language::Ja, &fields(kind))
        .unwrap();
    let document = pdf_extract::Document::load_mem(&pdf).unwrap();
    let fonts: Vec<_> = document
        .objects
        .values()
        .filter_map(|object| object.as_dict().ok())
        .filter(|dict| dict.get(b"Type").and_then(|t| t.as_name()).ok() == Some(b"Font"))
        .collect();
    let type0 = fonts
        .iter()
        .find(|dict| dict.get(b"Subtype").and_then(|s| s.as_name()).ok() == Some(b"Type0"))
        .expect("a Type0 font");
    assert!(type0.get(b"ToUnicode").is_ok(), "ToUnicode CMap");
    assert_eq!(
        type0.get(b"Encoding").unwrap().as_name().unwrap(),
        b"Identity-H"
    );
    let base = type0.get(b"BaseFont").unwrap().as_name().unwrap();
    let base = String::from_utf8_lossy(base);
    // A subset's name is six capitals, a plus, and the font's name.
    let (tag, name) = base.split_once('+').expect("a subset tag");
    assert_eq!(tag.len(), 6);
    assert!(tag.chars().all(|c| c.is_ascii_uppercase()));
    assert_eq!(name, renderer().fonts().postscript_name());
    let embedded = document.objects.values().any(|object| {
        object
            .as_dict()
            .ok()
            .is_some_and(|dict| dict.get(b"FontFile2").is_ok() || dict.get(b"FontFile3").is_ok())
    });
    assert!(embedded, "the font program is embedded");
}

#[test]
fn the_font_subset_keeps_a_certificate_small() {
    let kind = DocumentKind::IsolationCertificate;
    let font_size = std::fs::metadata(renderer().fonts().origin())
        .map(|meta| meta.len())
        .unwrap_or(0);
    for lang in [Language::Ja, Language::En] {
        let pdf = renderer().render(kind, lang, &fields(kind)).unwrap();
        eprintln!(
            "{kind} {lang}: {} bytes (font file {font_size} bytes)",
            pdf.len()
        );
        assert!(pdf.len() < 60_000, "{kind} {lang}: {} bytes", pdf.len());
    }
    // A bundle shares one subset: 100 documents cost far less than 100 single files.
    let items: Vec<_> = (0..100)
        .map(|i| {
            let kind = DocumentKind::ALL[i % 4];
            (kind, Language::Ja, fields(kind))
        })
        .collect();
    let bundle = renderer().render_bundle(&items).unwrap();
    eprintln!("bundle of 100: {} bytes", bundle.len());
    assert!(bundle.len() < 400_000, "{} bytes", bundle.len());
}

#[test]
fn a_bundle_has_one_page_per_document_in_order() {
    let mut items = Vec::new();
    for kind in DocumentKind::ALL {
        for lang in [Language::Ja, Language::En] {
            items.push((kind, lang, fields(kind)));
        }
    }
    // Different people, to see that each page is the right one.
    for (i, item) in items.iter_mut().enumerate() {
        item.2.document_number = format!("みなと保第{}号", 100 + i);
    }
    let pdf = renderer().render_bundle(&items).unwrap();
    let document = pdf_extract::Document::load_mem(&pdf).unwrap();
    assert_eq!(document.get_pages().len(), items.len());
    let pages = extract_pages(&pdf);
    assert_eq!(pages.len(), items.len());
    for ((kind, lang, fields), page) in items.iter().zip(&pages) {
        assert_contains(page, kind.title(*lang), "bundle page title");
        assert_contains(page, &fields.document_number, "bundle page number");
        assert_contains(page, "山田 太郎", "bundle page name");
    }
}

#[test]
fn an_empty_bundle_is_an_error() {
    assert!(matches!(
        renderer().render_bundle(&[]),
        Err(DocumentError::EmptyBundle)
    ));
}

#[test]
fn invalid_dates_are_typed_errors_naming_the_field() {
    let kind = DocumentKind::IsolationCertificate;
    for bad in ["2022-02-30", "2022/02/01", "令和4年2月1日", "2022-2-1", ""] {
        let mut fields = fields(kind);
        fields.isolation_end = Some(bad.to_owned());
        let error = renderer().render(kind, Language::Ja, &fields).unwrap_err();
        match (bad, error) {
            ("", DocumentError::MissingField { kind: k, field }) => {
                assert_eq!(k, kind);
                assert_eq!(field, "isolation_end");
            }
            (_, DocumentError::InvalidDate { field, value }) => {
                assert_eq!(field, "isolation_end");
                assert_eq!(value, bad);
            }
            (_, other) => panic!("{bad:?}: {other:?}"),
        }
    }
    let mut fields = fields(kind);
    fields.issue_date = "2022-02-29".to_owned();
    let error = renderer().render(kind, Language::En, &fields).unwrap_err();
    assert!(
        matches!(
            error,
            DocumentError::InvalidDate {
                field: "issue_date",
                ..
            }
        ),
        "{error:?}"
    );
}

#[test]
fn an_end_before_its_start_is_a_date_order_error() {
    let kind = DocumentKind::QuarantineStartNotice;
    let mut fields = fields(kind);
    fields.quarantine_end = Some("2022-02-01".to_owned());
    let error = renderer().render(kind, Language::Ja, &fields).unwrap_err();
    match error {
        DocumentError::DateOrder {
            earlier,
            later,
            later_value,
            ..
        } => {
            assert_eq!((earlier, later), ("quarantine_start", "quarantine_end"));
            assert_eq!(later_value, "2022-02-01");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn each_kind_names_the_field_it_misses() {
    let cases = [
        (DocumentKind::IsolationCertificate, "birth_date"),
        (DocumentKind::WorkRestrictionNotice, "restricted_to"),
        (DocumentKind::QuarantineStartNotice, "health_report_url"),
        (DocumentKind::QuarantineEndNotice, "quarantine_start"),
    ];
    for (kind, field) in cases {
        let mut fields = fields(kind);
        match field {
            "birth_date" => fields.birth_date = None,
            "restricted_to" => fields.restricted_to = Some("  ".to_owned()),
            "health_report_url" => fields.health_report_url = None,
            _ => fields.quarantine_start = None,
        }
        let error = renderer().render(kind, Language::En, &fields).unwrap_err();
        assert!(
            matches!(error, DocumentError::MissingField { kind: k, field: f } if k == kind && f == field),
            "{kind}: {error:?}"
        );
    }
    let mut blank = fields(DocumentKind::QuarantineEndNotice);
    blank.person_name = " ".to_owned();
    assert!(matches!(
        renderer().render(DocumentKind::QuarantineEndNotice, Language::Ja, &blank),
        Err(DocumentError::MissingField {
            field: "person_name",
            ..
        })
    ));
}

#[test]
fn bad_links_control_characters_and_undrawable_characters_are_rejected() {
    let kind = DocumentKind::QuarantineStartNotice;
    let mut fields = fields(kind);
    fields.health_report_url = Some("javascript:alert(1)".to_owned());
    assert!(matches!(
        renderer().render(kind, Language::Ja, &fields),
        Err(DocumentError::InvalidField {
            field: "health_report_url",
            ..
        })
    ));

    let mut fields = self::fields(kind);
    fields.person_name = "山田\u{0007}太郎".to_owned();
    assert!(matches!(
        renderer().render(kind, Language::Ja, &fields),
        Err(DocumentError::InvalidField {
            field: "person_name",
            ..
        })
    ));

    // A private-use character no font draws: an error, never a blank box on a certificate.
    let mut fields = self::fields(kind);
    fields.address = Some("東京都港区\u{F8FF}".to_owned());
    match renderer().render(kind, Language::Ja, &fields) {
        Err(DocumentError::UnsupportedCharacter {
            field, character, ..
        }) => {
            assert_eq!((field, character), ("address", '\u{F8FF}'));
        }
        other => panic!("{other:?}"),
    }

    // In a bundle the error says which item.
    let good = (kind, Language::Ja, self::fields(kind));
    let mut bad = good.clone();
    bad.2.issue_date = "2022-13-01".to_owned();
    match renderer().render_bundle(&[good.clone(), good, bad]) {
        Err(DocumentError::InBundle { index, source }) => {
            assert_eq!(index, 2);
            assert!(matches!(
                *source,
                DocumentError::InvalidDate {
                    field: "issue_date",
                    ..
                }
            ));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn long_addresses_wrap_inside_the_page() {
    let kind = DocumentKind::IsolationCertificate;
    let mut fields = fields(kind);
    let address = "北海道札幌市中央区北一条西二丁目一番地 札幌中央ビルディング二十三階 株式会社みまもり札幌支社気付 東京本社総務部経由 山田様方 長い住所の続きがさらに続きます";
    fields.address = Some(address.to_owned());
    let pdf = renderer().render(kind, Language::Ja, &fields).unwrap();
    let pages = extract_pages(&pdf);
    assert_eq!(pages.len(), 1);
    assert_contains(&pages[0], address, "wrapped address");
    // It is on several lines: no line of the extracted text holds the whole address.
    assert!(
        pages[0]
            .lines()
            .all(|line| !squeeze(line).contains(&squeeze(address))),
        "{}",
        pages[0]
    );
}

#[test]
fn rendering_is_deterministic() {
    let kind = DocumentKind::WorkRestrictionNotice;
    let a = renderer()
        .render(kind, Language::Ja, &fields(kind))
        .unwrap();
    let b = renderer()
        .render(kind, Language::Ja, &fields(kind))
        .unwrap();
    assert_eq!(a, b);
}

#[test]
fn fields_deserialize_from_json() {
    let json = r#"{
        "document_number": "みなと保第1号",
        "person_name": "山田 花子",
        "quarantine_start": "2022-02-03",
        "quarantine_end": "2022-02-09",
        "health_center_name": "みなと保健所",
        "issue_date": "2022-02-10"
    }"#;
    let fields: DocumentFields = serde_json::from_str(json).unwrap();
    assert_eq!(fields.person_name_kana, None);
    let pdf = renderer()
        .render(DocumentKind::QuarantineEndNotice, Language::Ja, &fields)
        .unwrap();
    assert_contains(&extract_pages(&pdf)[0], "山田 花子 様", "addressee");
    assert!(serde_json::from_str::<DocumentFields>(r#"{"name": "x"}"#).is_err());
}
