//! Key-server metrics. Labels are small fixed sets (outcome, reason, kind); never a key,
//! region-independent, never a client attribute.

use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Every metric of the key server.
#[derive(Clone)]
pub struct KeyServerMetrics {
    /// Publish requests by outcome (`success`, `partial`, `rejected`, `chaff`, `unavailable`).
    pub publishes: IntCounterVec,
    /// Keys by result (`accepted`, `rejected`) and reason.
    pub keys: IntCounterVec,
    /// Export run duration.
    pub export_duration: Histogram,
    /// Keys per export file.
    pub keys_per_file: Histogram,
    /// Export files written.
    pub export_files: IntCounter,
    /// Unix time of the last successful export run.
    pub last_export_success: IntGauge,
    /// Seconds since the last successful export run (updated by the worker's every poll).
    pub seconds_since_export: IntGauge,
    /// Download requests by kind (`file`, `listing`).
    pub downloads: IntCounterVec,
    /// Download bytes by kind.
    pub download_bytes: IntCounterVec,
    /// 1 when the last canary run found its key in a verified download, else 0.
    pub canary_ok: IntGauge,
    /// Canary checks by result (`ok`, `failed`); both start at 0. Only the replica holding
    /// the export lease runs the canary, so `mimamori_canary_ok` alone cannot tell "failed"
    /// from "not run here yet": alerts read this counter.
    pub canary_checks: IntCounterVec,
    /// COCOA event-log entries by result (`stored`, `duplicate`, `no_consent`, `rejected`).
    pub event_logs: IntCounterVec,
}

impl std::fmt::Debug for KeyServerMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyServerMetrics")
    }
}

impl KeyServerMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let publishes = IntCounterVec::new(
            Opts::new(
                "mimamori_publish_requests_total",
                "Publish requests by outcome.",
            ),
            &["outcome"],
        )?;
        let keys = IntCounterVec::new(
            Opts::new(
                "mimamori_publish_keys_total",
                "Published keys by result and reason.",
            ),
            &["result", "reason"],
        )?;
        let export_duration = Histogram::with_opts(
            HistogramOpts::new(
                "mimamori_export_duration_seconds",
                "Duration of one export window (plan, sign, self-verify, write).",
            )
            .buckets(vec![0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0]),
        )?;
        let keys_per_file = Histogram::with_opts(
            HistogramOpts::new("mimamori_export_keys_per_file", "Keys in each export file.")
                .buckets(vec![
                    100.0, 1_000.0, 2_000.0, 10_000.0, 50_000.0, 100_000.0, 250_000.0, 500_000.0,
                ]),
        )?;
        let export_files = IntCounter::new(
            "mimamori_export_files_total",
            "Export files written and listed.",
        )?;
        let last_export_success = IntGauge::new(
            "mimamori_export_last_success_timestamp_seconds",
            "Unix time of the last successful export run.",
        )?;
        let seconds_since_export = IntGauge::new(
            "mimamori_export_seconds_since_last_success",
            "Seconds since the last successful export run.",
        )?;
        let downloads = IntCounterVec::new(
            Opts::new(
                "mimamori_download_requests_total",
                "Download requests by kind.",
            ),
            &["kind"],
        )?;
        let download_bytes = IntCounterVec::new(
            Opts::new("mimamori_download_bytes_total", "Bytes served by kind."),
            &["kind"],
        )?;
        let canary_ok = IntGauge::new(
            "mimamori_canary_ok",
            "1 when the last canary found its key in a downloaded, verified export, else 0.",
        )?;
        // Fixed label values start at 0, so rate() and the dashboard see the series before
        // the first request of each kind (reasons and codes appear when first counted).
        for outcome in ["success", "partial", "rejected", "chaff", "unavailable"] {
            publishes.with_label_values(&[outcome]);
        }
        for kind in ["file", "listing"] {
            downloads.with_label_values(&[kind]);
            download_bytes.with_label_values(&[kind]);
        }
        registry.register(Box::new(publishes.clone()))?;
        registry.register(Box::new(keys.clone()))?;
        registry.register(Box::new(export_duration.clone()))?;
        registry.register(Box::new(keys_per_file.clone()))?;
        registry.register(Box::new(export_files.clone()))?;
        registry.register(Box::new(last_export_success.clone()))?;
        registry.register(Box::new(seconds_since_export.clone()))?;
        registry.register(Box::new(downloads.clone()))?;
        registry.register(Box::new(download_bytes.clone()))?;
        let event_logs = IntCounterVec::new(
            Opts::new(
                "mimamori_cocoa_event_logs_total",
                "COCOA operational event-log entries by result.",
            ),
            &["result"],
        )?;
        let canary_checks = IntCounterVec::new(
            Opts::new(
                "mimamori_canary_checks_total",
                "Canary checks by result (ok, failed).",
            ),
            &["result"],
        )?;
        for result in ["ok", "failed"] {
            canary_checks.with_label_values(&[result]);
        }
        for result in ["stored", "duplicate", "no_consent", "rejected"] {
            event_logs.with_label_values(&[result]);
        }
        registry.register(Box::new(canary_ok.clone()))?;
        registry.register(Box::new(canary_checks.clone()))?;
        registry.register(Box::new(event_logs.clone()))?;
        Ok(KeyServerMetrics {
            publishes,
            keys,
            export_duration,
            keys_per_file,
            export_files,
            last_export_success,
            seconds_since_export,
            downloads,
            download_bytes,
            canary_ok,
            canary_checks,
            event_logs,
        })
    }

    /// A set registered in a throwaway registry (tools and tests).
    pub fn unregistered() -> Self {
        // Registering fresh metrics in a fresh registry cannot collide.
        Self::new(&Registry::new()).expect("invariant: a fresh registry accepts every metric")
    }
}
