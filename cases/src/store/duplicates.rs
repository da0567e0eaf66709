//! Storage of duplicate detection: the blocking keys of each person (`person_keys`), the
//! review queue of candidate pairs (`duplicate_pairs`) and the merges, each one transaction.

use async_trait::async_trait;

use super::DbCaseStore;
use crate::params;
use crate::sql::{self, Row, Statement, StoreError, Value};

/// Most records one blocking look-up returns (a block larger than this is a placeholder
/// value shared by many, not a person).
pub const MAX_BLOCK: i64 = 200;

/// A candidate pair in the review queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PairRecord {
    /// Id (UUID).
    pub id: String,
    /// `case` or `contact`, of the lower (kind, id).
    pub first_kind: String,
    /// Its id.
    pub first_id: String,
    /// The other record's kind.
    pub second_kind: String,
    /// Its id.
    pub second_id: String,
    /// Score (see [`crate::model::duplicates`]).
    pub score: i64,
    /// Reasons, comma-separated.
    pub reasons: String,
    /// `open`, `dismissed` or `merged`.
    pub state: String,
    /// When first detected.
    pub detected_at_ms: i64,
    /// Who decided (actor).
    pub decided_by: Option<String>,
    /// When.
    pub decided_at_ms: Option<i64>,
    /// The record kept by a merge.
    pub kept_id: Option<String>,
}

/// Which open pairs a list holds: both records of the pair in this health center or
/// prefecture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PairScope {
    /// Both records belong to this health center.
    HealthCenter(String),
    /// Both records belong to this prefecture.
    Prefecture(String),
}

/// A merge: the pair, the kept and the merged record (of one kind), who and when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Merge {
    /// The pair.
    pub pair_id: String,
    /// The kept record.
    pub keep: String,
    /// The record marked merged into it.
    pub merged: String,
    /// Who.
    pub actor: String,
    /// When.
    pub now_ms: i64,
}

