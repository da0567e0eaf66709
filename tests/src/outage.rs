//! A database outage on demand: a TCP relay between the server and PostgreSQL that can be
//! cut (every open connection dropped, new ones refused) and restored, as a network partition
//! or a database restart looks to the server.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// A relay from a local port to the PostgreSQL server.
pub struct PostgresRelay {
    /// Where the relay listens.
    pub address: SocketAddr,
    down: Arc<AtomicBool>,
    cut: watch::Sender<u64>,
    task: tokio::task::JoinHandle<()>,
}

impl PostgresRelay {
    /// Starts relaying to `upstream` (host:port).
    pub async fn start(upstream: String) -> PostgresRelay {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind relay");
        let address = listener.local_addr().expect("relay address");
        let down = Arc::new(AtomicBool::new(false));
        let (cut, cuts) = watch::channel(0u64);
        let accept_down = down.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((client, _)) = listener.accept().await else {
                    continue;
                };
                if accept_down.load(Ordering::SeqCst) {
                    drop(client);
                    continue;
                }
                let upstream = upstream.clone();
                let mut cuts = cuts.clone();
                cuts.mark_unchanged();
                tokio::spawn(async move {
                    let Ok(server) = TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut client, mut server) = (client, server);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cuts.changed() => {}
                    }
                });
            }
        });
        PostgresRelay {
            address,
            down,
            cut,
            task,
        }
    }

    /// The outage begins: open connections are dropped, new ones closed at once.
    pub fn cut(&self) {
        self.down.store(true, Ordering::SeqCst);
        self.cut.send_modify(|generation| *generation += 1);
    }

    /// The outage ends.
    pub fn restore(&self) {
        self.down.store(false, Ordering::SeqCst);
    }
}

impl Drop for PostgresRelay {
    fn drop(&mut self) {
        self.task.abort();
    }
}
