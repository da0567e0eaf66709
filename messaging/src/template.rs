//! Message templates in Japanese and English, for e-mail and SMS.
//!
//! A template is fixed text with `{var}` placeholders. [`render`] walks the template once and
//! inserts each value literally: a value is never scanned for placeholders, so a name that
//! contains `{link}` stays `{link}`. Every message ends with an opt-out line. SMS bodies are
//! checked against the SMS length limits ([`sms_segments`], [`RenderOptions::max_sms_segments`]).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

/// How many concatenated SMS segments a message may take unless configured otherwise.
pub const DEFAULT_MAX_SMS_SEGMENTS: usize = 4;

/// Which message to send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TemplateId {
    /// The processing number (処理番号) for the exposure-notification app, with its app link.
    /// Vars: `name`, `processing_number`, `app_link`, `valid_until`, `health_center`.
    ProcessingNumber,
    /// The personal link for daily health reports. Vars: `name`, `link`, `health_center`.
    FollowUpLink,
    /// A reminder to someone who has not reported today. Vars: `name`, `link`, `date`.
    DailyReminder,
    /// The start of a quarantine (待機期間). Vars: `name`, `start_date`, `end_date`,
    /// `health_center`, and optionally `link` (the daily report link).
    QuarantineStart,
    /// The end of a quarantine. Vars: `name`, `start_date`, `end_date`, `health_center`.
    QuarantineEnd,
}

impl TemplateId {
    /// Every template.
    pub const ALL: [TemplateId; 5] = [
        TemplateId::ProcessingNumber,
        TemplateId::FollowUpLink,
        TemplateId::DailyReminder,
        TemplateId::QuarantineStart,
        TemplateId::QuarantineEnd,
    ];

    /// The snake_case name, as serde writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            TemplateId::ProcessingNumber => "processing_number",
            TemplateId::FollowUpLink => "follow_up_link",
            TemplateId::DailyReminder => "daily_reminder",
            TemplateId::QuarantineStart => "quarantine_start",
            TemplateId::QuarantineEnd => "quarantine_end",
        }
    }

    /// The template with that snake_case name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The vars the template cannot do without.
    pub fn required_vars(self) -> &'static [&'static str] {
        spec(self, Language::Ja).required
    }

    /// The vars the template uses when given (besides `unsubscribe_url`, which every e-mail
    /// template takes).
    pub fn optional_vars(self) -> &'static [&'static str] {
        spec(self, Language::Ja).optional
    }
}

impl fmt::Display for TemplateId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The language of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Language {
    /// Japanese.
    Ja,
    /// English.
    En,
}

impl Language {
    /// Both languages.
    pub const ALL: [Language; 2] = [Language::Ja, Language::En];

    /// The language tag: `ja` or `en`.
    pub fn as_str(self) -> &'static str {
        match self {
            Language::Ja => "ja",
            Language::En => "en",
        }
    }

    /// The language of a tag, by its primary subtag and ignoring case (`ja`, `ja-JP`, `EN`,
    /// `en_US`).
    pub fn parse(tag: &str) -> Option<Self> {
        let primary = tag.split(['-', '_']).next().unwrap_or_default();
        if primary.eq_ignore_ascii_case("ja") {
            Some(Language::Ja)
        } else if primary.eq_ignore_ascii_case("en") {
            Some(Language::En)
        } else {
            None
        }
    }
}

impl fmt::Display for Language {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Where a message goes: e-mail has a subject and a longer body, SMS a short body only.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Channel {
    /// E-mail.
    Email,
    /// SMS.
    Sms,
}

impl Channel {
    /// `email` or `sms`.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Email => "email",
            Channel::Sms => "sms",
        }
    }
}

/// A rendered message.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RenderedMessage {
    /// The e-mail subject; `None` for SMS.
    pub subject: Option<String>,
    /// The body, ending with the opt-out line.
    pub body: String,
    /// The `List-Unsubscribe` header value (`<https://…>`) when an `unsubscribe_url` var was
    /// given for an e-mail; `None` otherwise.
    pub list_unsubscribe: Option<String>,
}