/// Storage of duplicate detection.
#[async_trait]
pub trait DuplicateStore: Send + Sync {
    /// Replaces a person's blocking keys (none: the person takes no part in detection).
    async fn replace_person_keys(
        &self,
        kind: &str,
        id: &str,
        prefecture_id: &str,
        keys: &[String],
    ) -> Result<(), StoreError>;
    /// The persons of a prefecture sharing any of `keys`: (kind, id), at most [`MAX_BLOCK`].
    async fn block_members(
        &self,
        prefecture_id: &str,
        keys: &[String],
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Every pair a person is part of (any state).
    async fn pairs_of(&self, kind: &str, id: &str) -> Result<Vec<PairRecord>, StoreError>;
    /// Records a detection: each candidate inserted, or its score and reasons refreshed while
    /// it is open (a decided pair stays decided); the open pairs `withdrawn` deleted.
    async fn record_detection(
        &self,
        candidates: &[PairRecord],
        withdrawn: &[String],
    ) -> Result<(), StoreError>;
    /// A pair by id.
    async fn pair(&self, id: &str) -> Result<Option<PairRecord>, StoreError>;
    /// Open pairs with both records in `scope` and neither merged, best score first.
    async fn open_pairs(
        &self,
        scope: &PairScope,
        limit: i64,
    ) -> Result<Vec<PairRecord>, StoreError>;
    /// The unmerged persons of a health center: (kind, id).
    async fn persons_of_health_center(
        &self,
        health_center_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError>;
    /// Dismisses an open pair (not the same person), with an event in the history of each
    /// case in it; false when it was no longer open.
    async fn dismiss_pair(
        &self,
        pair: &PairRecord,
        actor: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// Merges a case into another: the pair `merged`, the merged case's `merged_into` set,
    /// an event in both histories; false when the pair was no longer open or either case
    /// was merged meanwhile.
    async fn merge_cases(&self, merge: &Merge) -> Result<bool, StoreError>;
    /// Merges a contact into another: the pair `merged`, `merged_into` set, the merged
    /// contact's exposures moved to the kept one (whose last exposure and quarantine end
    /// become the given values) and its link tokens revoked; its follow-up stays under its
    /// own id. False as for [`DuplicateStore::merge_cases`].
    async fn merge_contacts(
        &self,
        merge: &Merge,
        last_exposure_date: &str,
        quarantine_end: Option<&str>,
    ) -> Result<bool, StoreError>;
}

const PAIR_COLUMNS: &str = "id, first_kind, first_id, second_kind, second_id, score, reasons, state, detected_at_ms, decided_by, decided_at_ms, kept_id";

fn pair_from_row(row: &Row) -> Result<PairRecord, StoreError> {
    Ok(PairRecord {
        id: row.text(0)?,
        first_kind: row.text(1)?,
        first_id: row.text(2)?,
        second_kind: row.text(3)?,
        second_id: row.text(4)?,
        score: row.int(5)?,
        reasons: row.text(6)?,
        state: row.text(7)?,
        detected_at_ms: row.int(8)?,
        decided_by: row.opt_text(9)?,
        decided_at_ms: row.opt_int(10)?,
        kept_id: row.opt_text(11)?,
    })
}

/// `$from, $from+1, …` for `count` parameters.
fn placeholders(from: usize, count: usize) -> String {
    (from..from + count)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// The statement that closes an open pair as decided by `actor` at `now_ms`.
fn decide(pair_id: &str, state: &str, kept: Option<&str>, actor: &str, now_ms: i64) -> Statement {
    Statement::new(
        "UPDATE duplicate_pairs SET state = $1, kept_id = $2, decided_by = $3, decided_at_ms = $4
         WHERE id = $5 AND state = 'open' RETURNING id",
        params![state, kept, actor, now_ms, pair_id],
    )
}

/// `EXISTS` for "this pair was decided by this statement's transaction" ($1 pair, $2 actor,
/// $3 time), the condition of every later statement of a decision.
const DECIDED_NOW: &str = "EXISTS (SELECT 1 FROM duplicate_pairs WHERE id = $1 AND decided_by = $2 AND decided_at_ms = $3)";

#[async_trait]
impl DuplicateStore for DbCaseStore {
    async fn replace_person_keys(
        &self,
        kind: &str,
        id: &str,
        prefecture_id: &str,
        keys: &[String],
    ) -> Result<(), StoreError> {
        let mut statements = vec![Statement::new(
            "DELETE FROM person_keys WHERE record_kind = $1 AND record_id = $2",
            params![kind, id],
        )];
        for key in keys {
            statements.push(Statement::new(
                "INSERT INTO person_keys (record_kind, record_id, block_key, prefecture_id) VALUES ($1, $2, $3, $4)",
                params![kind, id, key, prefecture_id],
            ));
        }
        sql::transaction(self.database(), statements).await?;
        Ok(())
    }

    async fn block_members(
        &self,
        prefecture_id: &str,
        keys: &[String],
    ) -> Result<Vec<(String, String)>, StoreError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let mut params = params![prefecture_id, MAX_BLOCK];
        params.extend(keys.iter().map(Value::from));
        sql::query(
            self.database(),
            &format!(
                "SELECT DISTINCT record_kind, record_id FROM person_keys
                 WHERE prefecture_id = $1 AND block_key IN ({})
                 ORDER BY record_kind, record_id LIMIT $2",
                placeholders(3, keys.len())
            ),
            params,
        )
        .await?
        .iter()
        .map(|row| Ok((row.text(0)?, row.text(1)?)))
        .collect()
    }

    async fn pairs_of(&self, kind: &str, id: &str) -> Result<Vec<PairRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT {PAIR_COLUMNS} FROM duplicate_pairs
                 WHERE (first_id = $2 AND first_kind = $1) OR (second_id = $2 AND second_kind = $1)
                 ORDER BY detected_at_ms, id"
            ),
            params![kind, id],
        )
        .await?
        .iter()
        .map(pair_from_row)
        .collect()
    }

