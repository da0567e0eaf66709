//! Places a document's blocks on A4 pages: positions of text lines and rules, in points.

use ttf_parser::Face;

use crate::templates::{Block, Document, field_with};
use crate::{DocumentError, DocumentFields, FontSet};

/// A4 portrait, in points.
pub(crate) const PAGE_WIDTH: f32 = 595.276;
/// A4 portrait, in points.
pub(crate) const PAGE_HEIGHT: f32 = 841.89;
const MARGIN_X: f32 = 62.0;
const MARGIN_BOTTOM: f32 = 64.0;
const CONTENT_WIDTH: f32 = PAGE_WIDTH - 2.0 * MARGIN_X;
const RIGHT: f32 = PAGE_WIDTH - MARGIN_X;

const NUMBER_SIZE: f32 = 10.5;
const NUMBER_BASELINE: f32 = PAGE_HEIGHT - 58.0;
const TITLE_SIZE: f32 = 20.0;
const TITLE_BASELINE: f32 = PAGE_HEIGHT - 118.0;
const BODY_TOP: f32 = PAGE_HEIGHT - 150.0;
const CONTINUED_TOP: f32 = PAGE_HEIGHT - 90.0;
const ADDRESSEE_SIZE: f32 = 13.0;
const BODY_SIZE: f32 = 11.0;
const BODY_LEADING: f32 = 19.0;
const ROW_LEADING: f32 = 17.0;
const ROW_PADDING: f32 = 7.0;
const COLUMN_GAP: f32 = 14.0;
const NOTE_SIZE: f32 = 9.5;
const NOTE_LEADING: f32 = 15.5;
const CLOSING_SIZE: f32 = 12.0;
const CLOSING_LEADING: f32 = 21.0;
const BLOCK_GAP: f32 = 12.0;

/// One page's marks.
#[derive(Debug, Clone, PartialEq, Default)]
pub(crate) struct Page {
    pub(crate) ops: Vec<Op>,
}

/// A mark on a page. `y` is a baseline, from the bottom edge.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Op {
    Text {
        x: f32,
        y: f32,
        size: f32,
        bold: bool,
        text: String,
    },
    Rule {
        x1: f32,
        x2: f32,
        y: f32,
    },
}

/// Font measurements in em.
struct Metrics<'a> {
    face: &'a Face<'a>,
    units_per_em: f32,
    ascent: f32,
    descent: f32,
}

impl Metrics<'_> {
    fn width(&self, text: &str, size: f32) -> f32 {
        let units: u32 = text
            .chars()
            .filter_map(|c| self.face.glyph_index(c))
            .filter_map(|glyph| self.face.glyph_hor_advance(glyph))
            .map(u32::from)
            .sum();
        units as f32 / self.units_per_em * size
    }

    /// The baseline of a line of `size` centred in a line box of `leading` whose top is `top`.
    fn baseline(&self, top: f32, size: f32, leading: f32) -> f32 {
        let extent = (self.ascent - self.descent) * size;
        top - (leading - extent) / 2.0 - self.ascent * size
    }
}

/// Fails on the first character of the document that the font cannot draw.
fn check_glyphs(
    document: &Document,
    face: &Face<'_>,
    fonts: &FontSet,
    fields: &DocumentFields,
) -> Result<(), DocumentError> {
    let missing = document
        .strings()
        .flat_map(str::chars)
        .find(|&c| c != '\n' && c != '\r' && face.glyph_index(c).is_none());
    match missing {
        None => Ok(()),
        Some(character) => Err(DocumentError::UnsupportedCharacter {
            field: field_with(fields, character),
            character,
            font: fonts.postscript_name().to_owned(),
        }),
    }
}

/// Lays `document` out on as many pages as it needs (one unless its values are very long).
pub(crate) fn layout(
    document: &Document,
    face: &Face<'_>,
    fonts: &FontSet,
    fields: &DocumentFields,
) -> Result<Vec<Page>, DocumentError> {
    check_glyphs(document, face, fonts, fields)?;
    let units_per_em = f32::from(face.units_per_em());
    let metrics = Metrics {
        face,
        units_per_em,
        ascent: f32::from(face.ascender()) / units_per_em,
        descent: f32::from(face.descender()) / units_per_em,
    };
    let mut out = Writer {
        metrics: &metrics,
        number: &document.number,
        pages: Vec::new(),
        page: Page::default(),
        y: BODY_TOP,
    };
    out.page_number();
    let title_width = metrics.width(&document.title, TITLE_SIZE);
    out.page.ops.push(Op::Text {
        x: ((PAGE_WIDTH - title_width) / 2.0).max(MARGIN_X),
        y: TITLE_BASELINE,
        size: TITLE_SIZE,
        bold: true,
        text: document.title.clone(),
    });
    for block in &document.blocks {
        out.block(block);
    }
    out.pages.push(out.page);
    Ok(out.pages)
}

struct Writer<'a> {
    metrics: &'a Metrics<'a>,
    number: &'a str,
    pages: Vec<Page>,
    page: Page,
    /// The top of the next line box.
    y: f32,
}

