//! Fuzzes the `export.bin` decoder: never panic; a decoded export re-encodes to bytes that
//! decode to the same keys (sorted).
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori_crypto::export::{EXPORT_HEADER, Export};

fuzz_target!(|data: &[u8]| {
    let mut bin = EXPORT_HEADER.to_vec();
    bin.extend_from_slice(data);
    for input in [data, bin.as_slice()] {
        if let Ok(export) = Export::from_export_bin(input) {
            let again = Export::from_export_bin(&export.to_export_bin())
                .expect("a re-encoded export must decode");
            assert_eq!(again.keys.len(), export.keys.len());
            assert_eq!(again.revised_keys.len(), export.revised_keys.len());
            assert_eq!(again.region, export.region);
        }
    }
});
