//! Pure rules and types of the case registry: organizations, roles, scope, case statuses, the
//! notification of occurrence and its validation, dates, TOTP and secret tokens.

use serde::{Deserialize, Serialize};

pub mod contacts;
pub mod duplicates;
pub mod followup;

/// What an organization is; decides which cases its users see.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrgKind {
    /// The national ministry (statistics only).
    National,
    /// A prefecture (sees its health centers' cases).
    Prefecture,
    /// A health center, in one prefecture (sees the cases of its jurisdiction).
    HealthCenter,
    /// A clinic or hospital (sees the cases it reported).
    MedicalInstitution,
    /// A follow-up contractor: sees and works only the follow-up (plan, observations,
    /// series, alerts) of cases whose plan delegates to it; never the case record itself.
    Contractor,
}

impl OrgKind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            OrgKind::National => "national",
            OrgKind::Prefecture => "prefecture",
            OrgKind::HealthCenter => "health_center",
            OrgKind::MedicalInstitution => "medical_institution",
            OrgKind::Contractor => "contractor",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<OrgKind> {
        Some(match s {
            "national" => OrgKind::National,
            "prefecture" => OrgKind::Prefecture,
            "health_center" => OrgKind::HealthCenter,
            "medical_institution" => OrgKind::MedicalInstitution,
            "contractor" => OrgKind::Contractor,
            _ => return None,
        })
    }
}

/// A user's role inside their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Manages the organization's users and API keys.
    OrgAdmin,
    /// Handles cases (health centers; read-only at prefectures).
    CaseWorker,
    /// Files notifications of occurrence (medical institutions).
    Doctor,
    /// Reads statistics only.
    StatisticsViewer,
}

impl Role {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::OrgAdmin => "org_admin",
            Role::CaseWorker => "case_worker",
            Role::Doctor => "doctor",
            Role::StatisticsViewer => "statistics_viewer",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        Some(match s {
            "org_admin" => Role::OrgAdmin,
            "case_worker" => Role::CaseWorker,
            "doctor" => Role::Doctor,
            "statistics_viewer" => Role::StatisticsViewer,
            _ => return None,
        })
    }

    /// Roles as stored: comma separated.
    pub fn join(roles: &[Role]) -> String {
        roles
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Parses a stored role list (unknown names are dropped).
    pub fn split(s: &str) -> Vec<Role> {
        s.split(',').filter_map(Role::parse).collect()
    }
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    /// Id.
    pub id: String,
    /// Kind.
    pub kind: OrgKind,
    /// Display name.
    pub name: String,
    /// The prefecture a health center belongs to, or the health center a medical institution
    /// reports to by default.
    pub parent_id: Option<String>,
}

/// Who is acting: a signed-in user or an API key, with their organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// `user:<id>` or `apikey:<id>` (as written to the audit log).
    pub actor: String,
    /// The user's id (None for API keys).
    pub user_id: Option<String>,
    /// The organization.
    pub organization: Organization,
    /// Roles (API keys of kind admin act as case workers of their organization).
    pub roles: Vec<Role>,
}

impl Principal {
    /// Whether the principal holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }
}

/// Where a case belongs, for scope decisions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseScope {
    /// The health center of jurisdiction.
    pub health_center_id: String,
    /// That health center's prefecture.
    pub prefecture_id: String,
    /// The organization that filed the notification.
    pub reporting_org_id: String,
}

/// What a principal may do with a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read the case.
    Read,
    /// Change the case (status, contacts, links, processing numbers).
    Write,
}

/// Whether the case lies inside the principal's organization's scope at all (outside: 404).
pub fn in_scope(principal: &Principal, case: &CaseScope) -> bool {
    let org = &principal.organization;
    match org.kind {
        OrgKind::MedicalInstitution => case.reporting_org_id == org.id,
        OrgKind::HealthCenter => case.health_center_id == org.id,
        OrgKind::Prefecture => case.prefecture_id == org.id,
        OrgKind::National | OrgKind::Contractor => false,
    }
}

/// Whether the principal's roles allow `access` to an in-scope case (otherwise 403).
pub fn permits(principal: &Principal, access: Access) -> bool {
    match (principal.organization.kind, access) {
        (OrgKind::HealthCenter, _) => principal.has(Role::CaseWorker),
        (OrgKind::Prefecture, Access::Read) => principal.has(Role::CaseWorker),
        (OrgKind::MedicalInstitution, Access::Read) => {
            principal.has(Role::Doctor) || principal.has(Role::CaseWorker)
        }
        _ => false,
    }
}

