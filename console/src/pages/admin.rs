//! Administration for organization admins: organizations (national admins), users with their
//! roles and TOTP enrolment by QR code, API keys.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, web as aweb};
use maud::{Markup, html};
use mimamori_cases::model::{OrgKind, Organization, Role};
use mimamori_cases::service::CaseError;
use mimamori_cases::store::ApiKeyKind;

use super::Data;
use super::cases::{Errors, input, select};
use crate::i18n::{Lang, t};
use crate::layout::{self, csrf, datetime, qr_svg, svg};
use crate::web::{self, Form, Staff};
use crate::{Console, Page, PageError};

pub(super) fn routes(config: &mut aweb::ServiceConfig) {
    config
        .route("/admin", aweb::get().to(show))
        .route("/admin/organizations", aweb::post().to(create_organization))
        .route("/admin/users", aweb::post().to(create_user))
        .route("/admin/api-keys", aweb::post().to(create_key))
        .route("/admin/api-keys/revoke", aweb::post().to(revoke_key));
}

fn kind_key(kind: OrgKind) -> &'static str {
    match kind {
        OrgKind::National => "kind.national",
        OrgKind::Prefecture => "kind.prefecture",
        OrgKind::HealthCenter => "kind.health_center",
        OrgKind::MedicalInstitution => "kind.medical_institution",
        OrgKind::Contractor => "kind.contractor",
    }
}

const ROLES: [(Role, &str); 4] = [
    (Role::OrgAdmin, "role.org_admin"),
    (Role::CaseWorker, "role.case_worker"),
    (Role::Doctor, "role.doctor"),
    (Role::StatisticsViewer, "role.statistics_viewer"),
];

fn is_national_admin(staff: &Staff) -> bool {
    staff.principal.organization.kind == OrgKind::National && staff.principal.has(Role::OrgAdmin)
}

