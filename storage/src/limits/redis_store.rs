//! [`LimitStore`] in Redis (`[limits] store = "redis"`): every replica counts in one Redis,
//! as Google's exposure-notifications verification server does.
//!
//! Layout, under a configurable prefix (default `mimamori:`), with the scope as a Redis
//! Cluster hash tag so that a scope's keys share one slot:
//!
//! * `<prefix>{<scope>}:w:<key>` — a hash with `s` (window start, Unix ms) and `c` (count).
//!   It expires on its own [`EXPIRY_SLACK_MS`] after its window is over (in Redis's time).
//! * `<prefix>{<scope>}:index` — a sorted set of the scope's keys scored by window start, so
//!   [`LimitStore::purge`] deletes exactly the windows that started before a time (in
//!   batches), like the database store. It expires when no window of the scope is left.
//! * `<prefix>secret:<name>` — a shared secret, first writer wins, never expires.
//!
//! Counting is one Lua script (atomic in Redis), so concurrent counts from several replicas
//! never lose an increment. Keys are the callers' opaque texts (keyed hashes, never an
//! address, a name or a code). The URL may carry a password: it is never shown by `Debug`
//! and Redis errors do not quote it.

use std::time::Duration;

use async_trait::async_trait;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{LimitStore, LimitWindow};
use crate::StorageError;

/// How long a window's key outlives its window (Redis's clock against the callers': skew
/// between replicas, a caller's clock a little behind).
pub const EXPIRY_SLACK_MS: i64 = 60_000;

/// Windows deleted per purge round trip (a bounded amount of work for Redis at a time).
const PURGE_BATCH: i64 = 1000;

/// KEYS: window hash. Returns {start, count} (nil when there is no window).
///
/// A read, but run as a script that declares it may write (a `#!lua` shebang without
/// `no-writes`): Redis refuses such a script whenever it would refuse the count that follows
/// a failure (out of memory under `noeviction`, a read-only replica after a failover), so
/// the check fails too and the caller refuses (503) instead of letting guesses through
/// uncounted. Needs Redis 7.0 or later (or Valkey).
const WINDOW_SCRIPT: &str = r"#!lua
return redis.call('HMGET', KEYS[1], 's', 'c')
";

/// KEYS: window hash, scope index. ARGV: member, now (ms), window (ms), slack (ms).
/// Returns {start, count}: a new window when there is none, it is over, or it starts after
/// now (a clock step back), exactly as the database store's upsert.
const COUNT_SCRIPT: &str = r"#!lua
local now = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local ttl = window + tonumber(ARGV[4])
local start = tonumber(redis.call('HGET', KEYS[1], 's'))
if start == nil or now - start >= window or now < start then
  redis.call('HSET', KEYS[1], 's', ARGV[2], 'c', 1)
  redis.call('PEXPIRE', KEYS[1], ttl)
  redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
  if redis.call('PTTL', KEYS[2]) < ttl then
    redis.call('PEXPIRE', KEYS[2], ttl)
  end
  return {ARGV[2], 1}
end
local count = redis.call('HINCRBY', KEYS[1], 'c', 1)
return {redis.call('HGET', KEYS[1], 's'), count}
";

