//! Structured logging with `tracing`.
//!
//! Logs go to standard error (standard output is for command results such as JSON). Nothing
//! in this crate records a client IP address, user agent, query string or request body.

use std::io::IsTerminal;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, JsonFields, Writer};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

use crate::config::{LogFormat, LogSettings};

/// Installs the global subscriber once; later calls (tests) are ignored.
pub fn init(settings: &LogSettings) {
    let filter = EnvFilter::try_from_default_env()
        .or_else(|_| EnvFilter::try_new(&settings.level))
        .unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match settings.format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let _ = try_init_with(filter, json, std::io::stderr);
}

/// Installs the subscriber writing to `writer`.
fn try_init_with<W>(filter: EnvFilter, json: bool, writer: W) -> Result<(), String>
where
    W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
{
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(writer)
        .with_target(true);
    if json {
        let format = tracing_subscriber::fmt::format()
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .with_span_list(false)
            .with_target(true);
        builder
            .fmt_fields(JsonFields::new())
            .event_format(ClientFaultsAsWarnings(format))
            .try_init()
    } else {
        builder
            .event_format(ClientFaultsAsWarnings(
                tracing_subscriber::fmt::format()
                    .compact()
                    .with_target(true),
            ))
            .try_init()
    }
    .map_err(|e| e.to_string())
}

/// Where actix reports requests it could not parse (bad headers, broken chunked bodies):
/// always the client's fault, never the server's.
const HTTP_PARSER_TARGET: &str = "actix_http::h1::dispatcher";

/// Writes the ERROR events of actix's HTTP parser as WARN: malformed requests from clients
/// are not server errors, and must not page anyone or hide real errors among them.
struct ClientFaultsAsWarnings<F>(F);

impl<S, N, F> FormatEvent<S, N> for ClientFaultsAsWarnings<F>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
    F: FormatEvent<S, N>,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> std::fmt::Result {
        let metadata = event.metadata();
        if *metadata.level() != Level::ERROR || !metadata.target().starts_with(HTTP_PARSER_TARGET) {
            return self.0.format_event(ctx, writer, event);
        }
        let mut line = String::new();
        self.0.format_event(ctx, Writer::new(&mut line), event)?;
        let line = if line.contains("\"level\":\"ERROR\"") {
            line.replacen("\"level\":\"ERROR\"", "\"level\":\"WARN\"", 1)
        } else {
            line.replacen("ERROR", " WARN", 1)
        };
        writer.write_str(&line)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0
                .lock()
                .map_err(|_| std::io::Error::other("poisoned"))?
                .extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn malformed_requests_are_warnings_and_real_errors_stay_errors() {
        let captured = Captured::default();
        let sink = captured.clone();
        try_init_with(EnvFilter::new("info"), true, move || sink.clone()).unwrap();
        tracing::error!(target: "actix_http::h1::dispatcher", "stream error: request parse error: invalid Header provided");
        tracing::error!(target: "mimamori::test", "a real error");
        let text = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        assert_eq!(lines.len(), 2, "{text}");
        assert_eq!(lines[0]["level"], "WARN", "{text}");
        assert_eq!(lines[0]["target"], "actix_http::h1::dispatcher");
        assert_eq!(lines[1]["level"], "ERROR", "{text}");
    }
}
