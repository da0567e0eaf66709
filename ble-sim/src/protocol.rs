//! Exposure-notification protocol timing as phones implement it (gaen-spec.md §1–3,
//! ble-measurements.md §4): daily TEKs from the crypto crate, a new RPI (and Bluetooth
//! address) every 10-minute interval, advertising every 200–270 ms, a 4-second scan every
//! 210–300 s, and the sightings a scan records in the matcher's format.
//!
//! Simplifications (documented in the README): the RPI and address change exactly at the
//! interval boundary (phones randomise it by a few minutes); a scan records one sighting
//! per advertiser it hears, with the RSSI of the first advertisement received in the window
//! (Android records each, the matcher averages them per scan); TEKs are drawn from the
//! scenario's seeded generator instead of a CSPRNG so that runs are reproducible.

use mimamori_crypto::export::DiagnosisKey;
use mimamori_crypto::interval::{EN_INTERVAL_SECONDS, EnIntervalNumber, TEK_ROLLING_PERIOD};
use mimamori_crypto::keys::{Aem, Rpi, Tek};
use mimamori_crypto::matcher::Sighting;
use mimamori_crypto::metadata::{CalibrationConfidence, Metadata};
use rand::{Rng, RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;

use crate::radio::PhoneRadio;
use crate::scenario::DAY_SECONDS;

/// Advertising interval range (ms), EN Bluetooth specification v1.2.
pub const ADVERTISING_INTERVAL_MS: (u32, u32) = (200, 270);
/// Interval between scans (s), Android's EN implementation.
pub const SCAN_INTERVAL_S: (u32, u32) = (210, 300);
/// Duration of one scan (s).
pub const SCAN_WINDOW_S: u32 = 4;
/// RPIs per day.
const PER_DAY: usize = TEK_ROLLING_PERIOD as usize;

/// A deterministic seed for one purpose (SplitMix64 over the parts).
pub fn seed_for(parts: &[u64]) -> u64 {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    for &p in parts {
        x ^= p;
        x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = x;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        x = z ^ (z >> 31);
    }
    x
}

/// A generator for one purpose.
pub fn rng_for(parts: &[u64]) -> Pcg64Mcg {
    Pcg64Mcg::seed_from_u64(seed_for(parts))
}

/// Purpose tags for [`rng_for`].
pub mod purpose {
    /// TEK bytes.
    pub const TEK: u64 = 1;
    /// Scan schedule.
    pub const SCAN: u64 = 2;
    /// Advertising cadence.
    pub const ADVERTISING: u64 = 3;
    /// Place simulation.
    pub const PLACE: u64 = 4;
    /// Population set-up.
    pub const POPULATION: u64 = 5;
    /// Daily schedules.
    pub const SCHEDULE: u64 = 6;
    /// Cases and delays.
    pub const CASES: u64 = 7;
    /// The pipeline (HMAC keys).
    pub const PIPELINE: u64 = 8;
}

/// A phone running the app.
#[derive(Debug, Clone)]
pub struct Phone {
    /// Its owner (person index).
    pub person: u32,
    /// Index into the scenario's phone models.
    pub model: u16,
    /// Radio calibration of its model.
    pub radio: PhoneRadio,
}

/// A sighting as the simulator stores it: receiver implicit, advertiser by phone index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawSighting {
    /// Seconds since the scenario start.
    pub time: u32,
    /// The advertising phone.
    pub tx: u32,
    /// Raw RSSI (dBm) before the receiver's RSSI correction.
    pub rssi: i16,
}

/// Every phone's TEKs, RPIs and AEMs, derived once with the crypto crate.
#[derive(Debug)]
pub struct KeyStore {
    start_enin: u32,
    days: usize,
    teks: Vec<Tek>,
    rpis: Vec<Rpi>,
    aems: Vec<Aem>,
}

impl KeyStore {
    /// Generates one TEK per phone and day (`days` days from `start_unix`, a UTC midnight)
    /// and derives its 144 RPIs and AEMs (metadata v1.0 with the model's TX power).
    pub fn generate(seed: u64, start_unix: u64, days: usize, phones: &[Phone]) -> Self {
        use rayon::prelude::*;
        let start_enin = EnIntervalNumber::from_unix_seconds(start_unix).0;
        let per_phone: Vec<(Vec<Tek>, Vec<Rpi>, Vec<Aem>)> = phones
            .par_iter()
            .enumerate()
            .map(|(p, phone)| {
                let metadata = Metadata {
                    major: 1,
                    minor: 0,
                    calibration_confidence: CalibrationConfidence::Low,
                    tx_power: phone.radio.tx_power_dbm,
                }
                .to_bytes();
                let mut rng = rng_for(&[seed, purpose::TEK, p as u64]);
                let mut teks = Vec::with_capacity(days);
                let mut rpis = Vec::with_capacity(days * PER_DAY);
                let mut aems = Vec::with_capacity(days * PER_DAY);
                for day in 0..days {
                    let mut bytes = [0u8; 16];
                    rng.fill_bytes(&mut bytes);
                    let tek = Tek::from_bytes(bytes);
                    let start = EnIntervalNumber(start_enin + (day * PER_DAY) as u32);
                    let day_rpis = tek.rpis_for_day(start);
                    let aemk = tek.aemk();
                    for rpi in day_rpis {
                        aems.push(aemk.encrypt(&rpi, metadata));
                        rpis.push(rpi);
                    }
                    teks.push(tek);
                }
                (teks, rpis, aems)
            })
            .collect();
        let mut store = KeyStore {
            start_enin,
            days,
            teks: Vec::with_capacity(phones.len() * days),
            rpis: Vec::with_capacity(phones.len() * days * PER_DAY),
            aems: Vec::with_capacity(phones.len() * days * PER_DAY),
        };
        for (teks, rpis, aems) in per_phone {
            store.teks.extend(teks);
            store.rpis.extend(rpis);
            store.aems.extend(aems);
        }
        store
    }

