//! The font: loading, choosing a face of a collection, finding one on the system.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ttf_parser::{Face, Permissions, Tag, name_id};

use crate::DocumentError;

/// The environment variable naming the font file to use, checked first by
/// [`FontSet::discover`].
pub const FONT_ENV_VAR: &str = "MIMAMORI_DOCUMENT_FONT";

/// Fonts installed by Debian packages, in the order [`FontSet::discover`] tries them:
/// IPAex Gothic (`fonts-ipaexfont-gothic`), the system's Japanese gothic alternative, and Noto
/// Sans CJK (`fonts-noto-cjk`, a collection whose JP face is used).
pub const WELL_KNOWN_FONT_PATHS: [&str; 3] = [
    "/usr/share/fonts/opentype/ipaexfont-gothic/ipaexg.ttf",
    "/usr/share/fonts/truetype/fonts-japanese-gothic.ttf",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
];

/// The Debian package that provides the first of [`WELL_KNOWN_FONT_PATHS`].
pub const FONT_PACKAGE: &str = "fonts-ipaexfont-gothic";

/// A character every Japanese document uses; a font without it is not a Japanese font.
const PROBE: char = '保';

/// How the glyph outlines are stored, which decides how the PDF embeds them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outlines {
    /// `glyf` outlines: embedded as a TrueType font program (FontFile2, CIDFontType2).
    TrueType,
    /// `CFF ` outlines: the bare CFF table is embedded (FontFile3/CIDFontType0C, CIDFontType0).
    Cff,
}

/// One loaded font face, shared cheaply between clones. Documents are drawn with it in one
/// weight; titles are emboldened by stroking the outlines.
#[derive(Clone)]
pub struct FontSet {
    data: Arc<[u8]>,
    index: u32,
    postscript_name: String,
    outlines: Outlines,
    origin: String,
}

impl fmt::Debug for FontSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FontSet")
            .field("origin", &self.origin)
            .field("index", &self.index)
            .field("postscript_name", &self.postscript_name)
            .field("outlines", &self.outlines)
            .field("bytes", &self.data.len())
            .finish()
    }
}

impl FontSet {
    /// Loads a TrueType/OpenType file, or a collection (`.ttc`/`.otc`), of which the Japanese
    /// face is used.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, DocumentError> {
        let path = path.as_ref();
        let data = std::fs::read(path).map_err(|source| DocumentError::FontIo {
            path: path.to_owned(),
            source,
        })?;
        Self::load(data, path.display().to_string())
    }

    /// Uses font bytes already in memory.
    pub fn from_bytes(bytes: Vec<u8>) -> Result<Self, DocumentError> {
        Self::load(bytes, "memory".to_owned())
    }

    /// Loads the file named by [`FONT_ENV_VAR`] if it is set (and fails if that file is
    /// missing), else the first of [`WELL_KNOWN_FONT_PATHS`] that exists.
    pub fn discover() -> Result<Self, DocumentError> {
        let configured = std::env::var_os(FONT_ENV_VAR)
            .filter(|value| !value.is_empty())
            .map(PathBuf::from);
        let candidates: Vec<PathBuf> = WELL_KNOWN_FONT_PATHS.iter().map(PathBuf::from).collect();
        Self::from_file(discover_path(configured, &candidates)?)
    }

    /// Where the font came from: its path, or `memory`.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// The face's PostScript name (`IPAexGothic`, `NotoSansCJKjp-Regular`, …).
    pub fn postscript_name(&self) -> &str {
        &self.postscript_name
    }

    /// The face's index in its file (0 unless the file is a collection).
    pub fn face_index(&self) -> u32 {
        self.index
    }

    pub(crate) fn data(&self) -> &[u8] {
        &self.data
    }

    pub(crate) fn outlines(&self) -> Outlines {
        self.outlines
    }

    /// Parses the face again (cheap: tables are read lazily).
    pub(crate) fn face(&self) -> Result<Face<'_>, DocumentError> {
        Face::parse(&self.data, self.index).map_err(|error| self.unusable(error.to_string()))
    }

    pub(crate) fn unusable(&self, reason: impl Into<String>) -> DocumentError {
        DocumentError::FontUnusable {
            origin: self.origin.clone(),
            reason: reason.into(),
        }
    }

    fn load(data: Vec<u8>, origin: String) -> Result<Self, DocumentError> {
        let unusable = |reason: String| DocumentError::FontUnusable {
            origin: origin.clone(),
            reason,
        };
        let index = choose_face(&data).map_err(unusable)?;
        let face = Face::parse(&data, index).map_err(|error| unusable(error.to_string()))?;
        if face.glyph_index(PROBE).is_none() {
            return Err(unusable(format!("it has no glyph for {PROBE:?}")));
        }
        if face.permissions() == Some(Permissions::Restricted) {
            return Err(unusable(
                "its licence bits (OS/2 fsType) forbid embedding".to_owned(),
            ));
        }
        if !face.is_subsetting_allowed() {
            return Err(unusable(
                "its licence bits (OS/2 fsType) forbid subsetting".to_owned(),
            ));
        }
        let raw = face.raw_face();
        let outlines = if raw.table(Tag::from_bytes(b"glyf")).is_some() {
            Outlines::TrueType
        } else if raw.table(Tag::from_bytes(b"CFF ")).is_some() {
            Outlines::Cff
        } else {
            return Err(unusable(
                "it has neither TrueType (glyf) nor CFF outlines".to_owned(),
            ));
        };
        let postscript_name = postscript_name(&face);
        Ok(FontSet {
            data: data.into(),
            index,
            postscript_name,
            outlines,
            origin,
        })
    }
}

