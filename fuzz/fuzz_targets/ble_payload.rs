//! Fuzzes the BLE advertisement parser: never panic; what parses rebuilds to an
//! advertisement that parses to the same RPI and AEM.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori_crypto::payload::Advertisement;

fuzz_target!(|data: &[u8]| {
    if let Ok(adv) = Advertisement::parse(data) {
        let again = Advertisement::parse(&adv.to_bytes()).expect("a built advertisement must parse");
        assert_eq!((again.rpi, again.aem), (adv.rpi, adv.aem));
    }
});
