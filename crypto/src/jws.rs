//! A small, strict ES256 compact JWS (RFC 7515 / RFC 7518) and P-256 JWKs (RFC 7517).
//!
//! Used for the verification protocol's tokens and certificates: the verification service
//! signs them, the key server checks certificates against the published JWKS.
//!
//! * Only `alg: "ES256"` is accepted. `none`, `HS256`, `ES384`, anything else: rejected with
//!   [`JwsError::UnsupportedAlgorithm`] before any signature work.
//! * Signatures are the JWS form: raw `r ‖ s`, 64 bytes (ring's `*_FIXED` algorithms), never
//!   DER (`export.sig` uses DER; do not mix the two).
//! * base64url without padding, strictly (padding or other alphabets are rejected).
//! * The header is a flat JSON object of string members; a `crit` member is rejected, since
//!   this implementation understands no extensions.
//!
//! The claims are returned as bytes; the caller parses them with its own JSON library and
//! checks `exp`, `iss`, `aud` (this module knows no clock).
//!
//! ```
//! use ring::rand::SystemRandom;
//! use ring::signature::{EcdsaKeyPair, KeyPair, ECDSA_P256_SHA256_FIXED_SIGNING};
//! use mimamori_crypto::jws;
//!
//! let rng = SystemRandom::new();
//! let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
//! let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
//!     .unwrap();
//! let token = jws::sign("v1", br#"{"sub":"x"}"#, &key).unwrap();
//! assert_eq!(jws::decode_unverified_header(&token).unwrap().kid.as_deref(), Some("v1"));
//! let claims = jws::verify(&token, key.public_key().as_ref()).unwrap();
//! assert_eq!(claims, br#"{"sub":"x"}"#);
//! ```

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use ring::signature::{ECDSA_P256_SHA256_FIXED, EcdsaKeyPair, UnparsedPublicKey};

/// The only algorithm this module signs or accepts.
pub const ALGORITHM: &str = "ES256";

/// Length of an uncompressed SEC1 P-256 public key (`0x04 ‖ x ‖ y`).
pub const PUBLIC_KEY_LEN: usize = 65;

/// Length of a JWS ES256 signature (`r ‖ s`).
pub const SIGNATURE_LEN: usize = 64;

/// Why a token was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JwsError {
    /// Not three base64url segments, bad base64url, or a header that is not a flat JSON object.
    #[error("malformed token: {0}")]
    Malformed(&'static str),
    /// The header names an algorithm other than ES256 (including `none`), or none at all.
    #[error("unsupported algorithm {0:?}; only ES256 is accepted")]
    UnsupportedAlgorithm(String),
    /// The header carries `crit` (no extensions are understood).
    #[error("critical header extensions are not supported")]
    CriticalHeader,
    /// The signature is not 64 bytes or does not verify under the given key.
    #[error("signature does not verify")]
    BadSignature,
    /// The public key is not an uncompressed P-256 point.
    #[error("invalid public key")]
    InvalidKey,
    /// Signing failed (the system random number generator).
    #[error("signing failed")]
    Signing,
}

/// The protected header of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// `alg`; always `ES256` once decoded successfully.
    pub alg: String,
    /// `kid`, the signing key's id.
    pub kid: Option<String>,
    /// `typ`, usually `JWT`.
    pub typ: Option<String>,
}

/// Signs `claims_json` (the caller's JSON bytes, used verbatim) with `key` under the header
/// `{"alg":"ES256","kid":…,"typ":"JWT"}`.
pub fn sign(kid: &str, claims_json: &[u8], key: &EcdsaKeyPair) -> Result<String, JwsError> {
    let header = format!(
        "{{\"alg\":\"{ALGORITHM}\",\"kid\":{},\"typ\":\"JWT\"}}",
        json_string(kid)
    );
    let mut signing_input = URL_SAFE_NO_PAD.encode(header.as_bytes());
    signing_input.push('.');
    signing_input.push_str(&URL_SAFE_NO_PAD.encode(claims_json));
    let rng = ring::rand::SystemRandom::new();
    let signature = key
        .sign(&rng, signing_input.as_bytes())
        .map_err(|_| JwsError::Signing)?;
    signing_input.push('.');
    signing_input.push_str(&URL_SAFE_NO_PAD.encode(signature.as_ref()));
    Ok(signing_input)
}

