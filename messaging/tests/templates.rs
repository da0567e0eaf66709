//! Templates: every template × language × channel, missing and invalid vars, literal
//! insertion, opt-out lines and SMS length.

use std::collections::BTreeMap;

use mimamori_messaging::template::{email_opt_out, sms_opt_out};
use mimamori_messaging::{
    Channel, Language, RenderOptions, SmsEncoding, TemplateError, TemplateId, render,
    render_with_options, sms_encoding, sms_segments,
};

fn vars(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

/// Realistic values for every var any template takes.
fn full_vars(lang: Language) -> BTreeMap<String, String> {
    match lang {
        Language::Ja => vars(&[
            ("name", "山田 太郎"),
            ("processing_number", "12345678"),
            ("app_link", "https://app.example.jp/pn?c=12345678"),
            ("valid_until", "2025年6月1日 18:00"),
            ("health_center", "みなと保健所"),
            ("link", "https://mimamori.example.jp/r/AbCdEf123456"),
            ("date", "6月1日"),
            ("start_date", "2025年6月1日"),
            ("end_date", "2025年6月7日"),
        ]),
        Language::En => vars(&[
            ("name", "Taro Yamada"),
            ("processing_number", "12345678"),
            ("app_link", "https://app.example.jp/pn?c=12345678"),
            ("valid_until", "2025-06-01 18:00"),
            ("health_center", "Minato Public Health Center"),
            ("link", "https://mimamori.example.jp/r/AbCdEf123456"),
            ("date", "2025-06-01"),
            ("start_date", "2025-06-01"),
            ("end_date", "2025-06-07"),
        ]),
    }
}

#[test]
fn every_template_language_and_channel_renders() {
    for template in TemplateId::ALL {
        for lang in Language::ALL {
            let vars = full_vars(lang);
            let email = render(template, lang, &vars, Channel::Email).expect("email");
            let subject = email.subject.as_deref().expect("subject");
            assert!(!subject.is_empty());
            assert!(!subject.contains('{'), "{template} {lang}: {subject}");
            assert!(
                !email.body.contains('{'),
                "{template} {lang}: {}",
                email.body
            );
            assert!(email.body.contains(&vars["name"]));
            assert_eq!(
                email.body.trim_end().lines().last(),
                Some(email_opt_out(lang)),
                "{template} {lang}"
            );
            assert_eq!(email.list_unsubscribe, None);

            let sms = render(template, lang, &vars, Channel::Sms).expect("sms");
            assert_eq!(sms.subject, None);
            assert!(sms.body.ends_with(&format!("\n{}", sms_opt_out(lang))));
            assert!(sms.body.contains(&vars["name"]));
            assert!(!sms.body.contains('{'));
            let segments = sms_segments(&sms.body);
            assert!(segments <= 4, "{template} {lang}: {segments} segments");
            // Every var the template needs shows up in both channels' text.
            for var in template.required_vars() {
                let value = &vars[*var];
                assert!(
                    email.body.contains(value.as_str()) || subject.contains(value.as_str()),
                    "{template} {lang}: e-mail lacks {var}"
                );
                assert!(
                    sms.body.contains(value.as_str()),
                    "{template} {lang}: SMS lacks {var}"
                );
            }
        }
    }
}

#[test]
fn japanese_texts_are_japanese() {
    let vars = full_vars(Language::Ja);
    let pn = render(
        TemplateId::ProcessingNumber,
        Language::Ja,
        &vars,
        Channel::Email,
    )
    .expect("render");
    assert!(pn.body.contains("処理番号: 12345678"));
    assert!(pn.body.starts_with("山田 太郎 様"));
    assert_eq!(sms_encoding(&pn.body), SmsEncoding::Ucs2);
    let en = render(
        TemplateId::ProcessingNumber,
        Language::En,
        &full_vars(Language::En),
        Channel::Sms,
    )
    .expect("render");
    assert_eq!(sms_encoding(&en.body), SmsEncoding::Gsm7);
    assert!(en.body.ends_with("Reply STOP to opt out"));
}

#[test]
fn a_missing_var_is_named() {
    for template in TemplateId::ALL {
        for var in template.required_vars() {
            for channel in [Channel::Email, Channel::Sms] {
                let mut vars = full_vars(Language::Ja);
                vars.remove(*var);
                let err = render(template, Language::Ja, &vars, channel).expect_err("missing");
                assert_eq!(
                    err,
                    TemplateError::MissingVar {
                        template,
                        var: (*var).to_owned()
                    }
                );
                assert!(err.to_string().contains(var));
                // Blank counts as missing.
                vars.insert((*var).to_owned(), "  ".to_owned());
                assert!(matches!(
                    render(template, Language::Ja, &vars, channel),
                    Err(TemplateError::MissingVar { .. })
                ));
            }
        }
    }
}

#[test]
fn values_are_inserted_literally() {
    let mut vars = full_vars(Language::Ja);
    vars.insert("name".into(), "{link} {{name}} {health_center}".into());
    let msg = render(
        TemplateId::FollowUpLink,
        Language::Ja,
        &vars,
        Channel::Email,
    )
    .expect("ok");
    assert!(
        msg.body.starts_with("{link} {{name}} {health_center} 様\n"),
        "{}",
        msg.body
    );
    assert_eq!(msg.body.matches(vars["link"].as_str()).count(), 1);
    // A var the template does not use is ignored, even with braces.
    vars.insert("unused".into(), "{".into());
    render(TemplateId::FollowUpLink, Language::Ja, &vars, Channel::Sms).expect("ok");
}

#[test]
fn control_characters_are_refused() {
    let mut vars = full_vars(Language::En);
    vars.insert("name".into(), "Taro\r\nBcc: someone@example.com".into());
    let err = render(
        TemplateId::FollowUpLink,
        Language::En,
        &vars,
        Channel::Email,
    )
    .expect_err("refused");
    assert!(matches!(err, TemplateError::InvalidValue { ref var, .. } if var == "name"));
    assert!(!err.to_string().contains("someone"));
}

#[test]
fn quarantine_start_link_is_optional() {
    for lang in Language::ALL {
        let mut vars = full_vars(lang);
        let link = vars["link"].clone();
        for channel in [Channel::Email, Channel::Sms] {
            let with = render(TemplateId::QuarantineStart, lang, &vars, channel).expect("ok");
            assert!(with.body.contains(&link));
        }
        vars.remove("link");
        for channel in [Channel::Email, Channel::Sms] {
            let without = render(TemplateId::QuarantineStart, lang, &vars, channel).expect("ok");
            assert!(!without.body.contains("https://"));
            assert!(without.body.contains(&vars["end_date"]));
        }
    }
}

#[test]
fn unsubscribe_url_gives_a_line_and_a_header() {
    let mut vars = full_vars(Language::Ja);
    vars.insert(
        "unsubscribe_url".into(),
        "https://mimamori.example.jp/u/xyz".into(),
    );
    let email = render(
        TemplateId::DailyReminder,
        Language::Ja,
        &vars,
        Channel::Email,
    )
    .expect("ok");
    assert_eq!(
        email.list_unsubscribe.as_deref(),
        Some("<https://mimamori.example.jp/u/xyz>")
    );
    assert!(
        email
            .body
            .trim_end()
            .ends_with("配信停止の手続き: https://mimamori.example.jp/u/xyz")
    );
    assert!(email.body.contains(email_opt_out(Language::Ja)));
    let sms = render(TemplateId::DailyReminder, Language::Ja, &vars, Channel::Sms).expect("ok");
    assert_eq!(sms.list_unsubscribe, None);
    assert!(sms.body.ends_with("配信停止: STOP と返信"));

    vars.insert("unsubscribe_url".into(), "<evil>".into());
    assert!(matches!(
        render(
            TemplateId::DailyReminder,
            Language::Ja,
            &vars,
            Channel::Email
        ),
        Err(TemplateError::InvalidValue { .. })
    ));
}

#[test]
fn a_long_sms_is_refused_unless_allowed() {
    let mut vars = full_vars(Language::Ja);
    vars.insert("name".into(), "長".repeat(300));
    let err =
        render(TemplateId::DailyReminder, Language::Ja, &vars, Channel::Sms).expect_err("long");
    let TemplateError::SmsTooLong { segments, max, .. } = err else {
        panic!("{err:?}");
    };
    assert_eq!(max, 4);
    assert!(segments > 4);
    let options = RenderOptions {
        max_sms_segments: 10,
    };
    let ok = render_with_options(
        TemplateId::DailyReminder,
        Language::Ja,
        &vars,
        Channel::Sms,
        &options,
    )
    .expect("allowed");
    assert_eq!(sms_segments(&ok.body), segments);
    // E-mail has no such limit.
    render(
        TemplateId::DailyReminder,
        Language::Ja,
        &vars,
        Channel::Email,
    )
    .expect("email");
    // One segment only: the Japanese processing-number SMS does not fit.
    let one = RenderOptions {
        max_sms_segments: 1,
    };
    assert!(matches!(
        render_with_options(
            TemplateId::ProcessingNumber,
            Language::Ja,
            &full_vars(Language::Ja),
            Channel::Sms,
            &one
        ),
        Err(TemplateError::SmsTooLong { max: 1, .. })
    ));
}

#[test]
fn sms_segment_known_answers() {
    let ja = |n: usize| "あ".repeat(n);
    let ascii = |n: usize| "a".repeat(n);
    assert_eq!(sms_segments(""), 1);
    assert_eq!(sms_segments(&ja(70)), 1);
    assert_eq!(sms_segments(&ja(71)), 2);
    assert_eq!(sms_segments(&ja(134)), 2);
    assert_eq!(sms_segments(&ja(135)), 3);
    assert_eq!(sms_segments(&ja(268)), 4);
    assert_eq!(sms_segments(&ja(269)), 5);
    assert_eq!(sms_segments(&ascii(160)), 1);
    assert_eq!(sms_segments(&ascii(161)), 2);
    assert_eq!(sms_segments(&ascii(306)), 2);
    assert_eq!(sms_segments(&ascii(307)), 3);
    // One non-GSM character makes the whole text UCS-2.
    assert_eq!(sms_encoding(&format!("{}あ", ascii(69))), SmsEncoding::Ucs2);
    assert_eq!(sms_segments(&format!("{}あ", ascii(69))), 1);
    assert_eq!(sms_segments(&format!("{}あ", ascii(70))), 2);
    // GSM extension characters take two septets, and the pair is never split.
    assert_eq!(sms_segments(&"€".repeat(80)), 1);
    assert_eq!(sms_segments(&"€".repeat(81)), 2);
    assert_eq!(sms_segments(&format!("{}€{}", ascii(152), ascii(152))), 3);
    assert_eq!(sms_encoding("{[~]}|^\\€"), SmsEncoding::Gsm7);
    // Characters outside the BMP take two UCS-2 units, never split.
    assert_eq!(sms_segments(&"😀".repeat(35)), 1);
    assert_eq!(sms_segments(&"😀".repeat(36)), 2);
    assert_eq!(sms_segments(&format!("{}😀{}", ja(66), ja(66))), 3);
}

#[test]
fn names_round_trip() {
    for template in TemplateId::ALL {
        assert_eq!(TemplateId::parse(template.as_str()), Some(template));
        let json = serde_json::to_string(&template).expect("json");
        assert_eq!(json, format!("\"{}\"", template.as_str()));
        assert_eq!(
            serde_json::from_str::<TemplateId>(&json).expect("back"),
            template
        );
    }
    assert_eq!(TemplateId::parse("ProcessingNumber"), None);
    assert_eq!(TemplateId::ProcessingNumber.as_str(), "processing_number");
    assert_eq!(Language::parse("ja-JP"), Some(Language::Ja));
    assert_eq!(Language::parse("EN_us"), Some(Language::En));
    assert_eq!(Language::parse("fr"), None);
    assert_eq!(
        serde_json::to_string(&Language::Ja).expect("json"),
        "\"ja\""
    );
    assert_eq!(
        serde_json::to_string(&Channel::Sms).expect("json"),
        "\"sms\""
    );
}

#[test]
fn debug_output_hides_personal_data() {
    let vars = full_vars(Language::Ja);
    let msg = render(
        TemplateId::FollowUpLink,
        Language::Ja,
        &vars,
        Channel::Email,
    )
    .expect("ok");
    let debug = format!("{msg:?}");
    assert!(!debug.contains("山田"));
    assert!(!debug.contains("https://"));
}
