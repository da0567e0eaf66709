//! The legacy BLE advertisement of an exposure-notification device (gaen-spec.md §3).
//!
//! AD structures, in order: Flags; Complete List of 16-bit Service UUIDs = [0xFD6F];
//! Service Data – 16-bit UUID 0xFD6F carrying RPI (16) ‖ AEM (4). 31 bytes in all.

use crate::error::PayloadError;
use crate::keys::{Aem, Rpi};

/// The exposure-notification service UUID (0000FD6F-0000-1000-8000-00805F9B34FB).
pub const SERVICE_UUID16: u16 = 0xFD6F;
/// Maximum length of legacy advertising data.
pub const LEGACY_ADV_MAX: usize = 31;
/// Length of the built advertisement.
pub const ADVERTISEMENT_LEN: usize = 31;
/// AD type: Flags.
pub const AD_FLAGS: u8 = 0x01;
/// AD type: Complete List of 16-bit Service UUIDs.
pub const AD_COMPLETE_UUID16_LIST: u8 = 0x03;
/// AD type: Service Data – 16-bit UUID.
pub const AD_SERVICE_DATA_UUID16: u8 = 0x16;
/// Flags byte used when building: LE General Discoverable, BR/EDR not supported (0x1A as
/// in the spec's example advertisement).
pub const DEFAULT_FLAGS: u8 = 0x1A;
/// The LE General Discoverable Mode bit.
pub const FLAG_LE_GENERAL_DISCOVERABLE: u8 = 0x02;

/// The exposure-notification payload of one advertisement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Advertisement {
    /// The Flags byte (the LE General Discoverable bit is always set when building).
    pub flags: u8,
    /// The Rolling Proximity Identifier.
    pub rpi: Rpi,
    /// The Associated Encrypted Metadata.
    pub aem: Aem,
}

impl Advertisement {
    /// An advertisement with the default flags.
    pub fn new(rpi: Rpi, aem: Aem) -> Self {
        Self {
            flags: DEFAULT_FLAGS,
            rpi,
            aem,
        }
    }

    /// The 20-byte service data payload RPI ‖ AEM.
    pub fn service_data(&self) -> [u8; 20] {
        let mut out = [0u8; 20];
        out[..16].copy_from_slice(&self.rpi.0);
        out[16..].copy_from_slice(&self.aem.0);
        out
    }

    /// Builds the 31-byte legacy advertising data.
    pub fn to_bytes(&self) -> [u8; ADVERTISEMENT_LEN] {
        let mut out = [0u8; ADVERTISEMENT_LEN];
        let [uuid_lo, uuid_hi] = SERVICE_UUID16.to_le_bytes();
        out[..3].copy_from_slice(&[2, AD_FLAGS, self.flags | FLAG_LE_GENERAL_DISCOVERABLE]);
        out[3..7].copy_from_slice(&[3, AD_COMPLETE_UUID16_LIST, uuid_lo, uuid_hi]);
        out[7..11].copy_from_slice(&[23, AD_SERVICE_DATA_UUID16, uuid_lo, uuid_hi]);
        out[11..].copy_from_slice(&self.service_data());
        out
    }

