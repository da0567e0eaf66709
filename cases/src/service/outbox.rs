//! Outbound messages: an outbox in the database with retries and delivery states, for
//! e-mail (SMTP) and SMS (a gateway, or the local recording provider). Templates in Japanese
//! and English come from [`mimamori_messaging`]: the processing number with the app's page,
//! the follow-up link, the daily reminder to people who have not reported, quarantine start
//! and end.
//!
//! **Invariants.** A message is acknowledged (202) only once it is stored; a replica that
//! dies mid-send leaves it `sending`, and after [`STALE_SENDING_MS`] another replica sends
//! it again (at least once). Opted-out recipients get nothing (checked when queued and when
//! sent). Nothing personal is logged: logs and metrics carry channels, templates and states,
//! never an address, a number or a text. Recipient and text are erased `keep_days` after a
//! message was handled.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use mimamori_messaging::{
    Channel, DeliveryError, EmailMessage, EmailTransport, HttpSmsConfig, HttpSmsProvider, Language,
    RecordingSmsProvider, SmsMessage, SmsProvider, SmtpConfig, SmtpSecurity, SmtpTransport,
    TemplateId,
};
use serde::{Deserialize, Serialize};

use super::followup::SubjectKind;
use super::{CaseError, CaseRegistry};
use crate::config::MessagingConfig;
use crate::model::{Access, Date, FieldError, Principal};
use crate::store::outbox::MessageRecord;

/// After this long in `sending` a message is taken to be lost with its replica and sent again.
pub const STALE_SENDING_MS: i64 = 5 * 60_000;

/// The first retry's delay; each further one doubles, up to [`MAX_BACKOFF_MS`].
const FIRST_BACKOFF_MS: i64 = 30_000;

/// The longest delay between attempts.
const MAX_BACKOFF_MS: i64 = 3_600_000;

/// How a replica reaches people.
#[derive(Clone, Default)]
pub struct Transports {
    /// E-mail, when an SMTP server is configured.
    pub email: Option<Arc<dyn EmailTransport>>,
    /// SMS, when a gateway (or the recording provider) is configured.
    pub sms: Option<Arc<dyn SmsProvider>>,
}

impl std::fmt::Debug for Transports {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transports")
            .field("email", &self.email.is_some())
            .field("sms", &self.sms.is_some())
            .finish()
    }
}

impl Transports {
    /// The transports `config` describes (none when nothing is configured).
    pub fn from_config(config: &MessagingConfig) -> Result<Transports, String> {
        let mut transports = Transports::default();
        if let Some(host) = &config.smtp_host {
            let mut smtp = SmtpConfig::plain(host, config.smtp_port, &config.smtp_from);
            smtp.security = match config.smtp_security.as_str() {
                "none" => SmtpSecurity::None,
                "tls" => SmtpSecurity::Tls,
                _ => SmtpSecurity::StartTls,
            };
            smtp.username = config.smtp_username.clone();
            smtp.password = config
                .smtp_password
                .as_ref()
                .map(|p| secrecy::SecretString::from(p.0.clone()));
            let transport = SmtpTransport::new(&smtp).map_err(|e| format!("smtp: {e}"))?;
            transports.email = Some(Arc::new(transport));
        }
        match config.sms_provider.as_str() {
            "http" => {
                let (Some(url), Some(token)) = (&config.sms_url, &config.sms_token) else {
                    return Err("sms_provider = http needs sms_url and sms_token".into());
                };
                let provider = HttpSmsProvider::new(&HttpSmsConfig {
                    url: url.clone(),
                    token: secrecy::SecretString::from(token.0.clone()),
                    timeout: std::time::Duration::from_secs(10),
                })
                .map_err(|e| format!("sms: {e}"))?;
                transports.sms = Some(Arc::new(provider));
            }
            "recording" => {
                transports.sms = Some(Arc::new(match &config.sms_record_file {
                    Some(path) => RecordingSmsProvider::with_file(path),
                    None => RecordingSmsProvider::new(),
                }));
            }
            _ => {}
        }
        Ok(transports)
    }
}

/// A channel of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageChannel {
    /// E-mail.
    Email,
    /// SMS.
    Sms,
}

impl MessageChannel {
    fn as_str(self) -> &'static str {
        match self {
            MessageChannel::Email => "email",
            MessageChannel::Sms => "sms",
        }
    }

    fn channel(self) -> Channel {
        match self {
            MessageChannel::Email => Channel::Email,
            MessageChannel::Sms => Channel::Sms,
        }
    }
}