impl fmt::Debug for RenderedMessage {
    // The body holds personal data (names, links, processing numbers): keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RenderedMessage")
            .field("subject", &self.subject.as_ref().map(|_| "<redacted>"))
            .field("body_chars", &self.body.chars().count())
            .field("list_unsubscribe", &self.list_unsubscribe.is_some())
            .finish()
    }
}

/// Why a message could not be rendered. Values never appear in it, only var names.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    /// A required var was not given (or was empty).
    #[error("template {template}: missing var `{var}`")]
    MissingVar {
        /// The template.
        template: TemplateId,
        /// The var's name.
        var: String,
    },
    /// A var's value cannot go into a message.
    #[error("template {template}: var `{var}` {reason}")]
    InvalidValue {
        /// The template.
        template: TemplateId,
        /// The var's name.
        var: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The SMS needs more segments than allowed.
    #[error("template {template}: the SMS needs {segments} segments, at most {max} are allowed")]
    SmsTooLong {
        /// The template.
        template: TemplateId,
        /// Segments the body needs.
        segments: usize,
        /// Segments allowed.
        max: usize,
    },
}

/// Options for [`render_with_options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct RenderOptions {
    /// The most concatenated segments an SMS may take (at least 1).
    pub max_sms_segments: usize,
}

impl Default for RenderOptions {
    fn default() -> Self {
        RenderOptions {
            max_sms_segments: DEFAULT_MAX_SMS_SEGMENTS,
        }
    }
}

/// Renders a template with the default options (SMS of at most
/// [`DEFAULT_MAX_SMS_SEGMENTS`] segments).
pub fn render(
    template: TemplateId,
    lang: Language,
    vars: &BTreeMap<String, String>,
    channel: Channel,
) -> Result<RenderedMessage, TemplateError> {
    render_with_options(template, lang, vars, channel, &RenderOptions::default())
}

/// Renders a template.
///
/// Required vars must be present and not blank; values may not hold control characters
/// (newlines included) or be longer than 2,000 characters. Vars the template does not use are
/// ignored. An `unsubscribe_url` var adds an unsubscribe line to e-mails and fills
/// [`RenderedMessage::list_unsubscribe`].
pub fn render_with_options(
    template: TemplateId,
    lang: Language,
    vars: &BTreeMap<String, String>,
    channel: Channel,
    options: &RenderOptions,
) -> Result<RenderedMessage, TemplateError> {
    let spec = spec(template, lang);
    let present = |name: &str| vars.get(name).is_some_and(|v| !v.trim().is_empty());
    for var in spec.required {
        if !present(var) {
            return Err(TemplateError::MissingVar {
                template,
                var: (*var).to_owned(),
            });
        }
    }
    for (name, value) in vars {
        let used = spec.required.contains(&name.as_str())
            || spec.optional.contains(&name.as_str())
            || name == UNSUBSCRIBE_URL;
        if used {
            check_value(template, name, value)?;
        }
    }
    let unsubscribe_url = vars
        .get(UNSUBSCRIBE_URL)
        .map(|v| v.trim())
        .filter(|v| !v.is_empty());
    if let Some(url) = unsubscribe_url
        && (url.contains(['<', '>', ' ', '"']) || !url.contains(':'))
    {
        return Err(TemplateError::InvalidValue {
            template,
            var: UNSUBSCRIBE_URL.to_owned(),
            reason: "is not a URL",
        });
    }

    match channel {
        Channel::Email => {
            let subject = fill(template, spec.subject, vars)?;
            let mut body = fill_pieces(template, spec.email, vars, &present)?;
            body.push('\n');
            body.push_str(email_opt_out(lang));
            body.push('\n');
            if let Some(url) = unsubscribe_url {
                body.push_str(match lang {
                    Language::Ja => "配信停止の手続き: ",
                    Language::En => "Unsubscribe: ",
                });
                body.push_str(url);
                body.push('\n');
            }
            Ok(RenderedMessage {
                subject: Some(subject),
                body,
                list_unsubscribe: unsubscribe_url.map(|url| format!("<{url}>")),
            })
        }
        Channel::Sms => {
            let mut body = fill_pieces(template, spec.sms, vars, &present)?;
            body.push('\n');
            body.push_str(sms_opt_out(lang));
            let segments = sms_segments(&body);
            let max = options.max_sms_segments.max(1);
            if segments > max {
                return Err(TemplateError::SmsTooLong {
                    template,
                    segments,
                    max,
                });
            }
            Ok(RenderedMessage {
                subject: None,
                body,
                list_unsubscribe: None,
            })
        }
    }
}

