//! Writes laid-out pages as a PDF with one subset, embedded CID font and a ToUnicode CMap.

use std::collections::BTreeMap;

use pdf_writer::types::{
    CidFontType, FontFlags, LineCapStyle, SystemInfo, TextRenderingMode, UnicodeCmap,
};
use pdf_writer::{Content, Filter, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use subsetter::GlyphRemapper;
use ttf_parser::{Face, GlyphId, RawFace, Tag};

use crate::font::Outlines;
use crate::layout::{Op, PAGE_HEIGHT, PAGE_WIDTH, Page};
use crate::{DocumentError, FontSet, Language};

const FONT_RESOURCE: Name<'static> = Name(b"F1");
const DEFLATE_LEVEL: u8 = 6;

/// The glyphs a file uses, renumbered for the subset: CID = new glyph id.
struct Glyphs {
    remapper: GlyphRemapper,
    cids: BTreeMap<char, u16>,
}

impl Glyphs {
    fn collect(face: &Face<'_>, documents: &[(String, Vec<Page>)]) -> Glyphs {
        let mut chars: BTreeMap<char, u16> = BTreeMap::new();
        let texts = documents
            .iter()
            .flat_map(|(_, pages)| pages)
            .flat_map(|page| &page.ops)
            .filter_map(|op| match op {
                Op::Text { text, .. } => Some(text),
                Op::Rule { .. } => None,
            });
        for text in texts {
            for c in text.chars() {
                if let Some(glyph) = face.glyph_index(c) {
                    chars.entry(c).or_insert(glyph.0);
                }
            }
        }
        let gids: Vec<u16> = chars.values().copied().collect();
        let remapper = GlyphRemapper::new_from_glyphs_sorted(&gids);
        let cids = chars
            .into_iter()
            .filter_map(|(c, gid)| remapper.get(gid).map(|cid| (c, cid)))
            .collect();
        Glyphs { remapper, cids }
    }

    fn encode(&self, text: &str) -> Vec<u8> {
        text.chars()
            .filter_map(|c| self.cids.get(&c))
            .flat_map(|cid| cid.to_be_bytes())
            .collect()
    }

    /// Six capital letters derived from the glyph set, as PDF subset names start with.
    fn subset_tag(&self) -> String {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for gid in self.remapper.remapped_gids() {
            for byte in gid.to_be_bytes() {
                hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
            }
        }
        (0..6)
            .map(|i| char::from(b'A' + ((hash >> (i * 8)) % 26) as u8))
            .collect()
    }
}

fn deflate(data: &[u8]) -> Vec<u8> {
    miniz_oxide::deflate::compress_to_vec_zlib(data, DEFLATE_LEVEL)
}

/// Writes `documents` (title and pages each) into one PDF.
pub(crate) fn write(
    fonts: &FontSet,
    face: &Face<'_>,
    documents: &[(String, Vec<Page>)],
    lang: Option<Language>,
) -> Result<Vec<u8>, DocumentError> {
    let glyphs = Glyphs::collect(face, documents);
    let subset = subsetter::subset(fonts.data(), fonts.face_index(), &glyphs.remapper)
        .map_err(|error| fonts.unusable(format!("subsetting failed: {error}")))?;
    let font_program = match fonts.outlines() {
        Outlines::TrueType => subset,
        Outlines::Cff => RawFace::parse(&subset, 0)
            .ok()
            .and_then(|raw| raw.table(Tag::from_bytes(b"CFF ")))
            .map(<[u8]>::to_vec)
            .ok_or_else(|| fonts.unusable("the subset has no CFF table"))?,
    };

    let mut next = 1;
    let mut alloc = || {
        let id = Ref::new(next);
        next += 1;
        id
    };
    let catalog_id = alloc();
    let tree_id = alloc();
    let info_id = alloc();
    let type0_id = alloc();
    let cid_font_id = alloc();
    let descriptor_id = alloc();
    let font_file_id = alloc();
    let cmap_id = alloc();
    let page_count: usize = documents.iter().map(|(_, pages)| pages.len()).sum();
    let page_ids: Vec<(Ref, Ref)> = (0..page_count).map(|_| (alloc(), alloc())).collect();

    let mut pdf = Pdf::new();
    let mut catalog = pdf.catalog(catalog_id);
    catalog.pages(tree_id);
    if let Some(lang) = lang {
        catalog.lang(TextStr(lang.as_str()));
    }
    catalog.finish();

    let title = match documents {
        [(title, _)] => title.clone(),
        [(title, _), ..] => format!("{title} (+{})", documents.len() - 1),
        [] => String::new(),
    };
    pdf.document_info(info_id)
        .title(TextStr(&title))
        .producer(TextStr("Mimamori"));

    pdf.pages(tree_id)
        .kids(page_ids.iter().map(|(page, _)| *page))
        .count(i32::try_from(page_count).unwrap_or(i32::MAX));

    let pages = documents.iter().flat_map(|(_, pages)| pages);
    for (page, (page_id, content_id)) in pages.zip(&page_ids) {
        let mut writer = pdf.page(*page_id);
        writer
            .media_box(Rect::new(0.0, 0.0, PAGE_WIDTH, PAGE_HEIGHT))
            .parent(tree_id)
            .contents(*content_id);
        writer.resources().fonts().pair(FONT_RESOURCE, type0_id);
        writer.finish();
        let content = deflate(&content(page, &glyphs));
        pdf.stream(*content_id, &content)
            .filter(Filter::FlateDecode);
    }

    write_font(
        &mut pdf,
        FontRefs {
            type0: type0_id,
            cid_font: cid_font_id,
            descriptor: descriptor_id,
            font_file: font_file_id,
            cmap: cmap_id,
        },
        fonts,
        face,
        &glyphs,
        &font_program,
    );
    Ok(pdf.finish())
}

fn content(page: &Page, glyphs: &Glyphs) -> Vec<u8> {
    let mut content = Content::new();
    for op in &page.ops {
        match op {
            Op::Text {
                x,
                y,
                size,
                bold,
                text,
            } => {
                if *bold {
                    // One weight only: embolden by stroking the outlines too.
                    content.save_state();
                    content.set_line_width(size * 0.035);
                    content.begin_text();
                    content.set_text_rendering_mode(TextRenderingMode::FillStroke);
                } else {
                    content.begin_text();
                }
                content.set_font(FONT_RESOURCE, *size);
                content.next_line(*x, *y);
                content.show(Str(&glyphs.encode(text)));
                content.end_text();
                if *bold {
                    content.restore_state();
                }
            }
            Op::Rule { x1, x2, y } => {
                content.save_state();
                content.set_stroke_gray(0.45);
                content.set_line_width(0.6);
                content.set_line_cap(LineCapStyle::ButtCap);
                content.move_to(*x1, *y);
                content.line_to(*x2, *y);
                content.stroke();
                content.restore_state();
            }
        }
    }
    content.finish().into_vec()
}

struct FontRefs {
    type0: Ref,
    cid_font: Ref,
    descriptor: Ref,
    font_file: Ref,
    cmap: Ref,
}

fn write_font(
    pdf: &mut Pdf,
    refs: FontRefs,
    fonts: &FontSet,
    face: &Face<'_>,
    glyphs: &Glyphs,
    program: &[u8],
) {
    let base_name = format!("{}+{}", glyphs.subset_tag(), fonts.postscript_name());
    let cff = fonts.outlines() == Outlines::Cff;
    let system_info = SystemInfo {
        registry: Str(b"Adobe"),
        ordering: Str(b"Identity"),
        supplement: 0,
    };
    let units_per_em = f32::from(face.units_per_em());
    let to_pdf = |units: f32| units * 1000.0 / units_per_em;

    let type0_name = if cff {
        format!("{base_name}-Identity-H")
    } else {
        base_name.clone()
    };
    pdf.type0_font(refs.type0)
        .base_font(Name(type0_name.as_bytes()))
        .encoding_predefined(Name(b"Identity-H"))
        .descendant_font(refs.cid_font)
        .to_unicode(refs.cmap);

    let widths: Vec<f32> = glyphs
        .remapper
        .remapped_gids()
        .map(|gid| to_pdf(f32::from(face.glyph_hor_advance(GlyphId(gid)).unwrap_or(0))))
        .collect();
    let mut cid_font = pdf.cid_font(refs.cid_font);
    cid_font
        .subtype(if cff {
            CidFontType::Type0
        } else {
            CidFontType::Type2
        })
        .base_font(Name(base_name.as_bytes()))
        .system_info(system_info)
        .font_descriptor(refs.descriptor)
        .default_width(0.0);
    cid_font.widths().consecutive(0, widths);
    if !cff {
        cid_font.cid_to_gid_map_predefined(Name(b"Identity"));
    }
    cid_font.finish();

    let bbox = face.global_bounding_box();
    let ascent = to_pdf(f32::from(face.ascender()));
    let descent = to_pdf(f32::from(face.descender()));
    let cap_height = face
        .capital_height()
        .map_or(ascent, |height| to_pdf(f32::from(height)));
    let mut descriptor = pdf.font_descriptor(refs.descriptor);
    descriptor
        .name(Name(base_name.as_bytes()))
        .flags(FontFlags::SYMBOLIC)
        .bbox(Rect::new(
            to_pdf(f32::from(bbox.x_min)),
            to_pdf(f32::from(bbox.y_min)),
            to_pdf(f32::from(bbox.x_max)),
            to_pdf(f32::from(bbox.y_max)),
        ))
        .italic_angle(face.italic_angle())
        .ascent(ascent)
        .descent(descent)
        .cap_height(cap_height)
        .stem_v(10.0 + 0.244 * (f32::from(face.weight().to_number()) - 50.0));
    if cff {
        descriptor.font_file3(refs.font_file);
    } else {
        descriptor.font_file2(refs.font_file);
    }
    descriptor.finish();

    let compressed = deflate(program);
    let mut stream = pdf.stream(refs.font_file, &compressed);
    stream.filter(Filter::FlateDecode);
    if cff {
        stream.pair(Name(b"Subtype"), Name(b"CIDFontType0C"));
    } else {
        stream.pair(
            Name(b"Length1"),
            i32::try_from(program.len()).unwrap_or(i32::MAX),
        );
    }
    stream.finish();

    let mut cmap = UnicodeCmap::new(
        Name(b"Mimamori-UCS"),
        SystemInfo {
            registry: Str(b"Adobe"),
            ordering: Str(b"UCS"),
            supplement: 0,
        },
    );
    let mut mapped = std::collections::BTreeSet::new();
    for (c, cid) in &glyphs.cids {
        if mapped.insert(*cid) {
            cmap.pair(*cid, *c);
        }
    }
    let cmap = deflate(&cmap.finish());
    pdf.cmap(refs.cmap, &cmap).filter(Filter::FlateDecode);
}
