//! The simulation engine: population set-up, daily schedules, minute-by-minute positions per
//! place instance, ground truth, scans and sightings, and the optional transmission model.
//!
//! Place instances are independent within a day (a person is in at most one place at a
//! time), so every (place instance, day) is simulated on its own with its own seeded
//! generator, in parallel, and merged in a fixed order: the result does not depend on the
//! number of threads. Only pairs in the same place at the same time interact; large rooms
//! use a 5-m grid for the pair search.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use rand::RngExt;
use rayon::prelude::*;

use crate::mobility::{self, Point, SeatMap, Visit};
use crate::protocol::{self, KeyStore, Phone, RawSighting, purpose, rng_for};
use crate::radio::{Carriage, Encounter, PhoneRadio, RadioModel};
use crate::scenario::{Assignment, DAY_SECONDS, Layout, Scenario};
use crate::truth::{self, GroundTruth, Minutes};

/// A person.
#[derive(Debug, Clone)]
pub struct Person {
    /// Index into the scenario's schedules.
    pub schedule: u16,
    /// Their phone, when they use the app.
    pub phone: Option<u32>,
    /// Fixed instance per place kind (`u32::MAX` when unused).
    pub fixed: Vec<u32>,
}

/// Why and when someone is infected.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Infection {
    /// The person.
    pub person: u32,
    /// Seconds since the start (negative: before the simulation).
    pub time: i64,
    /// Who infected them (`None` for index cases).
    pub infector: Option<u32>,
    /// Symptom onset, seconds since the start.
    pub onset: i64,
}

/// The simulated world before the days run.
#[derive(Debug)]
pub struct World {
    /// The scenario.
    pub scenario: Scenario,
    /// Start as UNIX seconds.
    pub start_unix: u64,
    /// Everybody.
    pub people: Vec<Person>,
    /// App phones.
    pub phones: Vec<Phone>,
    /// First global instance id of each place kind.
    pub place_offsets: Vec<u32>,
    /// Calibration error drawn per phone model (dB).
    pub model_errors: Vec<f64>,
    /// Index cases.
    pub index_cases: Vec<Infection>,
}

