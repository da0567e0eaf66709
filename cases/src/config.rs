//! Configuration of this service: the `[cases]` table of the server configuration
//! (`MIMAMORI_CASES__*` in the environment).

use serde::{Deserialize, Serialize};

/// Settings of this service. Unknown keys are rejected. The only secrets (the SMTP password
/// and the SMS gateway token, under `messaging`) print as `***`.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Argon2id memory cost in KiB (OWASP: 19456). Lower only in tests.
    pub argon2_memory_kib: u32,
    /// Argon2id iterations (OWASP: 2).
    pub argon2_iterations: u32,
    /// Session lifetime in seconds.
    pub session_ttl_seconds: i64,
    /// Failed sign-ins allowed per user name (as typed, known or not) per window; past it
    /// the account is locked until the window ends (the lockout is audited).
    pub max_sign_in_failures_per_account: u32,
    /// Failed sign-ins allowed per client (keyed hash of the address) per window.
    pub max_sign_in_failures_per_client: u32,
    /// The sign-in failure window (and so the longest lockout) in seconds.
    pub sign_in_failure_window_seconds: i64,
    /// How many days the onset date may lie after the diagnosis date.
    pub max_onset_after_diagnosis_days: i64,
    /// Largest page of a case list.
    pub max_page_size: i64,
    /// Largest CSV import, in rows.
    pub max_import_rows: usize,
    /// Default length of a follow-up plan in days, counted from onset (or from the
    /// diagnosis date when asymptomatic).
    pub followup_days: i64,
    /// An SpO2 at or below this (percent) opens a `low_spo2` alert.
    pub spo2_alert_threshold: i64,
    /// A temperature at or above this (°C) counts as fever.
    pub fever_threshold_celsius: f64,
    /// Consecutive days of fever that open a `persistent_fever` alert.
    pub fever_alert_days: i64,
    /// Minutes after the local midnight starting day D at which a plan without a report on D
    /// gets a `missed_report` alert (1440: the end of the day).
    pub missed_report_cutoff_minutes: i64,
    /// Offset of local time from UTC in minutes, for report days (Japan: 540).
    pub utc_offset_minutes: i64,
    /// Statistics show counts from 1 to this − 1 as `"<N"`.
    pub statistics_minimum_count: i64,
    /// How long close contacts stay in quarantine, by the date of their last exposure: the
    /// rule with the latest `from` on or before that date applies. Data, not code, because
    /// the rules in force changed (Japan: 14 days, then 10 from 2022-01-28, 7 from
    /// 2022-07-22, 5 from 2022-09-07).
    pub quarantine_rules: Vec<QuarantineRule>,
    /// Days after a case or close contact is closed (final status, or revoked) before their
    /// personal data is removed; 0 keeps it. Statistics keep their counts.
    pub retention_days: i64,
    /// Outbound e-mail and SMS (`[cases.messaging]`).
    pub messaging: MessagingConfig,
}

/// A secret in the configuration: `***` when printed or serialized.
#[derive(Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(transparent)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("***")
    }
}

impl Serialize for Secret {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str("***")
    }
}

/// How the outbox reaches people: an SMTP server for e-mail, an SMS gateway (or the local
/// recording provider), and the limits it keeps. With neither set, sending is off (503).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct MessagingConfig {
    /// SMTP server host; unset: no e-mail.
    pub smtp_host: Option<String>,
    /// SMTP port.
    pub smtp_port: u16,
    /// `none`, `starttls` or `tls`.
    pub smtp_security: String,
    /// Sender (`保健所 <noreply@example.jp>`).
    pub smtp_from: String,
    /// SMTP AUTH user.
    pub smtp_username: Option<String>,
    /// SMTP AUTH password.
    pub smtp_password: Option<Secret>,
    /// `none`, `http` (a gateway at `sms_url`) or `recording` (kept in memory and appended to
    /// `sms_record_file`: for local set-ups and tests, sends nothing).
    pub sms_provider: String,
    /// The gateway's URL (`http`).
    pub sms_url: Option<String>,
    /// The gateway's bearer token.
    pub sms_token: Option<Secret>,
    /// Where the recording provider appends messages (JSON lines).
    pub sms_record_file: Option<std::path::PathBuf>,
    /// The console's public address, for the follow-up links in messages
    /// (`https://mimamori.example.jp`).
    pub public_url: Option<String>,
    /// The exposure-notification app's page sent with a processing number; `{number}`, if
    /// present, is replaced by the number.
    pub app_link: String,
    /// Local time after which people who have not reported today get a reminder (`HH:MM`);
    /// empty: no reminders.
    pub reminder_time: String,
    /// Attempts before a message is given up (transient failures back off 30 s × 2ⁿ, at
    /// most an hour).
    pub max_attempts: i64,
    /// Messages sent per minute by one replica, all channels.
    pub sends_per_minute: i64,
    /// Messages one recipient gets per day at most (more are suppressed).
    pub max_per_recipient_per_day: i64,
    /// Days a handled message keeps its recipient and text (then they are erased).
    pub keep_days: i64,
}