struct Parts<'a> {
    header: &'a str,
    payload: &'a str,
    signature: &'a str,
}

fn split(token: &str) -> Result<Parts<'_>, JwsError> {
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwsError::Malformed("expected three dot-separated segments"));
    };
    if header.is_empty() || payload.is_empty() {
        return Err(JwsError::Malformed("empty segment"));
    }
    Ok(Parts {
        header,
        payload,
        signature,
    })
}

fn decode_segment(segment: &str) -> Result<Vec<u8>, JwsError> {
    URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| JwsError::Malformed("invalid base64url"))
}

fn parse_header(segment: &str) -> Result<Header, JwsError> {
    let bytes = decode_segment(segment)?;
    let text = std::str::from_utf8(&bytes).map_err(|_| JwsError::Malformed("header not UTF-8"))?;
    let members = parse_flat_object(text)?;
    let mut alg = None;
    let mut kid = None;
    let mut typ = None;
    for (name, value) in members {
        let slot = match name.as_str() {
            "alg" => &mut alg,
            "kid" => &mut kid,
            "typ" => &mut typ,
            "crit" => return Err(JwsError::CriticalHeader),
            _ => continue,
        };
        if slot.is_some() {
            return Err(JwsError::Malformed("duplicate header member"));
        }
        *slot = Some(value);
    }
    match alg {
        Some(alg) if alg == ALGORITHM => Ok(Header { alg, kid, typ }),
        Some(other) => Err(JwsError::UnsupportedAlgorithm(other)),
        None => Err(JwsError::UnsupportedAlgorithm(String::new())),
    }
}

/// The header of `token`, checked for form and algorithm but **not** for its signature: use
/// it only to pick the key (`kid`) to verify with.
pub fn decode_unverified_header(token: &str) -> Result<Header, JwsError> {
    parse_header(split(token)?.header)
}

/// The claims of `token` without checking the signature (diagnostics only; never trust them).
pub fn decode_unverified_claims(token: &str) -> Result<Vec<u8>, JwsError> {
    decode_segment(split(token)?.payload)
}

/// Verifies `token` against the uncompressed P-256 public key (`0x04 ‖ x ‖ y`, 65 bytes) and
/// returns the claims bytes. The algorithm must be ES256; the signature must be 64 bytes.
pub fn verify(token: &str, public_key: &[u8]) -> Result<Vec<u8>, JwsError> {
    if public_key.len() != PUBLIC_KEY_LEN || public_key[0] != 0x04 {
        return Err(JwsError::InvalidKey);
    }
    let parts = split(token)?;
    parse_header(parts.header)?;
    let signature = decode_segment(parts.signature)?;
    if signature.len() != SIGNATURE_LEN {
        return Err(JwsError::BadSignature);
    }
    let signed_len = parts.header.len() + 1 + parts.payload.len();
    let signing_input = &token.as_bytes()[..signed_len];
    UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, public_key)
        .verify(signing_input, &signature)
        .map_err(|_| JwsError::BadSignature)?;
    decode_segment(parts.payload)
}

/// A P-256 public key as a JSON Web Key (the members JWKS documents carry).
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct Jwk {
    /// Always `EC`.
    pub kty: String,
    /// Always `P-256`.
    pub crv: String,
    /// base64url of the 32-byte x coordinate.
    pub x: String,
    /// base64url of the 32-byte y coordinate.
    pub y: String,
    /// The key id tokens carry in their header.
    pub kid: String,
    /// Always `ES256`.
    pub alg: String,
    /// Always `sig`.
    #[cfg_attr(feature = "serde", serde(rename = "use"))]
    pub use_: String,
}

impl Jwk {
    /// The JWK of an uncompressed P-256 public key (`0x04 ‖ x ‖ y`).
    pub fn from_public_key(kid: &str, public_key: &[u8]) -> Result<Jwk, JwsError> {
        if public_key.len() != PUBLIC_KEY_LEN || public_key[0] != 0x04 {
            return Err(JwsError::InvalidKey);
        }
        Ok(Jwk {
            kty: "EC".into(),
            crv: "P-256".into(),
            x: URL_SAFE_NO_PAD.encode(&public_key[1..33]),
            y: URL_SAFE_NO_PAD.encode(&public_key[33..65]),
            kid: kid.into(),
            alg: ALGORITHM.into(),
            use_: "sig".into(),
        })
    }

