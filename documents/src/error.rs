use std::path::PathBuf;

use crate::DocumentKind;
use crate::font::{FONT_ENV_VAR, FONT_PACKAGE};

/// Why a document could not be rendered, or a font not loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocumentError {
    /// A field this kind of document needs is absent or blank.
    #[error("field `{field}` is required for {kind}")]
    MissingField {
        /// The document kind that needs it.
        kind: DocumentKind,
        /// The field's name, as in [`DocumentFields`](crate::DocumentFields) and its JSON.
        field: &'static str,
    },
    /// A date field is not a real calendar date written as `YYYY-MM-DD`.
    #[error("field `{field}` is not a date as YYYY-MM-DD between 1900 and 2100: {value:?}")]
    InvalidDate {
        /// The field's name.
        field: &'static str,
        /// The value given.
        value: String,
    },
    /// Two dates are in the wrong order (an end before its start, …).
    #[error("field `{later}` ({later_value}) is before `{earlier}` ({earlier_value})")]
    DateOrder {
        /// The field that must come first.
        earlier: &'static str,
        /// Its value.
        earlier_value: String,
        /// The field that must not precede it.
        later: &'static str,
        /// Its value.
        later_value: String,
    },
    /// A field's value is unusable for another reason (too long, control characters, a link
    /// that is not http(s), …).
    #[error("field `{field}` is invalid: {reason}")]
    InvalidField {
        /// The field's name.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The font has no glyph for a character of a field (or of the template text).
    #[error("field `{field}` has {character:?} (U+{code:04X}), which the font {font} cannot draw", code = u32::from(*character))]
    UnsupportedCharacter {
        /// The field's name, or `template` for the document's own text.
        field: &'static str,
        /// The character.
        character: char,
        /// The font's PostScript name.
        font: String,
    },
    /// No font was found where [`FontSet::discover`](crate::FontSet::discover) looks.
    #[error(
        "no Japanese font found (looked at {}); install the Debian package `{FONT_PACKAGE}` or set {FONT_ENV_VAR} to a TrueType/OpenType font file",
        display_paths(tried)
    )]
    FontNotFound {
        /// The paths looked at, in order.
        tried: Vec<PathBuf>,
    },
    /// A font file exists but could not be read.
    #[error("cannot read the font file {path}: {source}")]
    FontIo {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The font could be read but not used: not a font, no Japanese glyphs, embedding or
    /// subsetting forbidden by its licence bits, unsupported outlines, …
    #[error("the font {origin} is unusable: {reason}")]
    FontUnusable {
        /// The file the font came from, or `memory`.
        origin: String,
        /// What is wrong with it.
        reason: String,
    },
    /// [`render_bundle`](crate::Renderer::render_bundle) was given no documents.
    #[error("a bundle needs at least one document")]
    EmptyBundle,
    /// One document of a bundle failed.
    #[error("bundle item {index}: {source}")]
    InBundle {
        /// The item's position in the slice, from 0.
        index: usize,
        /// What went wrong with it.
        #[source]
        source: Box<DocumentError>,
    },
    /// [`DocumentKind::parse`](crate::DocumentKind::parse) was given an unknown name.
    #[error("unknown document kind {0:?}")]
    UnknownKind(String),
    /// [`Language::parse`](crate::Language::parse) was given an unknown tag.
    #[error("unknown language {0:?} (expected `ja` or `en`)")]
    UnknownLanguage(String),
}

fn display_paths(paths: &[PathBuf]) -> String {
    paths
        .iter()
        .map(|path| path.display().to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
