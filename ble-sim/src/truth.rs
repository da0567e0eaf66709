//! Ground truth: for every pair of people and every day, the true minutes spent within
//! 1 m, 1.5 m, 2 m (and, for the plots, 3 m and 5 m) of each other.
//!
//! Positions are sampled once per simulated minute, so a minute counts when the two
//! positions of that minute are within the distance. Pairs are unordered (`a < b`) and cover
//! everybody, app user or not. The store is sparse: only pair-days with at least one minute
//! within 5 m exist.

use std::collections::HashMap;

/// Upper distances (m) of the bands, cumulative: band i counts minutes with d ≤ BANDS_M[i].
pub const BANDS_M: [f64; 5] = [1.0, 1.5, 2.0, 3.0, 5.0];

/// The band index of a close-contact distance (1.0, 1.5 or 2.0 m).
pub fn band_of(distance_m: f64) -> Option<usize> {
    BANDS_M[..3]
        .iter()
        .position(|b| (b - distance_m).abs() < 1e-9)
}

/// Minutes per band for one pair on one day.
pub type Minutes = [u16; 5];

/// Adds one minute at distance `d` to `minutes`.
#[inline]
pub fn add_minute(minutes: &mut Minutes, d: f64) {
    for (i, b) in BANDS_M.iter().enumerate() {
        if d <= *b {
            minutes[i] = minutes[i].saturating_add(1);
        }
    }
}

/// One pair-day record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PairDay {
    /// Lower person index.
    pub a: u32,
    /// Higher person index.
    pub b: u32,
    /// Day index (0 = the scenario's first day).
    pub day: u16,
    /// Minutes per band ([`BANDS_M`]).
    pub minutes: Minutes,
}

/// The sparse pair × day table.
#[derive(Debug, Default, Clone)]
pub struct GroundTruth {
    records: Vec<PairDay>,
    index: HashMap<(u32, u32, u16), usize>,
}

impl GroundTruth {
    /// Adds minutes for a pair-day (merging with an existing record).
    pub fn add(&mut self, a: u32, b: u32, day: u16, minutes: Minutes) {
        let (a, b) = if a < b { (a, b) } else { (b, a) };
        match self.index.get(&(a, b, day)) {
            Some(&i) => {
                let m = &mut self.records[i].minutes;
                for (x, y) in m.iter_mut().zip(minutes) {
                    *x = x.saturating_add(y);
                }
            }
            None => {
                self.index.insert((a, b, day), self.records.len());
                self.records.push(PairDay { a, b, day, minutes });
            }
        }
    }

    /// Minutes of a pair-day (zeros when they never met).
    pub fn minutes(&self, a: u32, b: u32, day: u16) -> Minutes {
        let key = if a < b { (a, b, day) } else { (b, a, day) };
        self.index
            .get(&key)
            .map_or([0; 5], |&i| self.records[i].minutes)
    }

    /// Every record, in insertion order.
    pub fn records(&self) -> &[PairDay] {
        &self.records
    }

    /// Number of pair-days.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no pair ever met.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// The people `person` spent at least `minutes` within band `band` on `day`.
    pub fn contacts_of(&self, person: u32, day: u16, band: usize, minutes: u16) -> Vec<u32> {
        self.records
            .iter()
            .filter(|r| r.day == day && (r.a == person || r.b == person))
            .filter(|r| r.minutes[band] >= minutes)
            .map(|r| if r.a == person { r.b } else { r.a })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_cumulative_and_pairs_unordered() {
        let mut m = [0; 5];
        add_minute(&mut m, 0.9);
        add_minute(&mut m, 1.2);
        add_minute(&mut m, 4.0);
        add_minute(&mut m, 6.0);
        assert_eq!(m, [1, 2, 2, 2, 3]);
        let mut t = GroundTruth::default();
        t.add(5, 2, 0, m);
        t.add(2, 5, 0, m);
        assert_eq!(t.minutes(2, 5, 0), [2, 4, 4, 4, 6]);
        assert_eq!(t.minutes(5, 2, 1), [0; 5]);
        assert_eq!(t.contacts_of(5, 0, 0, 2), vec![2]);
        assert_eq!(band_of(1.5), Some(1));
        assert_eq!(band_of(3.0), None);
    }
}
