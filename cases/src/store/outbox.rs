//! Storage of the outbox: messages waiting, sent or given up, with their attempts, and the
//! recipients who opted out (kept as keyed hashes only).

use async_trait::async_trait;

use super::DbCaseStore;
use crate::params;
use crate::sql::{self, Row, Statement, StoreError};

/// A message in the outbox.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageRecord {
    /// Id (UUID).
    pub id: String,
    /// `email` or `sms`.
    pub channel: String,
    /// Template name.
    pub template: String,
    /// `ja` or `en`.
    pub language: String,
    /// Address or E.164 number (erased `keep_days` after the message was handled).
    pub recipient: String,
    /// Keyed hash of the recipient (opt-outs and per-recipient limits).
    pub recipient_hash: Vec<u8>,
    /// Subject (e-mail).
    pub subject: Option<String>,
    /// Text.
    pub body: String,
    /// `List-Unsubscribe` value (e-mail).
    pub list_unsubscribe: Option<String>,
    /// `case` or `contact`, when about one.
    pub subject_kind: Option<String>,
    /// Its id.
    pub subject_id: Option<String>,
    /// The health center it is sent for.
    pub health_center_id: String,
    /// `queued`, `sending`, `sent`, `failed` or `suppressed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// When the next attempt may start (Unix ms).
    pub next_attempt_at_ms: i64,
    /// Why the last attempt failed or the message was suppressed (no address, no text).
    pub last_error: Option<String>,
    /// The provider's message id.
    pub provider_id: Option<String>,
    /// Unique per purpose (a daily reminder: subject and day), to enqueue it once.
    pub dedupe_key: Option<String>,
    /// Who queued it.
    pub created_by: String,
    /// When.
    pub created_at_ms: i64,
    /// When it was handed to the server or gateway.
    pub sent_at_ms: Option<i64>,
}

/// Someone due a daily reminder, with what the reminder needs (one row of one query).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReminderCandidate {
    /// The subject.
    pub subject_id: String,
    /// `case` or `contact`.
    pub subject_kind: String,
    /// The plan's last day.
    pub end_date: String,
    /// Name (empty once anonymised).
    pub name: String,
    /// The notification JSON (cases) or the phones JSON array (contacts).
    pub details: String,
    /// The health center.
    pub health_center_id: String,
    /// A revoked case or a contact no longer followed.
    pub closed: bool,
}

/// Storage of the outbox.
#[async_trait]
pub trait OutboxStore: Send + Sync {
    /// Subjects whose plan covers `day` with no report on it and no reminder queued for it
    /// yet, with their names and contact details.
    async fn reminder_candidates(&self, day: &str) -> Result<Vec<ReminderCandidate>, StoreError>;
    /// Every opted-out recipient hash.
    async fn opted_out_hashes(&self) -> Result<Vec<Vec<u8>>, StoreError>;
    /// Messages per recipient hash queued since `since_ms` (sent, queued or sending).
    async fn recipient_counts_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(Vec<u8>, i64)>, StoreError>;
    /// Queues messages with follow-up link tokens (token hash, subject, expiry), 500 to a
    /// transaction; a message whose dedupe key exists is skipped. Returns how many were
    /// queued.
    async fn enqueue_with_tokens(
        &self,
        messages: &[(MessageRecord, Vec<u8>, i64)],
    ) -> Result<usize, StoreError>;
    /// Queues a message; false when its dedupe key was queued before.
    async fn enqueue(&self, message: &MessageRecord) -> Result<bool, StoreError>;
    /// A message.
    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError>;
    /// A subject's messages, newest first.
    async fn messages_of(&self, subject_id: &str) -> Result<Vec<MessageRecord>, StoreError>;
    /// Claims up to `limit` due messages for sending (queued and due, or `sending` for
    /// longer than `stale_ms`: a replica that died mid-send); each claimed once.
    async fn claim_due(
        &self,
        now_ms: i64,
        stale_ms: i64,
        limit: i64,
    ) -> Result<Vec<MessageRecord>, StoreError>;
    /// Records an attempt's outcome: the new state, attempts, next attempt, error, provider
    /// id and send time.
    async fn finish_attempt(&self, message: &MessageRecord) -> Result<(), StoreError>;
    /// Messages to one recipient queued since `since_ms` (sent, queued or sending).
    async fn recipient_count_since(
        &self,
        recipient_hash: &[u8],
        since_ms: i64,
    ) -> Result<i64, StoreError>;
    /// Records an opt-out (idempotent).
    async fn opt_out(&self, recipient_hash: &[u8], now_ms: i64) -> Result<(), StoreError>;
    /// Whether a recipient opted out.
    async fn opted_out(&self, recipient_hash: &[u8]) -> Result<bool, StoreError>;
    /// Erases recipient and text of messages handled before `before_ms`; returns how many.
    async fn erase_handled(&self, before_ms: i64) -> Result<u64, StoreError>;
    /// Message counts by (channel, state), for the metrics.
    async fn outbox_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError>;
}