impl Writer<'_> {
    fn page_number(&mut self) {
        let width = self.metrics.width(self.number, NUMBER_SIZE);
        self.page.ops.push(Op::Text {
            x: (RIGHT - width).max(MARGIN_X),
            y: NUMBER_BASELINE,
            size: NUMBER_SIZE,
            bold: false,
            text: self.number.to_owned(),
        });
    }

    /// Starts a new page unless `height` more points fit on this one.
    fn room_for(&mut self, height: f32) -> bool {
        if self.y - height >= MARGIN_BOTTOM {
            return false;
        }
        let page = std::mem::take(&mut self.page);
        self.pages.push(page);
        self.page_number();
        self.y = CONTINUED_TOP;
        true
    }

    fn text(&mut self, x: f32, top: f32, size: f32, leading: f32, text: String) {
        if text.is_empty() {
            return;
        }
        self.page.ops.push(Op::Text {
            x,
            y: self.metrics.baseline(top, size, leading),
            size,
            bold: false,
            text,
        });
    }

    fn lines(&mut self, text: &str, size: f32, leading: f32, align: Align) {
        for line in wrap(self.metrics, text, size, CONTENT_WIDTH) {
            self.room_for(leading);
            let x = match align {
                Align::Left => MARGIN_X,
                Align::Center => (PAGE_WIDTH - self.metrics.width(&line, size)) / 2.0,
                Align::Right => RIGHT - self.metrics.width(&line, size),
            };
            self.text(x.max(MARGIN_X), self.y, size, leading, line);
            self.y -= leading;
        }
    }

    fn block(&mut self, block: &Block) {
        match block {
            Block::Addressee(text) => {
                self.lines(text, ADDRESSEE_SIZE, BODY_LEADING + 2.0, Align::Left);
                self.y -= BLOCK_GAP;
            }
            Block::Paragraph(text) => {
                self.lines(text, BODY_SIZE, BODY_LEADING, Align::Left);
                self.y -= BLOCK_GAP;
            }
            Block::Centered(text) => {
                self.lines(text, BODY_SIZE, BODY_LEADING, Align::Center);
                self.y -= BLOCK_GAP / 2.0;
            }
            Block::Note(text) => {
                self.lines(text, NOTE_SIZE, NOTE_LEADING, Align::Left);
                self.y -= BLOCK_GAP;
            }
            Block::Closing(lines) => {
                self.y -= 2.0 * BLOCK_GAP;
                self.room_for(CLOSING_LEADING * lines.len() as f32);
                for line in lines {
                    self.lines(line, CLOSING_SIZE, CLOSING_LEADING, Align::Right);
                }
            }
            Block::Rows(rows) => self.rows(rows),
        }
    }

    fn rows(&mut self, rows: &[(String, String)]) {
        let label_width = rows
            .iter()
            .map(|(label, _)| self.metrics.width(label, BODY_SIZE))
            .fold(0.0, f32::max)
            .clamp(60.0, CONTENT_WIDTH * 0.36);
        let value_x = MARGIN_X + label_width + COLUMN_GAP;
        let value_width = RIGHT - value_x;
        self.rule();
        for (label, value) in rows {
            let labels = wrap(self.metrics, label, BODY_SIZE, label_width);
            let values = wrap(self.metrics, value, BODY_SIZE, value_width);
            let count = labels.len().max(values.len()).max(1);
            let height = count as f32 * ROW_LEADING + 2.0 * ROW_PADDING;
            if self.room_for(height) {
                self.rule();
            }
            let top = self.y - ROW_PADDING;
            for (i, line) in labels.into_iter().enumerate() {
                let line_top = top - i as f32 * ROW_LEADING;
                self.text(MARGIN_X, line_top, BODY_SIZE, ROW_LEADING, line);
            }
            for (i, line) in values.into_iter().enumerate() {
                let line_top = top - i as f32 * ROW_LEADING;
                self.text(value_x, line_top, BODY_SIZE, ROW_LEADING, line);
            }
            self.y -= height;
            self.rule();
        }
        self.y -= BLOCK_GAP;
    }

    fn rule(&mut self) {
        self.page.ops.push(Op::Rule {
            x1: MARGIN_X,
            x2: RIGHT,
            y: self.y,
        });
    }
}

#[derive(Clone, Copy)]
enum Align {
    Left,
    Center,
    Right,
}

/// Characters after which, and before which, a line may break anywhere (kana, kanji,
/// full-width forms).
fn is_cjk(c: char) -> bool {
    matches!(c,
        '\u{2E80}'..='\u{9FFF}'
        | '\u{F900}'..='\u{FAFF}'
        | '\u{FE30}'..='\u{FE4F}'
        | '\u{FF00}'..='\u{FFEF}'
        | '\u{20000}'..='\u{3FFFF}')
}

/// Characters that may not start a line (kinsoku): they stay at the end of the line before.
fn no_line_start(c: char) -> bool {
    "、。，．・：；？！）］｝〕〉》」』】ー々ゝゞぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ,.:;!?)]}%"
        .contains(c)
}

