//! Clusters: a setting (nursing home, school, workplace, event) with several cases, its
//! members (cases and close contacts), counts, and the transmission graph over infection
//! links, exposures and conversions (JSON, and SVG for the console).
//!
//! Scope: a cluster belongs to the health center that manages it (its case workers create
//! it and add members they work on); its prefecture reads it. Audited as `cluster.<action>`.

use serde::{Deserialize, Serialize};

use super::contacts::ExposureSetting;
use super::followup::SubjectKind;
use super::{CaseError, CaseRegistry};
use crate::model::followup::escape;
use crate::model::{Access, CaseScope, Date, FieldError, OrgKind, Principal, in_scope, permits};
use crate::store::clusters::{ClusterRecord, MemberRecord};

/// Most clusters listed.
const MAX_CLUSTERS: i64 = 500;

/// A new cluster.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewCluster {
    /// Name (the facility or event).
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    /// Setting.
    pub setting: ExposureSetting,
    /// The first day known (default: today).
    #[serde(default)]
    #[schema(format = Date)]
    pub first_date: Option<String>,
}

/// A member to add.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct NewMember {
    /// `case` or `contact`.
    pub kind: SubjectKind,
    /// Its id (text without U+0000).
    #[schema(pattern = "^[^\\u0000]*$")]
    pub id: String,
}

/// A member as shown.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MemberView {
    /// `case` or `contact`.
    pub kind: SubjectKind,
    /// Id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Case status or contact status.
    pub status: String,
}

/// Member counts.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterCounts {
    /// Cases.
    pub cases: usize,
    /// Close contacts (converted ones included).
    pub contacts: usize,
    /// Contacts who became cases.
    pub converted: usize,
    /// Contacts in quarantine now.
    pub quarantined: usize,
}

/// A cluster.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterView {
    /// Id.
    pub id: String,
    /// The managing health center.
    pub health_center_id: String,
    /// Name.
    pub name: String,
    /// Setting.
    pub setting: String,
    /// First day known.
    pub first_date: String,
    /// Counts.
    pub counts: ClusterCounts,
    /// Members, by when they were added.
    pub members: Vec<MemberView>,
}

/// An edge of the transmission graph.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct GraphEdge {
    /// `link` (infection link), `exposure` (case → contact) or `became` (contact → case).
    pub kind: String,
    /// From.
    pub from: String,
    /// To.
    pub to: String,
}

/// The transmission graph of a cluster.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClusterGraph {
    /// Nodes: the members.
    pub nodes: Vec<MemberView>,
    /// Edges among them.
    pub edges: Vec<GraphEdge>,
}

fn scope_of(cluster: &ClusterRecord) -> CaseScope {
    CaseScope {
        health_center_id: cluster.health_center_id.clone(),
        prefecture_id: cluster.prefecture_id.clone(),
        reporting_org_id: String::new(),
    }
}

impl CaseRegistry {
    async fn cluster_for(
        &self,
        principal: &Principal,
        id: &str,
        access: Access,
        action: &str,
    ) -> Result<ClusterRecord, CaseError> {
        let cluster = self
            .clusters
            .cluster(id)
            .await?
            .ok_or(CaseError::NotFound)?;
        if principal.organization.kind == OrgKind::MedicalInstitution
            || !in_scope(principal, &scope_of(&cluster))
        {
            return Err(CaseError::NotFound);
        }
        if !permits(principal, access) {
            return Err(if permits(principal, Access::Read) {
                CaseError::Forbidden
            } else {
                CaseError::NotFound
            });
        }
        self.audit(
            &principal.actor,
            &format!("cluster.{action}"),
            &format!("cluster:{id}"),
        )
        .await?;
        Ok(cluster)
    }