/// The opt-out line that ends every SMS.
pub fn sms_opt_out(lang: Language) -> &'static str {
    match lang {
        Language::Ja => "配信停止: STOP と返信",
        Language::En => "Reply STOP to opt out",
    }
}

/// The opt-out line that every e-mail has at its end (followed by the unsubscribe link when
/// one is given).
pub fn email_opt_out(lang: Language) -> &'static str {
    match lang {
        Language::Ja => "配信停止をご希望の場合は、このメールに「配信停止」とご返信ください。",
        Language::En => "To stop receiving these messages, reply to this e-mail with \"STOP\".",
    }
}

const UNSUBSCRIBE_URL: &str = "unsubscribe_url";
const MAX_VALUE_CHARS: usize = 2000;

fn check_value(template: TemplateId, var: &str, value: &str) -> Result<(), TemplateError> {
    let invalid = |reason| TemplateError::InvalidValue {
        template,
        var: var.to_owned(),
        reason,
    };
    if value.chars().any(char::is_control) {
        return Err(invalid("contains a control character"));
    }
    if value.chars().count() > MAX_VALUE_CHARS {
        return Err(invalid("is too long"));
    }
    Ok(())
}

/// Fills the placeholders of one template text, inserting values literally.
fn fill(
    template: TemplateId,
    text: &str,
    vars: &BTreeMap<String, String>,
) -> Result<String, TemplateError> {
    let mut out = String::with_capacity(text.len() + 64);
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        let Some(close) = after.find('}') else {
            // Templates are fixed text without stray braces (tested); keep such text as is.
            out.push_str(&rest[open..]);
            return Ok(out);
        };
        let name = &after[..close];
        match vars.get(name).map(|v| v.trim()).filter(|v| !v.is_empty()) {
            Some(value) => out.push_str(value),
            None => {
                return Err(TemplateError::MissingVar {
                    template,
                    var: name.to_owned(),
                });
            }
        }
        rest = &after[close + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn fill_pieces(
    template: TemplateId,
    pieces: &[Piece],
    vars: &BTreeMap<String, String>,
    present: &dyn Fn(&str) -> bool,
) -> Result<String, TemplateError> {
    let mut out = String::new();
    for piece in pieces {
        if piece.when.is_none_or(present) {
            out.push_str(&fill(template, piece.text, vars)?);
        }
    }
    Ok(out)
}

/// One piece of a body: its text, included only when the `when` var is given.
struct Piece {
    when: Option<&'static str>,
    text: &'static str,
}

const fn always(text: &'static str) -> Piece {
    Piece { when: None, text }
}

const fn when(var: &'static str, text: &'static str) -> Piece {
    Piece {
        when: Some(var),
        text,
    }
}

/// A template in one language.
struct Spec {
    required: &'static [&'static str],
    optional: &'static [&'static str],
    subject: &'static str,
    email: &'static [Piece],
    sms: &'static [Piece],
}