impl Default for MessagingConfig {
    fn default() -> Self {
        MessagingConfig {
            smtp_host: None,
            smtp_port: 587,
            smtp_security: "starttls".into(),
            smtp_from: "noreply@localhost".into(),
            smtp_username: None,
            smtp_password: None,
            sms_provider: "none".into(),
            sms_url: None,
            sms_token: None,
            sms_record_file: None,
            public_url: None,
            app_link: "https://www.mhlw.go.jp/stf/seisakunitsuite/bunya/cocoa_00138.html".into(),
            reminder_time: "18:00".into(),
            max_attempts: 8,
            sends_per_minute: 120,
            max_per_recipient_per_day: 5,
            keep_days: 30,
        }
    }
}

impl MessagingConfig {
    /// The reminder time as minutes after local midnight; `None` when reminders are off.
    pub fn reminder_minutes(&self) -> Option<i64> {
        let (hours, minutes) = self.reminder_time.split_once(':')?;
        let (hours, minutes): (i64, i64) = (hours.parse().ok()?, minutes.parse().ok()?);
        ((0..24).contains(&hours) && (0..60).contains(&minutes)).then_some(hours * 60 + minutes)
    }

    fn validate(&self) -> Result<(), String> {
        if !self.reminder_time.is_empty() && self.reminder_minutes().is_none() {
            return Err(format!(
                "cases.messaging.reminder_time must be HH:MM or empty (got {})",
                self.reminder_time
            ));
        }
        if !["none", "starttls", "tls"].contains(&self.smtp_security.as_str()) {
            return Err("cases.messaging.smtp_security: none, starttls or tls".into());
        }
        match self.sms_provider.as_str() {
            "none" | "recording" => {}
            "http" if self.sms_url.is_some() && self.sms_token.is_some() => {}
            "http" => {
                return Err(
                    "cases.messaging.sms_provider = http needs sms_url and sms_token".into(),
                );
            }
            _ => return Err("cases.messaging.sms_provider: none, http or recording".into()),
        }
        if self.max_attempts < 1
            || self.sends_per_minute < 1
            || self.max_per_recipient_per_day < 1
            || self.keep_days < 1
        {
            return Err("cases.messaging: max_attempts, sends_per_minute, max_per_recipient_per_day and keep_days must be at least 1".into());
        }
        Ok(())
    }
}

/// One quarantine rule: contacts last exposed on or after `from` stay in quarantine `days`
/// days, counted from the day after the exposure.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct QuarantineRule {
    /// First exposure date the rule applies to (`YYYY-MM-DD`).
    pub from: String,
    /// Days of quarantine (1 to 30).
    pub days: i64,
}

impl Config {
    /// Checks values that parse but make no sense.
    pub fn validate(&self) -> Result<(), String> {
        if !(0..=36_500).contains(&self.retention_days) {
            return Err(format!(
                "cases.retention_days must be 0 (keep) to 36500 (got {})",
                self.retention_days
            ));
        }
        self.messaging.validate()?;
        for rule in &self.quarantine_rules {
            if crate::model::Date::parse(&rule.from).is_none() || !(1..=30).contains(&rule.days) {
                return Err(format!(
                    "cases.quarantine_rules: from must be YYYY-MM-DD and days 1 to 30 (got {} / {})",
                    rule.from, rule.days
                ));
            }
        }
        Ok(())
    }
}

impl Default for Config {
    fn default() -> Self {
        Config {
            argon2_memory_kib: 19_456,
            argon2_iterations: 2,
            session_ttl_seconds: 8 * 3600,
            max_sign_in_failures_per_account: 10,
            max_sign_in_failures_per_client: 30,
            sign_in_failure_window_seconds: 900,
            max_onset_after_diagnosis_days: 3,
            max_page_size: 100,
            max_import_rows: 10_000,
            followup_days: 10,
            spo2_alert_threshold: 93,
            fever_threshold_celsius: 38.5,
            fever_alert_days: 3,
            missed_report_cutoff_minutes: 1440,
            utc_offset_minutes: 540,
            statistics_minimum_count: crate::service::SMALL_COUNT,
            quarantine_rules: vec![
                QuarantineRule {
                    from: "2020-01-01".into(),
                    days: 14,
                },
                QuarantineRule {
                    from: "2022-01-28".into(),
                    days: 10,
                },
                QuarantineRule {
                    from: "2022-07-22".into(),
                    days: 7,
                },
                QuarantineRule {
                    from: "2022-09-07".into(),
                    days: 5,
                },
            ],
            retention_days: 1095,
            messaging: MessagingConfig::default(),
        }
    }
}
