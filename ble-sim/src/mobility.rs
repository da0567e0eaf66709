//! Positions inside a place: desk grids, train seats, restaurant tables and open areas, and
//! the daily visits that schedules produce.

use rand::RngExt;

use crate::radio::Carriage;
use crate::scenario::{Assignment, Block, CarriageWeights, Days, Layout, Place, parse_clock};

/// A position in metres inside a place.
pub type Point = (f32, f32);

/// One stay of one person at one place instance on one day (minutes of the day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Visit {
    /// Global place-instance id.
    pub place: u32,
    /// Arrival minute (0–1439).
    pub start: u16,
    /// Departure minute (exclusive, ≤ 1440).
    pub end: u16,
    /// The person.
    pub person: u32,
}

/// The fixed seats of a layout (empty for open places).
pub fn seats(place: &Place) -> Vec<Point> {
    let (w, l) = (place.width_m as f32, place.length_m as f32);
    let mut out = Vec::new();
    match place.layout {
        Layout::Open => {}
        Layout::Desks => {
            let s = place.seat_spacing_m.unwrap_or(1.8) as f32;
            let cols = ((w / s).floor() as usize).max(1);
            let rows = ((l / s).floor() as usize).max(1);
            for r in 0..rows {
                for c in 0..cols {
                    out.push(((c as f32 + 0.5) * s, (r as f32 + 0.5) * s));
                }
            }
        }
        Layout::Seats => {
            let pitch = 0.9f32;
            let rows = ((l / pitch).floor() as usize).max(1);
            let xs = [0.45f32, 0.95, (w - 0.95).max(1.0), (w - 0.45).max(1.5)];
            for r in 0..rows {
                for x in xs {
                    out.push((x, (r as f32 + 0.5) * pitch));
                }
            }
        }
        Layout::Tables => {
            let s = place.seat_spacing_m.unwrap_or(2.5) as f32;
            let cols = ((w / s).floor() as usize).max(1);
            let rows = ((l / s).floor() as usize).max(1);
            for r in 0..rows {
                for c in 0..cols {
                    let (cx, cy) = ((c as f32 + 0.5) * s, (r as f32 + 0.5) * s);
                    out.extend([
                        (cx - 0.4, cy),
                        (cx + 0.4, cy),
                        (cx, cy - 0.4),
                        (cx, cy + 0.4),
                    ]);
                }
            }
        }
    }
    out
}

/// A uniformly random point in the place.
pub fn random_point<R: rand::Rng + ?Sized>(rng: &mut R, place: &Place) -> Point {
    (
        rng.random_range(0.0..place.width_m as f32),
        rng.random_range(0.0..place.length_m as f32),
    )
}

/// Draws a carriage position from weights.
pub fn draw_carriage<R: rand::Rng + ?Sized>(rng: &mut R, weights: &CarriageWeights) -> Carriage {
    let entries = weights.entries();
    let total: f64 = entries.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0.0..total.max(f64::MIN_POSITIVE));
    for (c, w) in entries {
        if x < w {
            return c;
        }
        x -= w;
    }
    Carriage::Pocket
}

/// Seat occupancy of one place instance during one day.
#[derive(Debug)]
pub struct SeatMap {
    positions: Vec<Point>,
    taken: Vec<bool>,
    layout: Layout,
}

impl SeatMap {
    /// The seats of `place`, all free.
    pub fn new(place: &Place) -> Self {
        let positions = seats(place);
        SeatMap {
            taken: vec![false; positions.len()],
            positions,
            layout: place.layout,
        }
    }

    /// Position of a seat.
    pub fn position(&self, seat: u32) -> Point {
        self.positions[seat as usize]
    }

    /// Frees a seat.
    pub fn release(&mut self, seat: u32) {
        if let Some(t) = self.taken.get_mut(seat as usize) {
            *t = false;
        }
    }

    fn take(&mut self, seat: usize) -> Option<u32> {
        self.taken[seat] = true;
        u32::try_from(seat).ok()
    }

    /// Chooses a seat for an arrival (`preferred` for people with a fixed desk), or `None`
    /// when the layout has no seats or all are taken (the person stands).
    pub fn choose<R: rand::Rng + ?Sized>(
        &mut self,
        rng: &mut R,
        preferred: Option<u64>,
    ) -> Option<u32> {
        let n = self.positions.len();
        if n == 0 {
            return None;
        }
        let free =
            |taken: &[bool], from: usize| (0..n).map(|k| (from + k) % n).find(|&i| !taken[i]);
        match self.layout {
            Layout::Open => None,
            Layout::Desks | Layout::Seats => {
                let from = match preferred {
                    Some(h) => (h % n as u64) as usize,
                    None => rng.random_range(0..n),
                };
                let seat = free(&self.taken, from)?;
                self.take(seat)
            }
            Layout::Tables => {
                let tables = n / 4;
                let partly: Vec<usize> = (0..tables)
                    .filter(|t| {
                        let s = &self.taken[t * 4..t * 4 + 4];
                        s.iter().any(|x| *x) && s.iter().any(|x| !*x)
                    })
                    .collect();
                let table = if !partly.is_empty() && rng.random_bool(0.6) {
                    Some(partly[rng.random_range(0..partly.len())])
                } else {
                    let empty: Vec<usize> = (0..tables)
                        .filter(|t| self.taken[t * 4..t * 4 + 4].iter().all(|x| !*x))
                        .collect();
                    (!empty.is_empty()).then(|| empty[rng.random_range(0..empty.len())])
                };
                let seat = match table {
                    Some(t) => (t * 4..t * 4 + 4).find(|&i| !self.taken[i]),
                    None => free(&self.taken, rng.random_range(0..n)),
                }?;
                self.take(seat)
            }
        }
    }
}

/// Whether block `days` applies to the weekday (0 = Monday).
pub fn applies(days: Days, weekday: u32) -> bool {
    match days {
        Days::All => true,
        Days::Weekdays => weekday < 5,
        Days::Weekends => weekday >= 5,
    }
}

/// A block resolved to minutes and a place instance for one person and day.
pub fn resolve_block<R: rand::Rng + ?Sized>(
    rng: &mut R,
    block: &Block,
    place_kind: usize,
    place_count: u32,
    fixed_instance: u32,
) -> Option<(usize, u32, u16, u16)> {
    if block.probability < 1.0 && !rng.random_bool(block.probability) {
        return None;
    }
    let start = i64::from(parse_clock(&block.start)?);
    let mut end = i64::from(parse_clock(&block.end)?);
    if end <= start {
        end = 1440;
    }
    let j = i64::from(block.jitter_minutes);
    let (s, e) = if j > 0 {
        (
            start + rng.random_range(-j..=j),
            end + rng.random_range(-j..=j),
        )
    } else {
        (start, end)
    };
    let s = s.clamp(0, 1440);
    let e = e.clamp(0, 1440);
    if e <= s {
        return None;
    }
    let instance = match block.assignment {
        Assignment::Fixed => fixed_instance,
        Assignment::Random => rng.random_range(0..place_count),
    };
    Some((place_kind, instance, s as u16, e as u16))
}
