//! Pure rules of health follow-up: observations and their validation, alert kinds and their
//! evaluation, local report days and the SVG chart.

use serde::{Deserialize, Serialize};

use super::{Date, FieldError};

/// The standard symptoms of the observation sheet (absent means "no").
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Symptoms {
    /// Cough.
    pub cough: bool,
    /// Shortness of breath (opens a `breathing_difficulty` alert).
    pub shortness_of_breath: bool,
    /// Chest pain.
    pub chest_pain: bool,
    /// Fatigue.
    pub fatigue: bool,
    /// Loss of taste or smell.
    pub taste_smell_loss: bool,
    /// Sore throat.
    pub sore_throat: bool,
    /// Runny nose.
    pub runny_nose: bool,
    /// Headache.
    pub headache: bool,
    /// Diarrhoea.
    pub diarrhea: bool,
    /// Nausea or vomiting.
    pub nausea: bool,
    /// Muscle or joint pain.
    pub muscle_pain: bool,
    /// Confusion or drowsiness.
    pub confusion: bool,
}

/// One health report as posted by the patient, a family member or staff.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ObservationInput {
    /// Body temperature in °C (30–45).
    #[serde(default)]
    #[schema(minimum = 30, maximum = 45)]
    pub temperature: Option<f64>,
    /// SpO2 in percent (50–100).
    #[serde(default, deserialize_with = "crate::model::whole_number")]
    #[schema(minimum = 50, maximum = 100)]
    pub spo2: Option<i64>,
    /// Pulse per minute (20–250).
    #[serde(default, deserialize_with = "crate::model::whole_number")]
    #[schema(minimum = 20, maximum = 250)]
    pub pulse: Option<i64>,
    /// Symptoms.
    #[serde(default)]
    pub symptoms: Symptoms,
    /// Free text (at most 2000 characters).
    #[serde(default)]
    #[schema(max_length = 2000)]
    pub note: Option<String>,
}

/// The largest free-text note.
pub const MAX_NOTE_CHARS: usize = 2000;

impl ObservationInput {
    /// Rejects impossible values; returns every problem found.
    pub fn validate(&self) -> Result<(), Vec<FieldError>> {
        let mut errors = Vec::new();
        if let Some(t) = self.temperature
            && !(t.is_finite() && (30.0..=45.0).contains(&t))
        {
            errors.push(FieldError {
                field: "temperature",
                message: "body temperature must be between 30 and 45 °C".into(),
            });
        }
        if let Some(s) = self.spo2
            && !(50..=100).contains(&s)
        {
            errors.push(FieldError {
                field: "spo2",
                message: "SpO2 must be between 50 and 100 %".into(),
            });
        }
        if let Some(p) = self.pulse
            && !(20..=250).contains(&p)
        {
            errors.push(FieldError {
                field: "pulse",
                message: "pulse must be between 20 and 250 per minute".into(),
            });
        }
        if let Some(note) = &self.note
            && note.chars().count() > MAX_NOTE_CHARS
        {
            errors.push(FieldError {
                field: "note",
                message: format!("at most {MAX_NOTE_CHARS} characters"),
            });
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(errors)
        }
    }

    /// The temperature in tenths of a degree, as stored.
    pub fn temperature_tenths(&self) -> Option<i64> {
        self.temperature.map(|t| (t * 10.0).round() as i64)
    }
}

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertKind {
    /// SpO2 at or below the threshold.
    LowSpo2,
    /// Shortness of breath reported.
    BreathingDifficulty,
    /// Fever on consecutive days.
    PersistentFever,
    /// No report by the cut-off of a day.
    MissedReport,
}

impl AlertKind {
    /// Every kind.
    pub const ALL: [AlertKind; 4] = [
        AlertKind::LowSpo2,
        AlertKind::BreathingDifficulty,
        AlertKind::PersistentFever,
        AlertKind::MissedReport,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertKind::LowSpo2 => "low_spo2",
            AlertKind::BreathingDifficulty => "breathing_difficulty",
            AlertKind::PersistentFever => "persistent_fever",
            AlertKind::MissedReport => "missed_report",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<AlertKind> {
        AlertKind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// How urgent this kind is.
    pub fn severity(self) -> Severity {
        match self {
            AlertKind::LowSpo2 | AlertKind::BreathingDifficulty => Severity::High,
            AlertKind::PersistentFever => Severity::Medium,
            AlertKind::MissedReport => Severity::Low,
        }
    }
}

/// How urgent an alert is; worklists sort by it, highest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Can wait for the next call round.
    Low,
    /// Call today.
    Medium,
    /// Call now.
    High,
}

impl Severity {
    /// Every severity, lowest first.
    pub const ALL: [Severity; 3] = [Severity::Low, Severity::Medium, Severity::High];