    /// Parses legacy advertising data, demanding exactly one UUID list [0xFD6F] before
    /// exactly one 20-byte service data structure for 0xFD6F. Flags are optional but must be
    /// one byte; other AD types are ignored; zero padding after a zero length byte is allowed.
    ///
    /// # Errors
    /// A [`PayloadError`] naming the first problem found.
    pub fn parse(data: &[u8]) -> Result<Self, PayloadError> {
        if data.len() > LEGACY_ADV_MAX {
            return Err(PayloadError::TooLong(data.len()));
        }
        let mut flags = None;
        let mut uuid_list_seen = false;
        let mut service: Option<[u8; 20]> = None;
        let mut offset = 0;
        while offset < data.len() {
            let len = usize::from(data[offset]);
            if len == 0 {
                if data[offset..].iter().any(|&b| b != 0) {
                    return Err(PayloadError::BadPadding);
                }
                break;
            }
            let end = offset + 1 + len;
            if end > data.len() {
                return Err(PayloadError::Truncated(offset));
            }
            let ad_type = data[offset + 1];
            let body = &data[offset + 2..end];
            match ad_type {
                AD_FLAGS => {
                    if flags.is_some() {
                        return Err(PayloadError::Duplicate(ad_type));
                    }
                    if body.len() != 1 {
                        return Err(PayloadError::BadFlags(body.len()));
                    }
                    flags = Some(body[0]);
                }
                AD_COMPLETE_UUID16_LIST => {
                    if uuid_list_seen {
                        return Err(PayloadError::Duplicate(ad_type));
                    }
                    if body != SERVICE_UUID16.to_le_bytes() {
                        return Err(PayloadError::WrongServiceUuidList);
                    }
                    uuid_list_seen = true;
                }
                AD_SERVICE_DATA_UUID16 => {
                    if service.is_some() {
                        return Err(PayloadError::Duplicate(ad_type));
                    }
                    if body.len() < 2 {
                        return Err(PayloadError::WrongServiceDataLength(0));
                    }
                    let uuid = u16::from_le_bytes([body[0], body[1]]);
                    if uuid != SERVICE_UUID16 {
                        return Err(PayloadError::WrongServiceDataUuid(uuid));
                    }
                    if !uuid_list_seen {
                        return Err(PayloadError::ServiceDataBeforeUuidList);
                    }
                    let payload = &body[2..];
                    service = Some(
                        <[u8; 20]>::try_from(payload)
                            .map_err(|_| PayloadError::WrongServiceDataLength(payload.len()))?,
                    );
                }
                _ => {}
            }
            offset = end;
        }
        if !uuid_list_seen {
            return Err(PayloadError::MissingServiceUuidList);
        }
        let service = service.ok_or(PayloadError::MissingServiceData)?;
        let mut rpi = [0u8; 16];
        rpi.copy_from_slice(&service[..16]);
        let mut aem = [0u8; 4];
        aem.copy_from_slice(&service[16..]);
        Ok(Self {
            flags: flags.unwrap_or(0),
            rpi: Rpi(rpi),
            aem: Aem(aem),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hex;

    fn example() -> Vec<u8> {
        hex::decode("02011a03036ffd17166ffd8be6cd371c5c891604bfbe49df84509672033874").unwrap()
    }

    #[test]
    fn builds_the_spec_example() {
        let data = example();
        let adv = Advertisement::parse(&data).unwrap();
        assert_eq!(adv.flags, 0x1a);
        assert_eq!(hex::encode(&adv.rpi.0), "8be6cd371c5c891604bfbe49df845096");
        assert_eq!(hex::encode(&adv.aem.0), "72033874");
        assert_eq!(adv.to_bytes().as_slice(), data.as_slice());
    }

    #[test]
    fn rejects_malformed() {
        let good = example();
        let mut long = good.clone();
        long.push(0);
        assert_eq!(Advertisement::parse(&long), Err(PayloadError::TooLong(32)));
        assert_eq!(
            Advertisement::parse(&good[..30]),
            Err(PayloadError::Truncated(7))
        );
        let mut wrong_uuid = good.clone();
        wrong_uuid[5] = 0x70;
        assert_eq!(
            Advertisement::parse(&wrong_uuid),
            Err(PayloadError::WrongServiceUuidList)
        );
        let mut wrong_sd_uuid = good.clone();
        wrong_sd_uuid[9] = 0x70;
        assert_eq!(
            Advertisement::parse(&wrong_sd_uuid),
            Err(PayloadError::WrongServiceDataUuid(0xFD70))
        );
        // Service data of 19 bytes (length byte 22) followed by one stray byte.
        let mut short_sd = good.clone();
        short_sd[7] = 22;
        assert!(Advertisement::parse(&short_sd).is_err());
        assert_eq!(
            Advertisement::parse(&good[..7]),
            Err(PayloadError::MissingServiceData)
        );
        assert_eq!(
            Advertisement::parse(&good[..3]),
            Err(PayloadError::MissingServiceUuidList)
        );
        let mut flags2 = good.clone();
        flags2[0] = 1;
        assert!(Advertisement::parse(&flags2).is_err());
        // Service data before the UUID list.
        let mut swapped = Vec::new();
        swapped.extend_from_slice(&good[..3]);
        swapped.extend_from_slice(&good[7..]);
        swapped.extend_from_slice(&good[3..7]);
        assert_eq!(
            Advertisement::parse(&swapped),
            Err(PayloadError::ServiceDataBeforeUuidList)
        );
        assert_eq!(
            Advertisement::parse(&[]),
            Err(PayloadError::MissingServiceUuidList)
        );
        assert_eq!(Advertisement::parse(&[0, 1]), Err(PayloadError::BadPadding));
    }
}
