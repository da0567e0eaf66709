//! Helpers the CLI test binaries share: the binary with a clean configuration environment,
//! free ports and the `name: value` lines that `mimamori admin` prints.
//!
//! Each test binary uses a different subset, so unused items are allowed here.
#![allow(dead_code, clippy::unwrap_used)] // test code: a failed unwrap is a failed test

use std::net::TcpListener;
use std::process::{Command, Output};

/// The `mimamori` binary without the caller's `MIMAMORI_*`, `DATABASE_URL[_FILE]` and `RUST_LOG`,
/// so that a developer's shell cannot change what a test sees.
pub fn mimamori() -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_mimamori"));
    for (key, _) in std::env::vars() {
        if key.starts_with("MIMAMORI_")
            || key == "DATABASE_URL"
            || key == "DATABASE_URL_FILE"
            || key == "RUST_LOG"
        {
            command.env_remove(key);
        }
    }
    command
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// The value of a `name: value` line on stdout (the format of `mimamori admin`).
pub fn value(output: &Output, name: &str) -> String {
    let stdout = String::from_utf8_lossy(&output.stdout);
    stdout
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{name}: ")))
        .unwrap_or_else(|| panic!("no {name} in {stdout}"))
        .to_string()
}