/// The configured path, or the first candidate that exists.
pub(crate) fn discover_path(
    configured: Option<PathBuf>,
    candidates: &[PathBuf],
) -> Result<PathBuf, DocumentError> {
    if let Some(path) = configured {
        return if path.is_file() {
            Ok(path)
        } else {
            Err(DocumentError::FontNotFound { tried: vec![path] })
        };
    }
    candidates
        .iter()
        .find(|path| path.is_file())
        .cloned()
        .ok_or_else(|| DocumentError::FontNotFound {
            tried: candidates.to_vec(),
        })
}

/// The face to use: 0 for a single font; in a collection the first face whose names say
/// Japanese (Noto Sans CJK JP, Source Han Sans JP, …), else the first with Japanese glyphs.
fn choose_face(data: &[u8]) -> Result<u32, String> {
    let Some(count) = ttf_parser::fonts_in_collection(data) else {
        return Ok(0);
    };
    let faces: Vec<(u32, Face<'_>)> = (0..count)
        .filter_map(|index| Face::parse(data, index).ok().map(|face| (index, face)))
        .collect();
    let japanese_name = faces.iter().find(|(_, face)| {
        face.names().into_iter().any(|name| {
            matches!(
                name.name_id,
                name_id::FAMILY | name_id::POST_SCRIPT_NAME | name_id::TYPOGRAPHIC_FAMILY
            ) && name.to_string().is_some_and(|text| {
                text.ends_with(" JP")
                    || text.contains(" JP ")
                    || text.contains("CJKjp")
                    || text.contains("HanSansJP")
            })
        })
    });
    japanese_name
        .or_else(|| {
            faces
                .iter()
                .find(|(_, face)| face.glyph_index(PROBE).is_some())
        })
        .map(|(index, _)| *index)
        .ok_or_else(|| format!("none of the collection's {count} faces is a Japanese font"))
}

/// The PostScript name with only the characters a PDF name may carry, never empty.
fn postscript_name(face: &Face<'_>) -> String {
    let name = face
        .names()
        .into_iter()
        .filter(|name| name.name_id == name_id::POST_SCRIPT_NAME)
        .find_map(|name| name.to_string())
        .unwrap_or_default();
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
        .take(63)
        .collect();
    if name.is_empty() {
        "Font".to_owned()
    } else {
        name
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn discovery_prefers_the_configured_path_and_fails_if_it_is_missing() {
        let dir = std::env::temp_dir().join(format!("mimamori-documents-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let present = dir.join("present.ttf");
        std::fs::write(&present, b"x").unwrap();
        let missing = dir.join("missing.ttf");

        let found = discover_path(None, &[missing.clone(), present.clone()]).unwrap();
        assert_eq!(found, present);
        let configured =
            discover_path(Some(present.clone()), std::slice::from_ref(&missing)).unwrap();
        assert_eq!(configured, present);

        let error =
            discover_path(Some(missing.clone()), std::slice::from_ref(&present)).unwrap_err();
        assert!(
            matches!(&error, DocumentError::FontNotFound { tried } if tried.as_slice() == std::slice::from_ref(&missing))
        );

        let error = discover_path(None, std::slice::from_ref(&missing)).unwrap_err();
        let message = error.to_string();
        assert!(message.contains(FONT_PACKAGE), "{message}");
        assert!(message.contains(FONT_ENV_VAR), "{message}");
        assert!(message.contains("missing.ttf"), "{message}");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn garbage_is_an_unusable_font() {
        let error = FontSet::from_bytes(b"not a font at all".to_vec()).unwrap_err();
        assert!(
            matches!(error, DocumentError::FontUnusable { ref origin, .. } if origin == "memory")
        );
    }

    #[test]
    fn a_missing_file_is_an_io_error() {
        let error = FontSet::from_file("/nonexistent/font.ttf").unwrap_err();
        assert!(matches!(error, DocumentError::FontIo { .. }));
    }
}
