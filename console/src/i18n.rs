//! The message catalogue: Japanese (default) and English.
//!
//! The language comes from the `mm_lang` cookie the switch link sets; without it an
//! `Accept-Language` that prefers English picks English; everything else is Japanese.

/// A console language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    /// Japanese (the default).
    Ja,
    /// English.
    En,
}

impl Lang {
    /// The `lang` attribute value and cookie value.
    pub fn code(self) -> &'static str {
        match self {
            Lang::Ja => "ja",
            Lang::En => "en",
        }
    }

    /// Parses a cookie value.
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "ja" => Some(Lang::Ja),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    /// The language an `Accept-Language` header prefers: English only when an `en` range
    /// comes before any `ja` range (q-values in order, as browsers send them).
    pub fn from_accept_language(header: &str) -> Lang {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',') {
            let mut pieces = part.trim().split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q=").and_then(|v| v.parse().ok()))
                .unwrap_or(1.0f32);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "ja" || tag.starts_with("ja-") {
                Lang::Ja
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map_or(Lang::Ja, |(_, lang)| lang)
    }
}

/// The text of `key` in `lang`; an unknown key shows itself (a test checks the catalogue).
pub fn t(lang: Lang, key: &'static str) -> &'static str {
    match entry(key) {
        Some((ja, en)) => match lang {
            Lang::Ja => ja,
            Lang::En => en,
        },
        None => key,
    }
}

fn entry(key: &str) -> Option<(&'static str, &'static str)> {
    Some(match key {
        "app" => ("みまもり", "Mimamori"),
        "app.sub" => ("感染者等情報管理コンソール", "case management console"),
        "skip" => ("本文へ移動", "Skip to content"),
        "nav" => ("メインメニュー", "Main menu"),
        "nav.cases" => ("患者一覧", "Cases"),
        "nav.new" => ("発生届の入力", "File a notification"),
        "nav.alerts" => ("アラート", "Alerts"),
        "nav.tasks" => ("作業一覧", "Tasks"),
        "nav.duplicates" => ("重複確認", "Duplicates"),
        "nav.clusters" => ("クラスター", "Clusters"),
        "nav.line_list" => ("ラインリスト", "Line list"),
        "nav.stats" => ("統計", "Statistics"),
        "nav.admin" => ("管理", "Administration"),
        "signout" => ("ログアウト", "Sign out"),
        "switch" => ("English", "日本語"),
        "switch.label" => ("Switch to English", "日本語に切り替え"),
        "signed_in_as" => ("ログイン中", "Signed in"),
        // sign-in
        "login.title" => ("ログイン", "Sign in"),
        "login.username" => ("ユーザー名", "User name"),
        "login.password" => ("パスワード", "Password"),
        "login.totp" => (
            "確認コード（認証アプリの6桁）",
            "One-time code (6 digits from your authenticator app)",
        ),
        "login.submit" => ("ログイン", "Sign in"),
        "login.failed" => (
            "ユーザー名、パスワードまたは確認コードが正しくありません。",
            "The user name, password or one-time code is not correct.",
        ),
        "login.locked" => (
            "サインインの失敗が続いたため、しばらくサインインできません。15分ほど待ってから再度お試しください。",
            "Too many failed sign-ins. Please wait about 15 minutes and try again.",
        ),
        "error.rate_limited" => (
            "試行回数が上限に達しました。しばらくしてから再度お試しください。",
            "Too many attempts. Please try again later.",
        ),
        "login.expired" => (
            "セッションの有効期限が切れました。再度ログインしてください。",
            "Your session has expired. Please sign in again.",
        ),
        "login.signed_out" => ("ログアウトしました。", "You have signed out."),
        // account
        "account.title" => ("アカウント", "Account"),
        "account.password" => ("パスワードの変更", "Change password"),
        "account.current" => ("現在のパスワード", "Current password"),
        "account.new" => ("新しいパスワード", "New password"),
        "account.rule" => (
            "12文字以上で、現在のものと異なるパスワードにしてください。変更後は再度ログインします。",
            "At least 12 characters, different from the current one. You sign in again afterwards.",
        ),
        "account.change" => ("変更する", "Change"),
        "account.wrong" => (
            "現在のパスワードが正しくありません。",
            "The current password is not correct.",
        ),
        "account.weak" => (
            "新しいパスワードは12文字以上で、現在のものと異なる必要があります。",
            "The new password needs at least 12 characters and must differ from the current one.",
        ),
        "account.changed" => (
            "パスワードを変更しました。新しいパスワードでログインしてください。",
            "Your password was changed. Please sign in with the new one.",
        ),
        // errors
        "error.title" => ("エラー", "Error"),
        "error.forbidden" => (
            "この操作の権限がありません。",
            "You are not allowed to do this.",
        ),
        "error.not_found" => ("見つかりません。", "Not found."),
        "error.csrf" => (
            "フォームの有効期限が切れたか、不正な送信です。画面を再読み込みしてやり直してください。",
            "The form expired or was not sent from this console. Reload the page and try again.",
        ),
        "error.conflict" => (
            "現在の状態ではこの操作はできません。",
            "This is not possible in the current state.",
        ),
        "error.bad_request" => ("入力内容を確認してください。", "Please check your input."),
        "error.internal" => (
            "エラーが発生しました。しばらくしてからやり直してください。",
            "Something went wrong. Please try again later.",
        ),
        "error.unavailable" => (
            "データベースに接続できません。しばらくしてから再度お試しください（入力内容は保存されていません）。",
            "The database cannot be reached. Please try again in a moment (nothing was saved).",
        ),
        "error.invalid" => ("入力内容に誤りがあります。", "Some fields need attention."),
        "back" => ("戻る", "Back"),
        // case list
        "cases.title" => ("患者一覧", "Cases"),
        "cases.search" => ("検索", "Search"),
        "cases.name" => ("氏名（前方一致）", "Name (starts with)"),
        "cases.status" => ("状態", "Status"),
        "cases.any" => ("すべて", "All"),
        "cases.clear" => ("条件をクリア", "Clear"),
        "cases.total" => ("件", "cases"),
        "cases.none" => ("該当する患者はいません。", "No cases match."),
        "cases.col.name" => ("氏名", "Name"),
        "cases.col.status" => ("状態", "Status"),
        "cases.col.diagnosis" => ("診断日", "Diagnosed"),
        "cases.col.created" => ("登録日時", "Filed"),
        "prev" => ("前へ", "Previous"),
        "next" => ("次へ", "Next"),
        "page" => ("ページ", "Page"),
        // statuses
        "status.reported" => ("届出済（未受理）", "Reported"),
        "status.accepted" => ("受理", "Accepted"),
        "status.home_care" => ("自宅療養", "Home care"),
        "status.hotel_care" => ("宿泊療養", "Hotel care"),
        "status.hospitalized" => ("入院", "Hospitalized"),
        "status.icu_ventilator" => ("入院（ICU・人工呼吸器・ECMO）", "ICU / ventilator"),
        "status.recovered" => ("回復", "Recovered"),
        "status.deceased" => ("死亡", "Deceased"),
        // notification form
        "new.title" => (
            "発生届（新型コロナウイルス感染症）",
            "Notification of occurrence",
        ),
        "new.patient" => ("患者情報", "Patient"),
        "new.clinical" => ("診断・検査", "Diagnosis and test"),
        "new.condition" => ("症状・重症度", "Condition"),
        "new.infection" => ("感染経路", "Infection"),
        "new.submit" => ("届出を送信", "File notification"),
        "new.required" => ("必須", "required"),
        "new.filed" => ("発生届を受け付けました。", "The notification was filed."),
        "f.name" => ("氏名", "Name"),
        "f.kana" => ("フリガナ", "Name in kana"),
        "f.sex" => ("性別", "Sex"),
        "f.sex.male" => ("男", "Male"),
        "f.sex.female" => ("女", "Female"),
        "f.sex.other" => ("その他・回答なし", "Other / not stated"),
        "f.dateOfBirth" => ("生年月日", "Date of birth"),
        "f.age" => ("年齢", "Age"),
        "f.address" => ("住所", "Address"),
        "f.phone" => ("電話番号", "Phone"),
        "f.healthCenterId" => ("届出先保健所", "Receiving health center"),
        "f.municipality" => ("市区町村", "Municipality"),
        "f.resultDate" => ("検査結果判明日", "Test result date"),
        "f.diagnosisDate" => ("診断日", "Diagnosis date"),
        "f.onsetDate" => (
            "発症日（無症状は空欄）",
            "Onset date (empty if asymptomatic)",
        ),
        "f.reportDate" => ("届出日", "Report date"),
        "f.diagnosisMethod" => ("診断方法", "Diagnosis method"),
        "f.specimenType" => ("検体", "Specimen"),
        "f.outcome" => ("転帰", "Outcome"),
        "f.outcome.treatment" => ("治療中", "Under treatment"),
        "f.admitted" => ("入院している", "Admitted"),
        "f.icu" => ("ICU", "ICU"),
        "f.ventilator" => ("人工呼吸器", "Ventilator"),
        "f.ecmo" => ("ECMO", "ECMO"),
        "f.postMortem" => ("死体検案", "Post-mortem"),
        "f.vulnerableHousehold" => (
            "同居者に高齢者・基礎疾患のある人がいる",
            "Elderly or vulnerable people in the household",
        ),
        "f.symptomsAtDiagnosis" => (
            "診断時の症状（読点・カンマ区切り）",
            "Symptoms at diagnosis (comma separated)",
        ),
        "f.infectionRoute" => ("感染経路", "Infection route"),
        "f.infectionArea" => ("感染地域", "Infection area"),
        "f.infectionArea.domestic" => ("国内", "Domestic"),
        "f.infectionArea.overseas" => ("国外", "Overseas"),
        "f.infectionConfirmed" => ("感染経路が確定している", "Route confirmed"),
        "f.linkedToOtherCase" => ("他の患者と関連がある", "Linked to another case"),
        "f.route.droplet" => ("飛沫・飛沫核感染", "Droplet"),
        "f.route.contact" => ("接触感染", "Contact"),
        "f.route.unknown" => ("不明", "Unknown"),
        "f.specimen.np" => ("鼻咽頭ぬぐい液", "Nasopharyngeal swab"),
        "f.specimen.saliva" => ("唾液", "Saliva"),
        "f.method.pcr" => ("PCR検査", "PCR"),
        "f.method.antigen" => ("抗原検査", "Antigen test"),
        // validation messages
        "v.required" => ("入力してください。", "This field is required."),
        "v.date" => (
            "日付を YYYY-MM-DD で入力してください。",
            "Enter a date as YYYY-MM-DD.",
        ),
        "v.future" => (
            "未来の日付は入力できません。",
            "The date lies in the future.",
        ),
        "v.early" => ("日付が古すぎます。", "The date is implausibly early."),
        "v.number" => ("数字で入力してください。", "Enter a number."),
        "v.implausible" => ("値が範囲外です。", "The value is out of range."),
        "v.onset" => (
            "発症日が診断日より後すぎます。",
            "Onset lies too long after the diagnosis.",
        ),
        "v.hc_unknown" => ("保健所が見つかりません。", "Unknown health center."),
        "v.hc_own" => (
            "自保健所の管轄のみ入力できます。",
            "A health center files cases of its own jurisdiction.",
        ),
        // case page
        "case.title" => ("患者詳細", "Case"),
        "case.revoked" => ("陽性登録取消済み", "Revoked as a false positive"),
        "case.details" => ("届出内容", "Notification"),
        "case.timeline" => ("経過", "Timeline"),
        "case.change_status" => ("状態を変更", "Change status"),
        "case.new_status" => ("新しい状態", "New status"),
        "case.apply" => ("変更", "Apply"),
        "case.accept" => ("受理する", "Accept"),
        "case.contacts" => ("濃厚接触者", "Close contacts"),
        "case.contact.name" => ("氏名", "Name"),
        "case.contact.phone" => ("電話番号", "Phone"),
        "case.contact.date" => ("最終接触日", "Last contact"),
        "case.contact.add" => ("接触者を追加", "Add contact"),
        "case.contact.notes" => ("以前の接触者メモ", "Earlier contact notes"),
        "contact.title" => ("濃厚接触者", "Close contact"),
        "contact.record" => (
            "積極的疫学調査：接触者を記録",
            "Contact investigation: record a contact",
        ),
        "contact.record.failed" => (
            "接触者を記録できませんでした",
            "The contact could not be recorded",
        ),
        "contact.status" => ("状態", "Status"),
        "contact.last_exposure" => ("最終接触日", "Last exposure"),
        "contact.quarantine" => ("待機期間", "Quarantine"),
        "contact.exposures" => ("接触歴", "Exposures"),
        "contact.converted_case" => ("陽性確定後の患者", "Case after the positive test"),
        "contact.duration" => ("接触時間（分）", "Minutes together"),
        "contact.setting" => ("接触の場", "Setting"),
        "contact.setting.household" => ("同居", "Household"),
        "contact.setting.workplace" => ("職場", "Workplace"),
        "contact.setting.school" => ("学校・保育", "School"),
        "contact.setting.care_facility" => ("高齢者施設等", "Care facility"),
        "contact.setting.medical" => ("医療機関", "Medical"),
        "contact.setting.event" => ("会食・イベント", "Meal or event"),
        "contact.setting.other" => ("その他", "Other"),
        "contact.proximity" => ("距離", "Proximity"),
        "contact.proximity.within_1m" => ("1m以内", "Within 1 m"),
        "contact.proximity.within_2m" => ("2m以内", "Within 2 m"),
        "contact.proximity.over_2m" => ("2m超", "Over 2 m"),
        "contact.proximity.unknown" => ("不明", "Unknown"),
        "contact.status.identified" => ("特定済み", "Identified"),
        "contact.status.quarantined" => ("待機中", "In quarantine"),
        "contact.status.completed" => ("待機終了", "Completed"),
        "contact.status.converted" => ("陽性（患者へ）", "Converted to a case"),
        "contact.status.lost" => ("連絡不能", "Lost to follow-up"),
        "contact.status.refused" => ("拒否", "Refused"),
        "contact.convert" => ("陽性確定：患者として届出", "Positive: file as a case"),
        "contact.convert.hint" => (
            "氏名・カナ・生年月日・住所・電話番号は接触者の記録から引き継ぎます。",
            "Name, kana, date of birth, address and phone are taken from the contact.",
        ),
        "case.none" => ("なし", "None"),
        "case.links" => ("関連する患者", "Linked cases"),
        "case.link.other" => ("関連患者のID", "Other case id"),
        "case.link.add" => ("関連付ける", "Link"),
        "case.number" => ("処理番号", "Processing number"),
        "case.number.issue" => ("処理番号を発行", "Issue processing number"),
        "case.number.reissue" => (
            "処理番号を再発行（前の番号は無効）",
            "Re-issue (the previous number stops working)",
        ),
        "case.number.code" => ("処理番号", "Processing number"),
        "case.number.expires" => ("有効期限", "Valid until"),
        "case.number.sms" => ("SMSで送るリンク", "Link to send by SMS"),
        "case.number.qr" => ("SMSリンクのQRコード", "QR code of the SMS link"),
        "case.number.once" => (
            "この番号は今だけ表示されます。患者に伝えてください。",
            "This number is shown only now. Give it to the patient.",
        ),
        "case.number.not_accepted" => (
            "受理後に発行できます。",
            "Accept the case to issue a number.",
        ),
        "case.revoke" => ("陽性登録を取り消す（偽陽性）", "Revoke (false positive)"),
        "case.revoke.confirm" => ("取り消しを確認しました", "I confirm the revocation"),
        "case.revoke.done" => ("取り消しました。", "The case was revoked."),
        "case.followup" => ("健康観察", "Health follow-up"),
        "case.plan" => ("観察期間", "Plan"),
        "case.plan.set" => (
            "健康観察を開始（既定の期間）",
            "Start follow-up (default plan)",
        ),
        "case.plan.none" => ("健康観察は未設定です。", "No follow-up plan yet."),
        "case.followup.link" => ("本人報告用リンクを発行", "Issue the patient's report link"),
        "case.followup.link_shown" => (
            "このリンクは今だけ表示されます。SMS等で患者に送ってください。",
            "This link is shown only now. Send it to the patient, e.g. by SMS.",
        ),
        "case.chart" => ("体温・SpO2の推移", "Temperature and SpO2"),
        "case.proxy" => (
            "代理入力（電話で聞き取り）",
            "Enter on the patient's behalf",
        ),
        "case.observations" => ("報告", "Reports"),
        "ev.status" => ("状態変更", "Status"),
        "ev.number_issued" => ("処理番号発行", "Number issued"),
        "ev.number_claimed" => ("処理番号使用（アプリ登録）", "Number claimed by the app"),
        "ev.certificate_issued" => ("証明書発行", "Certificate issued"),
        "ev.keys_published" => ("陽性者キー公開", "Keys published"),
        "ev.keys_revoked" => ("キー取消", "Keys revoked"),
        "ev.number_expired" => ("処理番号期限切れ", "Number expired"),
        "ev.revoked" => ("陽性登録取消", "Revoked"),
        "ev.created" => ("登録", "Filed"),
        "ev.number_released" => (
            "処理番号の再利用可能化（登録失敗）",
            "Processing number released (upload failed)",
        ),
        "ev.edited" => ("届出内容の訂正", "Notification corrected"),
        "ev.transferred" => ("移管", "Transferred"),
        "ev.other" => ("記録", "Recorded"),
        // follow-up, report page
        "obs.temperature" => ("体温（℃）", "Temperature (°C)"),
        "obs.spo2" => ("SpO2（%）", "SpO2 (%)"),
        "obs.pulse" => ("脈拍（回/分）", "Pulse (per minute)"),
        "obs.symptoms" => ("症状", "Symptoms"),
        "obs.note" => ("その他・気になること", "Anything else"),
        "obs.submit" => ("報告する", "Send report"),
        "obs.saved" => (
            "報告を受け付けました。ありがとうございます。",
            "Thank you. Your report was received.",
        ),
        "obs.alerted" => (
            "担当の保健所に連絡しました。息苦しさが強いときは119番に電話してください。",
            "Your health center has been told. If breathing is hard, call 119.",
        ),
        "report.title" => ("健康観察の報告", "Daily health report"),
        "report.intro" => (
            "今の体調を入力して「報告する」を押してください。",
            "Enter how you feel now and press “Send report”.",
        ),
        "report.documents" => ("保健所からの文書", "Documents from the health center"),
        "report.opt_out" => (
            "SMS・メールの連絡を停止する",
            "Stop SMS and e-mail messages",
        ),
        "report.opt_out.hint" => (
            "登録された電話番号・メールアドレスへの連絡を停止します。保健所から電話で連絡することがあります。",
            "No more messages are sent to the phone number or address on record. The health center may still call you.",
        ),
        "report.opted_out" => (
            "連絡の停止を受け付けました。",
            "Messages have been stopped.",
        ),
        "report.invalid" => (
            "このリンクは無効か期限切れです。保健所にお問い合わせください。",
            "This link is invalid or has expired. Please contact your health center.",
        ),
        "sym.cough" => ("せき", "Cough"),
        "sym.shortnessOfBreath" => ("息苦しさ", "Shortness of breath"),
        "sym.chestPain" => ("胸の痛み", "Chest pain"),
        "sym.fatigue" => ("だるさ", "Fatigue"),
        "sym.tasteSmellLoss" => ("味覚・嗅覚の異常", "Loss of taste or smell"),
        "sym.soreThroat" => ("のどの痛み", "Sore throat"),
        "sym.runnyNose" => ("鼻水", "Runny nose"),
        "sym.headache" => ("頭痛", "Headache"),
        "sym.diarrhea" => ("下痢", "Diarrhoea"),
        "sym.nausea" => ("吐き気", "Nausea"),
        "sym.musclePain" => ("筋肉・関節の痛み", "Muscle or joint pain"),
        "sym.confusion" => ("意識がぼんやりする", "Confusion or drowsiness"),
        // tasks
        "tasks.title" => ("作業一覧", "Tasks"),
        "tasks.intro" => (
            "臨床アラート以外の、今日しておくべきこと。",
            "What needs doing today besides the clinical alerts.",
        ),
        "tasks.none" => ("未処理の作業はありません。", "Nothing to do."),
        "tasks.kind" => ("作業", "Task"),
        "tasks.person" => ("対象者", "Person"),
        "tasks.detail" => ("内容", "Detail"),
        "tasks.first_call" => ("初回連絡が未実施", "First call not made"),
        "tasks.missing_items" => ("必須項目が未入力", "Missing required items"),
        "tasks.quarantine_ends_today" => ("本日で待機期間終了", "Quarantine ends today"),
        "tasks.no_report" => ("1日以上健康観察の報告なし", "No report for a day"),
        "tasks.unconfirmed_document" => ("交付文書が未確認", "Document not yet received"),
        // duplicate persons
        "dup.title" => ("重複の可能性がある人", "Possible duplicate persons"),
        "dup.intro" => (
            "同じ人が二重に登録されていないか確認してください。統合しても記録は削除されません。",
            "Check whether one person was recorded twice. A merge deletes no record.",
        ),
        "dup.none" => ("確認待ちの組はありません。", "No pairs to review."),
        "dup.score" => ("一致度", "Score"),
        "dup.first" => ("記録1", "Record 1"),
        "dup.second" => ("記録2", "Record 2"),
        "dup.reasons" => ("根拠", "Evidence"),
        "dup.actions" => ("操作", "Actions"),
        "dup.keep" => ("統合して残す:", "Merge, keeping"),
        "dup.dismiss" => ("別人", "Not the same person"),
        "dup.case" => ("患者", "Case"),
        "dup.contact" => ("濃厚接触者", "Close contact"),
        "dup.same_birth_date" => ("生年月日が同じ", "Same birth date"),
        "dup.same_kana" => ("カナが同じ", "Same kana"),
        "dup.same_name" => ("氏名が同じ", "Same name"),
        "dup.similar_name" => ("氏名が類似", "Similar name"),
        "dup.same_phone" => ("電話番号が同じ", "Same phone"),
        "dup.different_birth_date" => ("生年月日が異なる", "Different birth dates"),
        "dup.other" => ("その他", "Other"),
        // alerts
        "alerts.title" => ("アラート一覧", "Alert worklist"),
        "alerts.none" => ("対応中のアラートはありません。", "No active alerts."),
        "alerts.kind" => ("種類", "Kind"),
        "alerts.severity" => ("重要度", "Severity"),
        "alerts.day" => ("対象日", "Day"),
        "alerts.detail" => ("内容", "Detail"),
        "alerts.state" => ("状態", "State"),
        "alerts.case" => ("患者", "Case"),
        "alerts.ack" => ("確認", "Acknowledge"),
        "alerts.actions" => ("操作", "Actions"),
        "alerts.resolve" => ("対応済み", "Resolve"),
        "alerts.show_resolved" => ("対応済みを表示", "Show resolved"),
        "alerts.show_active" => ("対応中を表示", "Show active"),
        "alert.low_spo2" => ("SpO2低下", "Low SpO2"),
        "alert.breathing_difficulty" => ("息苦しさ", "Breathing difficulty"),
        "alert.persistent_fever" => ("発熱の持続", "Persistent fever"),
        "alert.missed_report" => ("報告なし", "Missed report"),
        "alert.open" => ("未対応", "Open"),
        "alert.acknowledged" => ("確認済み", "Acknowledged"),
        "alert.resolved" => ("対応済み", "Resolved"),
        "sev.high" => ("高", "High"),
        "sev.medium" => ("中", "Medium"),
        "sev.low" => ("低", "Low"),
        // statistics
        // the public dashboard (/open/)
        "open.title" => (
            "新型コロナウイルス感染症 公開データ",
            "COVID-19 public data",
        ),
        "open.sub" => ("公開データ", "open data"),
        "open.as_of" => ("集計日", "Figures up to"),
        "open.range" => ("期間", "Period"),
        "open.suppression" => (
            "少数の人数は個人が特定されないよう表示しません。引き算で求められないよう、さらに一部の人数も伏せています",
            "Small counts are not shown so that no one can be identified; some further counts are withheld so that a hidden count cannot be worked out by subtraction",
        ),
        "open.new_cases" => (
            "新規陽性者数（全国、日別）",
            "New cases per day (nation-wide)",
        ),
        "open.new_cases.caption" => (
            "棒は日別の人数、赤線は7日間移動平均。灰色の印は非表示の日",
            "Bars: cases per day; red line: 7-day average; grey marks: days not shown",
        ),
        "open.last_days" => ("直近14日間", "The last 14 days"),
        "open.date" => ("日付", "Date"),
        "open.count" => ("新規陽性者数", "New cases"),
        "open.average7" => ("7日間平均", "7-day average"),
        "open.by_prefecture" => ("都道府県別の新規陽性者数", "New cases by prefecture"),
        "open.area" => ("地域", "Area"),
        "open.national" => ("全国", "Nation-wide"),
        "open.by_status" => (
            "療養状況別の患者数（全国）",
            "Cases by status (nation-wide)",
        ),
        "open.beds" => ("病床使用率", "Hospital bed occupancy"),
        "open.beds.none" => (
            "病床使用率は、医療機関等情報支援システム（G-MIS）との連携ができてから掲載します。現在は掲載していません。",
            "Bed occupancy will be published once the connection to G-MIS (the medical institutions' information system) exists. It is not published yet.",
        ),
        "open.notifications" => ("接触確認アプリ", "Exposure notification app"),
        "open.share" => (
            "陽性者のうちアプリで陽性登録した割合",
            "Share of cases that registered in the app",
        ),
        "open.share.note" => (
            "両方の人数が表示されている日の合計",
            "over the days where both counts are shown",
        ),
        "open.registrations" => ("陽性登録件数", "Registrations"),
        "open.keys" => (
            "公開された診断キー数（日別）",
            "Diagnosis keys published per day",
        ),
        "open.data" => ("オープンデータ", "Open data"),
        "open.data.intro" => (
            "同じ数値をCSVとJSONで提供しています。数値が \"<5\" または \"x\" の欄は非表示です。",
            "The same figures as CSV and JSON. A count of \"<5\" or \"x\" is not shown.",
        ),
        "open.cols.new_cases" => (
            "date（日付）, area（national または都道府県名）, count（人数）, average7（7日間平均、7日すべて表示の場合のみ）",
            "date, area (national or the prefecture's name), count, average7 (the 7-day average, only where all seven days are shown)",
        ),
        "open.cols.cases_by_status" => (
            "date（日付、その日の終わりの状況）, area, status（home_care 自宅療養, hotel_care 宿泊療養, hospitalized 入院, icu_ventilator ICU・人工呼吸器）, count",
            "date (status at the end of the day), area, status (home_care, hotel_care, hospitalized, icu_ventilator), count",
        ),
        "open.cols.notifications" => (
            "date, newCases（全国の新規陽性者数）, registrations（アプリの陽性登録件数）, keys（公開された診断キー数）",
            "date, newCases (nation-wide new cases), registrations (uploads of the app), keys (diagnosis keys published)",
        ),
        "open.snapshots" => (
            "日次スナップショット（manifest.json）",
            "Daily snapshots (manifest.json)",
        ),
        "open.snapshots.note" => (
            "日ごとの確定版。各ファイルのSHA-256と、前日版から修正された日付を記載しています",
            "one immutable version per day, with each file's SHA-256 and the dates revised since the day before",
        ),
        "stats.title" => ("統計ダッシュボード", "Statistics dashboard"),
        "stats.new_cases" => (
            "日別新規患者数（直近30日）",
            "New cases per day (last 30 days)",
        ),
        "stats.by_status" => ("状態別患者数（本日時点）", "Cases by status (today)"),
        "stats.csv" => ("CSVダウンロード", "Download CSV"),
        "stats.total" => ("合計", "Total"),
        "stats.suppressed" => (
            "少数のため非表示の値があります（個人特定の防止）。",
            "Small counts are suppressed to protect privacy.",
        ),
        "stats.date" => ("日付", "Date"),
        "stats.count" => ("人数", "Count"),
        // administration
        "admin.title" => ("管理", "Administration"),
        "admin.org" => ("所属組織", "Your organization"),
        "admin.orgs" => ("組織", "Organizations"),
        "admin.org.create" => ("組織を作成", "Create organization"),
        "admin.org.kind" => ("種別", "Kind"),
        "admin.org.name" => ("名称", "Name"),
        "admin.org.parent" => ("上位組織", "Parent"),
        "admin.org.created" => ("組織を作成しました。", "The organization was created."),
        "admin.users" => ("ユーザー", "Users"),
        "admin.user.create" => ("ユーザーを作成", "Create user"),
        "admin.user.organization" => ("所属", "Organization"),
        "admin.user.roles" => ("役割", "Roles"),
        "admin.user.created" => (
            "ユーザーを作成しました。初期パスワードと認証アプリ用QRコードは今だけ表示されます。本人に安全に渡してください。",
            "The user was created. The initial password and the authenticator QR code are shown only now; hand them over securely.",
        ),
        "admin.user.qr" => (
            "認証アプリ（TOTP）登録用QRコード",
            "QR code for the authenticator app (TOTP)",
        ),
        "admin.user.secret" => ("手入力用キー", "Key for manual entry"),
        "admin.keys" => ("APIキー", "API keys"),
        "admin.key.create" => ("APIキーを作成", "Create API key"),
        "admin.key.kind" => ("種類", "Kind"),
        "admin.key.kind.device" => ("アプリ用（検証）", "App (device verification)"),
        "admin.key.kind.admin" => ("連携用（管理）", "Integration (admin)"),
        "admin.key.name" => ("用途名", "Name"),
        "admin.key.created" => (
            "APIキーを作成しました。今だけ表示されます。",
            "The API key was created. It is shown only now.",
        ),
        "admin.key.revoke" => ("APIキーを失効", "Revoke API key"),
        "admin.key.id" => ("キーID", "Key id"),
        "admin.key.revoked" => ("APIキーを失効しました。", "The API key was revoked."),
        "admin.id" => ("ID", "Id"),
        "admin.created" => ("作成日時", "Created"),
        "admin.key.state" => ("状態", "State"),
        "admin.key.revoked_at" => ("失効済み", "Revoked"),
        "role.org_admin" => ("組織管理者", "Organization admin"),
        "role.case_worker" => ("保健所職員", "Case worker"),
        "role.doctor" => ("医師", "Doctor"),
        "role.statistics_viewer" => ("統計閲覧", "Statistics viewer"),
        "kind.national" => ("国", "National"),
        "kind.prefecture" => ("都道府県", "Prefecture"),
        "kind.health_center" => ("保健所", "Health center"),
        "kind.medical_institution" => ("医療機関", "Medical institution"),
        "kind.contractor" => ("委託先", "Contractor"),
        // clusters
        "cluster.title" => ("クラスター", "Clusters"),
        "cluster.name" => ("名称（施設・イベント）", "Name (facility or event)"),
        "cluster.first_date" => ("探知日", "First known"),
        "cluster.counts" => ("人数", "Counts"),
        "cluster.cases" => ("患者", "Cases"),
        "cluster.contacts" => ("接触者", "Contacts"),
        "cluster.quarantined" => ("待機中", "In quarantine"),
        "cluster.converted" => ("患者化", "Became cases"),
        "cluster.create" => ("クラスターを登録", "Open a cluster"),
        "cluster.graph" => ("感染経路図", "Transmission graph"),
        "cluster.graph.legend" => (
            "上段が患者、下段が接触者です。赤の太線は感染の関連、灰色の細線は接触、赤の破線は接触者の患者化を表します。",
            "Cases on top, contacts below. Bold red lines are infection links, thin grey lines exposures, dashed red lines contacts who became cases.",
        ),
        "cluster.members" => ("構成員", "Members"),
        "cluster.member" => ("氏名", "Name"),
        "cluster.member.kind" => ("区分", "Kind"),
        "cluster.member.case" => ("患者", "Case"),
        "cluster.member.contact" => ("接触者", "Close contact"),
        "cluster.member.id" => ("患者または接触者のID", "Case or contact id"),
        "cluster.add" => ("構成員を追加", "Add a member"),
        "cluster.print" => ("構成員の文書を一括発行", "Print documents for the members"),
        "cluster.print.hint" => (
            "療養証明書・就業制限通知書は患者に、待機終了通知書は接触者に、1人1ページのPDFとして発行します。",
            "Certificates and work-restriction notices go to the cases, quarantine end notices to the contacts: one PDF, a page each.",
        ),
        "cluster.print.nobody" => (
            "この文書の対象となる構成員がいません。",
            "No member is the subject of this document.",
        ),
        "cluster.add_to" => ("クラスターに追加", "Add to a cluster"),
        // line list
        "linelist.title" => ("ラインリスト", "Line list"),
        "linelist.intro" => (
            "診断日が期間内の患者を管轄の範囲でCSVとして出力します（最長366日）。出力は監査記録に残ります。",
            "Downloads the cases diagnosed in the period within your scope as CSV (at most 366 days). Every export is audited.",
        ),
        "linelist.from" => ("診断日（から）", "Diagnosed from"),
        "linelist.to" => ("診断日（まで）", "Diagnosed to"),
        "linelist.download" => ("CSVを出力", "Download CSV"),
        // lab tests
        "lab.title" => ("検査", "Lab tests"),
        "lab.specimen" => ("検体", "Specimen"),
        "lab.collected_on" => ("採取日", "Collected on"),
        "lab.method" => ("検査方法", "Method"),
        "lab.laboratory" => ("検査機関", "Laboratory"),
        "lab.result" => ("結果", "Result"),
        "lab.result_on" => ("結果判明日", "Result on"),
        "lab.record" => ("検査を記録", "Record a test"),
        "lab.enter_result" => ("結果を入力", "Enter result"),
        "lab.other" => ("その他", "Other"),
        "lab.specimen.nasopharyngeal_swab" => ("鼻咽頭ぬぐい液", "Nasopharyngeal swab"),
        "lab.specimen.nasal_swab" => ("鼻腔ぬぐい液", "Nasal swab"),
        "lab.specimen.saliva" => ("唾液", "Saliva"),
        "lab.specimen.sputum" => ("喀痰", "Sputum"),
        "lab.specimen.blood" => ("血液", "Blood"),
        "lab.specimen.other" => ("その他の検体", "Other specimen"),
        "lab.method.pcr" => ("PCR検査", "PCR"),
        "lab.method.lamp" => ("LAMP法", "LAMP"),
        "lab.method.antigen_quantitative" => ("抗原定量検査", "Antigen (quantitative)"),
        "lab.method.antigen_qualitative" => ("抗原定性検査", "Antigen (qualitative)"),
        "lab.method.antibody" => ("抗体検査", "Antibody"),
        "lab.method.other" => ("その他の方法", "Other method"),
        "lab.result.pending" => ("結果待ち", "Pending"),
        "lab.result.positive" => ("陽性", "Positive"),
        "lab.result.negative" => ("陰性", "Negative"),
        "lab.result.inconclusive" => ("判定不能", "Inconclusive"),
        // documents
        "doc.title" => ("文書", "Documents"),
        "doc.issued" => ("発行日時", "Issued"),
        "doc.received" => ("本人受領済み", "Received by the person"),
        "doc.not_received" => ("未受領", "Not yet received"),
        "doc.issue" => ("文書を発行", "Issue a document"),
        "doc.kind" => ("文書の種類", "Document"),
        "doc.language" => ("言語", "Language"),
        "doc.language.ja" => ("日本語", "Japanese"),
        "doc.language.en" => ("英語", "English"),
        "doc.period_start" => ("期間の開始日", "Period starts"),
        "doc.period_end" => ("期間の終了日", "Period ends"),
        "doc.period_hint" => (
            "空欄の場合は療養期間・待機期間から計算します。",
            "Left empty, the isolation or quarantine period is used.",
        ),
        "doc.hc_phone" => ("保健所の電話番号", "Health center phone"),
        "doc.reason" => ("就業制限の理由", "Reason for the work restriction"),
        "doc.report_url" => ("健康観察の報告先URL", "Health report link"),
        "doc.report_url_hint" => (
            "空欄の場合は新しい報告用リンクを発行します（以前のリンクは使えなくなります）。",
            "Left empty, a new report link is issued (earlier links stop working).",
        ),
        "doc.kind.isolation_certificate" => ("療養証明書", "Certificate of isolation"),
        "doc.kind.work_restriction_notice" => ("就業制限通知書", "Work-restriction notice"),
        "doc.kind.quarantine_start_notice" => ("待機開始通知書", "Quarantine start notice"),
        "doc.kind.quarantine_end_notice" => ("待機終了通知書", "Quarantine end notice"),
        // messages
        "msg.title" => ("連絡（SMS・メール）", "Messages (SMS, e-mail)"),
        "msg.queued_at" => ("受付日時", "Queued"),
        "msg.template" => ("内容", "Message"),
        "msg.recipient" => ("宛先", "Recipient"),
        "msg.state" => ("状態", "State"),
        "msg.attempts" => ("試行回数", "Attempts"),
        "msg.send" => ("送信", "Send"),
        "msg.to" => (
            "宛先（電話番号またはメールアドレス）",
            "To (phone number or e-mail address)",
        ),
        "msg.to_hint" => (
            "空欄の場合は登録済みの電話番号に送ります。",
            "Left empty, the phone number on record is used.",
        ),
        "msg.opt_out" => ("配信停止に登録", "Record opt-out"),
        "msg.opt_out_hint" => (
            "本人が連絡の停止を希望した宛先には今後送信しません。",
            "Nothing more is sent to a recipient who asked to stop.",
        ),
        "msg.send_number" => ("処理番号を送信", "Send the processing number"),
        "msg.queued" => ("送信を受け付けました。", "The message was queued."),
        "msg.opted_out" => ("配信停止を登録しました。", "The opt-out was recorded."),
        "msg.channel" => ("送信方法", "Channel"),
        "msg.channel.sms" => ("SMS", "SMS"),
        "msg.channel.email" => ("メール", "E-mail"),
        "msg.template.processing_number" => ("処理番号のお知らせ", "Processing number"),
        "msg.template.follow_up_link" => ("健康観察の報告リンク", "Follow-up link"),
        "msg.template.daily_reminder" => ("報告のお願い", "Daily reminder"),
        "msg.template.quarantine_start" => ("待機開始のお知らせ", "Quarantine start"),
        "msg.template.quarantine_end" => ("待機終了のお知らせ", "Quarantine end"),
        "msg.template.other" => ("その他", "Other"),
        "msg.state.queued" => ("送信待ち", "Queued"),
        "msg.state.sending" => ("送信中", "Sending"),
        "msg.state.sent" => ("送信済み", "Sent"),
        "msg.state.failed" => ("送信失敗", "Failed"),
        "msg.state.suppressed" => ("配信停止のため未送信", "Suppressed (opted out)"),
        "none" => ("なし", "None"),
        "yes" => ("はい", "Yes"),
        "no" => ("いいえ", "No"),
        "id" => ("ID", "Id"),
        _ => return None,
    })
}

/// The translation key of a case status (the status itself when unknown).
pub fn status_key(status: &str) -> &'static str {
    match status {
        "reported" => "status.reported",
        "accepted" => "status.accepted",
        "home_care" => "status.home_care",
        "hotel_care" => "status.hotel_care",
        "hospitalized" => "status.hospitalized",
        "icu_ventilator" => "status.icu_ventilator",
        "recovered" => "status.recovered",
        "deceased" => "status.deceased",
        _ => "?",
    }
}