    /// Opens a cluster (a health center's case worker).
    pub async fn create_cluster(
        &self,
        principal: &Principal,
        input: NewCluster,
    ) -> Result<ClusterView, CaseError> {
        let org = &principal.organization;
        if org.kind != OrgKind::HealthCenter || !permits(principal, Access::Write) {
            return Err(CaseError::Forbidden);
        }
        let name = input.name.trim();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(CaseError::Invalid(vec![FieldError {
                field: "name",
                message: "1 to 200 characters".into(),
            }]));
        }
        let today = Date::from_unix_ms(self.now_ms());
        let first_date = match input.first_date.as_deref() {
            None => today,
            Some(text) => Date::parse(text)
                .filter(|d| *d <= today && today.days - d.days <= 366)
                .ok_or_else(|| {
                    CaseError::Invalid(vec![FieldError {
                        field: "firstDate",
                        message: "a date within the last year".into(),
                    }])
                })?,
        };
        let prefecture_id = org
            .parent_id
            .clone()
            .ok_or_else(|| CaseError::Internal("health center without prefecture".into()))?;
        let record = ClusterRecord {
            id: uuid::Uuid::new_v4().to_string(),
            health_center_id: org.id.clone(),
            prefecture_id,
            name: name.into(),
            setting: serde_json::to_value(input.setting)
                .ok()
                .and_then(|v| v.as_str().map(String::from))
                .unwrap_or_else(|| "other".into()),
            first_date: first_date.to_string(),
            created_by: principal.actor.clone(),
            created_at_ms: self.now_ms(),
        };
        self.clusters.insert_cluster(&record).await?;
        self.audit(
            &principal.actor,
            "cluster.create",
            &format!("cluster:{}", record.id),
        )
        .await?;
        self.cluster_view(record).await
    }

    /// The clusters of the caller's health center (or of a prefecture's health centers: not
    /// yet; a prefecture reads a cluster by id).
    pub async fn clusters(&self, principal: &Principal) -> Result<Vec<ClusterView>, CaseError> {
        let org = &principal.organization;
        if org.kind != OrgKind::HealthCenter || !permits(principal, Access::Read) {
            return Err(CaseError::Forbidden);
        }
        let mut views = Vec::new();
        for record in self.clusters.clusters_of(&org.id, MAX_CLUSTERS).await? {
            views.push(self.cluster_view(record).await?);
        }
        self.audit(
            &principal.actor,
            "cluster.list",
            &format!("organization:{}", org.id),
        )
        .await?;
        Ok(views)
    }

    /// A cluster with its members and counts.
    pub async fn cluster(&self, principal: &Principal, id: &str) -> Result<ClusterView, CaseError> {
        let record = self
            .cluster_for(principal, id, Access::Read, "read")
            .await?;
        self.cluster_view(record).await
    }

    /// Adds a case or a contact the caller works on.
    pub async fn add_cluster_member(
        &self,
        principal: &Principal,
        id: &str,
        member: NewMember,
    ) -> Result<ClusterView, CaseError> {
        let record = self
            .cluster_for(principal, id, Access::Write, "member")
            .await?;
        if principal.organization.id != record.health_center_id {
            return Err(CaseError::Forbidden);
        }
        let found = match member.kind {
            SubjectKind::Case => self
                .case_for(principal, &member.id, Access::Write, "cluster")
                .await
                .map(|_| ()),
            SubjectKind::Contact => self
                .contact_for(principal, &member.id, Access::Write, "cluster")
                .await
                .map(|_| ()),
        };
        // The cluster exists; an unknown (or invisible) member is a wrong field, not a 404.
        found.map_err(|e| match e {
            CaseError::NotFound => CaseError::Invalid(vec![FieldError {
                field: "id",
                message: "no such case or contact that you work on".into(),
            }]),
            other => other,
        })?;
        self.clusters
            .add_cluster_member(
                id,
                &MemberRecord {
                    kind: member.kind.as_str().into(),
                    id: member.id,
                },
                &principal.actor,
                self.now_ms(),
            )
            .await?;
        self.cluster_view(record).await
    }

    async fn member_views(&self, cluster_id: &str) -> Result<Vec<MemberView>, CaseError> {
        let mut views = Vec::new();
        for member in self.clusters.cluster_members(cluster_id).await? {
            let kind = SubjectKind::parse(&member.kind);
            let (name, status) = match kind {
                SubjectKind::Case => match self.store.case(&member.id).await? {
                    Some(case) => (case.name, case.status),
                    None => continue,
                },
                SubjectKind::Contact => match self.contacts.contact_person(&member.id).await? {
                    Some(contact) => (contact.name, contact.status),
                    None => continue,
                },
            };
            views.push(MemberView {
                kind,
                id: member.id,
                name,
                status,
            });
        }
        Ok(views)
    }

    async fn cluster_view(&self, record: ClusterRecord) -> Result<ClusterView, CaseError> {
        let members = self.member_views(&record.id).await?;
        let mut counts = ClusterCounts::default();
        for m in &members {
            match m.kind {
                SubjectKind::Case => counts.cases += 1,
                SubjectKind::Contact => {
                    counts.contacts += 1;
                    counts.converted += usize::from(m.status == "converted");
                    counts.quarantined += usize::from(m.status == "quarantined");
                }
            }
        }
        Ok(ClusterView {
            id: record.id,
            health_center_id: record.health_center_id,
            name: record.name,
            setting: record.setting,
            first_date: record.first_date,
            counts,
            members,
        })
    }

    /// The transmission graph: the members and the links, exposures and conversions among
    /// them.
    pub async fn cluster_graph(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<ClusterGraph, CaseError> {
        self.cluster_for(principal, id, Access::Read, "graph")
            .await?;
        let nodes = self.member_views(id).await?;
        let edges = self
            .clusters
            .cluster_edges(id)
            .await?
            .into_iter()
            .map(|e| GraphEdge {
                kind: e.kind,
                from: e.from,
                to: e.to,
            })
            .collect();
        Ok(ClusterGraph { nodes, edges })
    }

    /// The transmission graph as SVG: cases on the top row, contacts below, arrows for
    /// links (solid), exposures (thin) and conversions (dashed).
    pub async fn cluster_graph_svg(
        &self,
        principal: &Principal,
        id: &str,
    ) -> Result<String, CaseError> {
        let graph = self.cluster_graph(principal, id).await?;
        Ok(graph_svg(&graph))
    }
}

