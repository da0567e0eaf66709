//! The Prometheus registry of one server instance and the HTTP metrics.
//!
//! Each [`Application`](crate::startup::Application) owns its own [`prometheus::Registry`], so
//! several apps in one test process do not share counters. Labels are bounded: the route
//! *pattern* (never the raw path), a fixed set of methods and the status class.

use prometheus::{
    Encoder, HistogramOpts, HistogramVec, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
    TextEncoder,
};

/// Latency buckets in seconds, from 0.5 ms to 10 s.
const LATENCY_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Metrics shared by the whole HTTP layer.
#[derive(Clone)]
pub struct HttpMetrics {
    registry: Registry,
    requests_total: IntCounterVec,
    request_duration_seconds: HistogramVec,
    database: DatabaseMetrics,
}

/// Readiness and pool gauges, set by every scrape of `/metrics` (see
/// [`health::metrics`](crate::http::health::metrics)), so they are as fresh as the scrape.
#[derive(Clone)]
pub struct DatabaseMetrics {
    /// 1 when the database answered `SELECT 1` within `database.timeout_seconds`, else 0.
    pub up: IntGauge,
    /// 1 when `/readyz` would answer 200 (database up and every migration applied), else 0.
    pub ready: IntGauge,
    /// Pool connections by state (`in_use`, `idle`).
    pub pool_connections: IntGaugeVec,
    /// The pool's maximum (`database.max_connections`).
    pub pool_max: IntGauge,
    /// Callers waiting for a pool connection (PostgreSQL; always 0 on SQLite).
    pub pool_waiting: IntGauge,
}

impl DatabaseMetrics {
    fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        let metrics = DatabaseMetrics {
            up: IntGauge::new(
                "mimamori_database_up",
                "1 when the database answered a trivial query at the last scrape, else 0.",
            )?,
            ready: IntGauge::new(
                "mimamori_ready",
                "1 when /readyz would answer 200 (database up, migrations applied), else 0.",
            )?,
            pool_connections: IntGaugeVec::new(
                Opts::new(
                    "mimamori_database_pool_connections",
                    "Database pool connections by state (in_use, idle).",
                ),
                &["state"],
            )?,
            pool_max: IntGauge::new(
                "mimamori_database_pool_max_connections",
                "The database pool's maximum size (database.max_connections).",
            )?,
            pool_waiting: IntGauge::new(
                "mimamori_database_pool_waiting",
                "Callers waiting for a database connection (PostgreSQL; 0 on SQLite).",
            )?,
        };
        registry.register(Box::new(metrics.up.clone()))?;
        registry.register(Box::new(metrics.ready.clone()))?;
        registry.register(Box::new(metrics.pool_connections.clone()))?;
        registry.register(Box::new(metrics.pool_max.clone()))?;
        registry.register(Box::new(metrics.pool_waiting.clone()))?;
        Ok(metrics)
    }

    /// Records one pool reading.
    pub fn set_pool(&self, status: mimamori_storage::PoolStatus) {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        self.pool_connections
            .with_label_values(&["in_use"])
            .set(count(status.in_use));
        self.pool_connections
            .with_label_values(&["idle"])
            .set(count(status.idle));
        self.pool_max.set(count(status.max));
        self.pool_waiting.set(count(status.waiting));
    }
}

impl std::fmt::Debug for HttpMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpMetrics").finish_non_exhaustive()
    }
}

impl HttpMetrics {
    /// A new registry with HTTP, build-info and (on Linux) process metrics.
    pub fn new() -> Result<Self, prometheus::Error> {
        let registry = Registry::new();
        let requests_total = IntCounterVec::new(
            Opts::new(
                "mimamori_http_requests_total",
                "HTTP requests by route pattern, method and status class.",
            ),
            &["route", "method", "status"],
        )?;
        let request_duration_seconds = HistogramVec::new(
            HistogramOpts::new(
                "mimamori_http_request_duration_seconds",
                "HTTP request latency by route pattern, method and status class.",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method", "status"],
        )?;
        let build_info = IntGaugeVec::new(
            Opts::new("mimamori_build_info", "Build information; always 1."),
            &["version", "revision"],
        )?;
        build_info
            .with_label_values(&[crate::VERSION, crate::REVISION])
            .set(1);
        registry.register(Box::new(requests_total.clone()))?;
        registry.register(Box::new(request_duration_seconds.clone()))?;
        registry.register(Box::new(build_info))?;
        let database = DatabaseMetrics::new(&registry)?;
        #[cfg(target_os = "linux")]
        registry.register(Box::new(
            prometheus::process_collector::ProcessCollector::for_self(),
        ))?;
        Ok(HttpMetrics {
            registry,
            requests_total,
            request_duration_seconds,
            database,
        })
    }

    /// The readiness and pool gauges.
    pub fn database(&self) -> &DatabaseMetrics {
        &self.database
    }

    /// The registry, for service crates to register their own metrics.
    pub fn registry(&self) -> &Registry {
        &self.registry
    }

    /// Records one finished request.
    pub fn observe(&self, route: &str, method: &str, status: u16, seconds: f64) {
        let class = status_class(status);
        self.requests_total
            .with_label_values(&[route, method, class])
            .inc();
        self.request_duration_seconds
            .with_label_values(&[route, method, class])
            .observe(seconds);
    }

    /// Renders every registered metric in the Prometheus text format.
    pub fn render(&self) -> Result<String, prometheus::Error> {
        let mut buffer = Vec::new();
        TextEncoder::new().encode(&self.registry.gather(), &mut buffer)?;
        String::from_utf8(buffer).map_err(|e| prometheus::Error::Msg(e.to_string()))
    }
}

/// `2xx`, `4xx`, ... for a status code.
pub fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// The method as a bounded label value.
pub fn method_label(method: &actix_web::http::Method) -> &'static str {
    use actix_web::http::Method;
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}