/// The status of a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CaseStatus {
    /// Filed, not yet accepted by the health center.
    Reported,
    /// Accepted by the health center.
    Accepted,
    /// In home care.
    HomeCare,
    /// In hotel care.
    HotelCare,
    /// In hospital.
    Hospitalized,
    /// In hospital needing intensive care: ICU, ventilator or ECMO.
    IcuVentilator,
    /// Recovered (final).
    Recovered,
    /// Deceased (final).
    Deceased,
}

impl CaseStatus {
    /// Every status, in the order of a case's course.
    pub const ALL: [CaseStatus; 8] = [
        CaseStatus::Reported,
        CaseStatus::Accepted,
        CaseStatus::HomeCare,
        CaseStatus::HotelCare,
        CaseStatus::Hospitalized,
        CaseStatus::IcuVentilator,
        CaseStatus::Recovered,
        CaseStatus::Deceased,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            CaseStatus::Reported => "reported",
            CaseStatus::Accepted => "accepted",
            CaseStatus::HomeCare => "home_care",
            CaseStatus::HotelCare => "hotel_care",
            CaseStatus::Hospitalized => "hospitalized",
            CaseStatus::IcuVentilator => "icu_ventilator",
            CaseStatus::Recovered => "recovered",
            CaseStatus::Deceased => "deceased",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<CaseStatus> {
        Some(match s {
            "reported" => CaseStatus::Reported,
            "accepted" => CaseStatus::Accepted,
            "home_care" => CaseStatus::HomeCare,
            "hotel_care" => CaseStatus::HotelCare,
            "hospitalized" => CaseStatus::Hospitalized,
            "icu_ventilator" => CaseStatus::IcuVentilator,
            "recovered" => CaseStatus::Recovered,
            "deceased" => CaseStatus::Deceased,
            _ => return None,
        })
    }

    /// Whether a case may move from `self` to `next`.
    pub fn can_become(self, next: CaseStatus) -> bool {
        use CaseStatus::*;
        match self {
            Reported => next == Accepted,
            Accepted | HomeCare | HotelCare | Hospitalized | IcuVentilator => {
                !matches!(next, Reported | Accepted) && next != self
            }
            Recovered => next == Deceased,
            Deceased => false,
        }
    }
}

/// A calendar date (proleptic Gregorian), stored as `YYYY-MM-DD`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Date {
    /// Days since 1970-01-01.
    pub days: i64,
}

impl Date {
    /// Parses `YYYY-MM-DD` strictly.
    pub fn parse(s: &str) -> Option<Date> {
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return None;
        }
        let year: i64 = s.get(0..4)?.parse().ok()?;
        let month: u32 = s.get(5..7)?.parse().ok()?;
        let day: u32 = s.get(8..10)?.parse().ok()?;
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return None;
        }
        Some(Date {
            days: days_from_civil(year, month, day),
        })
    }

    /// The UTC day containing `ms` (Unix milliseconds).
    pub fn from_unix_ms(ms: i64) -> Date {
        Date {
            days: ms.div_euclid(86_400_000),
        }
    }

    /// Seconds since the epoch at this day's UTC midnight.
    pub fn unix_seconds(self) -> i64 {
        self.days * 86_400
    }

    /// The GAEN interval number (10-minute periods) at this day's UTC midnight.
    pub fn en_interval(self) -> Option<u32> {
        u32::try_from(self.unix_seconds() / 600).ok()
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (y, m, d) = civil_from_days(self.days);
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: u32) -> u32 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

// Howard Hinnant's algorithms.
fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// An optional whole number that may be written `98` or `98.0` (JSON Schema's `integer`
/// admits both, and so do some clients); a fraction or a number out of the type's range is
/// refused.
pub(crate) fn whole_number<'de, D, T>(deserializer: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: TryFrom<i64>,
{
    let number: Option<serde_json::Number> = Deserialize::deserialize(deserializer)?;
    let Some(number) = number else {
        return Ok(None);
    };
    let whole = match (number.as_i64(), number.as_f64()) {
        (Some(whole), _) => Some(whole),
        // Below 2^53 every whole f64 is exact, so the cast loses nothing.
        (None, Some(f)) if f.fract() == 0.0 && f.abs() < 9.0e15 => Some(f as i64),
        _ => None,
    };
    whole
        .and_then(|w| T::try_from(w).ok())
        .map(Some)
        .ok_or_else(|| serde::de::Error::custom(format!("{number} is not a whole number in range")))
}

