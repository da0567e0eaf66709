//! A real S3 server for the object-storage tests: `s3s-fs` (Apache-2.0), which serves the
//! S3 API over a directory (a bucket is a directory under its root, an object a file).
//! Found through `S3S_FS`, else what `.ci/run` installs under `target/s3s-fs`, else
//! `PATH`. Missing: the tests skip with a message, but fail under `CI=true`.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use mimamori_key_server::config::ObjectStorageConfig;

/// The access key the test server accepts (requests are signed and checked).
pub const ACCESS_KEY: &str = "mimamori-test";
/// The secret key the test server accepts.
pub const SECRET_KEY: &str = "mimamori-test-secret";

/// The `s3s-fs` program, if there is one.
pub fn s3s_fs() -> Option<PathBuf> {
    if let Ok(path) = std::env::var("S3S_FS") {
        return Some(path.into());
    }
    let installed = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/s3s-fs/bin/s3s-fs");
    if installed.exists() {
        return Some(installed);
    }
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join("s3s-fs"))
            .find(|p| p.exists())
    })
}

/// A running `s3s-fs` on a free port over a temporary directory, with one bucket; stopped
/// when dropped.
pub struct S3Server {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket the server was started with.
    pub bucket: String,
    root: tempfile::TempDir,
    child: Child,
}

impl S3Server {
    /// Starts the server with `bucket` created. `None` (with a message) when `s3s-fs` is not
    /// installed and `CI` is unset; under `CI=true` a missing program fails the test.
    pub async fn start(bucket: &str) -> Option<S3Server> {
        let Some(program) = s3s_fs() else {
            assert!(
                std::env::var("CI").is_err(),
                "CI installs s3s-fs (.ci/run); set S3S_FS or run the install step"
            );
            eprintln!(
                "skipped: s3s-fs not found (cargo install --locked --root target/s3s-fs s3s-fs@0.14.1 --features binary, or S3S_FS)"
            );
            return None;
        };
        let root = tempfile::tempdir().expect("s3s-fs root");
        std::fs::create_dir(root.path().join(bucket)).expect("bucket directory");
        let port = crate::free_port();
        let child = Command::new(&program)
            .args(["--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--access-key", ACCESS_KEY, "--secret-key", SECRET_KEY])
            .arg(root.path())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("start {}: {e}", program.display()));
        let server = S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: bucket.to_string(),
            root,
            child,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_err()
        {
            assert!(
                std::time::Instant::now() < deadline,
                "s3s-fs did not listen on {port} within 20 s"
            );
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        Some(server)
    }

    /// `[key_server.export.object]` for this server's bucket under `prefix` ("" for none).
    pub fn config(&self, prefix: &str) -> ObjectStorageConfig {
        let url = if prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{prefix}", self.bucket)
        };
        ObjectStorageConfig {
            url,
            endpoint: Some(self.endpoint.clone()),
            region: Some("us-east-1".into()),
            allow_http: true,
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.into()),
        }
    }

    /// Where the server keeps the object `path` (bucket-relative, prefix included).
    pub fn object_file(&self, path: &str) -> PathBuf {
        self.root.path().join(&self.bucket).join(path)
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