async fn render(
    console: &Console,
    staff: &Staff,
    extra: Option<Markup>,
    status: StatusCode,
) -> Page {
    let lang = staff.lang;
    if !staff.principal.has(Role::OrgAdmin) {
        return Err(PageError::Service(lang, CaseError::Forbidden));
    }
    let own = &staff.principal.organization;
    let organizations: Vec<Organization> = if is_national_admin(staff) {
        console
            .cases()
            .organizations(Some(&staff.principal))
            .await
            .map_err(|e| PageError::Service(lang, e))?
    } else {
        vec![own.clone()]
    };
    let org_options: Vec<(String, String)> = organizations
        .iter()
        .map(|o| {
            (
                o.id.clone(),
                format!("{} ({})", o.name, t(lang, kind_key(o.kind))),
            )
        })
        .collect();
    let mut parent_options = vec![(String::new(), t(lang, "none").to_string())];
    parent_options.extend(
        organizations
            .iter()
            .filter(|o| matches!(o.kind, OrgKind::Prefecture | OrgKind::HealthCenter))
            .map(|o| (o.id.clone(), o.name.clone())),
    );
    let kinds: Vec<(String, String)> = [
        OrgKind::Prefecture,
        OrgKind::HealthCenter,
        OrgKind::MedicalInstitution,
        OrgKind::Contractor,
    ]
    .iter()
    .map(|k| (k.as_str().to_string(), t(lang, kind_key(*k)).to_string()))
    .collect();
    let users = console
        .cases()
        .users(Some(&staff.principal), &own.id)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let keys = console
        .cases()
        .api_keys(Some(&staff.principal), &own.id)
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let offset = console.cases().config().utc_offset_minutes;
    let role_name = |role: &Role| {
        ROLES
            .iter()
            .find(|(r, _)| r == role)
            .map_or("?", |(_, key)| t(lang, key))
    };
    let empty = Form::default();
    let no_errors = Errors::new();
    let body = html! {
        h1 { (t(lang, "admin.title")) }
        @if let Some(extra) = extra { (extra) }
        section.panel {
            h2 { (t(lang, "admin.org")) }
            dl.facts {
                dt { (t(lang, "admin.org.name")) } dd { (own.name) }
                dt { (t(lang, "admin.org.kind")) } dd { (t(lang, kind_key(own.kind))) }
                dt { (t(lang, "admin.id")) } dd.mono { (own.id) }
            }
        }
        @if is_national_admin(staff) {
            h2 { (t(lang, "admin.orgs")) }
            div.table-wrap { table #organizations {
                thead { tr {
                    th scope="col" { (t(lang, "admin.org.name")) }
                    th scope="col" { (t(lang, "admin.org.kind")) }
                    th scope="col" { (t(lang, "admin.id")) }
                } }
                tbody { @for o in &organizations {
                    tr { td { (o.name) } td { (t(lang, kind_key(o.kind))) } td.mono { (o.id) } }
                } }
            } }
            form.panel method="post" action="/console/admin/organizations" {
                h3 { (t(lang, "admin.org.create")) }
                (csrf(staff))
                div.grid {
                    (select(lang, &empty, &no_errors, "kind", "admin.org.kind", &kinds))
                    (input(lang, &empty, &no_errors, "orgName", "admin.org.name", "text", true))
                    (select(lang, &empty, &no_errors, "parent", "admin.org.parent", &parent_options))
                }
                button type="submit" { (t(lang, "admin.org.create")) }
            }
        }
        h2 { (t(lang, "admin.users")) }
        div.table-wrap { table #users {
            thead { tr {
                th scope="col" { (t(lang, "login.username")) }
                th scope="col" { (t(lang, "admin.user.roles")) }
                th scope="col" { (t(lang, "admin.created")) }
            } }
            tbody { @for u in &users {
                tr {
                    td.mono { (u.username) }
                    td { (u.roles.iter().map(role_name).collect::<Vec<_>>().join("、")) }
                    td { (datetime(u.created_at_ms, offset)) }
                }
            } }
        } }
        form.panel method="post" action="/console/admin/users" {
            h3 { (t(lang, "admin.user.create")) }
            (csrf(staff))
            div.grid {
                (select(lang, &empty, &no_errors, "organization", "admin.user.organization", &org_options))
                (input(lang, &empty, &no_errors, "username", "login.username", "text", true))
            }
            fieldset {
                legend { (t(lang, "admin.user.roles")) }
                @for (role, key) in ROLES {
                    label.check { input type="checkbox" name="role" value=(role.as_str()); (t(lang, key)) }
                }
            }
            button type="submit" { (t(lang, "admin.user.create")) }
        }
        h2 { (t(lang, "admin.keys")) }
        form.panel method="post" action="/console/admin/api-keys" {
            h3 { (t(lang, "admin.key.create")) }
            (csrf(staff))
            div.grid {
                (select(lang, &empty, &no_errors, "keyOrganization", "admin.user.organization", &org_options))
                (select(lang, &empty, &no_errors, "keyKind", "admin.key.kind", &[
                    ("device".to_string(), t(lang, "admin.key.kind.device").to_string()),
                    ("admin".to_string(), t(lang, "admin.key.kind.admin").to_string()),
                ]))
                (input(lang, &empty, &no_errors, "keyName", "admin.key.name", "text", true))
            }
            button type="submit" { (t(lang, "admin.key.create")) }
        }
        @if !keys.is_empty() {
            div.table-wrap { table #api-keys {
                thead { tr {
                    th scope="col" { (t(lang, "admin.key.name")) }
                    th scope="col" { (t(lang, "admin.key.kind")) }
                    th scope="col" { (t(lang, "admin.created")) }
                    th scope="col" { (t(lang, "admin.key.id")) }
                    th scope="col" { (t(lang, "admin.key.state")) }
                } }
                tbody { @for k in &keys {
                    tr {
                        td { (k.name) }
                        td { (t(lang, if k.kind == "admin" { "admin.key.kind.admin" } else { "admin.key.kind.device" })) }
                        td { (datetime(k.created_at_ms, offset)) }
                        td.mono { (k.id) }
                        td {
                            @if let Some(at) = k.revoked_at_ms {
                                (t(lang, "admin.key.revoked_at")) " " (datetime(at, offset))
                            } @else {
                                form.inline method="post" action="/console/admin/api-keys/revoke" {
                                    (csrf(staff))
                                    input type="hidden" name="keyId" value=(k.id);
                                    button.danger type="submit" aria-label={ (t(lang, "admin.key.revoke")) ": " (k.name) } { (t(lang, "admin.key.revoke")) }
                                }
                            }
                        }
                    }
                } }
            } }
        }
    };
    Ok(web::html(
        status,
        layout::page(staff, "/console/admin", t(lang, "admin.title"), body),
    ))
}