/// The notification of occurrence (the data items of a case; required ones non-optional).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Notification {
    /// Patient's name.
    pub name: String,
    /// Name in kana.
    #[serde(default)]
    pub kana: Option<String>,
    /// Sex.
    #[serde(default)]
    pub sex: Option<String>,
    /// Date of birth.
    #[serde(default)]
    pub date_of_birth: Option<String>,
    /// Age in years.
    #[serde(default, deserialize_with = "whole_number")]
    #[schema(maximum = 150)]
    pub age: Option<u32>,
    /// Address.
    #[serde(default)]
    pub address: Option<String>,
    /// Phone.
    #[serde(default)]
    pub phone: Option<String>,
    /// E-mail.
    #[serde(default)]
    pub email: Option<String>,
    /// Workplace.
    #[serde(default)]
    pub workplace: Option<String>,
    /// Nationality.
    #[serde(default)]
    pub nationality: Option<String>,
    /// Whether elderly or vulnerable family live with the patient.
    pub vulnerable_household: bool,
    /// The receiving health center (organization id).
    pub health_center_id: String,
    /// The receiving municipality.
    pub municipality: String,
    /// The reporting doctor.
    #[serde(default)]
    pub reporting_doctor: Option<String>,
    /// Test result date.
    pub result_date: String,
    /// Test result.
    #[serde(default)]
    pub test_result: Option<String>,
    /// Whether the test was administrative.
    #[serde(default)]
    pub administrative_test: Option<bool>,
    /// Specimen sampling date.
    #[serde(default)]
    pub sampling_date: Option<String>,
    /// Test method.
    #[serde(default)]
    pub test_method: Option<String>,
    /// Diagnosis date.
    pub diagnosis_date: String,
    /// Symptom onset date; `null` when asymptomatic.
    pub onset_date: Option<String>,
    /// Whether admitted.
    pub admitted: bool,
    /// Hospital and ward.
    #[serde(default)]
    pub hospital: Option<String>,
    /// In ICU.
    pub icu: bool,
    /// On a ventilator.
    pub ventilator: bool,
    /// On ECMO.
    pub ecmo: bool,
    /// Outcome so far (e.g. "under treatment").
    pub outcome: String,
    /// Underlying conditions.
    #[serde(default)]
    pub underlying_conditions: Option<String>,
    /// Whether linked to another case.
    pub linked_to_other_case: bool,
    /// Estimated place of infection.
    #[serde(default)]
    pub estimated_place_of_infection: Option<String>,
    /// Report date.
    pub report_date: String,
    /// Post-mortem examination.
    pub post_mortem: bool,
    /// Symptoms at diagnosis.
    pub symptoms_at_diagnosis: Vec<String>,
    /// Diagnosis method.
    pub diagnosis_method: String,
    /// Specimen type.
    pub specimen_type: String,
    /// Infection route.
    pub infection_route: String,
    /// Infection area.
    pub infection_area: String,
    /// Whether the route is confirmed (else estimated).
    pub infection_confirmed: bool,
}

/// A field that failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldError {
    /// The JSON field name.
    pub field: &'static str,
    /// What is wrong.
    pub message: String,
}

/// Plausibility bounds for dates.
#[derive(Debug, Clone, Copy)]
pub struct DateRules {
    /// Today (UTC).
    pub today: Date,
    /// How many days onset may lie after diagnosis.
    pub max_onset_after_diagnosis_days: i64,
}