/// What staff may send.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageTemplate {
    /// The processing number for the exposure-notification app (cases).
    ProcessingNumber,
    /// The follow-up link for daily reports.
    FollowUpLink,
    /// A reminder to report today.
    DailyReminder,
    /// Quarantine start (close contacts).
    QuarantineStart,
    /// Quarantine end (close contacts).
    QuarantineEnd,
}

impl MessageTemplate {
    fn id(self) -> TemplateId {
        match self {
            MessageTemplate::ProcessingNumber => TemplateId::ProcessingNumber,
            MessageTemplate::FollowUpLink => TemplateId::FollowUpLink,
            MessageTemplate::DailyReminder => TemplateId::DailyReminder,
            MessageTemplate::QuarantineStart => TemplateId::QuarantineStart,
            MessageTemplate::QuarantineEnd => TemplateId::QuarantineEnd,
        }
    }
}

/// A message's language.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MessageLanguage {
    /// Japanese.
    #[default]
    Ja,
    /// English.
    En,
}

impl MessageLanguage {
    fn language(self) -> Language {
        match self {
            MessageLanguage::Ja => Language::Ja,
            MessageLanguage::En => Language::En,
        }
    }
}

/// A message staff send to a case or contact. The recipient is the record's phone (SMS) or
/// e-mail address unless `to` is given; the text is the template's, filled from the record.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct SendRequest {
    /// Template.
    pub template: MessageTemplate,
    /// Channel.
    pub channel: MessageChannel,
    /// Language (default Japanese).
    #[serde(default)]
    pub language: MessageLanguage,
    /// Another phone number or address than the record's.
    #[serde(default)]
    #[schema(max_length = 254)]
    pub to: Option<String>,
    /// The processing number (template `processing_number`).
    #[serde(default)]
    #[schema(max_length = 16)]
    pub processing_number: Option<String>,
    /// Until when the number is valid, as shown (template `processing_number`).
    #[serde(default)]
    #[schema(max_length = 50)]
    pub valid_until: Option<String>,
}

/// An opt-out: this address or number gets no more messages.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OptOutRequest {
    /// Phone number or e-mail address.
    #[schema(min_length = 1, max_length = 254)]
    pub recipient: String,
}

/// A message as staff see it (the text and full address stay in the outbox).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MessageView {
    /// Id.
    pub id: String,
    /// Channel.
    pub channel: String,
    /// Template.
    pub template: String,
    /// The recipient with most characters hidden (`090-****-5678` → `+81******5678`).
    pub recipient: String,
    /// `queued`, `sending`, `sent`, `failed` or `suppressed`.
    pub state: String,
    /// Attempts so far.
    pub attempts: i64,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Queued at (Unix ms).
    pub created_at_ms: i64,
    /// Handed over at (Unix ms).
    pub sent_at_ms: Option<i64>,
}

/// What one delivery round did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct DeliveryReport {
    /// Handed to a server or gateway.
    pub sent: usize,
    /// Will be tried again.
    pub retried: usize,
    /// Given up (permanent failure or too many attempts).
    pub failed: usize,
    /// Not sent (opted out, channel gone).
    pub suppressed: usize,
}

/// The recipient with all but its last four characters hidden.
fn masked(recipient: &str) -> String {
    let chars: Vec<char> = recipient.chars().collect();
    let keep = chars.len().saturating_sub(4);
    chars
        .iter()
        .enumerate()
        .map(|(i, c)| {
            if i < keep && *c != '@' && *c != '+' {
                '*'
            } else {
                *c
            }
        })
        .collect()
}

/// The normalised form of a recipient: an E.164 number for SMS, a lower-cased address for
/// e-mail.
fn normalised_recipient(channel: MessageChannel, text: &str) -> Result<String, CaseError> {
    let invalid = |message: &str| {
        CaseError::Invalid(vec![FieldError {
            field: "to",
            message: message.into(),
        }])
    };
    match channel {
        MessageChannel::Sms => {
            mimamori_messaging::normalize_phone_jp(text).map_err(|_| invalid("not a phone number"))
        }
        MessageChannel::Email => {
            let address = text.trim().to_lowercase();
            let valid = address.len() <= 254
                && address
                    .split_once('@')
                    .is_some_and(|(local, domain)| !local.is_empty() && domain.contains('.'))
                && !address.chars().any(|c| c.is_whitespace() || c.is_control());
            if valid {
                Ok(address)
            } else {
                Err(invalid("not an e-mail address"))
            }
        }
    }
}

