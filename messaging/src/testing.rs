//! A real SMTP server for tests (`tests/smtp_server.py`: aiosmtpd, installed with pip when
//! missing, else Python's stdlib `smtpd`), shared by this crate's tests and the workspace's
//! integration tests. Feature `testing` only.
#![allow(clippy::unwrap_used, clippy::expect_used)] // test support: a failed unwrap is a failed test

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Once;

use serde_json::Value;

const AIOSMTPD: &str = "aiosmtpd==1.4.6";

/// Installs aiosmtpd once per test binary when missing (set MIMAMORI_TEST_NO_PIP=1 to skip);
/// the helper falls back to the stdlib `smtpd` when it cannot be had.
fn ensure_aiosmtpd() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let have = Command::new("python3")
            .args(["-c", "import aiosmtpd"])
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
        if have || std::env::var_os("MIMAMORI_TEST_NO_PIP").is_some() {
            return;
        }
        let installed = Command::new("python3")
            .args(["-m", "pip", "install", "--quiet", AIOSMTPD])
            .status()
            .is_ok_and(|s| s.success());
        if !installed {
            eprintln!("could not install {AIOSMTPD}; the test server uses the stdlib smtpd");
        }
    });
}

/// A running test SMTP server; killed when dropped.
pub struct SmtpServer {
    child: Child,
    /// The port it listens on (127.0.0.1).
    pub port: u16,
    dir: tempfile::TempDir,
}

impl SmtpServer {
    /// Starts a server; `refuse` answers RCPT TO of an address with a code (550, 451, …).
    pub fn start(refuse: &[(&str, u16)]) -> Self {
        ensure_aiosmtpd();
        let dir = tempfile::tempdir().unwrap();
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_server.py");
        let mut command = Command::new("python3");
        command.arg(script).arg("--dir").arg(dir.path());
        for (address, code) in refuse {
            command.arg("--refuse").arg(format!("{address}={code}"));
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3 runs");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let mut words = line.split_whitespace();
        assert_eq!(words.next(), Some("LISTENING"), "server said {line:?}");
        let port = words.next().unwrap().parse().unwrap();
        eprintln!("test SMTP server: {}", words.next().unwrap_or("?"));
        SmtpServer { child, port, dir }
    }

    /// The messages received so far, in order (envelope, decoded subject and body).
    pub fn received(&self) -> Vec<Value> {
        let mut found: Vec<(u32, Value)> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .filter_map(|entry| {
                let name = entry.unwrap().file_name().into_string().unwrap();
                let n = name
                    .strip_prefix("msg-")?
                    .strip_suffix(".json")?
                    .parse()
                    .ok()?;
                let text = std::fs::read_to_string(self.dir.path().join(&name)).unwrap();
                Some((n, serde_json::from_str(&text).unwrap()))
            })
            .collect();
        found.sort_by_key(|(n, _)| *n);
        found.into_iter().map(|(_, v)| v).collect()
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
