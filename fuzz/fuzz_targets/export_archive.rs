//! Fuzzes the export zip reader and signature verification: never panic, and whatever
//! parses must survive a signature check.
#![no_main]

use libfuzzer_sys::fuzz_target;
use mimamori_crypto::export::{VerificationKey, read_archive};

const PUBLIC_PEM: &str = include_str!("../../../shared/data/gaen-exports/public.pem");

fuzz_target!(|data: &[u8]| {
    if let Ok(archive) = read_archive(data) {
        if let Ok(key) = VerificationKey::from_text(PUBLIC_PEM) {
            let _ = archive.check_signatures(std::slice::from_ref(&key));
            let _ = archive.verify(&[key]);
        }
    }
});
