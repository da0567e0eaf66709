//! Japanese phone numbers to E.164.

/// Why a phone number was refused. It never holds the number.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhoneError {
    /// Nothing but separators.
    #[error("phone number is empty")]
    Empty,
    /// A character that is neither a digit, a leading `+` nor a separator.
    #[error("phone number has a character that is not a digit or separator")]
    InvalidCharacter,
    /// Neither `+…` nor a domestic number starting with a single `0`.
    #[error("phone number is neither international (+…) nor domestic (0…)")]
    UnknownFormat,
    /// The wrong number of digits for its kind.
    #[error("phone number has the wrong number of digits")]
    WrongLength,
}

/// Normalizes a phone number to E.164.
///
/// * Domestic Japanese numbers (`090-1234-5678`, `03 1234 5678`, `(0120) 123-456`) become
///   `+81…` without the trunk `0`: mobile, IP and M2M numbers (`070`/`080`/`090`/`050`/
///   `020`/`060`, `0800`) must have 11 digits, other numbers (landlines, `0120`, `0570`) 10.
/// * `+81…` is kept (a trunk `0` written after it, `+81 (0)90…`, is dropped) and checked the
///   same way; other `+…` numbers are accepted when they have 8 to 15 digits.
/// * Spaces, hyphens (ASCII, full-width, dashes, `ー`), dots and parentheses are separators;
///   full-width digits and `＋` are accepted. Anything else is refused.
pub fn normalize_phone_jp(input: &str) -> Result<String, PhoneError> {
    let mut digits = String::with_capacity(16);
    let mut plus = false;
    for c in input.chars() {
        let c = match c {
            '０'..='９' => char::from_u32(u32::from(c) - u32::from('０') + u32::from('0'))
                .ok_or(PhoneError::InvalidCharacter)?,
            '＋' => '+',
            _ => c,
        };
        match c {
            '0'..='9' => digits.push(c),
            '+' if !plus && digits.is_empty() => plus = true,
            ' '
            | '\u{3000}'
            | '-'
            | '.'
            | '('
            | ')'
            | '（'
            | '）'
            | '－'
            | 'ー'
            | '‐'..='―'
            | '−' => {}
            _ => return Err(PhoneError::InvalidCharacter),
        }
    }
    if digits.is_empty() {
        return Err(if plus {
            PhoneError::WrongLength
        } else {
            PhoneError::Empty
        });
    }
    let national = if plus {
        match digits.strip_prefix("81") {
            Some(rest) => rest.strip_prefix('0').unwrap_or(rest).to_owned(),
            None => {
                if digits.starts_with('0') || !(8..=15).contains(&digits.len()) {
                    return Err(PhoneError::WrongLength);
                }
                return Ok(format!("+{digits}"));
            }
        }
    } else {
        match digits.strip_prefix('0') {
            Some(rest) if !rest.starts_with('0') => rest.to_owned(),
            _ => return Err(PhoneError::UnknownFormat),
        }
    };
    if national.starts_with('0') || national.is_empty() {
        return Err(PhoneError::UnknownFormat);
    }
    let eleven_digit_prefixes = ["70", "80", "90", "50", "20", "60", "800"];
    let expected = if eleven_digit_prefixes
        .iter()
        .any(|p| national.starts_with(p))
    {
        10
    } else {
        9
    };
    if national.len() != expected {
        return Err(PhoneError::WrongLength);
    }
    Ok(format!("+81{national}"))
}

/// Whether an E.164 number is a Japanese mobile number (`+8170…`, `+8180…`, `+8190…`), the
/// only kind that receives SMS.
pub fn is_jp_mobile(e164: &str) -> bool {
    e164.strip_prefix("+81").is_some_and(|national| {
        national.len() == 10
            && national.bytes().all(|b| b.is_ascii_digit())
            && ["70", "80", "90"].iter().any(|p| national.starts_with(p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn domestic_numbers() {
        for (input, want) in [
            ("090-1234-5678", "+819012345678"),
            ("09012345678", "+819012345678"),
            ("080 1234 5678", "+818012345678"),
            ("０７０－１２３４－５６７８", "+817012345678"),
            ("070ー1234ー5678", "+817012345678"),
            ("03-1234-5678", "+81312345678"),
            ("(03) 1234-5678", "+81312345678"),
            ("0120-123-456", "+81120123456"),
            ("0800-123-4567", "+818001234567"),
            ("050-1234-5678", "+815012345678"),
        ] {
            assert_eq!(normalize_phone_jp(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn international_numbers() {
        for (input, want) in [
            ("+819012345678", "+819012345678"),
            ("+81 90-1234-5678", "+819012345678"),
            ("+81 (0)90 1234 5678", "+819012345678"),
            ("＋８１９０１２３４５６７８", "+819012345678"),
            ("+14155552671", "+14155552671"),
        ] {
            assert_eq!(normalize_phone_jp(input).as_deref(), Ok(want), "{input}");
        }
    }

    #[test]
    fn junk_is_refused() {
        for (input, want) in [
            ("", PhoneError::Empty),
            (" - ", PhoneError::Empty),
            ("+", PhoneError::WrongLength),
            ("abc", PhoneError::InvalidCharacter),
            ("090-1234-567a", PhoneError::InvalidCharacter),
            ("090+12345678", PhoneError::InvalidCharacter),
            ("090-1234-567", PhoneError::WrongLength),
            ("090-1234-56789", PhoneError::WrongLength),
            ("03-1234-56789", PhoneError::WrongLength),
            ("+81 90 1234 567", PhoneError::WrongLength),
            ("9012345678", PhoneError::UnknownFormat),
            ("0090-1234-5678", PhoneError::UnknownFormat),
            ("+8100", PhoneError::UnknownFormat),
            ("+0123456789", PhoneError::WrongLength),
            ("+1234", PhoneError::WrongLength),
            ("+1234567890123456", PhoneError::WrongLength),
        ] {
            assert_eq!(normalize_phone_jp(input), Err(want), "{input:?}");
        }
    }

    #[test]
    fn mobile() {
        assert!(is_jp_mobile("+819012345678"));
        assert!(is_jp_mobile("+817012345678"));
        assert!(!is_jp_mobile("+81312345678"));
        assert!(!is_jp_mobile("+815012345678"));
        assert!(!is_jp_mobile("+14155552671"));
    }
}
