//! Export throughput: N keys of one window planned (padding), split into files of at most
//! 500,000 keys, signed, zipped, parsed back, verified and written — what the export worker
//! does per window, without the database query.
//!
//! `cargo run --release -p mimamori-key-server --example export_bench -- 1000000 5`
//! prints one JSON line per run and the median.

use mimamori_crypto::export::{DiagnosisKey, ReportType};
use mimamori_crypto::keys::Tek;
use mimamori_key_server::export::{active_signer, build_and_write, generate_signing_key};
use mimamori_key_server::model::export_plan::FilePolicy;
use ring::rand::{SecureRandom, SystemRandom};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let keys: usize = args
        .next()
        .map(|a| a.parse())
        .transpose()?
        .unwrap_or(1_000_000);
    let runs: usize = args.next().map(|a| a.parse()).transpose()?.unwrap_or(5);
    let random = SystemRandom::new();
    let mut bytes = vec![0u8; keys * 16];
    random.fill(&mut bytes).map_err(|_| "random")?;
    let base: Vec<DiagnosisKey> = bytes
        .chunks_exact(16)
        .enumerate()
        .map(|(i, chunk)| {
            let mut key_bytes = [0u8; 16];
            key_bytes.copy_from_slice(chunk);
            DiagnosisKey {
                key_data: Tek::from_bytes(key_bytes),
                rolling_start_interval_number: 2_955_600 - 144 * (1 + (i as u32 % 14)),
                rolling_period: 144,
                transmission_risk_level: 2,
                report_type: ReportType::ConfirmedTest,
                days_since_onset_of_symptoms: Some((i % 10) as i32 - 3),
            }
        })
        .collect();
    let record = generate_signing_key("440", "v1", 0, 0)?;
    let signer = active_signer(&record)?;
    let signers = vec![signer.signer];
    let verification_keys = vec![signer.verification_key];
    let policy = FilePolicy {
        min_keys: 1000,
        padding_jitter: 100,
        max_keys: 500_000,
    };
    let mut seconds = Vec::new();
    for run in 0..runs {
        let directory = tempfile::tempdir()?;
        let input = base.clone();
        let started = std::time::Instant::now();
        let (files, real) = build_and_write(
            directory.path(),
            "440",
            1_773_360_000,
            1_773_363_600,
            input,
            Vec::new(),
            policy,
            &signers,
            &verification_keys,
            0,
        )?;
        let elapsed = started.elapsed().as_secs_f64();
        let bytes: i64 = files.iter().map(|f| f.size_bytes).sum();
        println!(
            "{{\"run\":{run},\"keys\":{real},\"files\":{},\"bytes\":{bytes},\"seconds\":{elapsed:.3}}}",
            files.len()
        );
        seconds.push(elapsed);
    }
    seconds.sort_by(f64::total_cmp);
    println!(
        "{{\"keys\":{keys},\"runs\":{runs},\"median_seconds\":{:.3}}}",
        seconds[seconds.len() / 2]
    );
    Ok(())
}