    async fn record_detection(
        &self,
        candidates: &[PairRecord],
        withdrawn: &[String],
    ) -> Result<(), StoreError> {
        let mut statements = Vec::new();
        for p in candidates {
            statements.push(Statement::new(
                format!(
                    "INSERT INTO duplicate_pairs ({PAIR_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, NULL, NULL, NULL)
                     ON CONFLICT (first_kind, first_id, second_kind, second_id)
                     DO UPDATE SET score = excluded.score, reasons = excluded.reasons
                     WHERE duplicate_pairs.state = 'open'"
                ),
                params![
                    &p.id,
                    &p.first_kind,
                    &p.first_id,
                    &p.second_kind,
                    &p.second_id,
                    p.score,
                    &p.reasons,
                    p.detected_at_ms
                ],
            ));
        }
        for id in withdrawn {
            statements.push(Statement::new(
                "DELETE FROM duplicate_pairs WHERE id = $1 AND state = 'open'",
                params![id],
            ));
        }
        if !statements.is_empty() {
            sql::transaction(self.database(), statements).await?;
        }
        Ok(())
    }

    async fn pair(&self, id: &str) -> Result<Option<PairRecord>, StoreError> {
        sql::query_opt(
            self.database(),
            &format!("SELECT {PAIR_COLUMNS} FROM duplicate_pairs WHERE id = $1"),
            params![id],
        )
        .await?
        .as_ref()
        .map(pair_from_row)
        .transpose()
    }

    async fn open_pairs(
        &self,
        scope: &PairScope,
        limit: i64,
    ) -> Result<Vec<PairRecord>, StoreError> {
        let (column, value) = match scope {
            PairScope::HealthCenter(id) => ("health_center_id", id),
            PairScope::Prefecture(id) => ("prefecture_id", id),
        };
        let columns = PAIR_COLUMNS
            .split(", ")
            .map(|c| format!("p.{c}"))
            .collect::<Vec<_>>()
            .join(", ");
        // Where each record belongs now (a transfer moves it), whichever table it is in.
        sql::query(
            self.database(),
            &format!(
                "SELECT {columns} FROM duplicate_pairs p
                 LEFT JOIN cases c1 ON p.first_kind = 'case' AND c1.id = p.first_id
                 LEFT JOIN contacts k1 ON p.first_kind = 'contact' AND k1.id = p.first_id
                 LEFT JOIN cases c2 ON p.second_kind = 'case' AND c2.id = p.second_id
                 LEFT JOIN contacts k2 ON p.second_kind = 'contact' AND k2.id = p.second_id
                 WHERE p.state = 'open'
                 AND COALESCE(c1.{column}, k1.{column}) = $1 AND COALESCE(c2.{column}, k2.{column}) = $1
                 AND c1.merged_into IS NULL AND k1.merged_into IS NULL
                 AND c2.merged_into IS NULL AND k2.merged_into IS NULL
                 ORDER BY p.score DESC, p.detected_at_ms, p.id LIMIT $2"
            ),
            params![value, limit],
        )
        .await?
        .iter()
        .map(pair_from_row)
        .collect()
    }

    async fn persons_of_health_center(
        &self,
        health_center_id: &str,
    ) -> Result<Vec<(String, String)>, StoreError> {
        sql::query(
            self.database(),
            "SELECT 'case', id FROM cases WHERE health_center_id = $1 AND merged_into IS NULL
               AND revoked_at_ms IS NULL AND anonymised_at_ms IS NULL
             UNION ALL SELECT 'contact', id FROM contacts WHERE health_center_id = $1
               AND merged_into IS NULL AND anonymised_at_ms IS NULL
             ORDER BY 1, 2",
            params![health_center_id],
        )
        .await?
        .iter()
        .map(|row| Ok((row.text(0)?, row.text(1)?)))
        .collect()
    }

