//! The `tekmac` of the Google exposure-notifications verification protocol.
//!
//! Each key becomes `base64(key_data).rolling_start.rolling_period.transmission_risk`; the
//! strings are sorted, joined with commas, and authenticated with HMAC-SHA256 under the
//! client's secret. The verification certificate carries `base64(tekmac)`, binding the
//! certificate to exactly this set of keys in any order.

use base64::Engine as _;

use crate::export::DiagnosisKey;

/// The string that represents one key: `base64(key).start.period.tr`.
pub fn key_string(key: &DiagnosisKey) -> String {
    format!(
        "{}.{}.{}.{}",
        base64::engine::general_purpose::STANDARD.encode(key.key_data.as_bytes()),
        key.rolling_start_interval_number,
        key.rolling_period,
        key.transmission_risk_level
    )
}

/// The string of a key exactly as a request sent it: its base64 text untouched (even when
/// it does not decode), `text.start.period.tr`, as the reference server's
/// `CalculateExposureKeyHMAC` formats `ExposureKey`.
pub fn key_string_as_sent(
    key_base64: &str,
    rolling_start: i64,
    rolling_period: i64,
    transmission_risk: i64,
) -> String {
    format!("{key_base64}.{rolling_start}.{rolling_period}.{transmission_risk}")
}

/// The HMAC input: the sorted key strings joined by commas.
pub fn cleartext(keys: &[DiagnosisKey]) -> String {
    cleartext_of_strings(keys.iter().map(key_string).collect())
}

/// The HMAC input of key strings: sorted, joined by commas.
pub fn cleartext_of_strings(mut parts: Vec<String>) -> String {
    parts.sort_unstable();
    parts.join(",")
}

/// Checks a tekmac over key strings (see [`key_string_as_sent`]) in constant time.
pub fn verify_strings(secret: &[u8], key_strings: Vec<String>, expected: &[u8]) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::verify(&key, cleartext_of_strings(key_strings).as_bytes(), expected).is_ok()
}

/// HMAC-SHA256(secret, cleartext(keys)).
pub fn tekmac(secret: &[u8], keys: &[DiagnosisKey]) -> [u8; 32] {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    let tag = ring::hmac::sign(&key, cleartext(keys).as_bytes());
    let mut out = [0u8; 32];
    out.copy_from_slice(tag.as_ref());
    out
}

/// `base64(tekmac)`, the form carried in verification certificates.
pub fn tekmac_base64(secret: &[u8], keys: &[DiagnosisKey]) -> String {
    base64::engine::general_purpose::STANDARD.encode(tekmac(secret, keys))
}

/// Checks a tekmac in constant time.
pub fn verify(secret: &[u8], keys: &[DiagnosisKey], expected: &[u8]) -> bool {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, secret);
    ring::hmac::verify(&key, cleartext(keys).as_bytes(), expected).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keys::Tek;

    #[test]
    fn format_of_key_string() {
        // keys.json of the reference server example: "Fy/EgOWYSQw0F3YEM5sVQw==", 2649980, 1, 8.
        let mut key = DiagnosisKey::new(
            Tek::from_bytes(crate::hex::decode_array("172fc480e598490c34177604339b1543").unwrap()),
            2_649_980,
        );
        key.rolling_period = 1;
        key.transmission_risk_level = 8;
        assert_eq!(key_string(&key), "Fy/EgOWYSQw0F3YEM5sVQw==.2649980.1.8");
        let mac = tekmac(b"secret", &[key.clone()]);
        assert!(verify(b"secret", &[key.clone()], &mac));
        assert!(!verify(b"other", &[key], &mac));
    }
}
