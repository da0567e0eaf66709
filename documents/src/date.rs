//! Calendar dates: strict ISO parsing and the two display forms.

use crate::Language;

/// A Gregorian calendar date between 1900 and 2100.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct Date {
    year: u16,
    month: u8,
    day: u8,
}

const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The Japanese eras whose years a document may show, newest first, with their first day.
const ERAS: [(&str, Date); 5] = [
    ("令和", Date::new_const(2019, 5, 1)),
    ("平成", Date::new_const(1989, 1, 8)),
    ("昭和", Date::new_const(1926, 12, 25)),
    ("大正", Date::new_const(1912, 7, 30)),
    ("明治", Date::new_const(1868, 10, 23)),
];

impl Date {
    const fn new_const(year: u16, month: u8, day: u8) -> Date {
        Date { year, month, day }
    }

    /// Parses exactly `YYYY-MM-DD` with a real month and day.
    pub(crate) fn parse_iso(text: &str) -> Option<Date> {
        let bytes = text.as_bytes();
        if bytes.len() != 10 || bytes[4] != b'-' || bytes[7] != b'-' {
            return None;
        }
        let number = |range: std::ops::Range<usize>| -> Option<u16> {
            let digits = &bytes[range];
            if !digits.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(
                digits
                    .iter()
                    .fold(0u16, |acc, digit| acc * 10 + u16::from(digit - b'0')),
            )
        };
        let year = number(0..4)?;
        let month = u8::try_from(number(5..7)?).ok()?;
        let day = u8::try_from(number(8..10)?).ok()?;
        if !(1900..=2100).contains(&year) || !(1..=12).contains(&month) {
            return None;
        }
        if day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date { year, month, day })
    }

    /// The date as a document in `lang` writes it.
    pub(crate) fn format(self, lang: Language) -> String {
        match lang {
            Language::Ja => self.format_ja(),
            Language::En => format!(
                "{} {} {}",
                self.day,
                MONTHS_EN[usize::from(self.month - 1)],
                self.year
            ),
        }
    }

    /// 令和4年2月1日, with 元年 for an era's first year.
    fn format_ja(self) -> String {
        let Some((era, start)) = ERAS.iter().find(|(_, start)| self >= *start) else {
            return format!("{}年{}月{}日", self.year, self.month, self.day);
        };
        let era_year = self.year - start.year + 1;
        let year = if era_year == 1 {
            "元".to_owned()
        } else {
            era_year.to_string()
        };
        format!("{era}{year}年{}月{}日", self.month, self.day)
    }
}

fn days_in_month(year: u16, month: u8) -> u8 {
    match month {
        2 if year.is_multiple_of(4) && (!year.is_multiple_of(100) || year.is_multiple_of(400)) => {
            29
        }
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_only_real_iso_dates() {
        assert_eq!(
            Date::parse_iso("2022-02-01"),
            Some(Date::new_const(2022, 2, 1))
        );
        assert!(Date::parse_iso("2024-02-29").is_some());
        assert!(Date::parse_iso("2000-02-29").is_some());
        for bad in [
            "2022-02-29",
            "1900-02-29",
            "2022-13-01",
            "2022-00-10",
            "2022-04-31",
            "2022-4-01",
            "2022/04/01",
            "22-04-01",
            "2022-04-01T00:00",
            "+022-04-01",
            "１９８０-04-01",
            "1899-12-31",
            "",
        ] {
            assert_eq!(Date::parse_iso(bad), None, "{bad}");
        }
    }

    #[test]
    fn formats_japanese_eras_and_english() {
        let ja = |s| Date::parse_iso(s).unwrap().format(Language::Ja);
        assert_eq!(ja("2022-02-01"), "令和4年2月1日");
        assert_eq!(ja("2019-05-01"), "令和元年5月1日");
        assert_eq!(ja("2019-04-30"), "平成31年4月30日");
        assert_eq!(ja("1989-01-08"), "平成元年1月8日");
        assert_eq!(ja("1989-01-07"), "昭和64年1月7日");
        assert_eq!(ja("1980-04-01"), "昭和55年4月1日");
        assert_eq!(ja("1926-12-24"), "大正15年12月24日");
        assert_eq!(ja("1912-07-29"), "明治45年7月29日");
        assert_eq!(ja("1900-01-01"), "明治33年1月1日");
        let en = Date::parse_iso("2022-02-01").unwrap().format(Language::En);
        assert_eq!(en, "1 February 2022");
    }
}