/// The keyed hash opt-outs and limits are kept under (no address or number stored there).
fn recipient_hash(recipient: &str) -> Vec<u8> {
    ring::digest::digest(
        &ring::digest::SHA256,
        format!("mimamori-recipient\0{recipient}").as_bytes(),
    )
    .as_ref()
    .to_vec()
}

/// The delay before attempt `attempts + 1`.
fn backoff_ms(attempts: i64) -> i64 {
    let shift = attempts.clamp(0, 20) as u32;
    FIRST_BACKOFF_MS
        .saturating_mul(1_i64 << shift)
        .min(MAX_BACKOFF_MS)
}

fn view(record: &MessageRecord) -> MessageView {
    MessageView {
        id: record.id.clone(),
        channel: record.channel.clone(),
        template: record.template.clone(),
        recipient: masked(&record.recipient),
        state: record.state.clone(),
        attempts: record.attempts,
        last_error: record.last_error.clone(),
        created_at_ms: record.created_at_ms,
        sent_at_ms: record.sent_at_ms,
    }
}

/// A subject's name, contact details and health center, read from its record.
struct Addressee {
    name: String,
    phone: Option<String>,
    email: Option<String>,
    health_center_id: String,
    period: Option<(String, String)>,
}

impl CaseRegistry {
    /// Sets how this replica sends messages.
    pub fn with_transports(mut self, transports: Transports) -> Self {
        self.transports = Arc::new(transports);
        self
    }

    async fn addressee(&self, kind: SubjectKind, id: &str) -> Result<Option<Addressee>, CaseError> {
        Ok(match kind {
            SubjectKind::Case => match self.store.case(id).await? {
                None => None,
                Some(record) => {
                    let data: serde_json::Value = serde_json::from_str(&record.data)
                        .map_err(|e| CaseError::Internal(format!("stored notification: {e}")))?;
                    let field = |key: &str| data[key].as_str().map(str::to_string);
                    let period = self
                        .followup
                        .plan(id)
                        .await?
                        .map(|plan| (plan.start_date, plan.end_date));
                    Some(Addressee {
                        name: record.name,
                        phone: field("phone"),
                        email: field("email"),
                        health_center_id: record.health_center_id,
                        period,
                    })
                }
            },
            SubjectKind::Contact => match self.contacts.contact_person(id).await? {
                None => None,
                Some(record) => {
                    let phones: Vec<String> =
                        serde_json::from_str(&record.phones).unwrap_or_default();
                    let period = record
                        .quarantine_start
                        .clone()
                        .zip(record.quarantine_end.clone());
                    Some(Addressee {
                        name: record.name,
                        phone: phones.into_iter().next(),
                        email: None,
                        health_center_id: record.health_center_id,
                        period,
                    })
                }
            },
        })
    }

    /// The address of a follow-up link.
    fn link_url(&self, token: &str) -> Result<String, CaseError> {
        let base =
            self.config
                .messaging
                .public_url
                .as_deref()
                .ok_or_else(|| CaseError::Unavailable {
                    code: "messaging_unavailable",
                    message: "cases.messaging.public_url is not set: links cannot be sent".into(),
                })?;
        Ok(format!("{}/console/r/{token}", base.trim_end_matches('/')))
    }