    /// Days covered.
    pub fn days(&self) -> usize {
        self.days
    }

    /// The TEK of `phone` on `day`.
    pub fn tek(&self, phone: u32, day: usize) -> &Tek {
        &self.teks[phone as usize * self.days + day]
    }

    /// The TEK of `phone` on `day` as a diagnosis key (period 144).
    pub fn diagnosis_key(&self, phone: u32, day: usize) -> DiagnosisKey {
        DiagnosisKey::new(
            self.tek(phone, day).clone(),
            self.start_enin + (day * PER_DAY) as u32,
        )
    }

    /// The RPI and AEM `phone` broadcasts at `seconds` after the start.
    pub fn identifiers(&self, phone: u32, seconds: u32) -> (Rpi, Aem) {
        let interval = (u64::from(seconds) / EN_INTERVAL_SECONDS) as usize;
        let i = phone as usize * self.days * PER_DAY + interval.min(self.days * PER_DAY - 1);
        (self.rpis[i], self.aems[i])
    }

    /// The matcher's sighting for a stored one.
    pub fn sighting(&self, start_unix: u64, raw: &RawSighting) -> Sighting {
        let (rpi, aem) = self.identifiers(raw.tx, raw.time);
        Sighting {
            time: start_unix + u64::from(raw.time),
            rpi,
            aem,
            rssi: raw.rssi,
        }
    }

    /// Which phone and day a TEK belongs to (the simulator's own bookkeeping, used to find
    /// the phones that could possibly have heard a published key).
    pub fn owner_index(&self) -> std::collections::HashMap<[u8; 16], (u32, usize)> {
        self.teks
            .iter()
            .enumerate()
            .map(|(i, t)| (*t.as_bytes(), ((i / self.days) as u32, i % self.days)))
            .collect()
    }
}

/// Scan start times (seconds since the start of `day`) of `phone` on `day`: a random phase,
/// then every 210–300 s.
pub fn scan_times(seed: u64, phone: u32, day: u16) -> Vec<u32> {
    let mut rng = rng_for(&[seed, purpose::SCAN, u64::from(phone), u64::from(day)]);
    let mut t = rng.random_range(0..SCAN_INTERVAL_S.1);
    let mut out = Vec::with_capacity(400);
    while u64::from(t) < DAY_SECONDS {
        out.push(t);
        t += rng.random_range(SCAN_INTERVAL_S.0..=SCAN_INTERVAL_S.1);
    }
    out
}

/// The advertising interval (ms) of `phone` on `day`.
pub fn advertising_interval_ms(seed: u64, phone: u32, day: u16) -> u32 {
    rng_for(&[seed, purpose::ADVERTISING, u64::from(phone), u64::from(day)])
        .random_range(ADVERTISING_INTERVAL_MS.0..=ADVERTISING_INTERVAL_MS.1)
}

/// Offsets (ms) into a scan window of the advertisements of a phone with `interval_ms`:
/// a uniformly random phase, then one every interval while inside the window. With
/// 200–270 ms and a 4-s window that is 14–20 chances to be heard.
pub fn advertisements_in_window<R: Rng + ?Sized>(rng: &mut R, interval_ms: u32) -> (u32, u32) {
    let phase = rng.random_range(0..interval_ms.max(1));
    let window = SCAN_WINDOW_S * 1000;
    let count = if phase >= window {
        0
    } else {
        (window - phase - 1) / interval_ms.max(1) + 1
    };
    (phase, count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_follow_the_android_cadence() {
        let scans = scan_times(1, 3, 0);
        assert!(scans.len() >= 288 && scans.len() <= 412, "{}", scans.len());
        for w in scans.windows(2) {
            let gap = w[1] - w[0];
            assert!((210..=300).contains(&gap), "{gap}");
        }
        assert_eq!(scans, scan_times(1, 3, 0));
        assert_ne!(scans, scan_times(1, 3, 1));
    }

    #[test]
    fn every_scan_window_holds_fourteen_to_twenty_advertisements() {
        let mut rng = rng_for(&[5]);
        for _ in 0..1000 {
            let interval = rng.random_range(200..=270);
            let (_, count) = advertisements_in_window(&mut rng, interval);
            assert!((14..=20).contains(&count), "{interval} {count}");
        }
    }

    #[test]
    fn identifiers_are_the_crypto_crates_rpis() {
        let phones = vec![Phone {
            person: 0,
            model: 0,
            radio: PhoneRadio {
                tx_power_dbm: -20,
                rssi_correction_db: 0,
                calibration_error_db: 0.0,
            },
        }];
        let start = 1_793_577_600; // 2026-11-02
        let store = KeyStore::generate(9, start, 2, &phones);
        let (rpi, aem) = store.identifiers(0, 86_400 + 605);
        let tek = store.tek(0, 1);
        let enin = EnIntervalNumber::from_unix_seconds(start + 86_400 + 605);
        assert_eq!(rpi, tek.rpik().rpi(enin));
        let metadata = Metadata::from_bytes(tek.aemk().decrypt(&rpi, &aem));
        assert_eq!(metadata.tx_power, -20);
        let key = store.diagnosis_key(0, 1);
        assert_eq!(key.rolling_start_interval_number, enin.day_start().0);
        assert_eq!(store.owner_index()[tek.as_bytes()], (0, 1));
    }
}