    async fn dismiss_pair(
        &self,
        pair: &PairRecord,
        actor: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut statements = vec![decide(&pair.id, "dismissed", None, actor, now_ms)];
        for (kind, id, other_kind, other) in [
            (
                &pair.first_kind,
                &pair.first_id,
                &pair.second_kind,
                &pair.second_id,
            ),
            (
                &pair.second_kind,
                &pair.second_id,
                &pair.first_kind,
                &pair.first_id,
            ),
        ] {
            if kind == "case" {
                statements.push(Statement::new(
                    format!(
                        "INSERT INTO case_events (case_id, kind, detail, at_ms, actor)
                         SELECT $4, 'duplicate_dismissed', $5, $3, $2 WHERE {DECIDED_NOW}"
                    ),
                    params![
                        &pair.id,
                        actor,
                        now_ms,
                        id.as_str(),
                        format!("not the same person as {other_kind} {other}")
                    ],
                ));
            }
        }
        let results = sql::transaction(self.database(), statements).await?;
        Ok(results.first().is_some_and(|rows| !rows.is_empty()))
    }

    async fn merge_cases(&self, m: &Merge) -> Result<bool, StoreError> {
        let mut decision = decide(&m.pair_id, "merged", Some(&m.keep), &m.actor, m.now_ms);
        decision.sql = decision.sql.replace(
            "RETURNING id",
            "AND NOT EXISTS (SELECT 1 FROM cases WHERE id IN ($6, $7) AND merged_into IS NOT NULL) RETURNING id",
        );
        decision.params.extend(params![&m.keep, &m.merged]);
        let statements = vec![
            decision,
            Statement::new(
                format!(
                    "UPDATE cases SET merged_into = $4, updated_at_ms = $3
                     WHERE id = $5 AND merged_into IS NULL AND {DECIDED_NOW}"
                ),
                params![&m.pair_id, &m.actor, m.now_ms, &m.keep, &m.merged],
            ),
            Statement::new(
                format!(
                    "INSERT INTO case_events (case_id, kind, detail, at_ms, actor)
                     SELECT $4, 'merged_into', $5, $3, $2 WHERE {DECIDED_NOW}"
                ),
                params![
                    &m.pair_id,
                    &m.actor,
                    m.now_ms,
                    &m.merged,
                    format!("merged into case {} (the same person)", m.keep)
                ],
            ),
            Statement::new(
                format!(
                    "INSERT INTO case_events (case_id, kind, detail, at_ms, actor)
                     SELECT $4, 'merged_from', $5, $3, $2 WHERE {DECIDED_NOW}"
                ),
                params![
                    &m.pair_id,
                    &m.actor,
                    m.now_ms,
                    &m.keep,
                    format!("case {} merged into this one (the same person)", m.merged)
                ],
            ),
            Statement::new(
                format!(
                    "DELETE FROM person_keys WHERE record_kind = 'case' AND record_id = $4 AND {DECIDED_NOW}"
                ),
                params![&m.pair_id, &m.actor, m.now_ms, &m.merged],
            ),
        ];
        let results = sql::transaction(self.database(), statements).await?;
        Ok(results.first().is_some_and(|rows| !rows.is_empty()))
    }

    async fn merge_contacts(
        &self,
        m: &Merge,
        last_exposure_date: &str,
        quarantine_end: Option<&str>,
    ) -> Result<bool, StoreError> {
        let mut decision = decide(&m.pair_id, "merged", Some(&m.keep), &m.actor, m.now_ms);
        decision.sql = decision.sql.replace(
            "RETURNING id",
            "AND NOT EXISTS (SELECT 1 FROM contacts WHERE id IN ($6, $7) AND merged_into IS NOT NULL) RETURNING id",
        );
        decision.params.extend(params![&m.keep, &m.merged]);
        let decided = |sql: &str, extra: Vec<Value>| {
            let mut values = params![&m.pair_id, &m.actor, m.now_ms];
            values.extend(extra);
            Statement::new(format!("{sql} AND {DECIDED_NOW}"), values)
        };
        let statements = vec![
            decision,
            decided(
                "UPDATE contacts SET merged_into = $4, updated_at_ms = $3 WHERE id = $5 AND merged_into IS NULL",
                params![&m.keep, &m.merged],
            ),
            decided(
                "UPDATE contact_exposures SET contact_id = $4 WHERE contact_id = $5",
                params![&m.keep, &m.merged],
            ),
            decided(
                "UPDATE contacts SET last_exposure_date = $4, quarantine_end = $5, updated_at_ms = $3 WHERE id = $6",
                params![last_exposure_date, quarantine_end, &m.keep],
            ),
            decided(
                "UPDATE followup_tokens SET revoked_at_ms = $3 WHERE subject_id = $4 AND revoked_at_ms IS NULL",
                params![&m.merged],
            ),
            decided(
                "DELETE FROM person_keys WHERE record_kind = 'contact' AND record_id = $4",
                params![&m.merged],
            ),
        ];
        let results = sql::transaction(self.database(), statements).await?;
        Ok(results.first().is_some_and(|rows| !rows.is_empty()))
    }
}