const PROCESSING_NUMBER_VARS: &[&str] = &[
    "name",
    "processing_number",
    "app_link",
    "valid_until",
    "health_center",
];
const FOLLOW_UP_VARS: &[&str] = &["name", "link", "health_center"];
const REMINDER_VARS: &[&str] = &["name", "link", "date"];
const QUARANTINE_VARS: &[&str] = &["name", "start_date", "end_date", "health_center"];

fn spec(template: TemplateId, lang: Language) -> &'static Spec {
    match (template, lang) {
        (TemplateId::ProcessingNumber, Language::Ja) => &PROCESSING_NUMBER_JA,
        (TemplateId::ProcessingNumber, Language::En) => &PROCESSING_NUMBER_EN,
        (TemplateId::FollowUpLink, Language::Ja) => &FOLLOW_UP_JA,
        (TemplateId::FollowUpLink, Language::En) => &FOLLOW_UP_EN,
        (TemplateId::DailyReminder, Language::Ja) => &REMINDER_JA,
        (TemplateId::DailyReminder, Language::En) => &REMINDER_EN,
        (TemplateId::QuarantineStart, Language::Ja) => &QUARANTINE_START_JA,
        (TemplateId::QuarantineStart, Language::En) => &QUARANTINE_START_EN,
        (TemplateId::QuarantineEnd, Language::Ja) => &QUARANTINE_END_JA,
        (TemplateId::QuarantineEnd, Language::En) => &QUARANTINE_END_EN,
    }
}

static PROCESSING_NUMBER_JA: Spec = Spec {
    required: PROCESSING_NUMBER_VARS,
    optional: &[],
    subject: "【{health_center}】接触確認アプリの処理番号のお知らせ",
    email: &[always(
        "{name} 様\n\n\
         {health_center}です。\n\
         接触確認アプリで陽性登録をするための処理番号をお知らせします。\n\n\
         処理番号: {processing_number}\n\
         有効期限: {valid_until}\n\n\
         次のリンクからアプリを開き、処理番号を入力してください。\n\
         {app_link}\n\n\
         処理番号は他の人に教えないでください。\n",
    )],
    sms: &[always(
        "{name}様 {health_center}です。接触確認アプリの処理番号は{processing_number}です\
         （{valid_until}まで有効）。{app_link}",
    )],
};

static PROCESSING_NUMBER_EN: Spec = Spec {
    required: PROCESSING_NUMBER_VARS,
    optional: &[],
    subject: "[{health_center}] Your processing number for the exposure notification app",
    email: &[always(
        "Dear {name},\n\n\
         This is {health_center}. Here is the processing number to register your positive \
         test result in the exposure notification app.\n\n\
         Processing number: {processing_number}\n\
         Valid until: {valid_until}\n\n\
         Open the app with the link below and enter the processing number.\n\
         {app_link}\n\n\
         Do not share the processing number with anyone.\n",
    )],
    sms: &[always(
        "{name}, this is {health_center}. Your exposure notification app processing number: \
         {processing_number} (valid until {valid_until}). {app_link}",
    )],
};

static FOLLOW_UP_JA: Spec = Spec {
    required: FOLLOW_UP_VARS,
    optional: &[],
    subject: "【{health_center}】健康観察の報告用リンクのお知らせ",
    email: &[always(
        "{name} 様\n\n\
         {health_center}です。\n\
         毎日の健康状態（体温・症状）は、次のあなた専用のリンクから報告してください。\n\
         {link}\n\n\
         このリンクはあなた専用です。他の人と共有しないでください。\n",
    )],
    sms: &[always(
        "{name}様 {health_center}です。毎日の健康状態はこちらから報告してください\
         （あなた専用のリンクです）: {link}",
    )],
};

static FOLLOW_UP_EN: Spec = Spec {
    required: FOLLOW_UP_VARS,
    optional: &[],
    subject: "[{health_center}] Your link for daily health reports",
    email: &[always(
        "Dear {name},\n\n\
         This is {health_center}. Please report your health (temperature and symptoms) every \
         day with your personal link below.\n\
         {link}\n\n\
         This link is yours alone. Do not share it.\n",
    )],
    sms: &[always(
        "{name}, this is {health_center}. Report your health every day with your personal \
         link: {link}",
    )],
};