/// Draws a cluster graph (pure; names are escaped).
pub fn graph_svg(graph: &ClusterGraph) -> String {
    const STEP: f64 = 140.0;
    let cases: Vec<&MemberView> = graph
        .nodes
        .iter()
        .filter(|n| n.kind == SubjectKind::Case)
        .collect();
    let contacts: Vec<&MemberView> = graph
        .nodes
        .iter()
        .filter(|n| n.kind == SubjectKind::Contact)
        .collect();
    let columns = cases.len().max(contacts.len()).max(1);
    let width = STEP * columns as f64 + 40.0;
    let position = |id: &str| -> Option<(f64, f64)> {
        cases
            .iter()
            .position(|n| n.id == id)
            .map(|i| (40.0 + STEP * i as f64 + 50.0, 60.0))
            .or_else(|| {
                contacts
                    .iter()
                    .position(|n| n.id == id)
                    .map(|i| (40.0 + STEP * i as f64 + 50.0, 200.0))
            })
    };
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width:.0} 260\" role=\"img\" aria-label=\"transmission graph\">\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"6\" markerHeight=\"6\" orient=\"auto\"><path d=\"M0,0L10,5L0,10z\" fill=\"#333\"/></marker></defs>"
    );
    for edge in &graph.edges {
        let (Some((x1, y1)), Some((x2, y2))) = (position(&edge.from), position(&edge.to)) else {
            continue;
        };
        let style = match edge.kind.as_str() {
            "link" => "stroke=\"#b00020\" stroke-width=\"2.5\"",
            "became" => "stroke=\"#b00020\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"",
            _ => "stroke=\"#555\" stroke-width=\"1\"",
        };
        let (y1, y2) = if y1 < y2 {
            (y1 + 22.0, y2 - 22.0)
        } else if y1 > y2 {
            (y1 - 22.0, y2 + 22.0)
        } else {
            (y1, y2)
        };
        svg.push_str(&format!(
            "<line x1=\"{x1:.0}\" y1=\"{y1:.0}\" x2=\"{x2:.0}\" y2=\"{y2:.0}\" {style} marker-end=\"url(#arrow)\"><title>{}</title></line>",
            escape(&edge.kind)
        ));
    }
    for node in cases.iter().chain(contacts.iter()) {
        let Some((x, y)) = position(&node.id) else {
            continue;
        };
        let fill = match (node.kind, node.status.as_str()) {
            (SubjectKind::Case, _) => "#f8d7da",
            (SubjectKind::Contact, "converted") => "#f8d7da",
            (SubjectKind::Contact, "quarantined") => "#fff3cd",
            _ => "#e2e3e5",
        };
        let label: String = node.name.chars().take(12).collect();
        svg.push_str(&format!(
            "<g><rect x=\"{:.0}\" y=\"{:.0}\" width=\"110\" height=\"44\" rx=\"8\" fill=\"{fill}\" stroke=\"#333\"/>\
             <text x=\"{x:.0}\" y=\"{:.0}\" font-size=\"13\" text-anchor=\"middle\">{}</text>\
             <text x=\"{x:.0}\" y=\"{:.0}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#444\">{}</text></g>",
            x - 55.0,
            y - 22.0,
            y - 3.0,
            escape(&label),
            y + 14.0,
            escape(&node.status)
        ));
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node(kind: SubjectKind, id: &str, name: &str, status: &str) -> MemberView {
        MemberView {
            kind,
            id: id.into(),
            name: name.into(),
            status: status.into(),
        }
    }

    #[test]
    fn the_graph_draws_every_member_and_edge_and_escapes_names() {
        let graph = ClusterGraph {
            nodes: vec![
                node(SubjectKind::Case, "c1", "<script>", "accepted"),
                node(SubjectKind::Case, "c2", "B", "accepted"),
                node(SubjectKind::Contact, "k1", "C", "quarantined"),
            ],
            edges: vec![
                GraphEdge {
                    kind: "link".into(),
                    from: "c1".into(),
                    to: "c2".into(),
                },
                GraphEdge {
                    kind: "exposure".into(),
                    from: "c1".into(),
                    to: "k1".into(),
                },
                GraphEdge {
                    kind: "exposure".into(),
                    from: "c1".into(),
                    to: "unknown".into(),
                },
            ],
        };
        let svg = graph_svg(&graph);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("<rect").count(), 3);
        assert_eq!(
            svg.matches("<line").count(),
            2,
            "an edge to a non-member is not drawn"
        );
        assert!(svg.contains("&lt;script&gt;") && !svg.contains("<script>"));
    }
}
