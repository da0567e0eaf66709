//! End-to-end tests of the case registry over real HTTP, on SQLite and PostgreSQL: sign-in
//! with TOTP (and replay refusal), the access matrix of roles × case endpoints × own/other
//! organization, validation, CSV import and the hash-chained audit log.
#![allow(clippy::unwrap_used)]

#[macro_use]
mod support;

use std::sync::Arc;

use mimamori::services::cases::mimamori_cases::CaseRegistry;
use mimamori::services::cases::mimamori_cases::sql;
use mimamori_storage::ManualClock;
use mimamori_tests::TestApp;
use reqwest::StatusCode;
use serde_json::json;
use support::{call, notification};

fn registry(app: &TestApp, clock: &ManualClock) -> CaseRegistry {
    let mut settings = mimamori::config::Settings::default();
    support::settings(&mut settings);
    CaseRegistry::new(
        app.database.database.clone(),
        settings.cases,
        Arc::new(clock.clone()),
    )
}

flow_tests! {
    async fn nul_characters_and_absurd_pages_are_refused_alike_on_both_backends(app, clock) {
        // PostgreSQL text cannot hold U+0000; it used to be a 500 there and stored on SQLite.
        let (status, body) = call(&app, "POST", "/api/auth/login", None, None,
            Some(json!({"username": "admin\u{0}", "password": "x", "totp": "000000"}))).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_character")), "{body}");
        let world = support::world(&app, &clock).await;
        let case = notification(&world.health_center[0], "Yamada\u{0}Taro");
        let (status, body) = call(&app, "POST", "/api/cases", Some(&world.doctor[0]), None, Some(case)).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_character")), "{body}");
        let (status, body) = call(&app, "GET", "/api/cases?q=Ya%00", Some(&world.hc_worker[0]), None, None).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_character")), "{body}");
        let (status, _) = call(&app, "GET", "/api/cases/abc%00def", Some(&world.hc_worker[0]), None, None).await;
        assert!(status == StatusCode::BAD_REQUEST || status == StatusCode::NOT_FOUND, "{status}");
        let admin_key = support::api_key(&app, &world.hc_admin, &world.health_center[0], "admin").await;
        let (status, body) = call(&app, "POST", "/api/issue", None, Some(&admin_key),
            Some(json!({"testType": "confirmed", "caseId": "x\u{0}"}))).await;
        assert_eq!((status, body["errorCode"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_character")), "{body}");
        // Paging is bounded, never an overflowing offset.
        for query in ["page=9223372036854775807", "page=0", "page=-1", "perPage=0"] {
            let (status, body) = call(&app, "GET", &format!("/api/cases?{query}"), Some(&world.hc_worker[0]), None, None).await;
            assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("invalid_page")), "{query}: {body}");
        }
        let (status, body) = call(&app, "GET", "/api/cases?page=1000000&perPage=100", Some(&world.hc_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::OK, "{body}");
    }

    async fn sign_in_needs_password_and_a_fresh_totp(app, clock) {
        use mimamori_storage::Clock as _;
        let credentials = support::admin_init(&app, &clock).await;
        let secret = mimamori::services::cases::mimamori_cases::model::secrets::base32_decode(&credentials.totp_secret).unwrap();
        let totp = mimamori::services::cases::mimamori_cases::model::secrets::totp(&secret, clock.now_seconds());
        let attempt = |password: &str, totp: &str| {
            let body = json!({"username": credentials.username, "password": password, "totp": totp});
            let app = &app;
            async move { call(app, "POST", "/api/auth/login", None, None, Some(body)).await }
        };
        let (status, body) = attempt("wrong", &totp).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));
        let (status, _) = attempt(&credentials.password, "000000").await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, body) = attempt(&credentials.password, &totp).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let token = body["token"].as_str().unwrap().to_string();
        // The same one-time code cannot be replayed.
        let (status, _) = attempt(&credentials.password, &totp).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        // Unknown users look the same as wrong passwords.
        let (status, body) = call(&app, "POST", "/api/auth/login", None, None,
            Some(json!({"username": "nobody", "password": "x", "totp": totp}))).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("invalid_credentials")));

        let (status, me) = call(&app, "GET", "/api/auth/me", Some(&token), None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(me["organizationKind"], "national");
        let (status, _) = call(&app, "POST", "/api/auth/logout", Some(&token), None, None).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = call(&app, "GET", "/api/auth/me", Some(&token), None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);

        // Sessions expire.
        let token = support::login(&app, &{ clock.advance_ms(30_000); clock.clone() }, &credentials).await;
        clock.advance_ms(8 * 3600 * 1000 + 1);
        let (status, _) = call(&app, "GET", "/api/auth/me", Some(&token), None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    async fn failed_sign_ins_lock_the_account_and_the_client_and_are_audited(app, clock) {
        use mimamori_storage::Clock as _;
        let world = support::world(&app, &clock).await;
        let credentials = world.admin_credentials.clone();
        let secret = mimamori::services::cases::mimamori_cases::model::secrets::base32_decode(&credentials.totp_secret).unwrap();
        let login = |username: String, password: String, totp: String| {
            let app = &app;
            async move {
                let response = app.client.post(app.url("/api/auth/login"))
                    .json(&json!({"username": username, "password": password, "totp": totp}))
                    .send().await.unwrap();
                let status = response.status();
                let retry_after = response.headers().get("retry-after")
                    .map(|v| v.to_str().unwrap().parse::<u64>().unwrap());
                let body: serde_json::Value = response.json().await.unwrap();
                (status, body["code"].as_str().unwrap_or_default().to_string(), retry_after)
            }
        };
        clock.advance_ms(30_000);
        // Ten failures on one account (wrong passwords, then wrong one-time codes with the
        // right password: TOTP guessing counts too) lock it, even for the right credentials.
        for attempt in 0..10 {
            let (password, totp) = if attempt < 7 {
                (format!("wrong-{attempt}"), "000000".to_string())
            } else {
                // A code that is valid at no step around now (the server accepts ±1 step).
                let valid: Vec<String> = [-30, 0, 30].iter()
                    .map(|d| secrets_totp(&secret, clock.now_seconds() + d)).collect();
                let wrong = (100_000 + attempt..).map(|n| format!("{n:06}"))
                    .find(|c| !valid.contains(c)).unwrap();
                (credentials.password.clone(), wrong)
            };
            let (status, code, _) = login(credentials.username.clone(), password, totp).await;
            assert_eq!((status, code.as_str()), (StatusCode::UNAUTHORIZED, "invalid_credentials"), "attempt {attempt}");
        }
        let right_totp = secrets_totp(&secret, clock.now_seconds());
        let (status, code, retry_after) = login(credentials.username.clone(), credentials.password.clone(), right_totp).await;
        assert_eq!((status, code.as_str()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
        assert!(retry_after.is_some_and(|s| (1..=900).contains(&s)), "{retry_after:?}");
        // The name is what is locked, with any capitalisation; a name that does not exist
        // locks the same way, so a lockout says nothing about which names exist.
        let (status, _, _) = login(credentials.username.to_uppercase(), "x".into(), "000000".into()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        for _ in 0..10 {
            let (status, _, _) = login("nobody-at-all".into(), "x".into(), "000000".into()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, _, _) = login("nobody-at-all".into(), "x".into(), "000000".into()).await;
        assert_eq!(status, StatusCode::TOO_MANY_REQUESTS);
        // The lockout of the real account is in the audit trail; the typed name is not.
        let registry = CaseRegistry::new(app.database.database.clone(), Default::default(), Arc::new(clock.clone()));
        let entries = registry.store().audit_entries(0, 10_000).await.unwrap();
        let locked: Vec<_> = entries.iter().filter(|e| e.action == "session.locked").collect();
        assert_eq!(locked.len(), 1, "{locked:?}");
        assert!(locked[0].target.starts_with("user:"), "{:?}", locked[0]);
        assert!(!entries.iter().any(|e| e.target.contains("nobody")));
        // Twenty failures so far from this client; ten more on other names lock the client:
        // then even another user's right credentials wait.
        for attempt in 0..10 {
            let (status, _, _) = login(format!("someone-{attempt}"), "x".into(), "000000".into()).await;
            assert_eq!(status, StatusCode::UNAUTHORIZED);
        }
        let (status, code, _) = login(credentials.username.clone(), credentials.password.clone(), "000000".into()).await;
        assert_eq!((status, code.as_str()), (StatusCode::TOO_MANY_REQUESTS, "rate_limited"));
        // Another replica on the same database knows the lock (the counters are shared).
        let replica = app.replica().await;
        let response = app.client.post(replica.url("/api/auth/login"))
            .json(&json!({"username": credentials.username, "password": credentials.password,
                          "totp": secrets_totp(&secret, clock.now_seconds())}))
            .send().await.unwrap();
        assert_eq!(response.status(), StatusCode::TOO_MANY_REQUESTS);
        replica.stop().await;
        // When the window ends, the right credentials work again.
        clock.advance_ms(901_000);
        let token = support::login(&app, &clock, &credentials).await;
        assert!(!token.is_empty());
    }

    async fn access_matrix_of_roles_and_organizations(app, clock) {
        let world = support::world(&app, &clock).await;
        let case_id = support::file_case(&app, &world.doctor[0], &world.health_center[0], "Secret Patient").await;
        let linked = support::file_case(&app, &world.hc_worker[0], &world.health_center[0], "Linked Patient").await;
        let other_hc_case = support::file_case(&app, &world.hc_worker[1], &world.health_center[1], "Far Patient").await;

        // (who, read, write) expected statuses for the clinic-filed case of health center 1.
        let matrix: Vec<(&str, &String, u16, u16)> = vec![
            ("reporting doctor", &world.doctor[0], 200, 403),
            ("other clinic's doctor", &world.doctor[1], 404, 404),
            ("own health center worker", &world.hc_worker[0], 200, 0),
            ("other health center worker", &world.hc_worker[1], 404, 404),
            ("own health center admin (no case role)", &world.hc_admin, 404, 404),
            ("own prefecture worker", &world.pref_worker[0], 200, 403),
            ("other prefecture worker", &world.pref_worker[1], 404, 404),
            ("national admin", &world.national_admin, 404, 404),
            ("national statistics viewer", &world.national_stats, 404, 404),
        ];
        for (who, token, read, write) in &matrix {
            let (status, body) = call(&app, "GET", &format!("/api/cases/{case_id}"), Some(token), None, None).await;
            assert_eq!(status.as_u16(), *read, "{who}: read {body}");
            if *read != 200 {
                assert!(!body.to_string().contains("Secret Patient"), "{who} saw case data");
            }
            if *write == 0 {
                continue;
            }
            let writes = [
                ("POST", format!("/api/cases/{case_id}/status"), Some(json!({"status": "accepted"}))),
                ("POST", format!("/api/cases/{case_id}/contacts"), Some(json!({"name": "Contact"}))),
                ("POST", format!("/api/cases/{case_id}/links"), Some(json!({"caseId": linked}))),
                ("POST", format!("/api/cases/{case_id}/processing-number"), None),
                ("POST", format!("/api/cases/{case_id}/revoke"), None),
            ];
            for (method, path, body) in writes {
                let (status, response) = call(&app, method, &path, Some(token), None, body).await;
                assert_eq!(status.as_u16(), *write, "{who}: {path} {response}");
                assert!(!response.to_string().contains("Secret Patient"), "{who} saw case data");
            }
            // Lists contain only cases in scope.
            let (status, list) = call(&app, "GET", "/api/cases", Some(token), None, None).await;
            if status == StatusCode::OK {
                assert_eq!(list["items"].as_array().unwrap().iter().any(|c| c["id"] == case_id.as_str()), *read == 200, "{who}");
            } else {
                assert!(!list.to_string().contains("Secret Patient"));
            }
        }
        // Who may not see the case gets what an unknown id gets: existence is not revealed.
        for (who, token, _, _) in &matrix {
            let (known, _) = call(&app, "GET", &format!("/api/cases/{case_id}"), Some(token), None, None).await;
            let (unknown, _) = call(&app, "GET", "/api/cases/00000000-0000-4000-8000-000000000000", Some(token), None, None).await;
            assert_eq!(unknown, StatusCode::NOT_FOUND, "{who}");
            if known != StatusCode::OK {
                assert_eq!(known, unknown, "{who}: an existing case looks unknown");
            }
        }
        // The own health center's worker may do everything.
        let own = &world.hc_worker[0];
        let (status, body) = call(&app, "POST", &format!("/api/cases/{case_id}/status"), Some(own), None, Some(json!({"status": "accepted"}))).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let (status, _) = call(&app, "POST", &format!("/api/cases/{case_id}/contacts"), Some(own), None, Some(json!({"name": "Contact"}))).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = call(&app, "POST", &format!("/api/cases/{case_id}/links"), Some(own), None, Some(json!({"caseId": linked}))).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = call(&app, "POST", &format!("/api/cases/{case_id}/links"), Some(own), None, Some(json!({"caseId": other_hc_case}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "cannot link to a case outside scope");
        let (status, _) = call(&app, "POST", &format!("/api/cases/{case_id}/processing-number"), Some(own), None, None).await;
        assert_eq!(status, StatusCode::CREATED);
        let (status, _) = call(&app, "POST", &format!("/api/cases/{case_id}/revoke"), Some(own), None, None).await;
        assert_eq!(status, StatusCode::OK);
        let (_, case) = call(&app, "GET", &format!("/api/cases/{case_id}"), Some(own), None, None).await;
        assert_eq!(case["contacts"].as_array().unwrap().len(), 1);
        assert_eq!(case["links"], json!([linked]));
        assert_eq!(case["status"], "accepted");

        // Organization and user management is for admins only.
        let (status, _) = call(&app, "POST", "/api/organizations", Some(own), None,
            Some(json!({"kind": "prefecture", "name": "X"}))).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
        let (status, _) = call(&app, "POST", "/api/users", Some(&world.hc_admin), None,
            Some(json!({"organizationId": world.health_center[1], "username": "intruder", "roles": ["case_worker"]}))).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let (status, _) = call(&app, "GET", "/api/cases", None, None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
    }

    async fn notifications_are_validated_and_listed_with_pagination(app, clock) {
        let world = support::world(&app, &clock).await;
        let doctor = &world.doctor[0];
        let hc = &world.health_center[0];
        let mut bad = notification(hc, "");
        bad["onsetDate"] = json!("2026-11-25");
        bad["diagnosisDate"] = json!("2026-11-10");
        let (status, body) = call(&app, "POST", "/api/cases", Some(doctor), None, Some(bad)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        let fields: Vec<&str> = body["details"].as_array().unwrap().iter().map(|e| e["field"].as_str().unwrap()).collect();
        assert!(fields.contains(&"name") && fields.contains(&"onsetDate"), "{body}");
        let mut late_onset = notification(hc, "Late");
        late_onset["onsetDate"] = json!("2026-11-19");
        late_onset["diagnosisDate"] = json!("2026-11-12");
        let (status, _) = call(&app, "POST", "/api/cases", Some(doctor), None, Some(late_onset)).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
        let mut missing = notification(hc, "X");
        missing.as_object_mut().unwrap().remove("icu");
        let (status, body) = call(&app, "POST", "/api/cases", Some(doctor), None, Some(missing)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}");
        let (status, _) = call(&app, "POST", "/api/cases", Some(doctor), None, Some(notification("nope", "X"))).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

        for i in 0..5 {
            support::file_case(&app, doctor, hc, &format!("Patient {i}")).await;
        }
        let (status, page) = call(&app, "GET", "/api/cases?page=2&perPage=2", Some(&world.hc_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        assert_eq!(page["total"], 5);
        assert_eq!(page["items"].as_array().unwrap().len(), 2);
        let (_, found) = call(&app, "GET", "/api/cases?q=Patient%203", Some(&world.pref_worker[0]), None, None).await;
        assert_eq!(found["total"], 1);
        let (_, reported) = call(&app, "GET", "/api/cases?status=accepted", Some(&world.hc_worker[0]), None, None).await;
        assert_eq!(reported["total"], 0);
        let (status, _) = call(&app, "GET", "/api/cases?status=bogus", Some(&world.hc_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST);

        // Status transitions follow the rules and are kept as history.
        let id = support::file_case(&app, doctor, hc, "Moving").await;
        let change = |status: &'static str| {
            let app = &app;
            let token = world.hc_worker[0].clone();
            let id = id.clone();
            async move { call(app, "POST", &format!("/api/cases/{id}/status"), Some(&token), None, Some(json!({"status": status}))).await.0 }
        };
        assert_eq!(change("home_care").await, StatusCode::CONFLICT);
        assert_eq!(change("accepted").await, StatusCode::OK);
        assert_eq!(change("hotel_care").await, StatusCode::OK);
        assert_eq!(change("hospitalized").await, StatusCode::OK);
        assert_eq!(change("icu_ventilator").await, StatusCode::OK);
        assert_eq!(change("hospitalized").await, StatusCode::OK);
        assert_eq!(change("recovered").await, StatusCode::OK);
        assert_eq!(change("home_care").await, StatusCode::CONFLICT);
        let (_, case) = call(&app, "GET", &format!("/api/cases/{id}"), Some(&world.hc_worker[0]), None, None).await;
        let statuses: Vec<&str> = case["history"].as_array().unwrap().iter().map(|e| e["detail"].as_str().unwrap()).collect();
        assert_eq!(statuses, ["reported", "accepted", "hotel_care", "hospitalized", "icu_ventilator", "hospitalized", "recovered"]);
    }

    async fn csv_import_is_all_or_nothing_with_a_row_report(app, clock) {
        let world = support::world(&app, &clock).await;
        let worker = &world.hc_worker[0];
        let header = "name,vulnerableHousehold,municipality,resultDate,diagnosisDate,onsetDate,admitted,icu,ventilator,ecmo,outcome,linkedToOtherCase,reportDate,postMortem,symptomsAtDiagnosis,diagnosisMethod,specimenType,infectionRoute,infectionArea,infectionConfirmed,status";
        let good = "\"Sato, Hanako\",no,Minato,2026-10-01,2026-10-01,2026-09-29,no,no,no,no,recovered,no,2026-10-01,no,fever;cough,PCR,swab,droplet,domestic,no,recovered";
        let bad_date = "Bad,no,Minato,2026-10-01,2026-13-01,,no,no,no,no,x,no,2026-10-01,no,,PCR,swab,droplet,domestic,no,";
        let bad_bool = "Worse,perhaps,Minato,2026-10-01,2026-10-01,,no,no,no,no,x,no,2026-10-01,no,,PCR,swab,droplet,domestic,no,";
        let post = |body: String, token: String| {
            let app = &app;
            async move {
                let response = app.client.post(app.url("/api/cases/import")).bearer_auth(token)
                    .header("Content-Type", "text/csv").body(body).send().await.unwrap();
                let status = response.status();
                (status, response.json::<serde_json::Value>().await.unwrap())
            }
        };
        let (status, report) = post(format!("{header}\n{good}\n{bad_date}\n{bad_bool}\n"), worker.clone()).await;
        assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{report}");
        let rows: Vec<i64> = report["details"].as_array().unwrap().iter().map(|e| e["row"].as_i64().unwrap()).collect();
        assert!(rows.contains(&3) && rows.contains(&4) && !rows.contains(&2), "{report}");
        let (_, list) = call(&app, "GET", "/api/cases", Some(worker), None, None).await;
        assert_eq!(list["total"], 0, "nothing imported");

        let (status, report) = post(format!("{header}\r\n{good}\r\n{good}\r\n"), worker.clone()).await;
        assert_eq!(status, StatusCode::CREATED, "{report}");
        assert_eq!(report["imported"], 2);
        let (_, list) = call(&app, "GET", "/api/cases?status=recovered", Some(worker), None, None).await;
        assert_eq!(list["total"], 2);
        assert_eq!(list["items"][0]["name"], "Sato, Hanako");
        // Only health-center case workers import.
        let (status, _) = post(format!("{header}\n{good}\n"), world.doctor[0].clone()).await;
        assert_eq!(status, StatusCode::FORBIDDEN);
    }

    async fn audit_chain_records_reads_and_detects_tampering(app, clock) {
        let world = support::world(&app, &clock).await;
        let id = support::file_case(&app, &world.doctor[0], &world.health_center[0], "Audited").await;
        let (status, _) = call(&app, "GET", &format!("/api/cases/{id}"), Some(&world.hc_worker[0]), None, None).await;
        assert_eq!(status, StatusCode::OK);
        let (status, _) = call(&app, "GET", &format!("/api/cases/{id}"), Some(&world.hc_worker[1]), None, None).await;
        assert_eq!(status, StatusCode::NOT_FOUND);
        let registry = registry(&app, &clock);
        let entries = registry.store().audit_entries(0, 10_000).await.unwrap();
        let reads: Vec<_> = entries.iter().filter(|e| e.action == "case.read").collect();
        assert_eq!(reads.len(), 1, "the refused read is not a read of case data");
        assert_eq!(reads[0].target, format!("case:{id}"));
        assert!(entries.iter().any(|e| e.action == "case.create"));
        let count = registry.verify_audit().await.unwrap().unwrap();
        assert_eq!(count, entries.len());

        // Edit one stored entry: verification names it.
        let seq = reads[0].seq;
        sql::execute(
            &app.database.database,
            "UPDATE audit_log SET actor = 'user:someone-else' WHERE seq = $1",
            vec![sql::Value::Int(seq)],
        )
        .await
        .unwrap();
        let broken = registry.verify_audit().await.unwrap().unwrap_err();
        assert_eq!(broken.seq, seq);
    }
}

flow_tests! {
    async fn initial_passwords_are_changed_and_old_sessions_end(app, clock) {
        let mut credentials = support::admin_init(&app, &clock).await;
        let token = support::login(&app, &clock, &credentials).await;
        let change = |current: String, new: &'static str, token: String| {
            let app = &app;
            async move {
                call(app, "POST", "/api/auth/password", Some(&token), None,
                    Some(json!({"currentPassword": current, "newPassword": new}))).await
            }
        };
        let (status, body) = change(credentials.password.clone(), "short", token.clone()).await;
        assert_eq!((status, body["code"].as_str()), (StatusCode::BAD_REQUEST, Some("weak_password")));
        let (status, _) = change("wrong-password".into(), "a much longer passphrase", token.clone()).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED);
        let (status, _) = change(credentials.password.clone(), "a much longer passphrase", token.clone()).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        let (status, _) = call(&app, "GET", "/api/auth/me", Some(&token), None, None).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "sessions end with the password change");
        clock.advance_ms(30_000);
        credentials.password = "a much longer passphrase".into();
        support::login(&app, &clock, &credentials).await;
    }
}

flow_tests! {
    async fn statistics_show_counts_only_and_suppress_small_ones(app, clock) {
        let world = support::world(&app, &clock).await;
        for i in 0..6 {
            support::file_case(&app, &world.doctor[0], &world.health_center[0], &format!("Tokyo {i}")).await;
        }
        support::file_case(&app, &world.doctor[1], &world.health_center[1], "Osaka Only").await;
        let (status, national) = call(&app, "GET", "/api/statistics/cases", Some(&world.national_stats), None, None).await;
        assert_eq!(status, StatusCode::OK, "{national}");
        assert_eq!(national["total"], 7);
        assert_eq!(national["byStatus"]["reported"], 7);
        // Osaka's 1 is small: "<5". Shown beside the total, Tokyo's 6 would give it away
        // (7 − 6), so Tokyo is withheld too ("x": 5 or more).
        assert_eq!(national["byPrefecture"][&world.prefecture[1]], "<5", "small count suppressed");
        assert_eq!(national["byPrefecture"][&world.prefecture[0]], "x", "complementary suppression: {national}");
        assert!(!national.to_string().contains("Tokyo") && !national.to_string().contains("Osaka"));
        let (status, hc) = call(&app, "GET", "/api/statistics/cases", Some(&world.hc_admin), None, None).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(hc["total"], 6);
        for token in [&world.doctor[0], &world.hc_worker[0], &world.pref_worker[0]] {
            let (status, _) = call(&app, "GET", "/api/statistics/cases", Some(token), None, None).await;
            assert_eq!(status, StatusCode::FORBIDDEN);
        }
    }
}

/// The current TOTP code of `secret`.
fn secrets_totp(secret: &[u8], now_seconds: i64) -> String {
    mimamori::services::cases::mimamori_cases::model::secrets::totp(secret, now_seconds)
}

/// Fails sign-ins on names that do not exist, from `forwarded_for` (sent as
/// `X-Forwarded-For`, as nginx does), until the first status that is not 401.
async fn fail_sign_ins(app: &TestApp, forwarded_for: &str, attempts: usize) -> Vec<StatusCode> {
    let mut statuses = Vec::new();
    for attempt in 0..attempts {
        let response = app
            .client
            .post(app.url("/api/auth/login"))
            .header("x-forwarded-for", forwarded_for)
            .json(
                &json!({"username": format!("guess-{forwarded_for}-{attempt}"),
                          "password": "x", "totp": "000000"}),
            )
            .send()
            .await
            .unwrap();
        statuses.push(response.status());
    }
    statuses
}

mod client_limits_behind_a_proxy {
    use super::*;

    /// Behind a trusted proxy (loopback, the default), every client behind it has its own
    /// sign-in budget: one client locked out does not lock out the next.
    async fn each_client_behind_the_proxy_has_its_own_budget(backend: mimamori_tests::Backend) {
        let Some(app) = mimamori_tests::spawn_app_with(backend, |_| {}).await else {
            return;
        };
        let per_client = app.settings.cases.max_sign_in_failures_per_client as usize;
        let first = fail_sign_ins(&app, "198.51.100.1", per_client + 1).await;
        assert!(
            first[..per_client]
                .iter()
                .all(|s| *s == StatusCode::UNAUTHORIZED),
            "{first:?}"
        );
        assert_eq!(first[per_client], StatusCode::TOO_MANY_REQUESTS);
        // The proxy appended the real client; what the client itself put first is not believed.
        let second = fail_sign_ins(&app, "198.51.100.1, 198.51.100.2", 1).await;
        assert_eq!(second, vec![StatusCode::UNAUTHORIZED]);
        let spoofed = fail_sign_ins(&app, "198.51.100.2, 198.51.100.1", 1).await;
        assert_eq!(spoofed, vec![StatusCode::TOO_MANY_REQUESTS]);
        app.stop().await;
    }

    /// Without a trusted proxy the header is a forgery: a guesser gets no new budget by
    /// changing it.
    async fn a_forged_header_gives_no_new_budget(backend: mimamori_tests::Backend) {
        let Some(app) = mimamori_tests::spawn_app_with(backend, |settings| {
            settings.http.trusted_proxies = Vec::new();
        })
        .await
        else {
            return;
        };
        let per_client = app.settings.cases.max_sign_in_failures_per_client as usize;
        let mut statuses = Vec::new();
        for attempt in 0..=per_client {
            statuses.extend(fail_sign_ins(&app, &format!("203.0.113.{attempt}"), 1).await);
        }
        assert!(
            statuses[..per_client]
                .iter()
                .all(|s| *s == StatusCode::UNAUTHORIZED),
            "{statuses:?}"
        );
        assert_eq!(
            statuses[per_client],
            StatusCode::TOO_MANY_REQUESTS,
            "{statuses:?}"
        );
        app.stop().await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn sqlite() {
        each_client_behind_the_proxy_has_its_own_budget(mimamori_tests::Backend::Sqlite).await;
        a_forged_header_gives_no_new_budget(mimamori_tests::Backend::Sqlite).await;
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn postgres() {
        each_client_behind_the_proxy_has_its_own_budget(mimamori_tests::Backend::Postgres).await;
        a_forged_header_gives_no_new_budget(mimamori_tests::Backend::Postgres).await;
    }
}
