//! Storage of processing numbers (only their HMACs), verification tokens, certificates,
//! signing keys (encrypted) and generated secrets, on both backends.

use async_trait::async_trait;
use mimamori_cases::params;
use mimamori_cases::sql::{self, Row, Statement, StoreError};
use mimamori_storage::Database;

/// A stored processing number (never the number itself).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NumberRecord {
    /// Id (the `uuid` of the issue API).
    pub id: String,
    /// The case it belongs to.
    pub case_id: String,
    /// Test type.
    pub test_type: String,
    /// Symptom onset date.
    pub symptom_date: Option<String>,
    /// Test date.
    pub test_date: Option<String>,
    /// Issued at (ms).
    pub issued_at_ms: i64,
    /// Short code expiry (ms).
    pub expires_at_ms: i64,
    /// Long code expiry (ms).
    pub long_expires_at_ms: i64,
    /// Claimed at.
    pub claimed_at_ms: Option<i64>,
    /// Revoked or superseded at.
    pub revoked_at_ms: Option<i64>,
}

/// How a claim ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClaimOutcome {
    /// This caller claimed it (and nobody else ever will).
    Claimed(NumberRecord),
    /// No number with this HMAC.
    NotFound,
    /// Known but past its validity.
    Expired,
    /// Already claimed.
    AlreadyUsed,
    /// Revoked or replaced by a newer number.
    Revoked,
    /// Live, but of a test type the client does not accept (left unclaimed).
    TypeNotAccepted,
}

/// How a token use ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenOutcome {
    /// This caller used it: (number id, case id).
    Used(String, String),
    /// Unknown token id.
    NotFound,
    /// Already used (or revoked).
    AlreadyUsed,
}

/// A stored signing key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SigningKeyRecord {
    /// Key id.
    pub kid: String,
    /// Created at (ms).
    pub created_at_ms: i64,
    /// PKCS#8 encrypted under the master key (nonce ‖ ciphertext ‖ tag).
    pub encrypted_private: Vec<u8>,
    /// Uncompressed public key.
    pub public_key: Vec<u8>,
    /// Whether new tokens are signed with it.
    pub active: bool,
}