    /// The uncompressed public key (`0x04 ‖ x ‖ y`), after checking `kty`, `crv` and `alg`.
    pub fn public_key(&self) -> Result<[u8; PUBLIC_KEY_LEN], JwsError> {
        if self.kty != "EC" || self.crv != "P-256" {
            return Err(JwsError::InvalidKey);
        }
        if self.alg != ALGORITHM {
            return Err(JwsError::UnsupportedAlgorithm(self.alg.clone()));
        }
        let x = URL_SAFE_NO_PAD
            .decode(&self.x)
            .map_err(|_| JwsError::InvalidKey)?;
        let y = URL_SAFE_NO_PAD
            .decode(&self.y)
            .map_err(|_| JwsError::InvalidKey)?;
        if x.len() != 32 || y.len() != 32 {
            return Err(JwsError::InvalidKey);
        }
        let mut out = [0u8; PUBLIC_KEY_LEN];
        out[0] = 0x04;
        out[1..33].copy_from_slice(&x);
        out[33..].copy_from_slice(&y);
        Ok(out)
    }

    /// The JWK as a JSON object (members in a fixed order), without a JSON library.
    pub fn to_json(&self) -> String {
        format!(
            "{{\"kty\":{},\"crv\":{},\"x\":{},\"y\":{},\"kid\":{},\"alg\":{},\"use\":{}}}",
            json_string(&self.kty),
            json_string(&self.crv),
            json_string(&self.x),
            json_string(&self.y),
            json_string(&self.kid),
            json_string(&self.alg),
            json_string(&self.use_),
        )
    }
}