    /// Renders and queues one message from staff; an opted-out recipient or one at today's
    /// limit is 409.
    #[allow(clippy::too_many_arguments)]
    async fn queue_message(
        &self,
        actor: &str,
        kind: SubjectKind,
        subject_id: &str,
        addressee: &Addressee,
        template: MessageTemplate,
        channel: MessageChannel,
        language: MessageLanguage,
        recipient: &str,
        mut vars: BTreeMap<String, String>,
    ) -> Result<MessageRecord, CaseError> {
        let available = match channel {
            MessageChannel::Email => self.transports.email.is_some(),
            MessageChannel::Sms => self.transports.sms.is_some(),
        };
        if !available {
            return Err(CaseError::Unavailable {
                code: "messaging_unavailable",
                message: format!(
                    "no {} channel is configured (cases.messaging)",
                    channel.as_str()
                ),
            });
        }
        let hash = recipient_hash(recipient);
        let refuse = |code: &'static str, message: &str| {
            Err(CaseError::Conflict {
                code,
                message: message.into(),
            })
        };
        if self.outbox.opted_out(&hash).await? {
            return refuse("opted_out", "the recipient asked for no more messages");
        }
        let now = self.now_ms();
        if self
            .outbox
            .recipient_count_since(&hash, now - 86_400_000)
            .await?
            >= self.config.messaging.max_per_recipient_per_day
        {
            return refuse(
                "recipient_limit",
                "the recipient had the most messages a day already",
            );
        }
        let health_center = self
            .store
            .organization(&addressee.health_center_id)
            .await?
            .map(|org| org.name)
            .unwrap_or_default();
        vars.insert("name".into(), addressee.name.clone());
        vars.insert("health_center".into(), health_center);
        let rendered = mimamori_messaging::render(
            template.id(),
            language.language(),
            &vars,
            channel.channel(),
        )
        .map_err(|e| {
            CaseError::Invalid(vec![FieldError {
                field: "template",
                message: e.to_string(),
            }])
        })?;
        let record = MessageRecord {
            id: uuid::Uuid::new_v4().to_string(),
            channel: channel.as_str().into(),
            template: template.id().as_str().into(),
            language: language.language().as_str().into(),
            recipient: recipient.to_string(),
            recipient_hash: hash,
            subject: rendered.subject,
            body: rendered.body,
            list_unsubscribe: rendered.list_unsubscribe,
            subject_kind: Some(kind.as_str().into()),
            subject_id: Some(subject_id.to_string()),
            health_center_id: addressee.health_center_id.clone(),
            state: "queued".into(),
            attempts: 0,
            next_attempt_at_ms: now,
            last_error: None,
            provider_id: None,
            dedupe_key: None,
            created_by: actor.to_string(),
            created_at_ms: now,
            sent_at_ms: None,
        };
        if !self.outbox.enqueue(&record).await? {
            return Err(CaseError::Internal("a new message id was taken".into()));
        }
        self.audit(
            actor,
            "message.queue",
            &format!("{}:{subject_id}", kind.as_str()),
        )
        .await?;
        Ok(record)
    }

    /// Queues a message to a case or contact (a case worker of its health center); 202 once
    /// stored. Links in it are new follow-up links (the person's others keep working).
    pub async fn send_message(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
        request: SendRequest,
    ) -> Result<MessageView, CaseError> {
        let subject = self
            .writable_subject(principal, kind, id, "message.send")
            .await?;
        let addressee = self.addressee(kind, id).await?.ok_or(CaseError::NotFound)?;
        if addressee.name.is_empty() {
            return Err(CaseError::Conflict {
                code: "anonymised",
                message: "the record's personal data was removed (retention)".into(),
            });
        }
        let invalid = |field: &'static str, message: &str| {
            CaseError::Invalid(vec![FieldError {
                field,
                message: message.into(),
            }])
        };
        let on_record = match request.channel {
            MessageChannel::Sms => addressee.phone.clone(),
            MessageChannel::Email => addressee.email.clone(),
        };
        let recipient = normalised_recipient(
            request.channel,
            request
                .to
                .as_deref()
                .or(on_record.as_deref())
                .ok_or_else(|| {
                    invalid(
                        "to",
                        "the record has no phone number or address for this channel; give `to`",
                    )
                })?,
        )?;
        let mut vars = BTreeMap::new();
        match request.template {
            MessageTemplate::ProcessingNumber => {
                if kind != SubjectKind::Case {
                    return Err(invalid("template", "processing numbers are for cases"));
                }
                let number = request
                    .processing_number
                    .as_deref()
                    .filter(|n| {
                        (8..=16).contains(&n.len()) && n.bytes().all(|b| b.is_ascii_digit())
                    })
                    .ok_or_else(|| invalid("processingNumber", "8 to 16 digits"))?;
                vars.insert(
                    "app_link".into(),
                    self.config.messaging.app_link.replace("{number}", number),
                );
                vars.insert("processing_number".into(), number.to_string());
                vars.insert(
                    "valid_until".into(),
                    request.valid_until.clone().ok_or_else(|| {
                        invalid("validUntil", "required with a processing number")
                    })?,
                );
            }
            MessageTemplate::FollowUpLink
            | MessageTemplate::DailyReminder
            | MessageTemplate::QuarantineStart => {
                if subject.closed {
                    return Err(CaseError::Forbidden);
                }
                let token = self
                    .extra_followup_token(id)
                    .await?
                    .ok_or(CaseError::Conflict {
                        code: "no_plan",
                        message: "set a follow-up plan first".into(),
                    })?;
                vars.insert("link".into(), self.link_url(&token.token)?);
                vars.insert("date".into(), self.local_today().to_string());
            }
            MessageTemplate::QuarantineEnd => {}
        }
        if matches!(
            request.template,
            MessageTemplate::QuarantineStart | MessageTemplate::QuarantineEnd
        ) {
            if kind != SubjectKind::Contact {
                return Err(invalid(
                    "template",
                    "quarantine messages are for close contacts",
                ));
            }
            let (start, end) = addressee.period.clone().ok_or(CaseError::Conflict {
                code: "no_quarantine",
                message: "start the quarantine first".into(),
            })?;
            vars.insert("start_date".into(), start);
            vars.insert("end_date".into(), end);
        }
        let record = self
            .queue_message(
                &principal.actor,
                kind,
                id,
                &addressee,
                request.template,
                request.channel,
                request.language,
                &recipient,
                vars,
            )
            .await?;
        Ok(view(&record))
    }

    /// A case's or contact's messages, newest first (whoever may read it).
    pub async fn messages(
        &self,
        principal: &Principal,
        kind: SubjectKind,
        id: &str,
    ) -> Result<Vec<MessageView>, CaseError> {
        match kind {
            SubjectKind::Case => {
                self.case_for(principal, id, Access::Read, "message.list")
                    .await?;
            }
            SubjectKind::Contact => {
                self.contact_for(principal, id, Access::Read, "message.list")
                    .await?;
            }
        }
        Ok(self
            .outbox
            .messages_of(id)
            .await?
            .iter()
            .map(view)
            .collect())
    }

    /// Records that a phone number or address wants no more messages (a case worker, when
    /// the person asks). Audited without the recipient.
    pub async fn opt_out(
        &self,
        principal: &Principal,
        request: OptOutRequest,
    ) -> Result<(), CaseError> {
        if !crate::model::permits(principal, Access::Write) {
            return Err(CaseError::Forbidden);
        }
        let channel = if request.recipient.contains('@') {
            MessageChannel::Email
        } else {
            MessageChannel::Sms
        };
        let recipient = normalised_recipient(channel, &request.recipient)?;
        self.outbox
            .opt_out(&recipient_hash(&recipient), self.now_ms())
            .await?;
        self.audit(&principal.actor, "message.opt_out", "recipient")
            .await?;
        Ok(())
    }

    /// The holder of a follow-up link opts out of messages to the record's phone and address.
    pub async fn link_opt_out(&self, token: &str) -> Result<(), CaseError> {
        let subject_id = self
            .followup
            .followup_token_case(&super::secrets::token_hash(token), self.now_ms())
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        let kind = match self.followup.plan(&subject_id).await? {
            Some(plan) => SubjectKind::parse(&plan.subject_kind),
            None => return Err(CaseError::Unauthenticated),
        };
        let addressee = self
            .addressee(kind, &subject_id)
            .await?
            .ok_or(CaseError::Unauthenticated)?;
        let now = self.now_ms();
        for (channel, recipient) in [
            (MessageChannel::Sms, addressee.phone),
            (MessageChannel::Email, addressee.email),
        ] {
            if let Some(Ok(recipient)) = recipient.map(|r| normalised_recipient(channel, &r)) {
                self.outbox
                    .opt_out(&recipient_hash(&recipient), now)
                    .await?;
            }
        }
        self.audit(
            "followup_link",
            "message.opt_out",
            &format!("{}:{subject_id}", kind.as_str()),
        )
        .await?;
        Ok(())
    }

    /// Queues today's reminder for everyone with an open follow-up plan who has not
    /// reported today, once the configured local time has passed: by SMS to the record's
    /// phone, else by e-mail, with a new follow-up link (their other links keep working).
    /// Once per subject and day (a dedupe key), so every replica may run it; opted-out
    /// recipients and those at their daily limit are skipped. Set-based: four queries, then
    /// the messages and their links in transactions of 1,000; one audit entry for the round.
    /// Returns how many were queued.
    pub async fn queue_daily_reminders(&self) -> Result<usize, CaseError> {
        let Some(minutes) = self.config.messaging.reminder_minutes() else {
            return Ok(0);
        };
        if self.transports.sms.is_none() && self.transports.email.is_none() {
            return Ok(0);
        }
        let now = self.now_ms();
        let offset = self.config.utc_offset_minutes;
        let today = self.local_today();
        if now < (today.days * 1440 + minutes - offset) * 60_000 {
            return Ok(0);
        }
        let day = today.to_string();
        let candidates = self.outbox.reminder_candidates(&day).await?;
        if candidates.is_empty() {
            return Ok(0);
        }
        let opted_out: HashSet<Vec<u8>> =
            self.outbox.opted_out_hashes().await?.into_iter().collect();
        let mut sent_today: HashMap<Vec<u8>, i64> = self
            .outbox
            .recipient_counts_since(now - 86_400_000)
            .await?
            .into_iter()
            .collect();
        let mut health_centers: HashMap<String, String> = HashMap::new();
        let mut batch = Vec::new();
        for candidate in candidates {
            if candidate.closed || candidate.name.is_empty() {
                continue;
            }
            let (phone, email) = if candidate.subject_kind == "contact" {
                let phones: Vec<String> =
                    serde_json::from_str(&candidate.details).unwrap_or_default();
                (phones.into_iter().next(), None)
            } else {
                let data: serde_json::Value =
                    serde_json::from_str(&candidate.details).unwrap_or_default();
                let field = |key: &str| data[key].as_str().map(str::to_string);
                (field("phone"), field("email"))
            };
            let reachable = [(MessageChannel::Sms, phone), (MessageChannel::Email, email)]
                .into_iter()
                .filter(|(channel, _)| match channel {
                    MessageChannel::Sms => self.transports.sms.is_some(),
                    MessageChannel::Email => self.transports.email.is_some(),
                })
                .filter_map(|(channel, recipient)| {
                    Some((channel, normalised_recipient(channel, &recipient?).ok()?))
                })
                .find(|(_, recipient)| {
                    let hash = recipient_hash(recipient);
                    !opted_out.contains(&hash)
                        && sent_today.get(&hash).copied().unwrap_or(0)
                            < self.config.messaging.max_per_recipient_per_day
                });
            let Some((channel, recipient)) = reachable else {
                continue;
            };
            let Some(end) = Date::parse(&candidate.end_date) else {
                continue;
            };
            // The link works to the end of the plan's last local day.
            let expires_at_ms = (end.days + 1) * 86_400_000 - offset * 60_000;
            let token = super::secrets::new_token("mfu_")
                .map_err(|_| CaseError::Internal("randomness".into()))?;
            if !health_centers.contains_key(&candidate.health_center_id) {
                let name = self
                    .store
                    .organization(&candidate.health_center_id)
                    .await?
                    .map(|org| org.name)
                    .unwrap_or_default();
                health_centers.insert(candidate.health_center_id.clone(), name);
            }
            let mut vars = BTreeMap::new();
            vars.insert("name".into(), candidate.name.clone());
            vars.insert(
                "health_center".into(),
                health_centers[&candidate.health_center_id].clone(),
            );
            vars.insert("link".into(), self.link_url(&token)?);
            vars.insert("date".into(), day.clone());
            let Ok(rendered) = mimamori_messaging::render(
                TemplateId::DailyReminder,
                Language::Ja,
                &vars,
                channel.channel(),
            ) else {
                continue;
            };
            let hash = recipient_hash(&recipient);
            *sent_today.entry(hash.clone()).or_default() += 1;
            batch.push((
                MessageRecord {
                    id: uuid::Uuid::new_v4().to_string(),
                    channel: channel.as_str().into(),
                    template: TemplateId::DailyReminder.as_str().into(),
                    language: Language::Ja.as_str().into(),
                    recipient,
                    recipient_hash: hash,
                    subject: rendered.subject,
                    body: rendered.body,
                    list_unsubscribe: rendered.list_unsubscribe,
                    subject_kind: Some(candidate.subject_kind.clone()),
                    subject_id: Some(candidate.subject_id.clone()),
                    health_center_id: candidate.health_center_id.clone(),
                    state: "queued".into(),
                    attempts: 0,
                    next_attempt_at_ms: now,
                    last_error: None,
                    provider_id: None,
                    dedupe_key: Some(format!("reminder:{}:{day}", candidate.subject_id)),
                    created_by: "system".into(),
                    created_at_ms: now,
                    sent_at_ms: None,
                },
                super::secrets::token_hash(&token),
                expires_at_ms,
            ));
        }
        let queued = self.outbox.enqueue_with_tokens(&batch).await?;
        if queued > 0 {
            self.audit(
                "system",
                "message.reminders",
                &format!("reminders:{day}:{queued}"),
            )
            .await?;
        }
        Ok(queued)
    }

    /// Sends due messages (at most `limit`): each claimed by one replica, handed to its
    /// channel, then `sent`, retried later with back-off, or `failed`.
    pub async fn deliver_due(&self, limit: i64) -> Result<DeliveryReport, CaseError> {
        let mut report = DeliveryReport::default();
        let now = self.now_ms();
        for mut message in self.outbox.claim_due(now, STALE_SENDING_MS, limit).await? {
            let outcome = if self.outbox.opted_out(&message.recipient_hash).await? {
                Err(DeliveryError::permanent("opted out"))
            } else {
                match message.channel.as_str() {
                    "email" => match &self.transports.email {
                        Some(transport) => {
                            let mut email = EmailMessage::new(
                                &message.recipient,
                                message.subject.as_deref().unwrap_or_default(),
                                &message.body,
                            );
                            email.list_unsubscribe = message.list_unsubscribe.clone();
                            transport.send(&email).await
                        }
                        None => Err(DeliveryError::permanent("no e-mail channel")),
                    },
                    _ => match &self.transports.sms {
                        Some(provider) => {
                            provider
                                .send(
                                    &SmsMessage::new(&message.recipient, &message.body)
                                        .with_reference(&message.id),
                                )
                                .await
                        }
                        None => Err(DeliveryError::permanent("no SMS channel")),
                    },
                }
            };
            let finished = self.now_ms();
            message.attempts += 1;
            match outcome {
                Ok(receipt) => {
                    message.state = "sent".into();
                    message.sent_at_ms = Some(finished);
                    message.provider_id = receipt.provider_id;
                    message.last_error = None;
                    report.sent += 1;
                }
                Err(error) if error.reason() == "opted out" => {
                    message.state = "suppressed".into();
                    message.last_error = Some("opted out".into());
                    report.suppressed += 1;
                }
                Err(error)
                    if error.is_retryable()
                        && message.attempts < self.config.messaging.max_attempts =>
                {
                    message.state = "queued".into();
                    let delay = error
                        .retry_after()
                        .map(|d| i64::try_from(d.as_millis()).unwrap_or(MAX_BACKOFF_MS))
                        .unwrap_or_else(|| backoff_ms(message.attempts - 1));
                    message.next_attempt_at_ms = finished + delay.clamp(1_000, MAX_BACKOFF_MS);
                    message.last_error = Some(error.to_string());
                    report.retried += 1;
                }
                Err(error) => {
                    message.state = "failed".into();
                    message.last_error = Some(error.to_string());
                    report.failed += 1;
                }
            }
            tracing::info!(
                channel = %message.channel,
                template = %message.template,
                state = %message.state,
                attempts = message.attempts,
                "message attempt"
            );
            self.outbox.finish_attempt(&message).await?;
        }
        let erased = self
            .outbox
            .erase_handled(now - self.config.messaging.keep_days * 86_400_000)
            .await?;
        if erased > 0 {
            tracing::info!(
                erased,
                "outbox: recipients and texts of old messages erased"
            );
        }
        Ok(report)
    }

    /// Messages per round of [`CaseRegistry::deliver_due`] every 5 seconds to keep
    /// `sends_per_minute`.
    pub fn sends_per_round(&self) -> i64 {
        (self.config.messaging.sends_per_minute / 12).max(1)
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn recipients_are_masked_and_backoff_doubles_to_an_hour() {
        assert_eq!(super::masked("+819012345678"), "+********5678");
        assert_eq!(super::masked("abc"), "abc");
        assert_eq!(super::backoff_ms(0), 30_000);
        assert_eq!(super::backoff_ms(1), 60_000);
        assert_eq!(super::backoff_ms(10), 3_600_000);
        assert_eq!(super::backoff_ms(100), 3_600_000);
    }
}