/// KEYS: scope index. ARGV: before (ms), window-key prefix of the scope, batch size.
/// Deletes up to a batch of windows that started before `before`; returns {deleted, seen}.
const PURGE_SCRIPT: &str = r"#!lua
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', '(' .. ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local deleted = 0
for _, member in ipairs(members) do
  deleted = deleted + redis.call('DEL', ARGV[2] .. member)
  redis.call('ZREM', KEYS[1], member)
end
return {deleted, #members}
";

/// How the store reaches Redis.
#[derive(Clone)]
pub struct RedisLimitSettings {
    /// `redis://[:PASSWORD@]HOST:PORT/DB` (or `redis+unix://`); may carry a password.
    pub url: String,
    /// Prefix of every key (`mimamori:`), so several deployments can share one Redis.
    pub key_prefix: String,
    /// Longest wait to connect and for each answer; past it the call fails (and the caller
    /// refuses, 503).
    pub timeout: Duration,
}

impl std::fmt::Debug for RedisLimitSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimitSettings")
            .field("url", &"***")
            .field("key_prefix", &self.key_prefix)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// [`LimitStore`] in Redis (see the module documentation for the layout).
pub struct RedisLimitStore {
    client: redis::Client,
    prefix: String,
    timeout: Duration,
    manager: tokio::sync::OnceCell<ConnectionManager>,
    window: redis::Script,
    count: redis::Script,
    purge: redis::Script,
}

impl std::fmt::Debug for RedisLimitStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisLimitStore")
            .field("key_prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

impl RedisLimitStore {
    /// A store on the Redis at `settings.url`. Only the URL is checked here: the connection
    /// is made on first use and remade after a failure (a Redis that is down at start makes
    /// the limited requests answer 503 until it is up).
    pub fn new(settings: &RedisLimitSettings) -> Result<Self, StorageError> {
        let client = redis::Client::open(settings.url.as_str())?;
        Ok(RedisLimitStore {
            client,
            prefix: settings.key_prefix.clone(),
            timeout: settings.timeout.max(Duration::from_millis(10)),
            manager: tokio::sync::OnceCell::new(),
            window: redis::Script::new(WINDOW_SCRIPT),
            count: redis::Script::new(COUNT_SCRIPT),
            purge: redis::Script::new(PURGE_SCRIPT),
        })
    }

    /// The key prefix.
    pub fn key_prefix(&self) -> &str {
        &self.prefix
    }

    async fn connection(&self) -> Result<ConnectionManager, StorageError> {
        let manager = self
            .manager
            .get_or_try_init(|| async {
                // One attempt per call: while Redis is down every call fails at once (and
                // starts the next reconnect) instead of queueing behind retries.
                let config = ConnectionManagerConfig::new()
                    .set_number_of_retries(0)
                    .set_connection_timeout(Some(self.timeout))
                    .set_response_timeout(Some(self.timeout));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await?;
        Ok(manager.clone())
    }

    fn scope_prefix(&self, scope: &str) -> String {
        format!("{}{{{scope}}}:", self.prefix)
    }

    fn window_key(&self, scope: &str, key: &str) -> String {
        format!("{}w:{key}", self.scope_prefix(scope))
    }

    fn index_key(&self, scope: &str) -> String {
        format!("{}index", self.scope_prefix(scope))
    }

    fn secret_key(&self, name: &str) -> String {
        format!("{}secret:{name}", self.prefix)
    }
}

#[async_trait]
impl LimitStore for RedisLimitStore {
    async fn window(&self, scope: &str, key: &str) -> Result<Option<LimitWindow>, StorageError> {
        let mut connection = self.connection().await?;
        let (start, count): (Option<i64>, Option<i64>) = self
            .window
            .key(self.window_key(scope, key))
            .invoke_async(&mut connection)
            .await?;
        Ok(match (start, count) {
            (Some(start_ms), Some(count)) => Some(LimitWindow { start_ms, count }),
            _ => None,
        })
    }

    async fn count(
        &self,
        scope: &str,
        key: &str,
        window_ms: i64,
        now_ms: i64,
    ) -> Result<LimitWindow, StorageError> {
        let mut connection = self.connection().await?;
        let (start_ms, count): (i64, i64) = self
            .count
            .key(self.window_key(scope, key))
            .key(self.index_key(scope))
            .arg(key)
            .arg(now_ms)
            .arg(window_ms.max(1))
            .arg(EXPIRY_SLACK_MS)
            .invoke_async(&mut connection)
            .await?;
        Ok(LimitWindow { start_ms, count })
    }

    async fn purge(&self, scope: &str, before_ms: i64) -> Result<u64, StorageError> {
        let mut connection = self.connection().await?;
        let (index, windows) = (self.index_key(scope), self.window_key(scope, ""));
        let mut total: u64 = 0;
        loop {
            let (deleted, seen): (u64, i64) = self
                .purge
                .key(&index)
                .arg(before_ms)
                .arg(&windows)
                .arg(PURGE_BATCH)
                .invoke_async(&mut connection)
                .await?;
            total += deleted;
            if seen < PURGE_BATCH {
                return Ok(total);
            }
        }
    }

    async fn secret(&self, name: &str, candidate: &[u8]) -> Result<Vec<u8>, StorageError> {
        let mut connection = self.connection().await?;
        let key = self.secret_key(name);
        let _: Option<String> = redis::cmd("SET")
            .arg(&key)
            .arg(candidate)
            .arg("NX")
            .query_async(&mut connection)
            .await?;
        let stored: Option<Vec<u8>> = redis::cmd("GET")
            .arg(&key)
            .query_async(&mut connection)
            .await?;
        stored.ok_or_else(|| StorageError::Task(format!("limit secret {name} vanished from Redis")))
    }

    async fn ping(&self) -> Result<(), StorageError> {
        let mut connection = self.connection().await?;
        let _: String = redis::cmd("PING").query_async(&mut connection).await?;
        Ok(())
    }
}