/// A JSON string literal for `value`.
fn json_string(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Parses a JSON object whose members are all strings. Anything else is malformed: a JOSE
/// header of this profile never carries numbers, arrays or nested objects.
fn parse_flat_object(text: &str) -> Result<Vec<(String, String)>, JwsError> {
    let mut chars = text.trim().chars().peekable();
    let malformed = || JwsError::Malformed("header is not a flat JSON object of strings");
    if chars.next() != Some('{') {
        return Err(malformed());
    }
    let mut members = Vec::new();
    skip_whitespace(&mut chars);
    if chars.peek() == Some(&'}') {
        chars.next();
        return if chars.next().is_none() {
            Ok(members)
        } else {
            Err(malformed())
        };
    }
    loop {
        skip_whitespace(&mut chars);
        let name = parse_string(&mut chars).ok_or_else(malformed)?;
        skip_whitespace(&mut chars);
        if chars.next() != Some(':') {
            return Err(malformed());
        }
        skip_whitespace(&mut chars);
        let value = parse_string(&mut chars).ok_or_else(malformed)?;
        members.push((name, value));
        skip_whitespace(&mut chars);
        match chars.next() {
            Some(',') => continue,
            Some('}') => break,
            _ => return Err(malformed()),
        }
    }
    if chars.next().is_some() {
        return Err(malformed());
    }
    Ok(members)
}

fn skip_whitespace(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) {
    while chars
        .peek()
        .is_some_and(|c| matches!(c, ' ' | '\t' | '\n' | '\r'))
    {
        chars.next();
    }
}

fn parse_string(chars: &mut std::iter::Peekable<std::str::Chars<'_>>) -> Option<String> {
    if chars.next()? != '"' {
        return None;
    }
    let mut out = String::new();
    loop {
        match chars.next()? {
            '"' => return Some(out),
            '\\' => match chars.next()? {
                '"' => out.push('"'),
                '\\' => out.push('\\'),
                '/' => out.push('/'),
                'b' => out.push('\u{8}'),
                'f' => out.push('\u{c}'),
                'n' => out.push('\n'),
                'r' => out.push('\r'),
                't' => out.push('\t'),
                'u' => {
                    let mut code = 0u32;
                    for _ in 0..4 {
                        code = code * 16 + chars.next()?.to_digit(16)?;
                    }
                    // Surrogate pairs are not needed in a header of this profile.
                    out.push(char::from_u32(code)?);
                }
                _ => return None,
            },
            c if (c as u32) < 0x20 => return None,
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use ring::rand::SystemRandom;
    use ring::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, KeyPair};

    use super::*;

    fn key() -> EcdsaKeyPair {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
        EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng).unwrap()
    }

    fn forge(header: &str, payload: &str, signature: &[u8]) -> String {
        format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(header),
            URL_SAFE_NO_PAD.encode(payload),
            URL_SAFE_NO_PAD.encode(signature)
        )
    }

    #[test]
    fn round_trip_and_header() {
        let key = key();
        let token = sign("k\"1", br#"{"a":1}"#, &key).unwrap();
        let header = decode_unverified_header(&token).unwrap();
        assert_eq!(header.alg, "ES256");
        assert_eq!(header.kid.as_deref(), Some("k\"1"));
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(
            verify(&token, key.public_key().as_ref()).unwrap(),
            br#"{"a":1}"#
        );
        // The signature segment is 64 raw bytes, not DER.
        let signature = URL_SAFE_NO_PAD
            .decode(token.rsplit('.').next().unwrap())
            .unwrap();
        assert_eq!(signature.len(), SIGNATURE_LEN);
    }

    #[test]
    fn rejects_other_keys_and_tampering() {
        let (a, b) = (key(), key());
        let token = sign("v1", b"{}", &a).unwrap();
        assert_eq!(
            verify(&token, b.public_key().as_ref()),
            Err(JwsError::BadSignature)
        );
        let mut parts: Vec<&str> = token.split('.').collect();
        let other_payload = URL_SAFE_NO_PAD.encode(br#"{"admin":true}"#);
        parts[1] = &other_payload;
        assert_eq!(
            verify(&parts.join("."), a.public_key().as_ref()),
            Err(JwsError::BadSignature)
        );
        assert!(matches!(
            verify(&format!("{token}="), a.public_key().as_ref()),
            Err(JwsError::Malformed(_))
        ));
        assert!(matches!(
            verify("a.b", a.public_key().as_ref()),
            Err(JwsError::Malformed(_))
        ));
        assert!(matches!(
            verify(&format!("{token}.x"), a.public_key().as_ref()),
            Err(JwsError::Malformed(_))
        ));
    }

    #[test]
    fn rejects_none_and_other_algorithms() {
        let key = key();
        let public = key.public_key().as_ref().to_vec();
        for alg in ["none", "HS256", "ES384", "RS256", "es256"] {
            let token = forge(&format!(r#"{{"alg":"{alg}","kid":"v1"}}"#), "{}", &[]);
            assert_eq!(
                verify(&token, &public),
                Err(JwsError::UnsupportedAlgorithm(alg.into()))
            );
            assert!(decode_unverified_header(&token).is_err());
        }
        let token = forge(r#"{"kid":"v1"}"#, "{}", &[0; 64]);
        assert!(matches!(
            verify(&token, &public),
            Err(JwsError::UnsupportedAlgorithm(_))
        ));
        let token = forge(r#"{"alg":"ES256","crit":"x"}"#, "{}", &[0; 64]);
        assert_eq!(verify(&token, &public), Err(JwsError::CriticalHeader));
        let token = forge(r#"{"alg":"ES256","alg":"none"}"#, "{}", &[0; 64]);
        assert!(matches!(
            verify(&token, &public),
            Err(JwsError::Malformed(_))
        ));
        let token = forge(r#"{"alg":["ES256"]}"#, "{}", &[0; 64]);
        assert!(matches!(
            verify(&token, &public),
            Err(JwsError::Malformed(_))
        ));
        // A DER-sized signature is refused outright.
        let token = forge(r#"{"alg":"ES256"}"#, "{}", &[0; 70]);
        assert_eq!(verify(&token, &public), Err(JwsError::BadSignature));
    }

    #[test]
    fn jwk_round_trip() {
        let key = key();
        let jwk = Jwk::from_public_key("v1", key.public_key().as_ref()).unwrap();
        assert_eq!(
            jwk.public_key().unwrap().as_slice(),
            key.public_key().as_ref()
        );
        assert!(jwk.to_json().contains(r#""use":"sig""#));
        let mut bad = jwk.clone();
        bad.crv = "P-384".into();
        assert_eq!(bad.public_key(), Err(JwsError::InvalidKey));
        assert_eq!(
            Jwk::from_public_key("v1", &[4; 10]),
            Err(JwsError::InvalidKey)
        );
    }
}