const COLUMNS: &str = "id, channel, template, language, recipient, recipient_hash, subject, body, list_unsubscribe, subject_kind, subject_id, health_center_id, state, attempts, next_attempt_at_ms, last_error, provider_id, dedupe_key, created_by, created_at_ms, sent_at_ms";

fn message_params(m: &MessageRecord) -> Vec<sql::Value> {
    params![
        &m.id,
        &m.channel,
        &m.template,
        &m.language,
        &m.recipient,
        m.recipient_hash.clone(),
        m.subject.as_deref(),
        &m.body,
        m.list_unsubscribe.as_deref(),
        m.subject_kind.as_deref(),
        m.subject_id.as_deref(),
        &m.health_center_id,
        &m.state,
        m.attempts,
        m.next_attempt_at_ms,
        m.last_error.as_deref(),
        m.provider_id.as_deref(),
        m.dedupe_key.as_deref(),
        &m.created_by,
        m.created_at_ms,
        m.sent_at_ms
    ]
}

fn message_of(row: &Row) -> Result<MessageRecord, StoreError> {
    Ok(MessageRecord {
        id: row.text(0)?,
        channel: row.text(1)?,
        template: row.text(2)?,
        language: row.text(3)?,
        recipient: row.text(4)?,
        recipient_hash: row.bytes(5)?,
        subject: row.opt_text(6)?,
        body: row.text(7)?,
        list_unsubscribe: row.opt_text(8)?,
        subject_kind: row.opt_text(9)?,
        subject_id: row.opt_text(10)?,
        health_center_id: row.text(11)?,
        state: row.text(12)?,
        attempts: row.int(13)?,
        next_attempt_at_ms: row.int(14)?,
        last_error: row.opt_text(15)?,
        provider_id: row.opt_text(16)?,
        dedupe_key: row.opt_text(17)?,
        created_by: row.text(18)?,
        created_at_ms: row.int(19)?,
        sent_at_ms: row.opt_int(20)?,
    })
}

