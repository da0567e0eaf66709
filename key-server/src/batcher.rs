//! Group commit for publishes: concurrent fast-path publishes are written together, several
//! per statement and transaction, and each is acknowledged only after its commit.
//!
//! Writers take whatever has queued while the previous write ran (no artificial delay), so
//! a lone publish is written at once and a busy server writes many per round trip. Each
//! publish is still decided on its own ([`KeyServerStore::insert_many_unless_conflicting`]).

use std::sync::Arc;

use mimamori_storage::StorageError;
use tokio::sync::{Mutex, mpsc, oneshot};

use crate::store::{KeyServerStore, NewKey};

struct Job {
    keys: Vec<NewKey>,
    now_ms: i64,
    reply: oneshot::Sender<Result<Option<usize>, String>>,
}

/// Queues fast-path inserts for a few writer tasks.
#[derive(Clone)]
pub struct InsertBatcher {
    sender: mpsc::Sender<Job>,
}

impl std::fmt::Debug for InsertBatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("InsertBatcher")
    }
}

impl InsertBatcher {
    /// Starts `writers` writer tasks (needs a tokio runtime); each writes up to `max_batch`
    /// publishes per statement.
    pub fn start(store: Arc<dyn KeyServerStore>, writers: usize, max_batch: usize) -> Self {
        let (sender, receiver) = mpsc::channel::<Job>(8192);
        let receiver = Arc::new(Mutex::new(receiver));
        for _ in 0..writers.max(1) {
            let store = Arc::clone(&store);
            let receiver = Arc::clone(&receiver);
            tokio::spawn(async move {
                loop {
                    let mut jobs = Vec::new();
                    {
                        let mut receiver = receiver.lock().await;
                        match receiver.recv().await {
                            Some(job) => jobs.push(job),
                            None => return,
                        }
                        while jobs.len() < max_batch.max(1) {
                            match receiver.try_recv() {
                                Ok(job) => jobs.push(job),
                                Err(_) => break,
                            }
                        }
                    }
                    let now_ms = jobs.iter().map(|j| j.now_ms).max().unwrap_or(0);
                    let batches: Vec<Vec<NewKey>> = jobs
                        .iter_mut()
                        .map(|j| std::mem::take(&mut j.keys))
                        .collect();
                    match store.insert_many_unless_conflicting(&batches, now_ms).await {
                        Ok(results) => {
                            for (job, result) in jobs.into_iter().zip(results) {
                                let _ = job.reply.send(Ok(result));
                            }
                        }
                        Err(error) => {
                            let message = error.to_string();
                            for job in jobs {
                                let _ = job.reply.send(Err(message.clone()));
                            }
                        }
                    }
                }
            });
        }
        InsertBatcher { sender }
    }

    /// Inserts `keys` unless conflicting (see [`KeyServerStore::insert_unless_conflicting`]),
    /// returning after the commit.
    pub async fn insert(
        &self,
        keys: Vec<NewKey>,
        now_ms: i64,
    ) -> Result<Option<usize>, StorageError> {
        let (reply, answer) = oneshot::channel();
        self.sender
            .send(Job {
                keys,
                now_ms,
                reply,
            })
            .await
            .map_err(|_| StorageError::Task("insert writers stopped".into()))?;
        answer
            .await
            .map_err(|_| StorageError::Task("insert writer dropped the publish".into()))?
            .map_err(StorageError::Task)
    }
}
