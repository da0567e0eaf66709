//! ENIntervalNumber: 10-minute intervals since the UNIX epoch (gaen-spec.md §1).

/// Seconds in one ENIntervalNumber.
pub const EN_INTERVAL_SECONDS: u64 = 600;
/// Intervals per TEK (24 h).
pub const TEK_ROLLING_PERIOD: u32 = 144;
/// Seconds per UTC day.
pub const SECONDS_PER_DAY: u64 = 86_400;

/// An ENIntervalNumber: floor(unix_seconds / 600), encoded as uint32 little-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EnIntervalNumber(pub u32);

impl EnIntervalNumber {
    /// The interval containing `unix_seconds` (saturating at `u32::MAX`).
    pub fn from_unix_seconds(unix_seconds: u64) -> Self {
        Self(u32::try_from(unix_seconds / EN_INTERVAL_SECONDS).unwrap_or(u32::MAX))
    }

    /// The first second of this interval.
    pub fn to_unix_seconds(self) -> u64 {
        u64::from(self.0) * EN_INTERVAL_SECONDS
    }

    /// The first interval of this interval's UTC day: 144 × floor(ENIN / 144).
    pub fn day_start(self) -> Self {
        Self(self.0 - self.0 % TEK_ROLLING_PERIOD)
    }

    /// The little-endian encoding used inside `PaddedData`.
    pub fn to_le_bytes(self) -> [u8; 4] {
        self.0.to_le_bytes()
    }

    /// This interval plus `n` (saturating).
    pub fn plus(self, n: u32) -> Self {
        Self(self.0.saturating_add(n))
    }
}

/// The first second of the UTC day containing `unix_seconds`.
pub fn utc_day_start(unix_seconds: u64) -> u64 {
    unix_seconds - unix_seconds % SECONDS_PER_DAY
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn published_vector_interval() {
        // gaen-spec.md §2: key generated 1585785600 s, ENIN 2642976, aligned.
        let enin = EnIntervalNumber::from_unix_seconds(1_585_785_600);
        assert_eq!(enin, EnIntervalNumber(2_642_976));
        assert_eq!(enin.day_start(), enin);
        assert_eq!(EnIntervalNumber(2_643_000).day_start(), enin);
        assert_eq!(enin.to_unix_seconds(), 1_585_785_600);
        assert_eq!(EnIntervalNumber::from_unix_seconds(1_585_786_199), enin);
        assert_eq!(enin.to_le_bytes(), [0x20, 0x54, 0x28, 0x00]);
    }
}