/// A standard normal draw (Box–Muller), for the few draws made here.
fn normal<R: rand::Rng + ?Sized>(rng: &mut R) -> f64 {
    let u1: f64 = rng.random_range(f64::MIN_POSITIVE..1.0);
    let u2: f64 = rng.random::<f64>();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

fn weighted<R: rand::Rng + ?Sized>(rng: &mut R, weights: &[f64]) -> usize {
    let total: f64 = weights.iter().sum();
    let mut x = rng.random_range(0.0..total.max(f64::MIN_POSITIVE));
    for (i, w) in weights.iter().enumerate() {
        if x < *w {
            return i;
        }
        x -= w;
    }
    weights.len() - 1
}

impl World {
    /// Creates the population, phones, fixed assignments and index cases.
    pub fn new(scenario: Scenario) -> Self {
        let seed = scenario.seed;
        let mut rng = rng_for(&[seed, purpose::POPULATION]);
        let pop = &scenario.population;
        let model_errors: Vec<f64> = pop
            .phone_models
            .iter()
            .map(|m| {
                m.calibration_error_db
                    .unwrap_or_else(|| normal(&mut rng) * pop.calibration_error_sigma_db)
            })
            .collect();
        let schedule_shares: Vec<f64> = scenario.schedules.iter().map(|s| s.share).collect();
        let model_shares: Vec<f64> = pop.phone_models.iter().map(|m| m.share).collect();
        let mut people = Vec::with_capacity(pop.size as usize);
        let mut phones = Vec::new();
        for p in 0..pop.size {
            let schedule = weighted(&mut rng, &schedule_shares) as u16;
            let phone = if rng.random_bool(pop.app_uptake) {
                let model = weighted(&mut rng, &model_shares);
                let m = &pop.phone_models[model];
                phones.push(Phone {
                    person: p,
                    model: model as u16,
                    radio: PhoneRadio {
                        tx_power_dbm: m.tx_power_dbm,
                        rssi_correction_db: m.rssi_correction_db,
                        calibration_error_db: model_errors[model],
                    },
                });
                Some((phones.len() - 1) as u32)
            } else {
                None
            };
            people.push(Person {
                schedule,
                phone,
                fixed: vec![u32::MAX; scenario.places.len()],
            });
        }
        // Fixed assignments: members of each place kind, shuffled, dealt round-robin.
        for (k, place) in scenario.places.iter().enumerate() {
            let mut members: Vec<u32> = (0..pop.size)
                .filter(|&p| {
                    scenario.schedules[people[p as usize].schedule as usize]
                        .blocks
                        .iter()
                        .any(|b| b.place == place.name && b.assignment == Assignment::Fixed)
                })
                .collect();
            for i in (1..members.len()).rev() {
                let j = rng.random_range(0..=i);
                members.swap(i, j);
            }
            for (i, p) in members.into_iter().enumerate() {
                people[p as usize].fixed[k] = (i as u32) % place.count;
            }
        }
        let mut place_offsets = Vec::with_capacity(scenario.places.len());
        let mut offset = 0u32;
        for place in &scenario.places {
            place_offsets.push(offset);
            offset += place.count;
        }
        // Index cases.
        let epi = &scenario.epidemic;
        let mut rng = rng_for(&[seed, purpose::CASES]);
        let mut candidates: Vec<u32> = (0..pop.size)
            .filter(|&p| !epi.index_cases_use_app || people[p as usize].phone.is_some())
            .collect();
        let mut index_cases = Vec::new();
        for _ in 0..epi.index_cases {
            if candidates.is_empty() {
                break;
            }
            let i = rng.random_range(0..candidates.len());
            let person = candidates.swap_remove(i);
            let [lo, hi] = epi.index_onset_days;
            let onset_days = if hi > lo {
                rng.random_range(lo..=hi)
            } else {
                lo
            };
            let onset = (onset_days * DAY_SECONDS as f64) as i64;
            index_cases.push(Infection {
                person,
                time: onset - (epi.incubation_days * DAY_SECONDS as f64) as i64,
                infector: None,
                onset,
            });
        }
        index_cases.sort_by_key(|c| c.person);
        let start_unix = scenario.start_unix();
        World {
            scenario,
            start_unix,
            people,
            phones,
            place_offsets,
            model_errors,
            index_cases,
        }
    }

    /// The place kind of a global instance id.
    pub fn place_kind(&self, instance: u32) -> usize {
        self.place_offsets.partition_point(|&o| o <= instance) - 1
    }

    /// Weekday of a day index (0 = Monday).
    pub fn weekday(&self, day: u16) -> u32 {
        // 1970-01-01 was a Thursday (3).
        ((self.start_unix / DAY_SECONDS + u64::from(day) + 3) % 7) as u32
    }

    /// Everybody's visits on `day`, sorted by place, start and person.
    pub fn visits(&self, day: u16) -> Vec<Visit> {
        let seed = self.scenario.seed;
        let weekday = self.weekday(day);
        let mut visits: Vec<Visit> = (0..self.people.len() as u32)
            .into_par_iter()
            .flat_map_iter(|p| {
                let person = &self.people[p as usize];
                let mut rng = rng_for(&[seed, purpose::SCHEDULE, u64::from(p), u64::from(day)]);
                let schedule = &self.scenario.schedules[person.schedule as usize];
                let mut stays: Vec<(u16, u16, u32)> = Vec::new();
                for block in &schedule.blocks {
                    if !mobility::applies(block.days, weekday) {
                        continue;
                    }
                    let Some(kind) = self
                        .scenario
                        .places
                        .iter()
                        .position(|x| x.name == block.place)
                    else {
                        continue;
                    };
                    let place = &self.scenario.places[kind];
                    let fixed = person.fixed[kind].min(place.count - 1);
                    if let Some((kind, instance, s, e)) =
                        mobility::resolve_block(&mut rng, block, kind, place.count, fixed)
                    {
                        stays.push((s, e, self.place_offsets[kind] + instance));
                    }
                }
                stays.sort_unstable();
                // A later start cuts the stay before it short.
                let mut out = Vec::with_capacity(stays.len());
                for i in 0..stays.len() {
                    let (s, mut e, place) = stays[i];
                    if let Some(next) = stays.get(i + 1) {
                        e = e.min(next.0);
                    }
                    if let Some(prev) = out.last() {
                        let prev: &Visit = prev;
                        if s < prev.end {
                            continue;
                        }
                    }
                    if e > s {
                        out.push(Visit {
                            place,
                            start: s,
                            end: e,
                            person: p,
                        });
                    }
                }
                out
            })
            .collect();
        visits.par_sort_unstable();
        visits
    }
}

/// Cheap hasher for small integer keys.
#[derive(Default)]
struct FxHasher(u64);

impl Hasher for FxHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 =
                (self.0.rotate_left(5) ^ u64::from(*b)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
        }
    }
    fn write_u32(&mut self, i: u32) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u64(&mut self, i: u64) {
        self.0 = (self.0.rotate_left(5) ^ i).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

type FastMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// Infection state at the start of a day.
#[derive(Debug, Clone, Copy, Default)]
struct Health {
    /// Infected before (or at) the day start.
    infected: bool,
    /// Infectious interval, seconds since the start.
    infectious: Option<(i64, i64)>,
}

/// What one place instance produced on one day.
#[derive(Debug, Default)]
struct PlaceDay {
    truth: Vec<(u32, u32, Minutes)>,
    sightings: Vec<(u32, RawSighting)>,
    infections: Vec<(u32, i64, u32)>,
    samples: Vec<(f32, f32)>,
}

#[derive(Debug)]
struct Occupant {
    local: u32,
    person: u32,
    phone: Option<u32>,
    pos: Point,
    seat: Option<u32>,
    away_until: u16,
    end: u16,
    carriage: Carriage,
    scans: Vec<u32>,
    next_scan: usize,
    adv_interval: u32,
}

/// Everything the engine produced.
#[derive(Debug)]
pub struct SimOutput {
    /// Minutes within each distance band per pair and day.
    pub truth: GroundTruth,
    /// Per receiving phone, its sightings in time order.
    pub sightings: Vec<Vec<RawSighting>>,
    /// Index and secondary infections, by person.
    pub infections: Vec<Infection>,
    /// A sample of (true distance m, GAEN attenuation dB) pairs for the scatter plot.
    pub attenuation_samples: Vec<(f64, f64)>,
    /// Number of visits simulated.
    pub visits: u64,
}

/// Progress callback: (stage, done, total).
pub type Progress<'a> = &'a (dyn Fn(&str, u64, u64) + Sync);

/// Runs every day of the scenario.
pub fn run(world: &World, radio: &RadioModel, progress: Progress<'_>) -> SimOutput {
    let scenario = &world.scenario;
    let days = scenario.days as u16;
    let epi = &scenario.epidemic;
    let mut infections: HashMap<u32, Infection> =
        world.index_cases.iter().map(|c| (c.person, *c)).collect();
    let mut truth = GroundTruth::default();
    let mut sightings: Vec<Vec<RawSighting>> = vec![Vec::new(); world.phones.len()];
    let mut samples = Vec::new();
    let mut visit_count = 0u64;
    let expected_scans = (world.phones.len() as f64) * f64::from(scenario.days) * 340.0;
    let sample_rate = (20_000.0 / (expected_scans * 4.0).max(1.0)).clamp(0.0002, 1.0);
    for day in 0..days {
        progress("simulating days", u64::from(day), u64::from(days));
        let health: Vec<Health> = (0..world.people.len() as u32)
            .map(|p| match infections.get(&p) {
                Some(inf) => Health {
                    infected: inf.time <= i64::from(day) * DAY_SECONDS as i64,
                    infectious: Some((
                        inf.onset - (epi.infectious_before_onset_days * DAY_SECONDS as f64) as i64,
                        inf.onset + (epi.infectious_after_onset_days * DAY_SECONDS as f64) as i64,
                    )),
                },
                None => Health::default(),
            })
            .collect();
        let visits = world.visits(day);
        visit_count += visits.len() as u64;
        let groups: Vec<&[Visit]> = visits.chunk_by(|a, b| a.place == b.place).collect();
        let results: Vec<PlaceDay> = groups
            .par_iter()
            .map(|group| simulate_place_day(world, radio, day, group, &health, sample_rate))
            .collect();
        let mut day_infections: Vec<(u32, i64, u32)> = Vec::new();
        for result in results {
            for (a, b, m) in result.truth {
                truth.add(a, b, day, m);
            }
            for (rx, s) in result.sightings {
                sightings[rx as usize].push(s);
            }
            day_infections.extend(result.infections);
            samples.extend(result.samples);
        }
        day_infections.sort_unstable_by_key(|&(p, t, by)| (p, t, by));
        for (person, time, by) in day_infections {
            infections.entry(person).or_insert(Infection {
                person,
                time,
                infector: Some(by),
                onset: time + (epi.incubation_days * DAY_SECONDS as f64) as i64,
            });
        }
    }
    progress("simulating days", u64::from(days), u64::from(days));
    sightings
        .par_iter_mut()
        .for_each(|s| s.sort_unstable_by_key(|x| (x.time, x.tx)));
    let mut infections: Vec<Infection> = infections.into_values().collect();
    infections.sort_by_key(|i| i.person);
    samples.truncate(5000);
    SimOutput {
        truth,
        sightings,
        infections,
        attenuation_samples: samples
            .into_iter()
            .map(|(d, a)| (f64::from(d), f64::from(a)))
            .collect(),
        visits: visit_count,
    }
}

fn dist(a: Point, b: Point) -> f64 {
    let dx = f64::from(a.0 - b.0);
    let dy = f64::from(a.1 - b.1);
    (dx * dx + dy * dy).sqrt()
}

/// Simulates one place instance for one day.
fn simulate_place_day(
    world: &World,
    radio: &RadioModel,
    day: u16,
    visits: &[Visit],
    health: &[Health],
    sample_rate: f64,
) -> PlaceDay {
    let scenario = &world.scenario;
    let seed = scenario.seed;
    let instance = visits[0].place;
    let kind = world.place_kind(instance);
    let place = &scenario.places[kind];
    let carriage_weights = place.carriage.unwrap_or(scenario.population.carriage);
    let mut rng = rng_for(&[seed, purpose::PLACE, u64::from(instance), u64::from(day)]);
    let mut seats = SeatMap::new(place);
    let day_start = i64::from(day) * DAY_SECONDS as i64;
    let max_range = scenario.radio.max_range_m;
    let transmission = scenario.transmission.as_ref();
    let contact_radius = truth::BANDS_M[4].max(transmission.map_or(0.0, |t| t.max_distance_m));

    // Local person indices.
    let mut locals: FastMap<u32, u32> = FastMap::default();
    let mut people: Vec<u32> = Vec::new();
    for v in visits {
        locals.entry(v.person).or_insert_with(|| {
            people.push(v.person);
            (people.len() - 1) as u32
        });
    }
    let mut pair_minutes: FastMap<u64, Minutes> = FastMap::default();
    let mut encounters: FastMap<u64, Encounter> = FastMap::default();
    let mut out = PlaceDay::default();
    let mut newly_infected: FastMap<u32, ()> = FastMap::default();
    let mut occupants: Vec<Occupant> = Vec::new();
    let first = visits.iter().map(|v| v.start).min().unwrap_or(0);
    let last = visits.iter().map(|v| v.end).max().unwrap_or(0);
    let mut next_visit = 0usize;
    let mut grid: FastMap<(i32, i32), Vec<usize>> = FastMap::default();
    let mut neighbours: Vec<(usize, usize, f64)> = Vec::new();

    for minute in first..last {
        // Departures.
        let mut i = 0;
        while i < occupants.len() {
            if occupants[i].end <= minute {
                let o = occupants.swap_remove(i);
                if let Some(seat) = o.seat {
                    seats.release(seat);
                }
            } else {
                i += 1;
            }
        }
        // Arrivals (visits are sorted by start).
        while next_visit < visits.len() && visits[next_visit].start <= minute {
            let v = visits[next_visit];
            next_visit += 1;
            if v.end <= minute {
                continue;
            }
            let person = &world.people[v.person as usize];
            let preferred = (person.fixed[kind] != u32::MAX)
                .then(|| protocol::seed_for(&[u64::from(v.person)]));
            let seat = seats.choose(&mut rng, preferred);
            let pos = match seat {
                Some(s) => seats.position(s),
                None => mobility::random_point(&mut rng, place),
            };
            let (scans, adv_interval) = match person.phone {
                Some(phone) => {
                    let lo = u32::from(v.start) * 60;
                    let hi = u32::from(v.end) * 60;
                    let scans: Vec<u32> = protocol::scan_times(seed, phone, day)
                        .into_iter()
                        .filter(|t| (lo..hi).contains(t))
                        .collect();
                    (scans, protocol::advertising_interval_ms(seed, phone, day))
                }
                None => (Vec::new(), 0),
            };
            occupants.push(Occupant {
                local: locals[&v.person],
                person: v.person,
                phone: person.phone,
                pos,
                seat,
                away_until: 0,
                end: v.end,
                carriage: mobility::draw_carriage(&mut rng, &carriage_weights),
                scans,
                next_scan: 0,
                adv_interval,
            });
        }
        if occupants.is_empty() {
            continue;
        }
        // Movement.
        for o in &mut occupants {
            match place.layout {
                Layout::Open => {
                    if place.move_probability > 0.0 && rng.random_bool(place.move_probability) {
                        o.pos = mobility::random_point(&mut rng, place);
                    }
                }
                _ => {
                    if o.away_until > 0 && o.away_until <= minute {
                        o.away_until = 0;
                        o.pos = match o.seat {
                            Some(s) => seats.position(s),
                            None => mobility::random_point(&mut rng, place),
                        };
                    } else if o.away_until == 0
                        && place.move_probability > 0.0
                        && rng.random_bool(place.move_probability)
                    {
                        o.away_until = minute + rng.random_range(2..=10);
                        o.pos = mobility::random_point(&mut rng, place);
                    }
                }
            }
        }
        // Pairs within the contact radius.
        neighbours.clear();
        let n = occupants.len();
        if n <= 48 {
            for a in 0..n {
                for b in a + 1..n {
                    let d = dist(occupants[a].pos, occupants[b].pos);
                    if d <= contact_radius {
                        neighbours.push((a, b, d));
                    }
                }
            }
        } else {
            grid.values_mut().for_each(Vec::clear);
            let cell = contact_radius as f32;
            let key = |p: Point| ((p.0 / cell).floor() as i32, (p.1 / cell).floor() as i32);
            for (i, o) in occupants.iter().enumerate() {
                grid.entry(key(o.pos)).or_default().push(i);
            }
            for (a, o) in occupants.iter().enumerate() {
                let (cx, cy) = key(o.pos);
                for dx in -1..=1 {
                    for dy in -1..=1 {
                        if let Some(cell) = grid.get(&(cx + dx, cy + dy)) {
                            for &b in cell {
                                if b > a {
                                    let d = dist(o.pos, occupants[b].pos);
                                    if d <= contact_radius {
                                        neighbours.push((a, b, d));
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        let now = day_start + i64::from(minute) * 60;
        for &(a, b, d) in &neighbours {
            let (la, lb) = (occupants[a].local, occupants[b].local);
            let key = (u64::from(la.min(lb)) << 32) | u64::from(la.max(lb));
            truth::add_minute(pair_minutes.entry(key).or_insert([0; 5]), d);
            if let Some(t) = transmission
                && d <= t.max_distance_m
            {
                for (src, dst) in [(a, b), (b, a)] {
                    let (ps, pd) = (occupants[src].person, occupants[dst].person);
                    let infectious = health[ps as usize]
                        .infectious
                        .is_some_and(|(lo, hi)| lo <= now && now < hi)
                        && health[ps as usize].infected;
                    if infectious
                        && !health[pd as usize].infected
                        && !newly_infected.contains_key(&pd)
                    {
                        let p = t.probability_per_minute_at_1m
                            * (1.0f64).min(d.max(0.1).powf(-t.distance_exponent));
                        if rng.random_bool(p.clamp(0.0, 1.0)) {
                            newly_infected.insert(pd, ());
                            out.infections.push((pd, now, ps));
                        }
                    }
                }
            }
        }
        // Scans during this minute.
        let minute_end = (u32::from(day) * 86_400) + (u32::from(minute) + 1) * 60;
        for rx in 0..n {
            let Some(rx_phone) = occupants[rx].phone else {
                continue;
            };
            loop {
                let o = &occupants[rx];
                let Some(&scan) = o.scans.get(o.next_scan) else {
                    break;
                };
                let scan_abs = u32::from(day) * 86_400 + scan;
                if scan_abs >= minute_end {
                    break;
                }
                occupants[rx].next_scan += 1;
                let rx_radio = &world.phones[rx_phone as usize].radio;
                for tx in 0..n {
                    if tx == rx {
                        continue;
                    }
                    let Some(tx_phone) = occupants[tx].phone else {
                        continue;
                    };
                    let d = dist(occupants[rx].pos, occupants[tx].pos).max(0.1);
                    if d > max_range {
                        continue;
                    }
                    let key =
                        (u64::from(occupants[rx].local) << 32) | u64::from(occupants[tx].local);
                    let encounter = *encounters.entry(key).or_insert_with(|| {
                        radio.encounter(
                            &mut rng,
                            place.environment,
                            occupants[tx].carriage,
                            occupants[rx].carriage,
                        )
                    });
                    let tx_radio = &world.phones[tx_phone as usize].radio;
                    let (phase, count) =
                        protocol::advertisements_in_window(&mut rng, occupants[tx].adv_interval);
                    for k in 0..count {
                        let rssi =
                            radio.sample_rssi_dbm(&mut rng, &encounter, d, tx_radio, rx_radio);
                        if radio.is_heard(rssi) {
                            let offset_ms = phase + k * occupants[tx].adv_interval;
                            let rssi = rssi.round().clamp(-127.0, 20.0) as i16;
                            out.sightings.push((
                                rx_phone,
                                RawSighting {
                                    time: scan_abs + offset_ms / 1000,
                                    tx: tx_phone,
                                    rssi,
                                },
                            ));
                            if rng.random_bool(sample_rate) {
                                let attenuation = f32::from(tx_radio.tx_power_dbm)
                                    - (f32::from(rssi) + f32::from(rx_radio.rssi_correction_db));
                                out.samples.push((d as f32, attenuation));
                            }
                            break;
                        }
                    }
                }
            }
        }
    }
    let mut truth_out: Vec<(u32, u32, Minutes)> = pair_minutes
        .into_iter()
        .map(|(key, m)| {
            (
                people[(key >> 32) as usize],
                people[(key & 0xffff_ffff) as usize],
                m,
            )
        })
        .collect();
    truth_out.sort_unstable_by_key(|&(a, b, _)| (a.min(b), a.max(b)));
    out.truth = truth_out;
    out
}

/// Derives every phone's keys for the simulated days plus `extra_days` (keys of later days
/// are never published, but phones keep rotating).
pub fn key_store(world: &World, extra_days: u32) -> KeyStore {
    KeyStore::generate(
        world.scenario.seed,
        world.start_unix,
        (world.scenario.days + extra_days) as usize,
        &world.phones,
    )
}