    /// The stored rank (higher is more urgent).
    pub fn rank(self) -> i64 {
        match self {
            Severity::Low => 1,
            Severity::Medium => 2,
            Severity::High => 3,
        }
    }

    /// From a stored rank.
    pub fn from_rank(rank: i64) -> Option<Severity> {
        Severity::ALL.into_iter().find(|s| s.rank() == rank)
    }

    /// The name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
        }
    }
}

/// The state of an alert: open → acknowledged → resolved (or open → resolved).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertState {
    /// Nobody has looked at it yet.
    Open,
    /// Someone took it on.
    Acknowledged,
    /// Done.
    Resolved,
}

impl AlertState {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AlertState::Open => "open",
            AlertState::Acknowledged => "acknowledged",
            AlertState::Resolved => "resolved",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<AlertState> {
        Some(match s {
            "open" => AlertState::Open,
            "acknowledged" => AlertState::Acknowledged,
            "resolved" => AlertState::Resolved,
            _ => return None,
        })
    }

    /// Whether an alert may move from `self` to `next`.
    pub fn can_become(self, next: AlertState) -> bool {
        matches!(
            (self, next),
            (AlertState::Open, AlertState::Acknowledged)
                | (AlertState::Open, AlertState::Resolved)
                | (AlertState::Acknowledged, AlertState::Resolved)
        )
    }
}

/// Alert thresholds (from the configuration).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AlertRules {
    /// SpO2 at or below this opens `low_spo2`.
    pub spo2_threshold: i64,
    /// Fever at or above this, in tenths of a degree.
    pub fever_tenths: i64,
    /// Consecutive fever days for `persistent_fever`.
    pub fever_days: i64,
}

/// A stored reading reduced to what alert evaluation needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reading {
    /// The local report day.
    pub day: Date,
    /// Temperature in tenths of a degree.
    pub temperature_tenths: Option<i64>,
}

/// The alerts a new observation on `day` opens, given every reading of the case (including
/// the new one): `(kind, detail)`; the detail holds values only, never personal data.
pub fn evaluate(
    rules: AlertRules,
    day: Date,
    input: &ObservationInput,
    readings: &[Reading],
) -> Vec<(AlertKind, String)> {
    let mut out = Vec::new();
    if let Some(spo2) = input.spo2
        && spo2 <= rules.spo2_threshold
    {
        out.push((
            AlertKind::LowSpo2,
            format!("SpO2 {spo2} % (threshold {} %)", rules.spo2_threshold),
        ));
    }
    if input.symptoms.shortness_of_breath {
        out.push((
            AlertKind::BreathingDifficulty,
            "shortness of breath reported".into(),
        ));
    }
    let feverish = |d: Date| {
        readings.iter().any(|r| {
            r.day == d
                && r.temperature_tenths
                    .is_some_and(|t| t >= rules.fever_tenths)
        })
    };
    if rules.fever_days > 0 && (0..rules.fever_days).all(|i| feverish(Date { days: day.days - i }))
    {
        out.push((
            AlertKind::PersistentFever,
            format!(
                "temperature at or above {:.1} °C on {} consecutive days",
                rules.fever_tenths as f64 / 10.0,
                rules.fever_days
            ),
        ));
    }
    out
}

/// The local report day containing `ms` (Unix ms) at `offset_minutes` from UTC.
pub fn local_day(ms: i64, offset_minutes: i64) -> Date {
    Date::from_unix_ms(ms + offset_minutes * 60_000)
}

/// Unix ms of the local midnight starting `day`.
pub fn local_midnight_ms(day: Date, offset_minutes: i64) -> i64 {
    day.days * 86_400_000 - offset_minutes * 60_000
}