static REMINDER_JA: Spec = Spec {
    required: REMINDER_VARS,
    optional: &[],
    subject: "健康状態の報告のお願い（{date}）",
    email: &[always(
        "{name} 様\n\n\
         {date} の健康状態の報告がまだ届いていません。\n\
         次のリンクから体温と症状を報告してください。\n\
         {link}\n",
    )],
    sms: &[always(
        "{name}様 {date}の健康状態の報告がまだ届いていません。こちらから報告してください: {link}",
    )],
};

static REMINDER_EN: Spec = Spec {
    required: REMINDER_VARS,
    optional: &[],
    subject: "Please report your health for {date}",
    email: &[always(
        "Dear {name},\n\n\
         We have not received your health report for {date} yet.\n\
         Please report your temperature and symptoms with the link below.\n\
         {link}\n",
    )],
    sms: &[always(
        "{name}, we have not received your health report for {date}. Please report here: {link}",
    )],
};

static QUARANTINE_START_JA: Spec = Spec {
    required: QUARANTINE_VARS,
    optional: &["link"],
    subject: "【{health_center}】待機期間の開始のお知らせ",
    email: &[
        always(
            "{name} 様\n\n\
             {health_center}です。\n\
             あなたの待機期間は {start_date} から {end_date} までです。\n\
             この期間は不要不急の外出を控え、毎日健康状態を報告してください。\n",
        ),
        when("link", "報告はこちらから: {link}\n"),
        always("\n発熱などの症状が出た場合は、{health_center}にご連絡ください。\n"),
    ],
    sms: &[
        always(
            "{name}様 {health_center}です。待機期間は{start_date}から{end_date}までです。\
             外出を控え、毎日健康状態を報告してください。",
        ),
        when("link", "{link}"),
    ],
};

static QUARANTINE_START_EN: Spec = Spec {
    required: QUARANTINE_VARS,
    optional: &["link"],
    subject: "[{health_center}] Your quarantine period begins",
    email: &[
        always(
            "Dear {name},\n\n\
             This is {health_center}. Your quarantine period runs from {start_date} to \
             {end_date}.\n\
             During this period please stay at home unless necessary and report your health \
             every day.\n",
        ),
        when("link", "Report here: {link}\n"),
        always("\nIf you develop a fever or other symptoms, please contact {health_center}.\n"),
    ],
    sms: &[
        always(
            "{name}, this is {health_center}. Your quarantine runs from {start_date} to \
             {end_date}. Please stay at home and report your health daily.",
        ),
        when("link", " {link}"),
    ],
};

static QUARANTINE_END_JA: Spec = Spec {
    required: QUARANTINE_VARS,
    optional: &[],
    subject: "【{health_center}】待機期間の終了のお知らせ",
    email: &[always(
        "{name} 様\n\n\
         {health_center}です。\n\
         {start_date} から始まったあなたの待機期間は {end_date} で終了しました。\n\
         ご協力ありがとうございました。\n\n\
         今後、体調に変化があった場合は、医療機関または{health_center}にご相談ください。\n",
    )],
    sms: &[always(
        "{name}様 {health_center}です。{start_date}からの待機期間は{end_date}で終了しました。\
         ご協力ありがとうございました。",
    )],
};

static QUARANTINE_END_EN: Spec = Spec {
    required: QUARANTINE_VARS,
    optional: &[],
    subject: "[{health_center}] Your quarantine period has ended",
    email: &[always(
        "Dear {name},\n\n\
         This is {health_center}. Your quarantine period, which began on {start_date}, ended \
         on {end_date}.\n\
         Thank you for your cooperation.\n\n\
         If your health changes, please consult a doctor or {health_center}.\n",
    )],
    sms: &[always(
        "{name}, this is {health_center}. Your quarantine from {start_date} ended on \
         {end_date}. Thank you for your cooperation.",
    )],
};

