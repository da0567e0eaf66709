//! Storage of clusters (a setting with several cases: a nursing home, a school, a workplace,
//! an event) and their members (cases and close contacts).

use async_trait::async_trait;

use super::DbCaseStore;
use crate::params;
use crate::sql::{self, Row, Statement, StoreError};

/// A cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterRecord {
    /// Id (UUID).
    pub id: String,
    /// The health center that manages it.
    pub health_center_id: String,
    /// Its prefecture.
    pub prefecture_id: String,
    /// Name (e.g. the facility).
    pub name: String,
    /// Setting (the exposure settings' names).
    pub setting: String,
    /// The first day known to the investigation.
    pub first_date: String,
    /// Who created it.
    pub created_by: String,
    /// When.
    pub created_at_ms: i64,
}

/// One member: `case` or `contact` and its id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRecord {
    /// `case` or `contact`.
    pub kind: String,
    /// The case's or contact's id.
    pub id: String,
}

/// An edge of the transmission graph among a cluster's members.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EdgeRecord {
    /// `link` (infection link between cases), `exposure` (a contact exposed to a case) or
    /// `became` (a contact converted to a case).
    pub kind: String,
    /// From (case or contact id).
    pub from: String,
    /// To.
    pub to: String,
}

/// Storage of clusters.
#[async_trait]
pub trait ClusterStore: Send + Sync {
    /// Stores a new cluster.
    async fn insert_cluster(&self, cluster: &ClusterRecord) -> Result<(), StoreError>;
    /// A cluster by id.
    async fn cluster(&self, id: &str) -> Result<Option<ClusterRecord>, StoreError>;
    /// A health center's clusters, newest first (at most `limit`).
    async fn clusters_of(
        &self,
        health_center_id: &str,
        limit: i64,
    ) -> Result<Vec<ClusterRecord>, StoreError>;
    /// Adds a member; false when it was one already.
    async fn add_cluster_member(
        &self,
        cluster_id: &str,
        member: &MemberRecord,
        actor: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError>;
    /// A cluster's members, by when they were added.
    async fn cluster_members(&self, cluster_id: &str) -> Result<Vec<MemberRecord>, StoreError>;
    /// The transmission graph's edges among a cluster's members: infection links between
    /// member cases, exposures of member contacts to member cases, conversions.
    async fn cluster_edges(&self, cluster_id: &str) -> Result<Vec<EdgeRecord>, StoreError>;
}

const CLUSTER_COLUMNS: &str =
    "id, health_center_id, prefecture_id, name, setting, first_date, created_by, created_at_ms";

fn cluster_from_row(row: &Row) -> Result<ClusterRecord, StoreError> {
    Ok(ClusterRecord {
        id: row.text(0)?,
        health_center_id: row.text(1)?,
        prefecture_id: row.text(2)?,
        name: row.text(3)?,
        setting: row.text(4)?,
        first_date: row.text(5)?,
        created_by: row.text(6)?,
        created_at_ms: row.int(7)?,
    })
}

#[async_trait]
impl ClusterStore for DbCaseStore {
    async fn insert_cluster(&self, c: &ClusterRecord) -> Result<(), StoreError> {
        sql::transaction(
            self.database(),
            vec![Statement::new(
                format!("INSERT INTO clusters ({CLUSTER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"),
                params![
                    &c.id,
                    &c.health_center_id,
                    &c.prefecture_id,
                    &c.name,
                    &c.setting,
                    &c.first_date,
                    &c.created_by,
                    c.created_at_ms
                ],
            )],
        )
        .await?;
        Ok(())
    }

    async fn cluster(&self, id: &str) -> Result<Option<ClusterRecord>, StoreError> {
        sql::query_opt(
            self.database(),
            &format!("SELECT {CLUSTER_COLUMNS} FROM clusters WHERE id = $1"),
            params![id],
        )
        .await?
        .as_ref()
        .map(cluster_from_row)
        .transpose()
    }

    async fn clusters_of(
        &self,
        health_center_id: &str,
        limit: i64,
    ) -> Result<Vec<ClusterRecord>, StoreError> {
        sql::query(
            self.database(),
            &format!(
                "SELECT {CLUSTER_COLUMNS} FROM clusters WHERE health_center_id = $1 ORDER BY created_at_ms DESC, id LIMIT $2"
            ),
            params![health_center_id, limit],
        )
        .await?
        .iter()
        .map(cluster_from_row)
        .collect()
    }

    async fn add_cluster_member(
        &self,
        cluster_id: &str,
        member: &MemberRecord,
        actor: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        Ok(sql::execute(
            self.database(),
            "INSERT INTO cluster_members (cluster_id, member_kind, member_id, added_by, added_at_ms)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (cluster_id, member_kind, member_id) DO NOTHING",
            params![cluster_id, &member.kind, &member.id, actor, now_ms],
        )
        .await?
            == 1)
    }

    async fn cluster_members(&self, cluster_id: &str) -> Result<Vec<MemberRecord>, StoreError> {
        sql::query(
            self.database(),
            "SELECT member_kind, member_id FROM cluster_members WHERE cluster_id = $1
             ORDER BY added_at_ms, member_kind, member_id",
            params![cluster_id],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(MemberRecord {
                kind: row.text(0)?,
                id: row.text(1)?,
            })
        })
        .collect()
    }

    async fn cluster_edges(&self, cluster_id: &str) -> Result<Vec<EdgeRecord>, StoreError> {
        sql::query(
            self.database(),
            "SELECT 'link', l.source_case_id, l.target_case_id FROM case_links l
               JOIN cluster_members a ON a.cluster_id = $1 AND a.member_kind = 'case' AND a.member_id = l.source_case_id
               JOIN cluster_members b ON b.cluster_id = $1 AND b.member_kind = 'case' AND b.member_id = l.target_case_id
             UNION SELECT 'exposure', e.case_id, e.contact_id FROM contact_exposures e
               JOIN cluster_members a ON a.cluster_id = $1 AND a.member_kind = 'case' AND a.member_id = e.case_id
               JOIN cluster_members b ON b.cluster_id = $1 AND b.member_kind = 'contact' AND b.member_id = e.contact_id
             UNION SELECT 'became', c.id, c.converted_case_id FROM contacts c
               JOIN cluster_members a ON a.cluster_id = $1 AND a.member_kind = 'contact' AND a.member_id = c.id
               JOIN cluster_members b ON b.cluster_id = $1 AND b.member_kind = 'case' AND b.member_id = c.converted_case_id
             ORDER BY 1, 2, 3",
            params![cluster_id],
        )
        .await?
        .iter()
        .map(|row| {
            Ok(EdgeRecord {
                kind: row.text(0)?,
                from: row.text(1)?,
                to: row.text(2)?,
            })
        })
        .collect()
    }
}