/// Parses reporting times `HH:MM` (00:00–23:59), sorted and without duplicates; at most 6.
pub fn parse_reporting_times(times: &[String]) -> Result<Vec<String>, FieldError> {
    let error = || FieldError {
        field: "reportingTimes",
        message: "1 to 6 times of day as HH:MM".into(),
    };
    if times.is_empty() || times.len() > 6 {
        return Err(error());
    }
    let mut out = Vec::new();
    for t in times {
        let b = t.as_bytes();
        let ok = b.len() == 5
            && b[2] == b':'
            && t.get(0..2)
                .and_then(|h| h.parse::<u8>().ok())
                .is_some_and(|h| h < 24)
            && t.get(3..5)
                .and_then(|m| m.parse::<u8>().ok())
                .is_some_and(|m| m < 60)
            && b[0].is_ascii_digit()
            && b[3].is_ascii_digit();
        if !ok {
            return Err(error());
        }
        out.push(t.clone());
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// One day of a case's series.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct DayPoint {
    /// The local day (`YYYY-MM-DD`).
    pub date: String,
    /// Highest temperature of the day (°C).
    pub max_temperature: Option<f64>,
    /// Lowest SpO2 of the day (%).
    pub min_spo2: Option<i64>,
    /// Reports that day.
    pub reports: i64,
}

pub(crate) fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An SVG chart of temperature (top) and SpO2 (bottom) per day, with the alert thresholds
/// drawn as dashed red lines. Holds dates and values only (no names).
pub fn chart_svg(points: &[DayPoint], rules: AlertRules, title: &str) -> String {
    use std::fmt::Write as _;
    const W: f64 = 720.0;
    const LEFT: f64 = 60.0;
    const RIGHT: f64 = 20.0;
    let n = points.len().max(1);
    let x = |i: usize| {
        if n == 1 {
            LEFT + (W - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1) as f64
        }
    };
    // (top, height, min, max) of each panel.
    let temp_panel = (40.0, 150.0, 35.0, 42.0);
    let spo2_panel = (240.0, 150.0, 80.0, 100.0);
    let y = |panel: (f64, f64, f64, f64), v: f64| {
        let (top, height, min, max) = panel;
        top + height * (1.0 - ((v.clamp(min, max) - min) / (max - min)))
    };
    let mut s = String::new();
    let _ = write!(
        s,
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="430" viewBox="0 0 {W} 430" font-family="sans-serif" font-size="11"><title>{}</title><rect width="100%" height="100%" fill="#fff"/>"##,
        escape(title)
    );
    for (panel, label, unit, threshold, ticks) in [
        (
            temp_panel,
            "Temperature",
            "°C",
            rules.fever_tenths as f64 / 10.0,
            [35.0, 37.0, 39.0, 41.0],
        ),
        (
            spo2_panel,
            "SpO2",
            "%",
            rules.spo2_threshold as f64,
            [80.0, 85.0, 90.0, 95.0],
        ),
    ] {
        let (top, height, _, _) = panel;
        let _ = write!(
            s,
            r##"<text x="{LEFT}" y="{}" font-weight="bold">{label} ({unit})</text><rect x="{LEFT}" y="{top}" width="{}" height="{height}" fill="none" stroke="#999"/>"##,
            top - 8.0,
            W - LEFT - RIGHT
        );
        for t in ticks {
            let _ = write!(
                s,
                r##"<text x="{}" y="{:.1}" text-anchor="end">{t}</text>"##,
                LEFT - 6.0,
                y(panel, t) + 4.0
            );
        }
        let ty = y(panel, threshold);
        let _ = write!(
            s,
            r##"<line class="threshold" x1="{LEFT}" x2="{}" y1="{ty:.1}" y2="{ty:.1}" stroke="#d00" stroke-dasharray="6 4"/><text x="{}" y="{:.1}" fill="#d00" text-anchor="end">alert {threshold} {unit}</text>"##,
            W - RIGHT,
            W - RIGHT - 4.0,
            ty - 4.0
        );
    }
    for (panel, color, values) in [
        (
            temp_panel,
            "#e67e22",
            points.iter().map(|p| p.max_temperature).collect::<Vec<_>>(),
        ),
        (
            spo2_panel,
            "#2e86c1",
            points
                .iter()
                .map(|p| p.min_spo2.map(|v| v as f64))
                .collect(),
        ),
    ] {
        let coords: Vec<String> = values
            .iter()
            .enumerate()
            .filter_map(|(i, v)| v.map(|v| format!("{:.1},{:.1}", x(i), y(panel, v))))
            .collect();
        if !coords.is_empty() {
            let _ = write!(
                s,
                r##"<polyline fill="none" stroke="{color}" stroke-width="2" points="{}"/>"##,
                coords.join(" ")
            );
        }
        for (i, v) in values.iter().enumerate() {
            if let Some(v) = v {
                let _ = write!(
                    s,
                    r##"<circle cx="{:.1}" cy="{:.1}" r="3" fill="{color}"><title>{} {v}</title></circle>"##,
                    x(i),
                    y(panel, *v),
                    escape(&points[i].date)
                );
            }
        }
    }
    for (i, p) in points.iter().enumerate() {
        let _ = write!(
            s,
            r##"<text x="{:.1}" y="412" text-anchor="middle">{}</text>"##,
            x(i),
            escape(p.date.get(5..).unwrap_or(&p.date))
        );
    }
    s.push_str("</svg>");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(temperature: Option<f64>, spo2: Option<i64>) -> ObservationInput {
        ObservationInput {
            temperature,
            spo2,
            pulse: None,
            symptoms: Symptoms::default(),
            note: None,
        }
    }

    const RULES: AlertRules = AlertRules {
        spo2_threshold: 93,
        fever_tenths: 385,
        fever_days: 3,
    };

    #[test]
    fn impossible_values_are_rejected() {
        assert!(input(Some(36.5), Some(97)).validate().is_ok());
        assert!(input(Some(30.0), Some(50)).validate().is_ok());
        let errors = input(Some(29.9), Some(101)).validate().unwrap_err();
        let fields: Vec<_> = errors.iter().map(|e| e.field).collect();
        assert_eq!(fields, ["temperature", "spo2"]);
        assert!(input(Some(45.1), None).validate().is_err());
        assert!(input(Some(f64::NAN), None).validate().is_err());
        assert!(input(None, Some(49)).validate().is_err());
    }

    #[test]
    fn alerts_follow_the_thresholds() {
        let d = |days| Date { days };
        let mut i = input(Some(36.5), Some(93));
        assert_eq!(evaluate(RULES, d(10), &i, &[])[0].0, AlertKind::LowSpo2);
        i.spo2 = Some(94);
        assert!(evaluate(RULES, d(10), &i, &[]).is_empty());
        i.symptoms.shortness_of_breath = true;
        assert_eq!(
            evaluate(RULES, d(10), &i, &[])[0].0,
            AlertKind::BreathingDifficulty
        );
        let fever = |days, t| Reading {
            day: d(days),
            temperature_tenths: Some(t),
        };
        let i = input(Some(38.5), None);
        let two = [fever(9, 390), fever(10, 385)];
        assert!(evaluate(RULES, d(10), &i, &two).is_empty());
        let gap = [fever(8, 390), fever(9, 370), fever(10, 385)];
        assert!(evaluate(RULES, d(10), &i, &gap).is_empty());
        let three = [fever(8, 390), fever(9, 370), fever(9, 386), fever(10, 385)];
        assert_eq!(
            evaluate(RULES, d(10), &i, &three)[0].0,
            AlertKind::PersistentFever
        );
    }

    #[test]
    fn states_and_days() {
        assert!(AlertState::Open.can_become(AlertState::Acknowledged));
        assert!(AlertState::Acknowledged.can_become(AlertState::Resolved));
        assert!(!AlertState::Resolved.can_become(AlertState::Open));
        assert!(!AlertState::Acknowledged.can_become(AlertState::Acknowledged));
        // 2026-11-20T15:00Z is already the 21st in Japan.
        let ms = Date::parse("2026-11-20").unwrap().days * 86_400_000 + 15 * 3_600_000;
        assert_eq!(local_day(ms, 540).to_string(), "2026-11-21");
        assert_eq!(local_midnight_ms(local_day(ms, 540), 540), ms);
        assert_eq!(
            parse_reporting_times(&["17:00".into(), "09:00".into()]).unwrap(),
            ["09:00", "17:00"]
        );
        assert!(parse_reporting_times(&["24:00".into()]).is_err());
        assert!(parse_reporting_times(&[]).is_err());
    }

    #[test]
    fn chart_draws_thresholds_and_points() {
        let points = vec![
            DayPoint {
                date: "2026-11-20".into(),
                max_temperature: Some(37.2),
                min_spo2: Some(97),
                reports: 1,
            },
            DayPoint {
                date: "2026-11-21".into(),
                max_temperature: None,
                min_spo2: Some(92),
                reports: 1,
            },
        ];
        let svg = chart_svg(&points, RULES, "Follow-up <chart>");
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        assert_eq!(svg.matches("class=\"threshold\"").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(svg.contains("&lt;chart&gt;"));
    }
}