async fn show(console: Data, request: HttpRequest) -> Page {
    let staff = console.staff(&request).await?;
    render(&console, &staff, None, StatusCode::OK).await
}

fn notice(lang: Lang, key: &'static str) -> Markup {
    html! { p.notice role="status" { (t(lang, key)) } }
}

async fn create_organization(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let lang = staff.lang;
    let kind = OrgKind::parse(form.get("kind")).ok_or(PageError::Service(
        lang,
        CaseError::BadRequest {
            code: "invalid_kind",
            message: "unknown organization kind".into(),
        },
    ))?;
    let parent = form.opt("parent");
    console
        .cases()
        .create_organization(
            Some(&staff.principal),
            kind,
            form.get("orgName"),
            parent.as_deref(),
        )
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    render(
        &console,
        &staff,
        Some(notice(lang, "admin.org.created")),
        StatusCode::CREATED,
    )
    .await
}

async fn create_user(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let lang = staff.lang;
    let roles: Vec<Role> = form
        .all("role")
        .into_iter()
        .filter_map(Role::parse)
        .collect();
    let user = console
        .cases()
        .create_user(
            Some(&staff.principal),
            form.get("organization"),
            form.get("username"),
            roles,
        )
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let panel = html! {
        section.panel #new-user {
            p.notice role="status" { (t(lang, "admin.user.created")) }
            dl.facts {
                dt { (t(lang, "login.username")) } dd.mono #new-username { (user.username) }
                dt { (t(lang, "login.password")) } dd { span.secret #new-password { (user.password) } }
                dt { (t(lang, "admin.user.secret")) } dd.mono #new-totp-secret { (user.totp_secret) }
            }
            h3 { (t(lang, "admin.user.qr")) }
            (svg(qr_svg(&user.totp_uri, t(lang, "admin.user.qr"))))
        }
    };
    render(&console, &staff, Some(panel), StatusCode::CREATED).await
}

async fn create_key(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let lang = staff.lang;
    let kind = match form.get("keyKind") {
        "admin" => ApiKeyKind::Admin,
        _ => ApiKeyKind::Device,
    };
    let name = form.get("keyName");
    if name.is_empty() || name.len() > 200 {
        return Err(PageError::Service(
            lang,
            CaseError::BadRequest {
                code: "invalid_name",
                message: "name must be 1 to 200 characters".into(),
            },
        ));
    }
    let (id, key) = console
        .cases()
        .create_api_key(
            Some(&staff.principal),
            form.get("keyOrganization"),
            kind,
            name,
        )
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    let panel = html! {
        section.panel #new-key {
            p.notice role="status" { (t(lang, "admin.key.created")) }
            dl.facts {
                dt { (t(lang, "admin.key.id")) } dd.mono #new-key-id { (id) }
                dt { (t(lang, "admin.keys")) } dd.mono #new-key-value { (key) }
            }
        }
    };
    render(&console, &staff, Some(panel), StatusCode::CREATED).await
}

async fn revoke_key(console: Data, request: HttpRequest, body: aweb::Bytes) -> Page {
    let form = Form::parse(&body);
    let staff = console.staff_post(&request, &form).await?;
    let lang = staff.lang;
    console
        .cases()
        .revoke_api_key(&staff.principal, form.get("keyId"))
        .await
        .map_err(|e| PageError::Service(lang, e))?;
    render(
        &console,
        &staff,
        Some(notice(lang, "admin.key.revoked")),
        StatusCode::OK,
    )
    .await
}
