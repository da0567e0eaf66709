//! Close contacts: their status machine and the quarantine period (pure rules).

use serde::{Deserialize, Serialize};

use super::Date;
use crate::config::QuarantineRule;

/// Where a close contact stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ContactStatus {
    /// Found by the investigation; not yet in quarantine.
    Identified,
    /// In quarantine, with daily health follow-up.
    Quarantined,
    /// Quarantine ended without illness.
    Completed,
    /// Tested positive: now a case (`convertedCaseId`).
    Converted,
    /// Could not be reached any more.
    Lost,
    /// Refused quarantine or follow-up.
    Refused,
}

impl ContactStatus {
    /// Every status.
    pub const ALL: [ContactStatus; 6] = [
        ContactStatus::Identified,
        ContactStatus::Quarantined,
        ContactStatus::Completed,
        ContactStatus::Converted,
        ContactStatus::Lost,
        ContactStatus::Refused,
    ];

    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            ContactStatus::Identified => "identified",
            ContactStatus::Quarantined => "quarantined",
            ContactStatus::Completed => "completed",
            ContactStatus::Converted => "converted",
            ContactStatus::Lost => "lost",
            ContactStatus::Refused => "refused",
        }
    }

    /// The status of a stored name.
    pub fn parse(name: &str) -> Option<ContactStatus> {
        ContactStatus::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether the contact is still followed (not in a final status).
    pub fn is_open(self) -> bool {
        matches!(self, ContactStatus::Identified | ContactStatus::Quarantined)
    }

    /// Whether staff may move a contact from `self` to `next` by a status change.
    /// `converted` is reached only by converting (which files the case).
    pub fn can_become(self, next: ContactStatus) -> bool {
        use ContactStatus::*;
        matches!(
            (self, next),
            (Identified, Quarantined | Lost | Refused)
                | (Quarantined, Completed | Lost | Refused)
                | (Lost, Quarantined)
                | (Refused, Quarantined)
        )
    }
}

/// A quarantine: first and last day (inclusive) and the rule's length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quarantine {
    /// The day after the last exposure.
    pub start: Date,
    /// The last day of quarantine.
    pub end: Date,
    /// The rule's number of days.
    pub days: i64,
}

/// The quarantine after a last exposure on `last_exposure`: the rule with the latest `from`
/// on or before that date, counted from the next day. `None` when no rule covers the date.
pub fn quarantine_after(rules: &[QuarantineRule], last_exposure: Date) -> Option<Quarantine> {
    let days = rules
        .iter()
        .filter_map(|rule| Date::parse(&rule.from).map(|from| (from, rule.days)))
        .filter(|(from, _)| *from <= last_exposure)
        .max_by_key(|(from, _)| *from)
        .map(|(_, days)| days)?;
    Some(Quarantine {
        start: Date {
            days: last_exposure.days + 1,
        },
        end: Date {
            days: last_exposure.days + days,
        },
        days,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn the_rule_in_force_on_the_exposure_date_applies() {
        let rules = crate::config::Config::default().quarantine_rules;
        // Before 2022-01-28: 14 days from the day after.
        let q = quarantine_after(&rules, date("2021-08-01")).unwrap();
        assert_eq!(
            (q.start, q.end, q.days),
            (date("2021-08-02"), date("2021-08-15"), 14)
        );
        assert_eq!(
            quarantine_after(&rules, date("2022-01-28")).unwrap().days,
            10
        );
        assert_eq!(
            quarantine_after(&rules, date("2022-07-21")).unwrap().days,
            10
        );
        assert_eq!(
            quarantine_after(&rules, date("2022-07-22")).unwrap().days,
            7
        );
        let q = quarantine_after(&rules, date("2026-11-18")).unwrap();
        assert_eq!((q.start, q.end), (date("2026-11-19"), date("2026-11-23")));
        assert_eq!(
            quarantine_after(&rules, date("2019-12-31")),
            None,
            "before any rule"
        );
    }

    #[test]
    fn statuses_move_only_forward_except_a_second_chance() {
        use ContactStatus::*;
        assert!(Identified.can_become(Quarantined));
        assert!(Quarantined.can_become(Completed));
        assert!(Lost.can_become(Quarantined), "found again");
        assert!(!Completed.can_become(Quarantined));
        assert!(!Quarantined.can_become(Converted), "only by converting");
        assert!(!Converted.can_become(Identified));
        for status in ContactStatus::ALL {
            assert_eq!(ContactStatus::parse(status.as_str()), Some(status));
        }
    }
}
