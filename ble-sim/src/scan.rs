//! Recording real exposure-notification advertisements (service UUID 0xFD6F) as sightings.
//!
//! The record format and the service-data parsing are always compiled (and tested); the radio
//! part needs the `real-ble` feature (btleplug; on Linux it talks to BlueZ over D-Bus).
//! Each line of the output is `{"time":UNIX_SECONDS,"rpi":"<32 hex>","aem":"<8 hex>","rssi":DBM}`,
//! the sightings format `mimamori match --sightings` reads.

use mimamori_crypto::hex;
use mimamori_crypto::keys::{Aem, Rpi};
use mimamori_crypto::matcher::Sighting;
use serde::{Deserialize, Serialize};

/// The exposure-notification service as a full 128-bit UUID string (0xFD6F on the Bluetooth base).
pub const EN_SERVICE_UUID: &str = "0000fd6f-0000-1000-8000-00805f9b34fb";

/// One sighting as a JSON line.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SightingRecord {
    /// Reception time, UNIX seconds.
    pub time: u64,
    /// The RPI, 32 lowercase hex digits.
    pub rpi: String,
    /// The AEM, 8 lowercase hex digits.
    pub aem: String,
    /// Raw RSSI, dBm.
    pub rssi: i16,
}

impl SightingRecord {
    /// The record of an EN service-data payload (16-byte RPI ‖ 4-byte AEM); `None` when the
    /// payload does not have exactly 20 bytes.
    pub fn from_service_data(time: u64, service_data: &[u8], rssi: i16) -> Option<Self> {
        if service_data.len() != 20 {
            return None;
        }
        Some(Self {
            time,
            rpi: hex::encode(&service_data[..16]),
            aem: hex::encode(&service_data[16..]),
            rssi,
        })
    }

    /// The record of a sighting.
    pub fn from_sighting(s: &Sighting) -> Self {
        Self {
            time: s.time,
            rpi: hex::encode(s.rpi.as_bytes()),
            aem: hex::encode(s.aem.as_bytes()),
            rssi: s.rssi,
        }
    }

    /// The sighting, or `None` when the hex fields are malformed.
    pub fn to_sighting(&self) -> Option<Sighting> {
        Some(Sighting {
            time: self.time,
            rpi: Rpi(hex::decode_array(&self.rpi).ok()?),
            aem: Aem(hex::decode_array(&self.aem).ok()?),
            rssi: self.rssi,
        })
    }

    /// One JSON line (without the newline).
    pub fn to_json_line(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

/// Why scanning failed.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// No Bluetooth adapter (or no Bluetooth service) on this machine.
    #[error("no Bluetooth adapter found ({0})")]
    NoAdapter(String),
    /// The Bluetooth stack reported an error while scanning.
    #[error("Bluetooth scan failed: {0}")]
    Bluetooth(String),
}

/// Scans for `duration` and returns every EN advertisement heard, in time order.
///
/// # Errors
/// [`ScanError::NoAdapter`] without a usable adapter; [`ScanError::Bluetooth`] when the stack
/// fails mid-scan.
#[cfg(feature = "real-ble")]
pub fn scan_blocking(duration: std::time::Duration) -> Result<Vec<SightingRecord>, ScanError> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| ScanError::Bluetooth(e.to_string()))?;
    runtime.block_on(scan(duration))
}

#[cfg(feature = "real-ble")]
async fn scan(duration: std::time::Duration) -> Result<Vec<SightingRecord>, ScanError> {
    use btleplug::api::{Central as _, CentralEvent, Manager as _, Peripheral as _, ScanFilter};
    use btleplug::platform::Manager;
    use futures_util::StreamExt as _;

    let service =
        uuid::Uuid::parse_str(EN_SERVICE_UUID).map_err(|e| ScanError::Bluetooth(e.to_string()))?;
    let manager = Manager::new()
        .await
        .map_err(|e| ScanError::NoAdapter(e.to_string()))?;
    let adapter = manager
        .adapters()
        .await
        .map_err(|e| ScanError::NoAdapter(e.to_string()))?
        .into_iter()
        .next()
        .ok_or_else(|| ScanError::NoAdapter("the system lists none".into()))?;
    let mut events = adapter
        .events()
        .await
        .map_err(|e| ScanError::Bluetooth(e.to_string()))?;
    adapter
        .start_scan(ScanFilter {
            services: vec![service],
        })
        .await
        .map_err(|e| ScanError::Bluetooth(e.to_string()))?;
    let deadline = tokio::time::Instant::now() + duration;
    let mut out = Vec::new();
    loop {
        let event = match tokio::time::timeout_at(deadline, events.next()).await {
            Ok(Some(event)) => event,
            Ok(None) | Err(_) => break,
        };
        let (id, data) = match event {
            CentralEvent::ServiceDataAdvertisement { id, service_data } => {
                match service_data.get(&service) {
                    Some(data) => (id, data.clone()),
                    None => continue,
                }
            }
            _ => continue,
        };
        // The event carries no RSSI; the peripheral's properties hold the latest report's.
        let rssi = match adapter.peripheral(&id).await {
            Ok(p) => p.properties().await.ok().flatten().and_then(|p| p.rssi),
            Err(_) => None,
        };
        let Some(rssi) = rssi else { continue };
        let time = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        out.extend(SightingRecord::from_service_data(time, &data, rssi));
    }
    // Best effort: the adapter stops scanning when the process exits anyway.
    let _ = adapter.stop_scan().await;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_data_becomes_a_sighting_line() {
        let data: Vec<u8> = (0u8..20).collect();
        let r = SightingRecord::from_service_data(1_600_000_000, &data, -71).unwrap();
        assert_eq!(
            r.to_json_line(),
            r#"{"time":1600000000,"rpi":"000102030405060708090a0b0c0d0e0f","aem":"10111213","rssi":-71}"#
        );
        let s = r.to_sighting().unwrap();
        assert_eq!(SightingRecord::from_sighting(&s), r);
        assert!(SightingRecord::from_service_data(0, &data[..19], 0).is_none());
        let bad = SightingRecord {
            rpi: "zz".into(),
            ..r
        };
        assert!(bad.to_sighting().is_none());
    }
}