/// The conformance suite every [`DuplicateStore`] implementation must pass.
#[cfg(any(test, feature = "testing"))]
#[allow(clippy::unwrap_used)]
pub mod conformance {
    use super::*;

    fn pair(id: &str, a: &str, b: &str, score: i64) -> PairRecord {
        PairRecord {
            id: id.into(),
            first_kind: "contact".into(),
            first_id: a.into(),
            second_kind: "contact".into(),
            second_id: b.into(),
            score,
            reasons: "same_name".into(),
            state: "open".into(),
            detected_at_ms: 1,
            decided_by: None,
            decided_at_ms: None,
            kept_id: None,
        }
    }

    /// Keys and blocks, detection upserts and withdrawals, dismissal.
    pub async fn duplicate_store<S: DuplicateStore>(store: &S) {
        store
            .replace_person_keys("case", "a", "p1", &["dob:1980-01-01".into()])
            .await
            .unwrap();
        store
            .replace_person_keys(
                "contact",
                "b",
                "p1",
                &["dob:1980-01-01".into(), "tel:0901".into()],
            )
            .await
            .unwrap();
        store
            .replace_person_keys("contact", "c", "p2", &["tel:0901".into()])
            .await
            .unwrap();
        let members = store
            .block_members("p1", &["dob:1980-01-01".into(), "tel:0901".into()])
            .await
            .unwrap();
        assert_eq!(
            members,
            [
                ("case".to_string(), "a".to_string()),
                ("contact".into(), "b".into())
            ],
            "one prefecture, each record once"
        );
        store
            .replace_person_keys("contact", "b", "p1", &[])
            .await
            .unwrap();
        assert_eq!(
            store
                .block_members("p1", &["tel:0901".into()])
                .await
                .unwrap(),
            []
        );

        store
            .record_detection(&[pair("x", "b", "c", 70)], &[])
            .await
            .unwrap();
        // The same pair again under another id refreshes the open one.
        store
            .record_detection(&[pair("y", "b", "c", 65)], &[])
            .await
            .unwrap();
        let pairs = store.pairs_of("contact", "c").await.unwrap();
        assert_eq!(pairs.len(), 1);
        assert_eq!((pairs[0].id.as_str(), pairs[0].score), ("x", 65));
        assert!(store.dismiss_pair(&pairs[0], "user:u", 5).await.unwrap());
        assert!(!store.dismiss_pair(&pairs[0], "user:u", 6).await.unwrap());
        // A dismissed pair stays dismissed and is not withdrawn.
        store
            .record_detection(&[pair("z", "b", "c", 90)], &["x".into()])
            .await
            .unwrap();
        let dismissed = store.pair("x").await.unwrap().unwrap();
        assert_eq!(
            (dismissed.state.as_str(), dismissed.score),
            ("dismissed", 65)
        );
        assert_eq!(dismissed.decided_by.as_deref(), Some("user:u"));
        store
            .record_detection(&[pair("w", "d", "e", 70)], &[])
            .await
            .unwrap();
        store.record_detection(&[], &["w".into()]).await.unwrap();
        assert_eq!(store.pair("w").await.unwrap(), None, "withdrawn");
    }
}
