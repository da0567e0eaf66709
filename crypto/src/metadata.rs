//! The 4 plaintext bytes inside the AEM (gaen-spec.md §3).
//!
//! Byte 0: version, bits 7:6 major (01), 5:4 minor, 3:2 calibration confidence (v1.1),
//! 1:0 reserved. Byte 1: TX power, signed int8 dBm. Bytes 2–3: reserved, zero.

/// How the advertiser's TX power was calibrated. Unknown values decode as `Lowest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(rename_all = "SCREAMING_SNAKE_CASE"))]
pub enum CalibrationConfidence {
    /// No calibration data (fleet default).
    #[default]
    Lowest = 0,
    /// Manufacturer average.
    Low = 1,
    /// A similar model.
    Medium = 2,
    /// The model itself was measured.
    High = 3,
}

impl CalibrationConfidence {
    /// Decodes the 2-bit field.
    pub fn from_bits(bits: u8) -> Self {
        match bits & 0b11 {
            1 => Self::Low,
            2 => Self::Medium,
            3 => Self::High,
            _ => Self::Lowest,
        }
    }
}

/// Decoded Bluetooth metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Metadata {
    /// Major version (1 for EN v1.x).
    pub major: u8,
    /// Minor version (0 for v1.0, 1 for v1.1).
    pub minor: u8,
    /// Calibration confidence (meaningful from v1.1).
    pub calibration_confidence: CalibrationConfidence,
    /// TX power in dBm.
    pub tx_power: i8,
}

impl Metadata {
    /// Version 1.0 metadata with the given TX power.
    pub fn v1_0(tx_power: i8) -> Self {
        Self {
            major: 1,
            minor: 0,
            calibration_confidence: CalibrationConfidence::Lowest,
            tx_power,
        }
    }

    /// Version 1.1 metadata with TX power and calibration confidence.
    pub fn v1_1(tx_power: i8, calibration_confidence: CalibrationConfidence) -> Self {
        Self {
            major: 1,
            minor: 1,
            calibration_confidence,
            tx_power,
        }
    }

    /// Encodes the 4 metadata bytes.
    pub fn to_bytes(self) -> [u8; 4] {
        let version = ((self.major & 0b11) << 6)
            | ((self.minor & 0b11) << 4)
            | ((self.calibration_confidence as u8) << 2);
        [version, self.tx_power.to_le_bytes()[0], 0, 0]
    }

    /// Decodes the 4 metadata bytes. Reserved bits are ignored.
    pub fn from_bytes(bytes: [u8; 4]) -> Self {
        Self {
            major: bytes[0] >> 6,
            minor: (bytes[0] >> 4) & 0b11,
            calibration_confidence: CalibrationConfidence::from_bits(bytes[0] >> 2),
            tx_power: i8::from_le_bytes([bytes[1]]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_metadata() {
        // gaen-spec.md §2: 40 08 00 00 is version 1.0, TX +8 dBm.
        let m = Metadata::from_bytes([0x40, 0x08, 0, 0]);
        assert_eq!(m, Metadata::v1_0(8));
        assert_eq!(m.to_bytes(), [0x40, 0x08, 0, 0]);
        assert_eq!(
            Metadata::v1_1(-15, CalibrationConfidence::High).to_bytes(),
            [0x5c, 0xf1, 0, 0]
        );
        assert_eq!(Metadata::from_bytes([0x5c, 0xf1, 0, 0]).tx_power, -15);
    }
}
