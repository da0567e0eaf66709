//! The `mimamori` command. See `mimamori --help`.

fn main() -> std::process::ExitCode {
    mimamori::cli::main()
}
