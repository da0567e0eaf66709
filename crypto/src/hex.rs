//! Minimal lowercase hexadecimal encoding and decoding (no allocation beyond the output).

use crate::error::Error;

const DIGITS: &[u8; 16] = b"0123456789abcdef";

/// Encodes bytes as lowercase hexadecimal.
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        b'A'..=b'F' => Some(c - b'A' + 10),
        _ => None,
    }
}

/// Decodes hexadecimal (either case) into bytes.
///
/// # Errors
/// [`Error::InvalidHex`] on an odd length or a non-hex character.
pub fn decode(text: &str) -> Result<Vec<u8>, Error> {
    let raw = text.as_bytes();
    if !raw.len().is_multiple_of(2) {
        return Err(Error::InvalidHex);
    }
    raw.chunks_exact(2)
        .map(|pair| match (nibble(pair[0]), nibble(pair[1])) {
            (Some(hi), Some(lo)) => Ok((hi << 4) | lo),
            _ => Err(Error::InvalidHex),
        })
        .collect()
}

/// Decodes hexadecimal into a fixed-size array.
///
/// # Errors
/// [`Error::InvalidHex`] on bad characters, [`Error::InvalidLength`] when the decoded length
/// is not `N`.
pub fn decode_array<const N: usize>(text: &str) -> Result<[u8; N], Error> {
    let bytes = decode(text)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| Error::InvalidLength {
        expected: N,
        actual: bytes.len(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let bytes = [0u8, 1, 0x7f, 0x80, 0xff];
        assert_eq!(encode(&bytes), "00017f80ff");
        assert_eq!(decode("00017F80ff").unwrap(), bytes);
        assert!(decode("abc").is_err());
        assert!(decode("zz").is_err());
        assert!(decode_array::<2>("0011aa").is_err());
    }
}
