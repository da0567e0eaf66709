//! The wording of each document in each language, as blocks for the layout.

use crate::date::Date;
use crate::fields::{Reader, check_order, check_url};
use crate::{DocumentError, DocumentFields, DocumentKind, Language};

/// A document before layout: plain strings in reading order.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Document {
    pub(crate) title: String,
    /// Printed top right.
    pub(crate) number: String,
    pub(crate) blocks: Vec<Block>,
}

/// A piece of a document.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Block {
    /// 山田 太郎 様 / To: …, at the left under the title.
    Addressee(String),
    /// Running text, wrapped.
    Paragraph(String),
    /// A centred line (記).
    Centered(String),
    /// Label/value lines between rules; values wrap in their column.
    Rows(Vec<(String, String)>),
    /// Smaller running text (※ notes).
    Note(String),
    /// Right-aligned closing lines: issue date, health center.
    Closing(Vec<String>),
}

/// The phrase for a title, as documents and the API show it.
pub(crate) fn title(kind: DocumentKind, lang: Language) -> &'static str {
    use DocumentKind::*;
    match (kind, lang) {
        (IsolationCertificate, Language::Ja) => "療養証明書",
        (IsolationCertificate, Language::En) => "Certificate of Medical Treatment (Isolation)",
        (WorkRestrictionNotice, Language::Ja) => "就業制限通知書",
        (WorkRestrictionNotice, Language::En) => "Notice of Work Restriction",
        (QuarantineStartNotice, Language::Ja) => "健康観察開始のお知らせ",
        (QuarantineStartNotice, Language::En) => "Notice of the Start of Health Monitoring",
        (QuarantineEndNotice, Language::Ja) => "健康観察終了のお知らせ",
        (QuarantineEndNotice, Language::En) => "Notice of the End of Health Monitoring",
    }
}

const ACT_JA: &str = "感染症の予防及び感染症の患者に対する医療に関する法律";
const ACT_EN: &str = "the Act on the Prevention of Infectious Diseases and Medical Care for Patients with Infectious Diseases";

/// Label and value texts in one language.
struct Words {
    lang: Language,
}