/// Whether `key` is in the catalogue (for tests of the pages' keys).
pub fn known(key: &str) -> bool {
    entry(key).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_prefers_the_first_listed_language() {
        assert_eq!(Lang::from_accept_language("en-US,en;q=0.9"), Lang::En);
        assert_eq!(Lang::from_accept_language("ja,en-US;q=0.8"), Lang::Ja);
        assert_eq!(Lang::from_accept_language("fr-FR,fr;q=0.9"), Lang::Ja);
        assert_eq!(Lang::from_accept_language("de;q=0.9,en;q=0.5"), Lang::En);
        assert_eq!(Lang::from_accept_language(""), Lang::Ja);
    }

    #[test]
    fn every_status_has_both_languages() {
        for s in mimamori_cases::model::CaseStatus::ALL.map(|s| s.as_str()) {
            assert!(known(status_key(s)), "{s}");
            assert_ne!(t(Lang::Ja, status_key(s)), t(Lang::En, status_key(s)));
        }
    }
}

#[cfg(test)]
mod catalogue {
    use super::known;

    /// Every message key the pages use is in the catalogue (an unknown key would show itself).
    #[test]
    fn every_key_used_by_the_pages_exists() {
        const PREFIXES: [&str; 30] = [
            "open.",
            "account.",
            "login.",
            "error.",
            "cases.",
            "status.",
            "new.",
            "f.",
            "v.",
            "case.",
            "ev.",
            "obs.",
            "report.",
            "sym.",
            "alerts.",
            "alert.",
            "sev.",
            "stats.",
            "admin.",
            "role.",
            "kind.",
            "nav.",
            "contact.",
            "tasks.",
            "dup.",
            "lab.",
            "doc.",
            "msg.",
            "cluster.",
            "linelist.",
        ];
        let sources = [
            include_str!("layout.rs"),
            include_str!("lib.rs"),
            include_str!("pages/mod.rs"),
            include_str!("pages/cases.rs"),
            include_str!("pages/followup.rs"),
            include_str!("pages/contacts.rs"),
            include_str!("pages/stats.rs"),
            include_str!("pages/admin.rs"),
            include_str!("pages/account.rs"),
            include_str!("pages/tasks.rs"),
            include_str!("pages/duplicates.rs"),
            include_str!("pages/lab_tests.rs"),
            include_str!("pages/documents.rs"),
            include_str!("pages/messages.rs"),
            include_str!("pages/clusters.rs"),
            include_str!("pages/line_list.rs"),
            include_str!("pages/open.rs"),
        ];
        let mut checked = 0;
        for source in sources {
            for literal in source.split('"').skip(1).step_by(2) {
                let looks_like_key = PREFIXES.iter().any(|p| literal.starts_with(p))
                    && literal.len() < 60
                    && literal
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_');
                if looks_like_key {
                    assert!(known(literal), "missing message key {literal}");
                    checked += 1;
                }
            }
        }
        assert!(checked > 150, "{checked}");
    }
}