/// A piece that is never broken unless it is wider than a line: one CJK character, one run
/// of spaces, or one run of other characters (a Latin word, a link, a number).
fn tokens(text: &str) -> Vec<&str> {
    let mut tokens = Vec::new();
    let mut start = None;
    let mut kind = 0u8;
    for (i, c) in text.char_indices() {
        let this = if c.is_whitespace() {
            1
        } else if is_cjk(c) {
            2
        } else {
            3
        };
        if this == 2 {
            if let Some(s) = start.take() {
                tokens.push(&text[s..i]);
            }
            tokens.push(&text[i..i + c.len_utf8()]);
            continue;
        }
        match start {
            Some(s) if this != kind => {
                tokens.push(&text[s..i]);
                start = Some(i);
            }
            Some(_) => {}
            None => start = Some(i),
        }
        kind = this;
    }
    if let Some(s) = start {
        tokens.push(&text[s..]);
    }
    tokens
}

/// Breaks `text` into lines no wider than `width`; `\n` forces a break.
fn wrap(metrics: &Metrics<'_>, text: &str, size: f32, width: f32) -> Vec<String> {
    let mut lines = Vec::new();
    for paragraph in text.split('\n') {
        let paragraph = paragraph.trim_end_matches('\r').trim();
        let mut line = String::new();
        let mut line_width = 0.0;
        for token in tokens(paragraph) {
            let token_width = metrics.width(token, size);
            let is_space = token.chars().all(char::is_whitespace);
            if line_width + token_width <= width {
                if !(is_space && line.is_empty()) {
                    line.push_str(token);
                    line_width += token_width;
                }
                continue;
            }
            if is_space {
                lines.push(std::mem::take(&mut line).trim_end().to_owned());
                line_width = 0.0;
                continue;
            }
            let first = token.chars().next().unwrap_or(' ');
            if !line.is_empty() && token.chars().count() == 1 && no_line_start(first) {
                // Hang the punctuation past the edge rather than start a line with it.
                line.push_str(token);
                lines.push(std::mem::take(&mut line));
                line_width = 0.0;
                continue;
            }
            if token_width <= width {
                if !line.is_empty() {
                    lines.push(std::mem::take(&mut line).trim_end().to_owned());
                }
                line.push_str(token);
                line_width = token_width;
                continue;
            }
            // Wider than a whole line (a long link): break it between characters.
            for c in token.chars() {
                let mut buf = [0u8; 4];
                let c_width = metrics.width(c.encode_utf8(&mut buf), size);
                if line_width + c_width > width && !line.is_empty() {
                    lines.push(std::mem::take(&mut line).trim_end().to_owned());
                    line_width = 0.0;
                }
                line.push(c);
                line_width += c_width;
            }
        }
        lines.push(line.trim_end().to_owned());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_split_cjk_per_character_and_latin_per_word() {
        assert_eq!(
            tokens("東京都港区 Shiba 1-2-3"),
            ["東", "京", "都", "港", "区", " ", "Shiba", " ", "1-2-3"]
        );
        assert_eq!(
            tokens("https://example.invalid/a?b=c"),
            ["https://example.invalid/a?b=c"]
        );
        assert!(tokens("").is_empty());
    }

    #[test]
    fn wraps_to_the_width_and_keeps_every_character() {
        let fonts = FontSet::discover().expect("a Japanese font (fonts-ipaexfont-gothic)");
        let face = fonts.face().unwrap();
        let upem = f32::from(face.units_per_em());
        let metrics = Metrics {
            face: &face,
            units_per_em: upem,
            ascent: 0.88,
            descent: -0.12,
        };
        let text = "東京都港区芝公園一丁目二番三号　みなとマンション四〇五号室（山田様方）、さらに長い住所の続き。";
        let lines = wrap(&metrics, text, 11.0, 120.0);
        assert!(lines.len() > 3, "{lines:?}");
        assert_eq!(lines.concat(), text);
        for line in &lines[..lines.len() - 1] {
            // A hanging punctuation mark may pass the edge by one character.
            assert!(metrics.width(line, 11.0) <= 120.0 + 11.0, "{line}");
        }
        assert!(
            lines
                .iter()
                .all(|line| !line.starts_with('、') && !line.starts_with('。'))
        );

        let english = "Work in which you touch food directly while making, selling or handling it";
        let lines = wrap(&metrics, english, 11.0, 150.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.join(" "), english);
        assert!(lines.iter().all(|line| metrics.width(line, 11.0) <= 150.0));

        let url = "https://health.example.invalid/report/0123456789abcdef0123456789abcdef";
        let lines = wrap(&metrics, url, 11.0, 100.0);
        assert!(lines.len() > 1);
        assert_eq!(lines.concat(), url);

        assert_eq!(
            wrap(&metrics, "一行目\n二行目", 11.0, 300.0),
            ["一行目", "二行目"]
        );
    }
}