/// Storage of the verification service.
#[async_trait]
pub trait VerificationStore: Send + Sync {
    /// Stores a new number and supersedes the case's earlier live ones, atomically. A
    /// collision of HMACs is a unique violation (the caller draws a new number).
    async fn issue_number(
        &self,
        number: &NumberRecord,
        code_hmac: &[u8],
        long_hmac: Option<&[u8]>,
        hmac_key_id: &str,
        issued_by: &str,
    ) -> Result<(), StoreError>;
    /// Claims the live number whose short or long code has `hmac`, if its test type is one
    /// of `accepted` and, for a self-report, `nonce_hash` matches the one it was issued
    /// with: a conditional update, so of any number of concurrent claims exactly one wins.
    async fn claim_number(
        &self,
        hmac: &[u8],
        accepted: &[&str],
        nonce_hash: Option<&[u8]>,
        now_ms: i64,
    ) -> Result<ClaimOutcome, StoreError>;
    /// Takes the self-report slot of a phone (HMAC) for `number_id`, unless a report of that
    /// phone was made at or after `stale_before_ms`. True when taken.
    async fn take_user_report_slot(
        &self,
        phone_hmac: &[u8],
        number_id: &str,
        now_ms: i64,
        stale_before_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Stores a self-report number (no case) bound to the app's nonce.
    async fn issue_user_report_number(
        &self,
        number: &NumberRecord,
        code_hmac: &[u8],
        hmac_key_id: &str,
        nonce_hash: &[u8],
    ) -> Result<(), StoreError>;
    /// Removes a self-report whose code could not be delivered (slot and number).
    async fn delete_user_report(
        &self,
        phone_hmac: &[u8],
        number_id: &str,
    ) -> Result<(), StoreError>;
    /// A number by id.
    async fn number(&self, id: &str) -> Result<Option<NumberRecord>, StoreError>;
    /// How many processing numbers a guess could hit now: unclaimed, unrevoked and not
    /// expired (what the guessing budget is sized on).
    async fn live_numbers(&self, now_ms: i64) -> Result<u64, StoreError>;
    /// Ends an unclaimed number's validity now (both codes); returns the number as it is
    /// afterwards, or `None` when there is no such number.
    async fn expire_number(
        &self,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<NumberRecord>, StoreError>;
    /// The case's newest number.
    async fn latest_number(&self, case_id: &str) -> Result<Option<NumberRecord>, StoreError>;
    /// Stores a verification token.
    async fn insert_token(
        &self,
        jti: &str,
        number_id: &str,
        case_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError>;
    /// Uses a token once.
    async fn use_token(&self, jti: &str, now_ms: i64) -> Result<TokenOutcome, StoreError>;
    /// Stores a certificate id for a case; an upload's certificate keeps the hash of its
    /// idempotency key.
    async fn insert_certificate(
        &self,
        id: &str,
        case_id: &str,
        number_id: &str,
        now_ms: i64,
        idempotency_hash: Option<&[u8]>,
    ) -> Result<(), StoreError>;
    /// The certificate an earlier upload with this idempotency key made for the number with
    /// this HMAC, claimed at or after `claimed_since_ms` and not revoked: (certificate id,
    /// number).
    async fn retried_upload(
        &self,
        code_hmac: &[u8],
        idempotency_hash: &[u8],
        claimed_since_ms: i64,
    ) -> Result<Option<(String, NumberRecord)>, StoreError>;
    /// Undoes the COCOA-path claim behind `certificate_id` (the upload failed): deletes the
    /// certificate and makes its number claimable again, unless keys were recorded under it
    /// or it was revoked. Returns the case when the claim was released.
    async fn release_claim(&self, certificate_id: &str) -> Result<Option<String>, StoreError>;
    /// Adds published keys to a certificate; returns its case.
    async fn add_published(
        &self,
        certificate_id: &str,
        keys: i64,
    ) -> Result<Option<String>, StoreError>;
    /// Revokes the case's live numbers, unused tokens and certificates; returns the ids of
    /// every certificate of the case.
    async fn revoke_case(&self, case_id: &str, now_ms: i64) -> Result<Vec<String>, StoreError>;
    /// Marks unclaimed numbers past expiry as recorded; returns their cases (once each).
    async fn expire_due(&self, now_ms: i64) -> Result<Vec<String>, StoreError>;
    /// Deletes numbers and tokens whose validity ended before `before_ms` (their HMACs and
    /// ids are no longer needed); certificates stay, for revocation. Returns rows deleted.
    async fn purge(&self, before_ms: i64) -> Result<u64, StoreError>;
    /// Stores a signing key; when `active`, it becomes the only active one.
    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError>;
    /// Every signing key, oldest first.
    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError>;
    /// The stored secret `name`, storing `candidate` first if there is none.
    async fn secret(
        &self,
        name: &str,
        candidate: &[u8],
        now_ms: i64,
    ) -> Result<Vec<u8>, StoreError>;
}

/// [`VerificationStore`] on either backend.
#[derive(Debug, Clone)]
pub struct DbVerificationStore {
    database: Database,
}

impl DbVerificationStore {
    /// A store on a database with [`crate::MIGRATIONS`] applied.
    pub fn new(database: Database) -> Self {
        DbVerificationStore { database }
    }
}

const NUMBER_COLUMNS: &str = "id, case_id, test_type, symptom_date, test_date, issued_at_ms, expires_at_ms, long_expires_at_ms, claimed_at_ms, revoked_at_ms";

fn number_from_row(row: &Row) -> Result<NumberRecord, StoreError> {
    Ok(NumberRecord {
        id: row.text(0)?,
        case_id: row.text(1)?,
        test_type: row.text(2)?,
        symptom_date: row.opt_text(3)?,
        test_date: row.opt_text(4)?,
        issued_at_ms: row.int(5)?,
        expires_at_ms: row.int(6)?,
        long_expires_at_ms: row.int(7)?,
        claimed_at_ms: row.opt_int(8)?,
        revoked_at_ms: row.opt_int(9)?,
    })
}

#[async_trait]
impl VerificationStore for DbVerificationStore {
    async fn issue_number(
        &self,
        number: &NumberRecord,
        code_hmac: &[u8],
        long_hmac: Option<&[u8]>,
        hmac_key_id: &str,
        issued_by: &str,
    ) -> Result<(), StoreError> {
        sql::transaction(
            &self.database,
            vec![
                Statement::new(
                    "UPDATE processing_numbers SET revoked_at_ms = $1
                     WHERE case_id = $2 AND case_id <> '' AND claimed_at_ms IS NULL AND revoked_at_ms IS NULL",
                    params![number.issued_at_ms, &number.case_id],
                ),
                Statement::new(
                    format!(
                        "INSERT INTO processing_numbers ({NUMBER_COLUMNS}, code_hmac, long_hmac, hmac_key_id, issued_by)
                         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
                    ),
                    params![
                        &number.id,
                        &number.case_id,
                        &number.test_type,
                        number.symptom_date.clone(),
                        number.test_date.clone(),
                        number.issued_at_ms,
                        number.expires_at_ms,
                        number.long_expires_at_ms,
                        number.claimed_at_ms,
                        number.revoked_at_ms,
                        code_hmac,
                        long_hmac,
                        hmac_key_id,
                        issued_by
                    ],
                ),
            ],
        )
        .await?;
        Ok(())
    }

    async fn claim_number(
        &self,
        hmac: &[u8],
        accepted: &[&str],
        nonce_hash: Option<&[u8]>,
        now_ms: i64,
    ) -> Result<ClaimOutcome, StoreError> {
        if accepted.is_empty() {
            return Ok(ClaimOutcome::TypeNotAccepted);
        }
        let type_placeholders: Vec<String> =
            (0..accepted.len()).map(|i| format!("${}", i + 4)).collect();
        let mut values = params![now_ms, hmac, nonce_hash.map(<[u8]>::to_vec)];
        values.extend(accepted.iter().map(|t| sql::Value::from(*t)));
        let claimed = sql::query_opt(
            &self.database,
            &format!(
                "UPDATE processing_numbers SET claimed_at_ms = $1
                 WHERE claimed_at_ms IS NULL AND revoked_at_ms IS NULL
                   AND ((code_hmac = $2 AND expires_at_ms > $1) OR (long_hmac = $2 AND long_expires_at_ms > $1))
                   AND (nonce_hash IS NULL OR nonce_hash = $3)
                   AND test_type IN ({})
                 RETURNING {NUMBER_COLUMNS}",
                type_placeholders.join(", ")
            ),
            values,
        )
        .await?;
        if let Some(row) = claimed {
            return Ok(ClaimOutcome::Claimed(number_from_row(&row)?));
        }
        let existing = sql::query_opt(
            &self.database,
            "SELECT claimed_at_ms, revoked_at_ms,
                    CASE WHEN code_hmac = $1 THEN expires_at_ms ELSE long_expires_at_ms END,
                    nonce_hash
             FROM processing_numbers WHERE code_hmac = $1 OR long_hmac = $1",
            params![hmac],
        )
        .await?;
        // Upstream's order (pkg/database/token.go): expiry is checked before use, so a
        // used number past its validity reads as expired; a self-report asked for with
        // another nonce reads as unknown.
        Ok(match existing {
            None => ClaimOutcome::NotFound,
            Some(row) if row.int(2)? <= now_ms => ClaimOutcome::Expired,
            Some(row) if row.opt_int(0)?.is_some() => ClaimOutcome::AlreadyUsed,
            Some(row) if row.opt_int(1)?.is_some() => ClaimOutcome::Revoked,
            Some(row)
                if row
                    .opt_bytes(3)?
                    .is_some_and(|stored| Some(stored.as_slice()) != nonce_hash) =>
            {
                ClaimOutcome::NotFound
            }
            Some(_) => ClaimOutcome::TypeNotAccepted,
        })
    }

    async fn take_user_report_slot(
        &self,
        phone_hmac: &[u8],
        number_id: &str,
        now_ms: i64,
        stale_before_ms: i64,
    ) -> Result<bool, StoreError> {
        let taken = sql::query_opt(
            &self.database,
            "INSERT INTO user_reports (phone_hmac, number_id, created_at_ms) VALUES ($1, $2, $3)
             ON CONFLICT (phone_hmac) DO UPDATE SET number_id = excluded.number_id, created_at_ms = excluded.created_at_ms
             WHERE user_reports.created_at_ms < $4
             RETURNING number_id",
            params![phone_hmac, number_id, now_ms, stale_before_ms],
        )
        .await?;
        Ok(taken.is_some())
    }

    async fn issue_user_report_number(
        &self,
        number: &NumberRecord,
        code_hmac: &[u8],
        hmac_key_id: &str,
        nonce_hash: &[u8],
    ) -> Result<(), StoreError> {
        sql::execute(
            &self.database,
            &format!(
                "INSERT INTO processing_numbers ({NUMBER_COLUMNS}, code_hmac, long_hmac, hmac_key_id, issued_by, nonce_hash)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $9, NULL, $10, 'user-report', $11)"
            ),
            params![
                &number.id,
                &number.case_id,
                &number.test_type,
                number.symptom_date.clone(),
                number.test_date.clone(),
                number.issued_at_ms,
                number.expires_at_ms,
                number.long_expires_at_ms,
                code_hmac,
                hmac_key_id,
                nonce_hash
            ],
        )
        .await?;
        Ok(())
    }

    async fn delete_user_report(
        &self,
        phone_hmac: &[u8],
        number_id: &str,
    ) -> Result<(), StoreError> {
        sql::transaction(
            &self.database,
            vec![
                Statement::new(
                    "DELETE FROM user_reports WHERE phone_hmac = $1 AND number_id = $2",
                    params![phone_hmac, number_id],
                ),
                Statement::new(
                    "DELETE FROM processing_numbers WHERE id = $1 AND claimed_at_ms IS NULL",
                    params![number_id],
                ),
            ],
        )
        .await?;
        Ok(())
    }

    async fn number(&self, id: &str) -> Result<Option<NumberRecord>, StoreError> {
        sql::query_opt(
            &self.database,
            &format!("SELECT {NUMBER_COLUMNS} FROM processing_numbers WHERE id = $1"),
            params![id],
        )
        .await?
        .as_ref()
        .map(number_from_row)
        .transpose()
    }

    async fn live_numbers(&self, now_ms: i64) -> Result<u64, StoreError> {
        let live = sql::query_opt(
            &self.database,
            "SELECT CAST(COUNT(*) AS BIGINT) FROM processing_numbers
             WHERE claimed_at_ms IS NULL AND revoked_at_ms IS NULL AND expires_at_ms > $1",
            params![now_ms],
        )
        .await?
        .map(|row| row.int(0))
        .transpose()?
        .unwrap_or(0);
        Ok(u64::try_from(live).unwrap_or(0))
    }

    async fn expire_number(
        &self,
        id: &str,
        now_ms: i64,
    ) -> Result<Option<NumberRecord>, StoreError> {
        sql::execute(
            &self.database,
            "UPDATE processing_numbers SET expires_at_ms = $1, long_expires_at_ms = $1
             WHERE id = $2 AND claimed_at_ms IS NULL AND expires_at_ms > $1",
            params![now_ms, id],
        )
        .await?;
        self.number(id).await
    }

    async fn latest_number(&self, case_id: &str) -> Result<Option<NumberRecord>, StoreError> {
        sql::query_opt(
            &self.database,
            &format!(
                "SELECT {NUMBER_COLUMNS} FROM processing_numbers WHERE case_id = $1 ORDER BY issued_at_ms DESC, id LIMIT 1"
            ),
            params![case_id],
        )
        .await?
        .as_ref()
        .map(number_from_row)
        .transpose()
    }

    async fn insert_token(
        &self,
        jti: &str,
        number_id: &str,
        case_id: &str,
        now_ms: i64,
        expires_at_ms: i64,
    ) -> Result<(), StoreError> {
        sql::execute(
            &self.database,
            "INSERT INTO verification_tokens (jti, number_id, case_id, issued_at_ms, expires_at_ms) VALUES ($1, $2, $3, $4, $5)",
            params![jti, number_id, case_id, now_ms, expires_at_ms],
        )
        .await?;
        Ok(())
    }

    async fn use_token(&self, jti: &str, now_ms: i64) -> Result<TokenOutcome, StoreError> {
        let used = sql::query_opt(
            &self.database,
            "UPDATE verification_tokens SET used_at_ms = $1
             WHERE jti = $2 AND used_at_ms IS NULL AND revoked_at_ms IS NULL
             RETURNING number_id, case_id",
            params![now_ms, jti],
        )
        .await?;
        if let Some(row) = used {
            return Ok(TokenOutcome::Used(row.text(0)?, row.text(1)?));
        }
        let exists = sql::query_opt(
            &self.database,
            "SELECT jti FROM verification_tokens WHERE jti = $1",
            params![jti],
        )
        .await?;
        Ok(if exists.is_some() {
            TokenOutcome::AlreadyUsed
        } else {
            TokenOutcome::NotFound
        })
    }

    async fn insert_certificate(
        &self,
        id: &str,
        case_id: &str,
        number_id: &str,
        now_ms: i64,
        idempotency_hash: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        sql::execute(
            &self.database,
            "INSERT INTO certificates (id, case_id, number_id, issued_at_ms, idempotency_hash) VALUES ($1, $2, $3, $4, $5)",
            params![id, case_id, number_id, now_ms, idempotency_hash.map(<[u8]>::to_vec)],
        )
        .await?;
        Ok(())
    }

    async fn retried_upload(
        &self,
        code_hmac: &[u8],
        idempotency_hash: &[u8],
        claimed_since_ms: i64,
    ) -> Result<Option<(String, NumberRecord)>, StoreError> {
        let columns: Vec<String> = NUMBER_COLUMNS
            .split(", ")
            .map(|c| format!("p.{c}"))
            .collect();
        let row = sql::query_opt(
            &self.database,
            &format!(
                "SELECT c.id, {} FROM certificates c JOIN processing_numbers p ON p.id = c.number_id
                 WHERE (p.code_hmac = $1 OR p.long_hmac = $1) AND c.idempotency_hash = $2
                   AND c.revoked_at_ms IS NULL AND p.revoked_at_ms IS NULL AND p.claimed_at_ms >= $3",
                columns.join(", ")
            ),
            params![code_hmac, idempotency_hash, claimed_since_ms],
        )
        .await?;
        row.map(|row| {
            let id = row.text(0)?;
            let number = number_from_row(&Row(row.0[1..].to_vec()))?;
            Ok((id, number))
        })
        .transpose()
    }

    async fn release_claim(&self, certificate_id: &str) -> Result<Option<String>, StoreError> {
        let results = sql::transaction(
            &self.database,
            vec![
                Statement::new(
                    "UPDATE processing_numbers SET claimed_at_ms = NULL
                     WHERE revoked_at_ms IS NULL AND id = (SELECT number_id FROM certificates
                       WHERE id = $1 AND keys_published = 0 AND revoked_at_ms IS NULL)
                     RETURNING case_id",
                    params![certificate_id],
                ),
                Statement::new(
                    "DELETE FROM certificates WHERE id = $1 AND keys_published = 0 AND revoked_at_ms IS NULL
                       AND NOT EXISTS (SELECT 1 FROM processing_numbers p
                         WHERE p.id = certificates.number_id AND p.claimed_at_ms IS NOT NULL)",
                    params![certificate_id],
                ),
            ],
        )
        .await?;
        Ok(results
            .first()
            .and_then(|rows| rows.first())
            .map(|row| row.text(0))
            .transpose()?)
    }

    async fn add_published(
        &self,
        certificate_id: &str,
        keys: i64,
    ) -> Result<Option<String>, StoreError> {
        Ok(sql::query_opt(
            &self.database,
            "UPDATE certificates SET keys_published = keys_published + $1 WHERE id = $2 RETURNING case_id",
            params![keys, certificate_id],
        )
        .await?
        .map(|row| row.text(0))
        .transpose()?)
    }

    async fn revoke_case(&self, case_id: &str, now_ms: i64) -> Result<Vec<String>, StoreError> {
        let results = sql::transaction(
            &self.database,
            vec![
                Statement::new(
                    "UPDATE processing_numbers SET revoked_at_ms = $1 WHERE case_id = $2 AND claimed_at_ms IS NULL AND revoked_at_ms IS NULL",
                    params![now_ms, case_id],
                ),
                Statement::new(
                    "UPDATE verification_tokens SET revoked_at_ms = $1 WHERE case_id = $2 AND used_at_ms IS NULL AND revoked_at_ms IS NULL",
                    params![now_ms, case_id],
                ),
                Statement::new(
                    "UPDATE certificates SET revoked_at_ms = $1 WHERE case_id = $2 AND revoked_at_ms IS NULL",
                    params![now_ms, case_id],
                ),
                Statement::new(
                    "SELECT id FROM certificates WHERE case_id = $1 ORDER BY issued_at_ms, id",
                    params![case_id],
                ),
            ],
        )
        .await?;
        results
            .last()
            .map(|rows| rows.iter().map(|r| Ok(r.text(0)?)).collect())
            .unwrap_or_else(|| Ok(Vec::new()))
    }

    async fn expire_due(&self, now_ms: i64) -> Result<Vec<String>, StoreError> {
        sql::query(
            &self.database,
            "UPDATE processing_numbers SET expiry_recorded = 1
             WHERE expiry_recorded = 0 AND claimed_at_ms IS NULL AND revoked_at_ms IS NULL AND expires_at_ms <= $1
             RETURNING case_id",
            params![now_ms],
        )
        .await?
        .iter()
        .map(|r| Ok(r.text(0)?))
        .collect()
    }

    async fn purge(&self, before_ms: i64) -> Result<u64, StoreError> {
        let tokens = sql::execute(
            &self.database,
            "DELETE FROM verification_tokens WHERE expires_at_ms < $1",
            params![before_ms],
        )
        .await?;
        let numbers = sql::execute(
            &self.database,
            "DELETE FROM processing_numbers WHERE expires_at_ms < $1 AND long_expires_at_ms < $1",
            params![before_ms],
        )
        .await?;
        Ok(tokens + numbers)
    }

    async fn insert_signing_key(&self, key: &SigningKeyRecord) -> Result<(), StoreError> {
        let mut statements = Vec::new();
        if key.active {
            statements.push(Statement::new(
                "UPDATE signing_keys SET active = 0 WHERE active = 1",
                vec![],
            ));
        }
        statements.push(Statement::new(
            "INSERT INTO signing_keys (kid, created_at_ms, encrypted_private, public_key, active) VALUES ($1, $2, $3, $4, $5)",
            params![
                &key.kid,
                key.created_at_ms,
                key.encrypted_private.clone(),
                key.public_key.clone(),
                i64::from(key.active)
            ],
        ));
        sql::transaction(&self.database, statements).await?;
        Ok(())
    }

    async fn signing_keys(&self) -> Result<Vec<SigningKeyRecord>, StoreError> {
        sql::query(
            &self.database,
            "SELECT kid, created_at_ms, encrypted_private, public_key, active FROM signing_keys ORDER BY created_at_ms, kid",
            vec![],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(SigningKeyRecord {
                kid: row.text(0)?,
                created_at_ms: row.int(1)?,
                encrypted_private: row.bytes(2)?,
                public_key: row.bytes(3)?,
                active: row.int(4)? == 1,
            })
        })
        .collect()
    }

    async fn secret(
        &self,
        name: &str,
        candidate: &[u8],
        now_ms: i64,
    ) -> Result<Vec<u8>, StoreError> {
        sql::execute(
            &self.database,
            "INSERT INTO verification_secrets (name, value, created_at_ms) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
            params![name, candidate, now_ms],
        )
        .await?;
        let row = sql::query_opt(
            &self.database,
            "SELECT value FROM verification_secrets WHERE name = $1",
            params![name],
        )
        .await?
        .ok_or_else(|| StoreError::Corrupt("secret vanished".into()))?;
        Ok(row.bytes(0)?)
    }
}

/// The conformance suite every [`VerificationStore`] implementation must pass.
#[cfg(any(test, feature = "testing"))]
#[allow(clippy::unwrap_used)]
pub mod conformance {
    use std::sync::Arc;

    use super::*;

    fn number(id: &str, case_id: &str, issued: i64) -> NumberRecord {
        NumberRecord {
            id: id.into(),
            case_id: case_id.into(),
            test_type: "confirmed".into(),
            symptom_date: Some("2026-01-01".into()),
            test_date: None,
            issued_at_ms: issued,
            expires_at_ms: issued + 1000,
            long_expires_at_ms: issued + 2000,
            claimed_at_ms: None,
            revoked_at_ms: None,
        }
    }

    const ANY: &[&str] = &["confirmed", "likely", "negative", "user-report"];

    /// Issue, supersede, claim (also concurrently), tokens, certificates, revocation,
    /// expiry, keys and secrets.
    pub async fn verification_store(store: Arc<dyn VerificationStore>) {
        store
            .issue_number(&number("n1", "c1", 0), b"h1", Some(b"l1"), "k", "user:x")
            .await
            .unwrap();
        // A second number supersedes the first.
        store
            .issue_number(&number("n2", "c1", 10), b"h2", None, "k", "user:x")
            .await
            .unwrap();
        assert_eq!(
            store.claim_number(b"h1", ANY, None, 20).await.unwrap(),
            ClaimOutcome::Revoked
        );
        assert_eq!(
            store.claim_number(b"l1", ANY, None, 20).await.unwrap(),
            ClaimOutcome::Revoked
        );
        assert_eq!(
            store.claim_number(b"zz", ANY, None, 20).await.unwrap(),
            ClaimOutcome::NotFound
        );
        assert_eq!(store.latest_number("c1").await.unwrap().unwrap().id, "n2");
        // HMAC collision is a unique violation.
        let err = store
            .issue_number(&number("n3", "c2", 10), b"h2", None, "k", "user:x")
            .await
            .unwrap_err();
        assert!(err.is_unique_violation());
        // Expired.
        assert_eq!(
            store.claim_number(b"h2", ANY, None, 2000).await.unwrap(),
            ClaimOutcome::Expired
        );
        assert_eq!(store.expire_due(2000).await.unwrap(), ["c1"]);
        assert!(store.expire_due(3000).await.unwrap().is_empty());

        // Concurrent claims: exactly one wins.
        store
            .issue_number(&number("n4", "c3", 100), b"h4", Some(b"l4"), "k", "user:x")
            .await
            .unwrap();
        // A client that does not accept the number's type leaves it unclaimed.
        assert_eq!(
            store
                .claim_number(b"h4", &["negative"], None, 150)
                .await
                .unwrap(),
            ClaimOutcome::TypeNotAccepted
        );
        let mut handles = Vec::new();
        for _ in 0..20 {
            let store = Arc::clone(&store);
            handles.push(tokio::spawn(async move {
                store.claim_number(b"h4", ANY, None, 150).await.unwrap()
            }));
        }
        let mut won = 0;
        for handle in handles {
            match handle.await.unwrap() {
                ClaimOutcome::Claimed(n) => {
                    assert_eq!(n.id, "n4");
                    won += 1;
                }
                other => assert_eq!(other, ClaimOutcome::AlreadyUsed),
            }
        }
        assert_eq!(won, 1);
        assert_eq!(
            store.claim_number(b"l4", ANY, None, 150).await.unwrap(),
            ClaimOutcome::AlreadyUsed
        );

        // Expiring by id: only unclaimed numbers; the record reads back with the new times.
        store
            .issue_number(&number("n5", "c5", 100), b"h5", None, "k", "user:x")
            .await
            .unwrap();
        let expired = store.expire_number("n5", 200).await.unwrap().unwrap();
        assert_eq!(expired.expires_at_ms, 200);
        assert_eq!(
            store.claim_number(b"h5", ANY, None, 201).await.unwrap(),
            ClaimOutcome::Expired
        );
        let claimed = store.expire_number("n4", 200).await.unwrap().unwrap();
        assert!(
            claimed.expires_at_ms > 200,
            "a claimed number keeps its times"
        );
        assert!(store.expire_number("nope", 200).await.unwrap().is_none());
        assert_eq!(store.number("n5").await.unwrap().unwrap().case_id, "c5");

        // Self-reports: one slot per phone until it is stale; the code needs its nonce.
        assert!(
            store
                .take_user_report_slot(b"p1", "u1", 100, 0)
                .await
                .unwrap()
        );
        assert!(
            !store
                .take_user_report_slot(b"p1", "u2", 150, 50)
                .await
                .unwrap()
        );
        let mut report = number("u1", "", 100);
        report.test_type = "user-report".into();
        store
            .issue_user_report_number(&report, b"hu1", "k", b"nonce-hash")
            .await
            .unwrap();
        // A self-report does not supersede another case-less number.
        store
            .issue_number(&number("n6", "", 100), b"h6", None, "k", "user:x")
            .await
            .unwrap();
        assert_eq!(
            store
                .claim_number(b"hu1", ANY, Some(b"other"), 150)
                .await
                .unwrap(),
            ClaimOutcome::NotFound
        );
        assert_eq!(
            store.claim_number(b"hu1", ANY, None, 150).await.unwrap(),
            ClaimOutcome::NotFound
        );
        assert!(matches!(
            store.claim_number(b"hu1", ANY, Some(b"nonce-hash"), 150).await.unwrap(),
            ClaimOutcome::Claimed(n) if n.id == "u1"
        ));
        // After the repeat period the phone may report again; a failed delivery frees it.
        assert!(
            store
                .take_user_report_slot(b"p1", "u3", 500, 200)
                .await
                .unwrap()
        );
        store.delete_user_report(b"p1", "u3").await.unwrap();
        assert!(
            store
                .take_user_report_slot(b"p1", "u4", 501, 0)
                .await
                .unwrap()
        );

        store
            .insert_token("t1", "n4", "c3", 150, 1000)
            .await
            .unwrap();
        assert_eq!(
            store.use_token("t1", 160).await.unwrap(),
            TokenOutcome::Used("n4".into(), "c3".into())
        );
        assert_eq!(
            store.use_token("t1", 161).await.unwrap(),
            TokenOutcome::AlreadyUsed
        );
        assert_eq!(
            store.use_token("t9", 161).await.unwrap(),
            TokenOutcome::NotFound
        );
        store
            .insert_certificate("cert1", "c3", "n4", 170, Some(b"idem"))
            .await
            .unwrap();
        assert_eq!(
            store.add_published("cert1", 14).await.unwrap().as_deref(),
            Some("c3")
        );
        assert_eq!(store.add_published("nope", 1).await.unwrap(), None);
        // A retry of the same upload finds its certificate; another key or a later claim not.
        let (id, retried) = store
            .retried_upload(b"h4", b"idem", 100)
            .await
            .unwrap()
            .unwrap();
        assert_eq!((id.as_str(), retried.id.as_str()), ("cert1", "n4"));
        assert!(
            store
                .retried_upload(b"h4", b"other", 100)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .retried_upload(b"h4", b"idem", 151)
                .await
                .unwrap()
                .is_none()
        );
        store
            .insert_token("t2", "n4", "c3", 150, 1000)
            .await
            .unwrap();
        assert_eq!(store.revoke_case("c3", 200).await.unwrap(), ["cert1"]);
        assert_eq!(
            store.use_token("t2", 201).await.unwrap(),
            TokenOutcome::AlreadyUsed
        );

        // Retention: expired numbers and tokens go; certificates stay.
        assert_eq!(
            store.purge(1_000).await.unwrap(),
            1,
            "only n5 (expired by id at 200); t1/t2 expire at 1000"
        );
        assert!(store.purge(10_000).await.unwrap() >= 4);
        assert_eq!(store.latest_number("c1").await.unwrap(), None);
        assert_eq!(
            store.use_token("t1", 10_001).await.unwrap(),
            TokenOutcome::NotFound
        );
        assert_eq!(store.revoke_case("c3", 10_002).await.unwrap(), ["cert1"]);

        // Signing keys: one active at a time.
        for (kid, at) in [("a", 1), ("b", 2)] {
            store
                .insert_signing_key(&SigningKeyRecord {
                    kid: kid.into(),
                    created_at_ms: at,
                    encrypted_private: vec![1],
                    public_key: vec![4],
                    active: true,
                })
                .await
                .unwrap();
        }
        let keys = store.signing_keys().await.unwrap();
        assert_eq!(keys.iter().filter(|k| k.active).count(), 1);
        assert!(keys[1].active);

        assert_eq!(store.secret("s", b"first", 1).await.unwrap(), b"first");
        assert_eq!(store.secret("s", b"second", 2).await.unwrap(), b"first");
    }
}