/// The encoding an SMS needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmsEncoding {
    /// The GSM 03.38 7-bit alphabet (with its extension table): 160 septets in one SMS, 153
    /// per segment when concatenated.
    Gsm7,
    /// UCS-2 (UTF-16 on modern phones): 70 code units in one SMS, 67 per segment when
    /// concatenated.
    Ucs2,
}

/// Whether a text fits the GSM 7-bit alphabet or needs UCS-2.
pub fn sms_encoding(text: &str) -> SmsEncoding {
    if text.chars().all(|c| gsm7_septets(c).is_some()) {
        SmsEncoding::Gsm7
    } else {
        SmsEncoding::Ucs2
    }
}

/// How many SMS segments a text takes: one up to 160 GSM-7 septets or 70 UCS-2 code units,
/// otherwise 153 septets or 67 code units per concatenated segment (an escaped GSM character
/// or a surrogate pair is never split). An empty text is one (empty) SMS.
pub fn sms_segments(text: &str) -> usize {
    match sms_encoding(text) {
        SmsEncoding::Gsm7 => {
            count_segments(text.chars().map(|c| gsm7_septets(c).unwrap_or(2)), 160, 153)
        }
        SmsEncoding::Ucs2 => count_segments(text.chars().map(char::len_utf16), 70, 67),
    }
}

fn count_segments(units: impl Iterator<Item = usize> + Clone, single: usize, per: usize) -> usize {
    let total: usize = units.clone().sum();
    if total <= single {
        return 1;
    }
    let mut segments = 1;
    let mut used = 0;
    for unit in units {
        if used + unit > per {
            segments += 1;
            used = 0;
        }
        used += unit;
    }
    segments
}

/// Septets a character takes in GSM-7: 1 in the basic set, 2 in the extension table (escape
/// plus the character), `None` when it is not in the alphabet.
fn gsm7_septets(c: char) -> Option<usize> {
    const BASIC: &str = "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?\
                         ¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà";
    const EXTENSION: &str = "\u{c}^{}\\[~]|€";
    if BASIC.contains(c) {
        Some(1)
    } else if EXTENSION.contains(c) {
        Some(2)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_placeholder_is_a_declared_var() {
        for template in TemplateId::ALL {
            for lang in Language::ALL {
                let spec = spec(template, lang);
                let texts = std::iter::once(spec.subject)
                    .chain(spec.email.iter().map(|p| p.text))
                    .chain(spec.sms.iter().map(|p| p.text));
                for text in texts {
                    let mut rest = text;
                    while let Some(open) = rest.find('{') {
                        let close = rest[open..].find('}').expect("closed placeholder") + open;
                        let name = &rest[open + 1..close];
                        assert!(
                            spec.required.contains(&name) || spec.optional.contains(&name),
                            "{template} {lang}: undeclared {name}"
                        );
                        rest = &rest[close + 1..];
                    }
                    assert!(!rest.contains('}'), "{template} {lang}: stray brace");
                }
                for piece in spec.email.iter().chain(spec.sms) {
                    if let Some(var) = piece.when {
                        assert!(spec.optional.contains(&var));
                    }
                }
                // Both languages take the same vars.
                assert_eq!(spec.required, spec_other(template, lang).required);
                assert_eq!(spec.optional, spec_other(template, lang).optional);
            }
        }
    }

    fn spec_other(template: TemplateId, lang: Language) -> &'static Spec {
        spec(
            template,
            match lang {
                Language::Ja => Language::En,
                Language::En => Language::Ja,
            },
        )
    }

    #[test]
    fn gsm_alphabet_has_128_basic_characters() {
        let basic = (0u32..0x11_0000)
            .filter_map(char::from_u32)
            .filter(|c| gsm7_septets(*c) == Some(1))
            .count();
        // 128 code points less the escape (0x1B), which is not a character of its own.
        assert_eq!(basic, 127);
    }
}