impl Notification {
    /// Checks required fields and dates; returns every problem found.
    pub fn validate(&self, rules: DateRules) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        let mut required = |field: &'static str, value: &str| {
            if value.trim().is_empty() {
                errors.push(FieldError {
                    field,
                    message: "required".into(),
                });
            }
        };
        required("name", &self.name);
        required("healthCenterId", &self.health_center_id);
        required("municipality", &self.municipality);
        required("outcome", &self.outcome);
        required("diagnosisMethod", &self.diagnosis_method);
        required("specimenType", &self.specimen_type);
        required("infectionRoute", &self.infection_route);
        required("infectionArea", &self.infection_area);
        let mut date = |field: &'static str, value: Option<&str>| -> Option<Date> {
            let value = value?;
            match Date::parse(value) {
                None => {
                    errors.push(FieldError {
                        field,
                        message: "not a date (YYYY-MM-DD)".into(),
                    });
                    None
                }
                Some(d) if d > rules.today => {
                    errors.push(FieldError {
                        field,
                        message: "in the future".into(),
                    });
                    None
                }
                Some(d) if d.days < Date::parse("1900-01-01").map_or(0, |x| x.days) => {
                    errors.push(FieldError {
                        field,
                        message: "implausibly early".into(),
                    });
                    None
                }
                Some(d) => Some(d),
            }
        };
        date("dateOfBirth", self.date_of_birth.as_deref());
        date("resultDate", Some(&self.result_date));
        date("samplingDate", self.sampling_date.as_deref());
        date("reportDate", Some(&self.report_date));
        let diagnosis = date("diagnosisDate", Some(&self.diagnosis_date));
        let onset = date("onsetDate", self.onset_date.as_deref());
        if let (Some(onset), Some(diagnosis)) = (onset, diagnosis)
            && onset.days - diagnosis.days > rules.max_onset_after_diagnosis_days
        {
            errors.push(FieldError {
                field: "onsetDate",
                message: format!(
                    "more than {} days after the diagnosis date",
                    rules.max_onset_after_diagnosis_days
                ),
            });
        }
        if let Some(age) = self.age
            && age > 130
        {
            errors.push(FieldError {
                field: "age",
                message: "implausible".into(),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }
}

/// Random secrets, their storage hashes and TOTP.
pub mod secrets {
    use base64::Engine as _;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use ring::rand::SecureRandom as _;

    /// `n` random bytes from the system CSPRNG.
    pub fn random_bytes(n: usize) -> Result<Vec<u8>, ring::error::Unspecified> {
        let mut out = vec![0u8; n];
        ring::rand::SystemRandom::new().fill(&mut out)?;
        Ok(out)
    }

    /// A random opaque token: `prefix` + base64url(32 random bytes).
    pub fn new_token(prefix: &str) -> Result<String, ring::error::Unspecified> {
        Ok(format!(
            "{prefix}{}",
            URL_SAFE_NO_PAD.encode(random_bytes(32)?)
        ))
    }

    /// SHA-256 of a high-entropy token, as stored (never the token itself).
    pub fn token_hash(token: &str) -> Vec<u8> {
        ring::digest::digest(&ring::digest::SHA256, token.as_bytes())
            .as_ref()
            .to_vec()
    }

    /// A random password of 20 characters from an unambiguous alphabet.
    pub fn new_password() -> Result<String, ring::error::Unspecified> {
        const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
        Ok(random_bytes(20)?
            .iter()
            .map(|b| ALPHABET[usize::from(*b) % ALPHABET.len()] as char)
            .collect())
    }

    const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

    /// RFC 4648 base32 without padding (the form authenticator apps take).
    pub fn base32_encode(bytes: &[u8]) -> String {
        let mut out = String::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for &b in bytes {
            buffer = (buffer << 8) | u32::from(b);
            bits += 8;
            while bits >= 5 {
                out.push(BASE32[((buffer >> (bits - 5)) & 31) as usize] as char);
                bits -= 5;
            }
        }
        if bits > 0 {
            out.push(BASE32[((buffer << (5 - bits)) & 31) as usize] as char);
        }
        out
    }

    /// Decodes base32 (case-insensitive, padding and spaces ignored).
    pub fn base32_decode(text: &str) -> Option<Vec<u8>> {
        let mut out = Vec::new();
        let (mut buffer, mut bits) = (0u32, 0u32);
        for c in text.chars().filter(|c| *c != '=' && *c != ' ') {
            let v = BASE32
                .iter()
                .position(|x| *x as char == c.to_ascii_uppercase())?;
            buffer = (buffer << 5) | v as u32;
            bits += 5;
            if bits >= 8 {
                out.push(((buffer >> (bits - 8)) & 0xff) as u8);
                bits -= 8;
            }
        }
        Some(out)
    }

    /// The TOTP step length in seconds (RFC 6238 default).
    pub const TOTP_STEP_SECONDS: i64 = 30;

    /// The 6-digit TOTP (RFC 6238, HMAC-SHA1) of `secret` for time step `step`.
    pub fn totp_at_step(secret: &[u8], step: i64) -> String {
        let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA1_FOR_LEGACY_USE_ONLY, secret);
        let tag = ring::hmac::sign(&key, &step.to_be_bytes());
        let t = tag.as_ref();
        let offset = usize::from(t[19] & 0x0f);
        let code = (u32::from(t[offset] & 0x7f) << 24)
            | (u32::from(t[offset + 1]) << 16)
            | (u32::from(t[offset + 2]) << 8)
            | u32::from(t[offset + 3]);
        format!("{:06}", code % 1_000_000)
    }

    /// The TOTP of `secret` at Unix time `now_seconds`.
    pub fn totp(secret: &[u8], now_seconds: i64) -> String {
        totp_at_step(secret, now_seconds.div_euclid(TOTP_STEP_SECONDS))
    }

    /// The time step whose code equals `code` within ±1 step of `now_seconds`, compared in
    /// constant time; the caller refuses steps not newer than the last one used (replay).
    pub fn totp_match(secret: &[u8], code: &str, now_seconds: i64) -> Option<i64> {
        use subtle::ConstantTimeEq as _;
        let now_step = now_seconds.div_euclid(TOTP_STEP_SECONDS);
        let mut found = None;
        for step in [now_step - 1, now_step, now_step + 1] {
            let expected = totp_at_step(secret, step);
            if bool::from(expected.as_bytes().ct_eq(code.as_bytes())) {
                found = Some(step);
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_round_trip() {
        for s in ["1970-01-01", "2000-02-29", "2026-11-21", "1900-03-01"] {
            assert_eq!(Date::parse(s).unwrap().to_string(), s);
        }
        for s in ["2021-02-29", "2021-13-01", "2021-1-01", "x", "2021-04-31"] {
            assert!(Date::parse(s).is_none(), "{s}");
        }
        assert_eq!(
            Date::parse("2020-06-01").unwrap().unix_seconds(),
            1_590_969_600
        );
    }

    #[test]
    fn totp_rfc6238_vectors() {
        // RFC 6238 appendix B (SHA-1, secret "12345678901234567890"), last six digits.
        let secret = b"12345678901234567890";
        assert_eq!(secrets::totp(secret, 59), "287082");
        assert_eq!(secrets::totp(secret, 1_111_111_109), "081804");
        assert_eq!(secrets::totp(secret, 2_000_000_000), "279037");
        assert_eq!(secrets::totp_match(secret, "287082", 59 + 30), Some(1));
        assert_eq!(secrets::totp_match(secret, "287082", 59 + 90), None);
        let encoded = secrets::base32_encode(secret);
        assert_eq!(encoded, "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert_eq!(secrets::base32_decode(&encoded).unwrap(), secret);
    }

    #[test]
    fn status_transitions() {
        assert!(CaseStatus::Reported.can_become(CaseStatus::Accepted));
        assert!(!CaseStatus::Reported.can_become(CaseStatus::HomeCare));
        assert!(CaseStatus::Accepted.can_become(CaseStatus::HotelCare));
        assert!(!CaseStatus::Deceased.can_become(CaseStatus::Recovered));
    }

    fn scope_principal(kind: OrgKind, id: &str, roles: &[Role]) -> Principal {
        Principal {
            actor: "user:x".into(),
            user_id: Some("x".into()),
            organization: Organization {
                id: id.into(),
                kind,
                name: id.into(),
                parent_id: None,
            },
            roles: roles.to_vec(),
        }
    }

    #[test]
    fn scope_rules() {
        let case = CaseScope {
            health_center_id: "hc".into(),
            prefecture_id: "pref".into(),
            reporting_org_id: "clinic".into(),
        };
        let w = [Role::CaseWorker];
        assert!(in_scope(
            &scope_principal(OrgKind::HealthCenter, "hc", &w),
            &case
        ));
        assert!(!in_scope(
            &scope_principal(OrgKind::HealthCenter, "hc2", &w),
            &case
        ));
        assert!(in_scope(
            &scope_principal(OrgKind::Prefecture, "pref", &w),
            &case
        ));
        assert!(in_scope(
            &scope_principal(OrgKind::MedicalInstitution, "clinic", &[Role::Doctor]),
            &case
        ));
        assert!(!in_scope(
            &scope_principal(OrgKind::National, "n", &w),
            &case
        ));
        let pref = scope_principal(OrgKind::Prefecture, "pref", &w);
        assert!(permits(&pref, Access::Read) && !permits(&pref, Access::Write));
    }
}
