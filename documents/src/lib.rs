//! Health-center documents rendered as PDF with an embedded, subset Japanese font.
//!
//! During the sixth wave of COVID-19 in Japan (early 2022) health centers wrote these by hand:
//!
//! | [`DocumentKind`] | Japanese title | English title |
//! | --- | --- | --- |
//! | [`IsolationCertificate`](DocumentKind::IsolationCertificate) | 療養証明書 | Certificate of Medical Treatment (Isolation) |
//! | [`WorkRestrictionNotice`](DocumentKind::WorkRestrictionNotice) | 就業制限通知書 | Notice of Work Restriction |
//! | [`QuarantineStartNotice`](DocumentKind::QuarantineStartNotice) | 健康観察開始のお知らせ | Notice of the Start of Health Monitoring |
//! | [`QuarantineEndNotice`](DocumentKind::QuarantineEndNotice) | 健康観察終了のお知らせ | Notice of the End of Health Monitoring |
//!
//! A [`Renderer`] loads one TrueType/OpenType font once ([`Renderer::discover`] finds IPAex
//! Gothic or Noto Sans CJK JP on Debian) and renders [`DocumentFields`] into an A4 PDF. Only the
//! glyphs a file uses are embedded, and a ToUnicode CMap makes the text searchable and
//! extractable. Output is deterministic: the same input gives the same bytes.
//!
//! ```no_run
//! use mimamori_documents::{DocumentFields, DocumentKind, Language, Renderer};
//!
//! # fn main() -> Result<(), mimamori_documents::DocumentError> {
//! let renderer = Renderer::discover()?;
//! let fields = DocumentFields {
//!     document_number: "みなと保第123号".into(),
//!     person_name: "山田 太郎".into(),
//!     person_name_kana: Some("ヤマダ タロウ".into()),
//!     birth_date: Some("1980-04-01".into()),
//!     diagnosis_date: Some("2022-02-01".into()),
//!     isolation_start: Some("2022-01-31".into()),
//!     isolation_end: Some("2022-02-09".into()),
//!     health_center_name: "みなと保健所".into(),
//!     issue_date: "2022-02-14".into(),
//!     ..DocumentFields::default()
//! };
//! let pdf = renderer.render(DocumentKind::IsolationCertificate, Language::Ja, &fields)?;
//! std::fs::write("certificate.pdf", pdf).ok();
//! # Ok(())
//! # }
//! ```

mod date;
mod error;
mod fields;
mod font;
mod layout;
mod pdf;
mod templates;

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

pub use error::DocumentError;
pub use fields::DocumentFields;
pub use font::{FONT_ENV_VAR, FONT_PACKAGE, FontSet, WELL_KNOWN_FONT_PATHS};

/// Which document to render.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// 療養証明書: certifies that a patient was in medical treatment (isolation) for a period.
    IsolationCertificate,
    /// 就業制限通知書: work restriction under art. 18 of the Infectious Diseases Control Act.
    WorkRestrictionNotice,
    /// 健康観察開始のお知らせ: a close contact's quarantine and daily health reports begin.
    QuarantineStartNotice,
    /// 健康観察終了のお知らせ: a close contact's quarantine has ended.
    QuarantineEndNotice,
}

impl DocumentKind {
    /// Every kind, in a stable order.
    pub const ALL: [DocumentKind; 4] = [
        DocumentKind::IsolationCertificate,
        DocumentKind::WorkRestrictionNotice,
        DocumentKind::QuarantineStartNotice,
        DocumentKind::QuarantineEndNotice,
    ];

    /// The snake_case name, as in JSON and URLs (`isolation_certificate`, …).
    pub fn as_str(self) -> &'static str {
        match self {
            DocumentKind::IsolationCertificate => "isolation_certificate",
            DocumentKind::WorkRestrictionNotice => "work_restriction_notice",
            DocumentKind::QuarantineStartNotice => "quarantine_start_notice",
            DocumentKind::QuarantineEndNotice => "quarantine_end_notice",
        }
    }

    /// Parses the snake_case name returned by [`DocumentKind::as_str`].
    pub fn parse(name: &str) -> Result<Self, DocumentError> {
        DocumentKind::ALL
            .into_iter()
            .find(|kind| kind.as_str() == name)
            .ok_or_else(|| DocumentError::UnknownKind(name.to_owned()))
    }

    /// The document's title in `lang`.
    pub fn title(self, lang: Language) -> &'static str {
        templates::title(self, lang)
    }
}

impl fmt::Display for DocumentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DocumentKind {
    type Err = DocumentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        DocumentKind::parse(s)
    }
}