impl Words {
    fn pick(&self, ja: &'static str, en: &'static str) -> &'static str {
        match self.lang {
            Language::Ja => ja,
            Language::En => en,
        }
    }

    fn date(&self, date: (&'static str, Date)) -> String {
        date.1.format(self.lang)
    }

    fn addressee(&self, name: &str) -> Block {
        Block::Addressee(match self.lang {
            Language::Ja => format!("{name} 様"),
            Language::En => format!("To: {name}"),
        })
    }

    fn number(&self, number: &str) -> String {
        match self.lang {
            Language::Ja => number.to_owned(),
            Language::En => format!("No. {number}"),
        }
    }

    fn period(&self, start: (&'static str, Date), end: (&'static str, Date)) -> String {
        match self.lang {
            Language::Ja => format!("{}から{}まで", self.date(start), self.date(end)),
            Language::En => format!("{} to {}", self.date(start), self.date(end)),
        }
    }

    fn phone(&self, center: &str, phone: &str) -> String {
        match self.lang {
            Language::Ja => format!("{center}（電話 {phone}）"),
            Language::En => format!("{center} (phone {phone})"),
        }
    }

    fn person_rows(
        &self,
        name: &str,
        kana: Option<&str>,
        birth: Option<(&'static str, Date)>,
        address: Option<&str>,
    ) -> Vec<(String, String)> {
        let mut rows = vec![(self.pick("氏名", "Name").to_owned(), name.to_owned())];
        if let Some(kana) = kana {
            rows.push((
                self.pick("フリガナ", "Name (katakana)").to_owned(),
                kana.to_owned(),
            ));
        }
        if let Some(birth) = birth {
            rows.push((
                self.pick("生年月日", "Date of birth").to_owned(),
                self.date(birth),
            ));
        }
        if let Some(address) = address {
            rows.push((self.pick("住所", "Address").to_owned(), address.to_owned()));
        }
        rows
    }

    fn row(&self, ja: &'static str, en: &'static str, value: String) -> (String, String) {
        (self.pick(ja, en).to_owned(), value)
    }
}

/// Checks `fields` for `kind` and words the document in `lang`.
pub(crate) fn build(
    kind: DocumentKind,
    lang: Language,
    fields: &DocumentFields,
) -> Result<Document, DocumentError> {
    let r = Reader::new(kind, fields);
    let f = r.fields();
    let w = Words { lang };
    let number = r.text("document_number", &f.document_number, false)?;
    let name = r.text("person_name", &f.person_name, false)?;
    let kana = r.optional_text("person_name_kana", &f.person_name_kana, false)?;
    let address = r.optional_text("address", &f.address, true)?;
    let center = r.text("health_center_name", &f.health_center_name, false)?;
    let issued = r.date("issue_date", &f.issue_date)?;
    let closing = Block::Closing(vec![w.date(issued), center.to_owned()]);
    let rule = Block::Centered(w.pick("記", "Particulars").to_owned());

    let blocks = match kind {
        DocumentKind::IsolationCertificate => {
            let birth = r.required_date("birth_date", &f.birth_date)?;
            let diagnosed = r.required_date("diagnosis_date", &f.diagnosis_date)?;
            let start = r.required_date("isolation_start", &f.isolation_start)?;
            let end = r.required_date("isolation_end", &f.isolation_end)?;
            check_order(start, end, f)?;
            check_order(birth, start, f)?;
            check_order(birth, issued, f)?;
            let mut rows = w.person_rows(name, kana, Some(birth), address);
            rows.push(w.row(
                "診断日（発生届出日）",
                "Date of diagnosis (notification)",
                w.date(diagnosed),
            ));
            rows.push(w.row("療養開始日", "Isolation started", w.date(start)));
            rows.push(w.row("療養終了日", "Isolation ended", w.date(end)));
            let intro = match lang {
                Language::Ja => format!(
                    "次の者は、新型コロナウイルス感染症の患者として、{ACT_JA}に基づき、下記の期間、療養したことを証明します。"
                ),
                Language::En => format!(
                    "This is to certify that the person named below, a patient with the novel coronavirus disease (COVID-19), was in medical treatment (isolation at home, in a hotel or in hospital) for the period below under {ACT_EN}."
                ),
            };
            vec![Block::Paragraph(intro), rule, Block::Rows(rows), closing]
        }
        DocumentKind::WorkRestrictionNotice => {
            let from = r.required_date("restricted_from", &f.restricted_from)?;
            let to = r.required_date("restricted_to", &f.restricted_to)?;
            check_order(from, to, f)?;
            let reason = r.optional_text("restriction_reason", &f.restriction_reason, true)?;
            let phone = r.optional_text("health_center_phone", &f.health_center_phone, false)?;
            let mut rows = w.person_rows(name, kana, None, address);
            rows.push(
                w.row(
                    "就業制限の理由",
                    "Reason",
                    reason
                        .unwrap_or(w.pick(
                            "新型コロナウイルス感染症の患者であるため",
                            "You are a patient with the novel coronavirus disease (COVID-19).",
                        ))
                        .to_owned(),
                ),
            );
            rows.push(w.row(
                "制限される業務",
                "Restricted work",
                w.pick(
                    "飲食物の製造、販売、調製又は取扱いの際に飲食物に直接接触する業務及び接客業その他の多数の者に接触する業務",
                    "Work in which you touch food directly while making, selling, preparing or handling it, and customer service or other work in which you come into contact with many people",
                )
                .to_owned(),
            ));
            rows.push(w.row("就業制限開始日", "Restricted from", w.date(from)));
            rows.push(w.row("就業制限終了日", "Restricted to", w.date(to)));
            let intro = match lang {
                Language::Ja => format!(
                    "{ACT_JA}第18条第1項の規定に基づき、下記のとおり通知します。同条第2項の規定により、あなたは下記の期間、下記の業務に従事することができません。"
                ),
                Language::En => format!(
                    "Under Article 18, paragraph 1 of {ACT_EN}, you are hereby notified as follows. Under paragraph 2 of the same Article, you may not engage in the work below during the period below."
                ),
            };
            let mut blocks = vec![
                w.addressee(name),
                Block::Paragraph(intro),
                rule,
                Block::Rows(rows),
            ];
            if let Some(phone) = phone {
                blocks.push(Block::Note(match lang {
                    Language::Ja => format!(
                        "※ご不明な点や体調の変化は、{}へご連絡ください。",
                        w.phone(center, phone)
                    ),
                    Language::En => format!(
                        "If you have questions or your condition changes, call {}.",
                        w.phone(center, phone)
                    ),
                }));
            }
            blocks.push(closing);
            blocks
        }
        DocumentKind::QuarantineStartNotice => {
            let exposure = r.required_date("last_exposure_date", &f.last_exposure_date)?;
            let start = r.required_date("quarantine_start", &f.quarantine_start)?;
            let end = r.required_date("quarantine_end", &f.quarantine_end)?;
            check_order(exposure, start, f)?;
            check_order(start, end, f)?;
            let url = r.required_text("health_report_url", &f.health_report_url, false)?;
            check_url("health_report_url", url)?;
            let phone = r.required_text("health_center_phone", &f.health_center_phone, false)?;
            let mut rows = w.person_rows(name, kana, None, address);
            rows.push(w.row(
                "最終接触日",
                "Last contact with the patient",
                w.date(exposure),
            ));
            rows.push(w.row("健康観察開始日", "Quarantine starts", w.date(start)));
            rows.push(w.row("健康観察終了日", "Quarantine ends", w.date(end)));
            rows.push(w.row("健康状態の報告", "Daily health report", url.to_owned()));
            rows.push(w.row("連絡先", "Contact", w.phone(center, phone)));
            let (intro, how) = match lang {
                Language::Ja => (
                    "あなたは、新型コロナウイルス感染症の患者の濃厚接触者に該当します。下記の期間、不要不急の外出を控え、毎日の健康観察にご協力ください。".to_owned(),
                    format!(
                        "毎日、体温と症状の有無を上記のリンク（健康状態の報告）から報告してください。発熱や咳などの症状が出た場合や、報告ができない場合は、保健所（電話 {phone}）へご連絡ください。"
                    ),
                ),
                Language::En => (
                    "You have been identified as a close contact of a patient with the novel coronavirus disease (COVID-19). Please stay at home during the period below, going out only when necessary, and help us monitor your health every day.".to_owned(),
                    format!(
                        "Every day, report your temperature and any symptoms at the link above (daily health report). If you develop a fever, a cough or other symptoms, or cannot report, call the health center at {phone}."
                    ),
                ),
            };
            vec![
                w.addressee(name),
                Block::Paragraph(intro),
                rule,
                Block::Rows(rows),
                Block::Paragraph(how),
                closing,
            ]
        }
        DocumentKind::QuarantineEndNotice => {
            let start = r.required_date("quarantine_start", &f.quarantine_start)?;
            let end = r.required_date("quarantine_end", &f.quarantine_end)?;
            check_order(start, end, f)?;
            let phone = r.optional_text("health_center_phone", &f.health_center_phone, false)?;
            let mut rows = w.person_rows(name, kana, None, None);
            rows.push(w.row("健康観察期間", "Monitoring period", w.period(start, end)));
            rows.push(w.row("健康観察終了日", "Quarantine ended", w.date(end)));
            let intro = w.pick(
                "あなたの健康観察期間は、下記のとおり終了しました。ご協力ありがとうございました。",
                "Your health monitoring (quarantine) period has ended as shown below. Thank you for your cooperation.",
            );
            let mut note = w
                .pick(
                    "※終了後に発熱などの症状が出た場合は、受診の前に、かかりつけ医などの医療機関へ電話でご相談ください。",
                    "If you develop a fever or other symptoms later, call your family doctor or another medical institution before visiting.",
                )
                .to_owned();
            if let Some(phone) = phone {
                note.push_str(&match lang {
                    Language::Ja => format!(
                        "ご不明な点は、{}へお問い合わせください。",
                        w.phone(center, phone)
                    ),
                    Language::En => format!(" For questions, call {}.", w.phone(center, phone)),
                });
            }
            vec![
                w.addressee(name),
                Block::Paragraph(intro.to_owned()),
                rule,
                Block::Rows(rows),
                Block::Note(note),
                closing,
            ]
        }
    };
    Ok(Document {
        title: title(kind, lang).to_owned(),
        number: w.number(number),
        blocks,
    })
}

impl Document {
    /// Every string drawn, for finding the glyphs a file needs.
    pub(crate) fn strings(&self) -> impl Iterator<Item = &str> {
        let blocks = self.blocks.iter().flat_map(|block| -> Vec<&str> {
            match block {
                Block::Addressee(text)
                | Block::Paragraph(text)
                | Block::Centered(text)
                | Block::Note(text) => vec![text],
                Block::Rows(rows) => rows
                    .iter()
                    .flat_map(|(label, value)| [label.as_str(), value.as_str()])
                    .collect(),
                Block::Closing(lines) => lines.iter().map(String::as_str).collect(),
            }
        });
        [self.title.as_str(), self.number.as_str()]
            .into_iter()
            .chain(blocks)
    }
}

/// The field a character the font lacks comes from, or `template` for the wording itself.
pub(crate) fn field_with(fields: &DocumentFields, character: char) -> &'static str {
    let optional = [
        ("person_name_kana", &fields.person_name_kana),
        ("address", &fields.address),
        ("restriction_reason", &fields.restriction_reason),
        ("health_report_url", &fields.health_report_url),
        ("health_center_phone", &fields.health_center_phone),
    ];
    let required = [
        ("document_number", &fields.document_number),
        ("person_name", &fields.person_name),
        ("health_center_name", &fields.health_center_name),
    ];
    required
        .into_iter()
        .find(|(_, value)| value.contains(character))
        .or_else(|| {
            optional
                .into_iter()
                .filter_map(|(name, value)| value.as_ref().map(|value| (name, value)))
                .find(|(_, value)| value.contains(character))
        })
        .map_or("template", |(name, _)| name)
}