#[async_trait]
impl OutboxStore for DbCaseStore {
    async fn reminder_candidates(&self, day: &str) -> Result<Vec<ReminderCandidate>, StoreError> {
        sql::query(
            self.database(),
            "SELECT p.subject_id, p.subject_kind, p.end_date,
                    COALESCE(c.name, k.name, ''), COALESCE(c.data, k.phones, ''),
                    COALESCE(c.health_center_id, k.health_center_id, ''),
                    CAST(CASE WHEN p.subject_kind = 'contact'
                         THEN CASE WHEN k.id IS NULL OR k.status NOT IN ('identified', 'quarantined') THEN 1 ELSE 0 END
                         ELSE CASE WHEN c.id IS NULL OR c.revoked_at_ms IS NOT NULL THEN 1 ELSE 0 END END AS BIGINT)
             FROM followup_plans p
             LEFT JOIN cases c ON p.subject_kind <> 'contact' AND c.id = p.subject_id
             LEFT JOIN contacts k ON p.subject_kind = 'contact' AND k.id = p.subject_id
             WHERE p.start_date <= $1 AND p.end_date >= $1
             AND NOT EXISTS (SELECT 1 FROM followup_observations o WHERE o.subject_id = p.subject_id AND o.day = $1)
             AND NOT EXISTS (SELECT 1 FROM outbox m WHERE m.dedupe_key = 'reminder:' || p.subject_id || ':' || $1)
             ORDER BY p.subject_id",
            params![day],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(ReminderCandidate {
                subject_id: row.text(0)?,
                subject_kind: row.text(1)?,
                end_date: row.text(2)?,
                name: row.text(3)?,
                details: row.text(4)?,
                health_center_id: row.text(5)?,
                closed: row.int(6)? == 1,
            })
        })
        .collect()
    }

    async fn opted_out_hashes(&self) -> Result<Vec<Vec<u8>>, StoreError> {
        sql::query(
            self.database(),
            "SELECT recipient_hash FROM message_opt_outs",
            params![],
        )
        .await?
        .iter()
        .map(|row| Ok(row.bytes(0)?))
        .collect()
    }

    async fn recipient_counts_since(
        &self,
        since_ms: i64,
    ) -> Result<Vec<(Vec<u8>, i64)>, StoreError> {
        sql::query(
            self.database(),
            "SELECT recipient_hash, CAST(COUNT(*) AS BIGINT) FROM outbox WHERE created_at_ms >= $1
             AND state IN ('queued', 'sending', 'sent') GROUP BY recipient_hash",
            params![since_ms],
        )
        .await?
        .iter()
        .map(|row| Ok((row.bytes(0)?, row.int(1)?)))
        .collect()
    }

    async fn enqueue_with_tokens(
        &self,
        messages: &[(MessageRecord, Vec<u8>, i64)],
    ) -> Result<usize, StoreError> {
        let mut queued = 0;
        // Multi-row statements: two round trips per 500 messages. A token whose message
        // turns out queued already (another replica's reminder) is a link nobody received;
        // it expires with the plan.
        for chunk in messages.chunks(500) {
            let mut token_values = Vec::with_capacity(chunk.len() * 4);
            let mut token_rows = Vec::with_capacity(chunk.len());
            let mut message_values = Vec::with_capacity(chunk.len() * 21);
            let mut message_rows = Vec::with_capacity(chunk.len());
            for (m, token_hash, expires_at_ms) in chunk {
                let base = token_values.len();
                token_rows.push(format!(
                    "(${}, ${}, ${}, ${})",
                    base + 1,
                    base + 2,
                    base + 3,
                    base + 4
                ));
                token_values.extend(params![
                    token_hash.clone(),
                    m.subject_id.as_deref().unwrap_or_default(),
                    m.created_at_ms,
                    *expires_at_ms
                ]);
                let base = message_values.len();
                let placeholders: Vec<String> =
                    (1..=21).map(|i| format!("${}", base + i)).collect();
                message_rows.push(format!("({})", placeholders.join(", ")));
                message_values.extend(message_params(m));
            }
            let results = sql::transaction(
                self.database(),
                vec![
                    Statement::new(
                        format!(
                            "INSERT INTO followup_tokens (token_hash, subject_id, created_at_ms, expires_at_ms) VALUES {}",
                            token_rows.join(", ")
                        ),
                        token_values,
                    ),
                    Statement::new(
                        format!(
                            "INSERT INTO outbox ({COLUMNS}) VALUES {} ON CONFLICT (dedupe_key) DO NOTHING RETURNING id",
                            message_rows.join(", ")
                        ),
                        message_values,
                    ),
                ],
            )
            .await?;
            queued += results.get(1).map_or(0, Vec::len);
        }
        Ok(queued)
    }

    async fn enqueue(&self, m: &MessageRecord) -> Result<bool, StoreError> {
        let result = sql::execute(
            self.database(),
            &format!(
                "INSERT INTO outbox ({COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21)"
            ),
            message_params(m),
        )
        .await;
        match result {
            Ok(_) => Ok(true),
            Err(e) if sql::is_unique_violation(&e) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    async fn message(&self, id: &str) -> Result<Option<MessageRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!("SELECT {COLUMNS} FROM outbox WHERE id = $1"),
            params![id],
        )
        .await?
        .first()
        .map(message_of)
        .transpose()
    }

    async fn messages_of(&self, subject_id: &str) -> Result<Vec<MessageRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT {COLUMNS} FROM outbox WHERE subject_id = $1 ORDER BY created_at_ms DESC, id LIMIT 200"
            ),
            params![subject_id],
        )
        .await?
        .iter()
        .map(message_of)
        .collect()
    }

    async fn claim_due(
        &self,
        now_ms: i64,
        stale_ms: i64,
        limit: i64,
    ) -> Result<Vec<MessageRecord>, StoreError> {
        let candidates: Vec<MessageRecord> = sql::query(
            self.database(),
            &format!(
                "SELECT {COLUMNS} FROM outbox WHERE (state = 'queued' AND next_attempt_at_ms <= $1)
                 OR (state = 'sending' AND next_attempt_at_ms <= $2)
                 ORDER BY next_attempt_at_ms, id LIMIT $3"
            ),
            params![now_ms, now_ms - stale_ms, limit],
        )
        .await?
        .iter()
        .map(message_of)
        .collect::<Result<_, _>>()?;
        let mut claimed = Vec::with_capacity(candidates.len());
        for mut message in candidates {
            // The claim: only one replica moves the row from what it read.
            let moved = sql::execute(
                self.database(),
                "UPDATE outbox SET state = 'sending', next_attempt_at_ms = $1
                 WHERE id = $2 AND state = $3 AND next_attempt_at_ms = $4",
                params![
                    now_ms,
                    &message.id,
                    &message.state,
                    message.next_attempt_at_ms
                ],
            )
            .await?;
            if moved == 1 {
                message.state = "sending".into();
                message.next_attempt_at_ms = now_ms;
                claimed.push(message);
            }
        }
        Ok(claimed)
    }

    async fn finish_attempt(&self, m: &MessageRecord) -> Result<(), StoreError> {
        sql::execute(
            self.database(),
            "UPDATE outbox SET state = $1, attempts = $2, next_attempt_at_ms = $3, last_error = $4,
             provider_id = $5, sent_at_ms = $6 WHERE id = $7 AND state = 'sending'",
            params![
                &m.state,
                m.attempts,
                m.next_attempt_at_ms,
                m.last_error.as_deref(),
                m.provider_id.as_deref(),
                m.sent_at_ms,
                &m.id
            ],
        )
        .await?;
        Ok(())
    }

    async fn recipient_count_since(
        &self,
        recipient_hash: &[u8],
        since_ms: i64,
    ) -> Result<i64, StoreError> {
        let row = sql::query_opt(
            self.database(),
            "SELECT CAST(COUNT(*) AS BIGINT) FROM outbox WHERE recipient_hash = $1 AND created_at_ms >= $2
             AND state IN ('queued', 'sending', 'sent')",
            params![recipient_hash.to_vec(), since_ms],
        )
        .await?;
        Ok(match row {
            Some(row) => row.int(0)?,
            None => 0,
        })
    }

    async fn opt_out(&self, recipient_hash: &[u8], now_ms: i64) -> Result<(), StoreError> {
        let result = sql::execute(
            self.database(),
            "INSERT INTO message_opt_outs (recipient_hash, created_at_ms) VALUES ($1, $2)",
            params![recipient_hash.to_vec(), now_ms],
        )
        .await;
        match result {
            Ok(_) => Ok(()),
            Err(e) if sql::is_unique_violation(&e) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn opted_out(&self, recipient_hash: &[u8]) -> Result<bool, StoreError> {
        Ok(sql::query_opt(
            self.database(),
            "SELECT 1 FROM message_opt_outs WHERE recipient_hash = $1",
            params![recipient_hash.to_vec()],
        )
        .await?
        .is_some())
    }

    async fn erase_handled(&self, before_ms: i64) -> Result<u64, StoreError> {
        Ok(sql::execute(
            self.database(),
            "UPDATE outbox SET recipient = '', subject = NULL, body = '', list_unsubscribe = NULL
             WHERE state IN ('sent', 'failed', 'suppressed') AND created_at_ms < $1 AND recipient <> ''",
            params![before_ms],
        )
        .await?)
    }

    async fn outbox_counts(&self) -> Result<Vec<(String, String, i64)>, StoreError> {
        sql::query(
            self.database(),
            "SELECT channel, state, CAST(COUNT(*) AS BIGINT) FROM outbox GROUP BY channel, state",
            params![],
        )
        .await?
        .iter()
        .map(|row| Ok((row.text(0)?, row.text(1)?, row.int(2)?)))
        .collect()
    }
}
