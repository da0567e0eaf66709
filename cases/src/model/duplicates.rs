//! Duplicate persons (pure rules): normalisation of names, kana and phone numbers, the
//! blocking keys a candidate search looks up, and the score of a pair.
//!
//! A person is a case (the notification's `name`, `kana`, `dateOfBirth`, `phone`) or a close
//! contact (`name`, `kana`, `birthDate`, `phones`). Two persons are compared only when they
//! share a blocking key ([`blocking_keys`]: the birth date, or a normalised phone number), so
//! a search never compares every pair of a prefecture.
//!
//! The score ([`score`]) adds up, out of 100:
//!
//! | evidence | points |
//! | --- | --- |
//! | same birth date | [`SAME_BIRTH_DATE`] (35) |
//! | same kana, or else the same name, after normalisation | [`SAME_NAME`] (35) |
//! | otherwise a similar name or kana (Jaro–Winkler ≥ [`SIMILAR_NAME_THRESHOLD`], 0.85) | [`SIMILAR_NAME`] (25) |
//! | a phone number in common | [`SAME_PHONE`] (30) |
//! | both birth dates known and different | −[`DIFFERENT_BIRTH_DATE`] (−40) |
//!
//! A pair is a candidate at [`CANDIDATE_THRESHOLD`] (60) or more: the same birth date with the
//! same or a similar name (70, 60); the same name with a phone in common (65); the same birth
//! date with a phone in common (65: names written differently at two clinics; twins sharing a
//! landline reach it too and are dismissed in review). A birth date, a name or a phone alone
//! never is, nor any pair with two different birth dates (at most 35 + 30 − 40 = 25).

use unicode_normalization::UnicodeNormalization as _;

/// Points for the same birth date.
pub const SAME_BIRTH_DATE: i64 = 35;
/// Points for the same kana (or, without kana on both, the same name) after normalisation.
pub const SAME_NAME: i64 = 35;
/// Points for names (or kana) that are similar but not equal.
pub const SIMILAR_NAME: i64 = 25;
/// Jaro–Winkler similarity from which two normalised names count as similar.
pub const SIMILAR_NAME_THRESHOLD: f64 = 0.85;
/// Points for a phone number in common.
pub const SAME_PHONE: i64 = 30;
/// Points taken off when both birth dates are known and differ.
pub const DIFFERENT_BIRTH_DATE: i64 = 40;
/// The score from which a pair is a duplicate candidate.
pub const CANDIDATE_THRESHOLD: i64 = 60;
/// Fewest digits a normalised phone number needs to be compared (shorter ones are
/// placeholders or extensions).
pub const MIN_PHONE_DIGITS: usize = 9;

/// What the matcher knows of a person.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PersonKeys {
    /// Name as entered.
    pub name: String,
    /// Kana as entered.
    pub kana: Option<String>,
    /// Birth date (`YYYY-MM-DD`).
    pub birth_date: Option<String>,
    /// Phone numbers as entered.
    pub phones: Vec<String>,
}

/// Why a pair scored (stored with the pair, shown to the reviewer).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Reason {
    /// The same birth date.
    SameBirthDate,
    /// The same kana after normalisation.
    SameKana,
    /// The same name after normalisation.
    SameName,
    /// Similar names or kana.
    SimilarName,
    /// A phone number in common.
    SamePhone,
    /// Known and different birth dates.
    DifferentBirthDate,
}

impl Reason {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::SameBirthDate => "same_birth_date",
            Reason::SameKana => "same_kana",
            Reason::SameName => "same_name",
            Reason::SimilarName => "similar_name",
            Reason::SamePhone => "same_phone",
            Reason::DifferentBirthDate => "different_birth_date",
        }
    }
}

/// A pair's score with its reasons.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Score {
    /// Points (at most 100; may be negative).
    pub points: i64,
    /// The evidence, in [`Reason`] order.
    pub reasons: Vec<Reason>,
}

impl Score {
    /// Whether the pair goes to the review queue.
    pub fn is_candidate(&self) -> bool {
        self.points >= CANDIDATE_THRESHOLD
    }