/// The language a document is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Japanese (dates in the Japanese era calendar: 令和4年2月1日).
    Ja,
    /// English (dates as 1 February 2022).
    En,
}

impl Language {
    /// The BCP 47 tag: `ja` or `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Ja => "ja",
            Language::En => "en",
        }
    }

    /// Parses `ja` or `en`.
    pub fn parse(tag: &str) -> Result<Self, DocumentError> {
        match tag {
            "ja" => Ok(Language::Ja),
            "en" => Ok(Language::En),
            other => Err(DocumentError::UnknownLanguage(other.to_owned())),
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Language {
    type Err = DocumentError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Language::parse(s)
    }
}

/// Renders documents with one loaded font. Cheap to clone (the font bytes are shared) and safe
/// to share between threads.
#[derive(Debug, Clone)]
pub struct Renderer {
    fonts: FontSet,
}

impl Renderer {
    /// A renderer drawing with `fonts`.
    pub fn new(fonts: FontSet) -> Self {
        Renderer { fonts }
    }

    /// Loads the font at `path` (TrueType, OpenType, or a `.ttc` collection, whose Japanese face
    /// is chosen).
    pub fn from_font_file(path: impl AsRef<Path>) -> Result<Self, DocumentError> {
        FontSet::from_file(path).map(Renderer::new)
    }

    /// Uses font bytes already in memory.
    pub fn from_font_bytes(bytes: Vec<u8>) -> Result<Self, DocumentError> {
        FontSet::from_bytes(bytes).map(Renderer::new)
    }

    /// Finds a font: the file named by `MIMAMORI_DOCUMENT_FONT` if it is set, else the first of
    /// [`WELL_KNOWN_FONT_PATHS`] that exists. [`DocumentError::FontNotFound`] names the Debian
    /// package to install when there is none.
    pub fn discover() -> Result<Self, DocumentError> {
        FontSet::discover().map(Renderer::new)
    }

    /// The font this renderer draws with.
    pub fn fonts(&self) -> &FontSet {
        &self.fonts
    }

    /// Renders one document as a PDF (one A4 page, more only if the values are very long).
    pub fn render(
        &self,
        kind: DocumentKind,
        lang: Language,
        fields: &DocumentFields,
    ) -> Result<Vec<u8>, DocumentError> {
        let face = self.fonts.face()?;
        let document = templates::build(kind, lang, fields)?;
        let pages = layout::layout(&document, &face, &self.fonts, fields)?;
        pdf::write(&self.fonts, &face, &[(document.title, pages)], Some(lang))
    }

    /// Renders many documents into one PDF for bulk printing, each document starting on a new
    /// page. An error names the position of the item it comes from.
    pub fn render_bundle(
        &self,
        items: &[(DocumentKind, Language, DocumentFields)],
    ) -> Result<Vec<u8>, DocumentError> {
        if items.is_empty() {
            return Err(DocumentError::EmptyBundle);
        }
        let face = self.fonts.face()?;
        let mut documents = Vec::with_capacity(items.len());
        for (index, (kind, lang, fields)) in items.iter().enumerate() {
            let in_item = |source| DocumentError::InBundle {
                index,
                source: Box::new(source),
            };
            let document = templates::build(*kind, *lang, fields).map_err(in_item)?;
            let pages = layout::layout(&document, &face, &self.fonts, fields).map_err(in_item)?;
            documents.push((document.title, pages));
        }
        let first = items[0].1;
        let lang = items.iter().all(|item| item.1 == first).then_some(first);
        pdf::write(&self.fonts, &face, &documents, lang)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_round_trip_through_names_and_serde() {
        for kind in DocumentKind::ALL {
            assert_eq!(DocumentKind::parse(kind.as_str()).unwrap(), kind);
            assert_eq!(kind.to_string().parse::<DocumentKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<DocumentKind>(&json).unwrap(), kind);
        }
        assert!(matches!(
            DocumentKind::parse("IsolationCertificate"),
            Err(DocumentError::UnknownKind(name)) if name == "IsolationCertificate"
        ));
    }

    #[test]
    fn languages_round_trip() {
        for lang in [Language::Ja, Language::En] {
            assert_eq!(Language::parse(lang.as_str()).unwrap(), lang);
            let json = serde_json::to_string(&lang).unwrap();
            assert_eq!(json, format!("\"{lang}\""));
            assert_eq!(serde_json::from_str::<Language>(&json).unwrap(), lang);
        }
        assert!(Language::parse("jp").is_err());
    }
}