    /// The reasons as stored (comma-separated names).
    pub fn reasons_text(&self) -> String {
        self.reasons
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// Characters that separate parts of a name and carry no identity: white space (NFKC makes
/// U+3000 a space), the katakana middle dot and ASCII punctuation used as separators.
fn is_separator(c: char) -> bool {
    c.is_whitespace() || matches!(c, '・' | '･' | '.' | ',' | '-' | '_' | '\'')
}

/// A name for comparison: NFKC (full-width letters and digits become ASCII, half-width
/// katakana full-width), separators removed, case-folded.
pub fn normalize_name(name: &str) -> String {
    name.nfkc()
        .filter(|c| !is_separator(*c))
        .flat_map(char::to_lowercase)
        .collect()
}

/// Kana for comparison: as [`normalize_name`], with katakana turned into hiragana so that
/// "ヤマダ タロウ" and "やまだ たろう" are equal.
pub fn normalize_kana(kana: &str) -> String {
    normalize_name(kana)
        .chars()
        .map(|c| match c {
            // Katakana ァ..ヶ are the hiragana ぁ..ゖ shifted by 0x60.
            'ァ'..='ヶ' => char::from_u32(c as u32 - 0x60).unwrap_or(c),
            _ => c,
        })
        .collect()
}

/// A phone number for comparison: its digits (after NFKC, so full-width digits count), the
/// country code +81 replaced by the trunk prefix 0; None when fewer than
/// [`MIN_PHONE_DIGITS`] digits remain.
pub fn normalize_phone(phone: &str) -> Option<String> {
    let text: String = phone.nfkc().collect();
    let trimmed = text.trim_start();
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let national = if trimmed.starts_with('+') || trimmed.starts_with("0081") {
        let rest = digits
            .strip_prefix("0081")
            .or_else(|| digits.strip_prefix("81"))
            .map(str::to_string);
        match rest {
            // "+81 (0)90 …" keeps one trunk prefix.
            Some(rest) if rest.starts_with('0') => rest,
            Some(rest) => format!("0{rest}"),
            // Another country: keep the international form.
            None => format!("+{digits}"),
        }
    } else {
        digits
    };
    (national.trim_start_matches('+').len() >= MIN_PHONE_DIGITS).then_some(national)
}

/// The keys a candidate search looks up for a person: `dob:<date>` and `tel:<digits>` for
/// each normalised phone (sorted, without repeats).
pub fn blocking_keys(person: &PersonKeys) -> Vec<String> {
    let mut keys: Vec<String> = person
        .birth_date
        .iter()
        .map(|d| d.trim())
        .filter(|d| !d.is_empty())
        .map(|d| format!("dob:{d}"))
        .chain(
            person
                .phones
                .iter()
                .filter_map(|p| normalize_phone(p))
                .map(|p| format!("tel:{p}")),
        )
        .collect();
    keys.sort();
    keys.dedup();
    keys
}

fn present(value: &Option<String>, normalize: fn(&str) -> String) -> Option<String> {
    value
        .as_deref()
        .map(normalize)
        .filter(|text| !text.is_empty())
}

/// Scores a pair of persons (symmetric).
pub fn score(a: &PersonKeys, b: &PersonKeys) -> Score {
    let mut points = 0;
    let mut reasons = Vec::new();
    let birth = |p: &PersonKeys| {
        p.birth_date
            .as_deref()
            .map(str::trim)
            .filter(|d| !d.is_empty())
            .map(str::to_string)
    };
    match (birth(a), birth(b)) {
        (Some(x), Some(y)) if x == y => {
            points += SAME_BIRTH_DATE;
            reasons.push(Reason::SameBirthDate);
        }
        (Some(_), Some(_)) => {
            points -= DIFFERENT_BIRTH_DATE;
            reasons.push(Reason::DifferentBirthDate);
        }
        _ => {}
    }
    let (kana_a, kana_b) = (
        present(&a.kana, normalize_kana),
        present(&b.kana, normalize_kana),
    );
    let (name_a, name_b) = (normalize_name(&a.name), normalize_name(&b.name));
    let names_known = !name_a.is_empty() && !name_b.is_empty();
    if kana_a.is_some() && kana_a == kana_b {
        points += SAME_NAME;
        reasons.push(Reason::SameKana);
    } else if names_known && name_a == name_b {
        points += SAME_NAME;
        reasons.push(Reason::SameName);
    } else {
        let mut similarity = 0.0f64;
        if names_known {
            similarity = strsim::jaro_winkler(&name_a, &name_b);
        }
        if let (Some(x), Some(y)) = (&kana_a, &kana_b) {
            similarity = similarity.max(strsim::jaro_winkler(x, y));
        }
        if similarity >= SIMILAR_NAME_THRESHOLD {
            points += SIMILAR_NAME;
            reasons.push(Reason::SimilarName);
        }
    }
    let phones = |p: &PersonKeys| -> Vec<String> {
        p.phones.iter().filter_map(|x| normalize_phone(x)).collect()
    };
    let phones_b = phones(b);
    if phones(a).iter().any(|p| phones_b.contains(p)) {
        points += SAME_PHONE;
        reasons.push(Reason::SamePhone);
    }
    reasons.sort();
    Score { points, reasons }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn person(name: &str, kana: Option<&str>, birth: Option<&str>, phones: &[&str]) -> PersonKeys {
        PersonKeys {
            name: name.into(),
            kana: kana.map(Into::into),
            birth_date: birth.map(Into::into),
            phones: phones.iter().map(|p| p.to_string()).collect(),
        }
    }

    #[test]
    fn names_lose_spaces_width_and_case() {
        assert_eq!(normalize_name("山田 太郎"), normalize_name("山田太郎"));
        assert_eq!(normalize_name("山田\u{3000}太郎"), "山田太郎");
        assert_eq!(normalize_name("ＹＡＭＡＤＡ Ｔａｒｏ"), "yamadataro");
        assert_eq!(normalize_name("Smith, John"), "smithjohn");
        assert_eq!(
            normalize_name("ｽﾐｽ･ｼﾞｮﾝ"),
            "スミスジョン",
            "half-width katakana"
        );
    }

    #[test]
    fn katakana_and_hiragana_are_the_same_kana() {
        assert_eq!(
            normalize_kana("ヤマダ タロウ"),
            normalize_kana("やまだ たろう")
        );
        assert_eq!(normalize_kana("ﾔﾏﾀﾞ ﾀﾛｳ"), "やまだたろう");
        assert_eq!(normalize_kana("ヴァン"), "ゔぁん");
        assert_eq!(normalize_kana("ー"), "ー", "the long vowel mark stays");
    }

    #[test]
    fn phones_keep_digits_and_the_trunk_prefix() {
        let national = Some("09012345678".to_string());
        assert_eq!(normalize_phone("090-1234-5678"), national);
        assert_eq!(normalize_phone("+81 90 1234 5678"), national);
        assert_eq!(normalize_phone("+81 (0)90-1234-5678"), national);
        assert_eq!(normalize_phone("０９０（１２３４）５６７８"), national);
        assert_eq!(normalize_phone("0081-90-1234-5678"), national);
        assert_eq!(
            normalize_phone("03-1234-5678").as_deref(),
            Some("0312345678")
        );
        assert_eq!(
            normalize_phone("+1 415 555 0100").as_deref(),
            Some("+14155550100")
        );
        assert_eq!(normalize_phone("000"), None, "too short to compare");
        assert_eq!(normalize_phone("unknown"), None);
    }

    #[test]
    fn blocking_keys_are_the_birth_date_and_each_phone() {
        let p = person(
            "a",
            None,
            Some("1980-04-01"),
            &["090-1234-5678", "+81 90 1234 5678", "x"],
        );
        assert_eq!(blocking_keys(&p), ["dob:1980-04-01", "tel:09012345678"]);
        assert!(blocking_keys(&person("a", None, None, &[])).is_empty());
    }

    #[test]
    fn the_same_name_and_birth_date_is_a_candidate() {
        let s = score(
            &person("山田 太郎", None, Some("1980-04-01"), &[]),
            &person("山田太郎", None, Some("1980-04-01"), &[]),
        );
        assert_eq!(s.points, SAME_BIRTH_DATE + SAME_NAME);
        assert_eq!(s.reasons, [Reason::SameBirthDate, Reason::SameName]);
        assert!(s.is_candidate());
    }

    #[test]
    fn katakana_and_hiragana_kana_match() {
        let s = score(
            &person("山田太郎", Some("ヤマダ タロウ"), Some("1980-04-01"), &[]),
            &person("山田 太朗", Some("やまだ たろう"), Some("1980-04-01"), &[]),
        );
        assert_eq!(s.reasons, [Reason::SameBirthDate, Reason::SameKana]);
        assert!(s.is_candidate());
    }

    #[test]
    fn national_and_international_phones_match() {
        let s = score(
            &person("山田太郎", None, None, &["090-1234-5678"]),
            &person("山田 太郎", None, None, &["+81 90 1234 5678"]),
        );
        assert_eq!(s.reasons, [Reason::SameName, Reason::SamePhone]);
        assert_eq!(s.points, SAME_NAME + SAME_PHONE);
        assert!(s.is_candidate());
    }

    #[test]
    fn different_people_born_the_same_day_are_not_candidates() {
        let s = score(
            &person(
                "山田太郎",
                Some("ヤマダタロウ"),
                Some("1980-04-01"),
                &["090-1111-1111"],
            ),
            &person(
                "鈴木花子",
                Some("スズキハナコ"),
                Some("1980-04-01"),
                &["080-2222-2222"],
            ),
        );
        assert_eq!(s.reasons, [Reason::SameBirthDate]);
        assert!(!s.is_candidate());
    }

    #[test]
    fn a_household_sharing_a_phone() {
        // Twins: same birth date, same landline, the same family name.
        let s = score(
            &person(
                "山田太郎",
                Some("ヤマダタロウ"),
                Some("2010-01-01"),
                &["03-1234-5678"],
            ),
            &person(
                "山田花子",
                Some("ヤマダハナコ"),
                Some("2010-01-01"),
                &["03-1234-5678"],
            ),
        );
        assert!(!s.reasons.contains(&Reason::SimilarName), "{s:?}");
        // Same birth date and phone without a matching name: 65, a candidate for review.
        assert_eq!(s.points, SAME_BIRTH_DATE + SAME_PHONE);
        assert!(s.is_candidate());
        // Parent and child: different birth dates.
        let s = score(
            &person("山田太郎", None, Some("1980-04-01"), &["03-1234-5678"]),
            &person("山田一郎", None, Some("2010-04-01"), &["03-1234-5678"]),
        );
        assert!(!s.is_candidate(), "{s:?}");
    }

    #[test]
    fn a_typo_with_the_same_birth_date_is_a_candidate_and_a_different_birth_date_is_not() {
        let a = person("Yamada Taro", None, Some("1980-04-01"), &[]);
        let b = person("Yamada Tarou", None, Some("1980-04-01"), &[]);
        let s = score(&a, &b);
        assert_eq!(s.reasons, [Reason::SameBirthDate, Reason::SimilarName]);
        assert!(s.is_candidate());
        let c = person("Yamada Taro", None, Some("1981-04-01"), &["090-1234-5678"]);
        let d = person("Yamada Taro", None, Some("1980-04-01"), &["090-1234-5678"]);
        let s = score(&c, &d);
        assert_eq!(s.points, SAME_NAME + SAME_PHONE - DIFFERENT_BIRTH_DATE);
        assert!(!s.is_candidate());
    }

    #[test]
    fn scores_are_symmetric_and_empty_names_never_match() {
        let a = person("", None, Some("1980-04-01"), &["090-1234-5678"]);
        let b = person("", Some(""), Some("1980-04-01"), &["09012345678"]);
        let s = score(&a, &b);
        assert_eq!(s, score(&b, &a));
        assert_eq!(s.reasons, [Reason::SameBirthDate, Reason::SamePhone]);
        assert_eq!(s.reasons_text(), "same_birth_date,same_phone");
    }
}
