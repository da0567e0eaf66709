//! Small-count suppression that subtraction cannot undo.
//!
//! A published table is a list of counts and the sums that tie them together (a total is the
//! sum of its parts). Primary suppression hides counts from 1 to `minimum` − 1 (shown as
//! `"<5"`). That alone is not enough: with a total of 8 and one part of 7 shown, the hidden
//! part is 1. Complementary (secondary) suppression therefore also withholds larger counts
//! (shown as `"x"`: 5 or more, hidden to protect another count) until no hidden count can be
//! pinned to one value from the published ones.
//!
//! "Pinned" is judged against a careful reader: one who knows every published count, every
//! sum relation, that `"<5"` means 1 to 4 and `"x"` means 5 or more, and who narrows the range
//! of each hidden count by interval arithmetic on the sums until nothing changes. Zeros are
//! published as they are.

/// How a count is published.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// Shown as it is.
    Count(i64),
    /// Hidden because it is small (1 to `minimum` − 1): `"<5"`.
    Small,
    /// Hidden, although not small, so that a small count cannot be derived: `"x"`.
    Withheld,
}

impl Published {
    /// The JSON value of a published count: a number, `"<N"` or `"x"`.
    pub fn to_json(self, minimum: i64) -> serde_json::Value {
        match self {
            Published::Count(n) => serde_json::Value::from(n),
            Published::Small => serde_json::Value::String(format!("<{minimum}")),
            Published::Withheld => serde_json::Value::String(WITHHELD.into()),
        }
    }

    /// Whether the count is hidden.
    pub fn is_hidden(self) -> bool {
        !matches!(self, Published::Count(_))
    }
}

/// How a count withheld by complementary suppression is shown.
pub const WITHHELD: &str = "x";

/// A sum relation: the count at `total` is the sum of the counts at `parts` (indexes into the
/// table's counts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SumRelation {
    /// Index of the total.
    pub total: usize,
    /// Indexes of the parts.
    pub parts: Vec<usize>,
}

/// Largest value a withheld count is assumed to be able to take (a stand-in for infinity
/// that keeps the interval arithmetic free of overflow).
const UNBOUNDED: i64 = i64::MAX / 1024;

/// What the careful reader can tell about each count: the smallest and largest value it can
/// have, given what is published.
pub fn reader_bounds(
    published: &[Published],
    relations: &[SumRelation],
    minimum: i64,
) -> Vec<(i64, i64)> {
    let mut bounds: Vec<(i64, i64)> = published
        .iter()
        .map(|p| match p {
            Published::Count(n) => (*n, *n),
            Published::Small => (1, (minimum - 1).max(1)),
            Published::Withheld => (minimum, UNBOUNDED),
        })
        .collect();
    // Interval propagation reaches its fixpoint in a few rounds on these tables; the cap only
    // guards against a pathological input.
    for _ in 0..64 {
        let mut changed = false;
        for relation in relations {
            let (low_sum, high_sum) = relation.parts.iter().fold((0i64, 0i64), |(l, h), &i| {
                (l.saturating_add(bounds[i].0), h.saturating_add(bounds[i].1))
            });
            let total = bounds[relation.total];
            let narrowed = (total.0.max(low_sum), total.1.min(high_sum));
            if narrowed != total {
                bounds[relation.total] = narrowed;
                changed = true;
            }
            let total = bounds[relation.total];
            for &part in &relation.parts {
                let (own_low, own_high) = bounds[part];
                let others_low = low_sum.saturating_sub(own_low);
                let others_high = high_sum.saturating_sub(own_high);
                let narrowed = (
                    own_low.max(total.0.saturating_sub(others_high)),
                    own_high.min(total.1.saturating_sub(others_low)),
                );
                if narrowed != bounds[part] {
                    bounds[part] = narrowed;
                    changed = true;
                }
            }
        }
        if !changed {
            break;
        }
    }
    bounds
}

/// Publishes `counts` (tied by `relations`) with primary and complementary suppression: no
/// hidden count can be pinned to a single value by [`reader_bounds`].
pub fn suppress(counts: &[i64], relations: &[SumRelation], minimum: i64) -> Vec<Published> {
    let mut published: Vec<Published> = counts
        .iter()
        .map(|&n| {
            if n > 0 && n < minimum {
                Published::Small
            } else {
                Published::Count(n)
            }
        })
        .collect();
    if minimum <= 1 {
        return published;
    }
    // Each round withholds one more count, so this ends after at most `counts.len()` rounds.
    for _ in 0..=counts.len() {
        let bounds = reader_bounds(&published, relations, minimum);
        let Some(pinned) =
            (0..counts.len()).find(|&i| published[i].is_hidden() && bounds[i].0 >= bounds[i].1)
        else {
            break;
        };
        let Some(next) = complement_for(pinned, counts, &published, relations, minimum) else {
            break;
        };
        published[next] = Published::Withheld;
    }
    published
}

/// The count to withhold next to protect the hidden count at `pinned`: the smallest shown
/// count of at least `minimum` that shares a relation with it, else one that shares a
/// relation with any hidden count, else any (hiding the least information).
fn complement_for(
    pinned: usize,
    counts: &[i64],
    published: &[Published],
    relations: &[SumRelation],
    minimum: i64,
) -> Option<usize> {
    let shown = |i: &usize| matches!(published[*i], Published::Count(n) if n >= minimum);
    let members = |r: &SumRelation| {
        std::iter::once(r.total)
            .chain(r.parts.iter().copied())
            .collect::<Vec<_>>()
    };
    let smallest = |candidates: Vec<usize>| {
        candidates
            .into_iter()
            .filter(shown)
            .min_by_key(|&i| (counts[i], i))
    };
    let related_to = |cell: usize| {
        relations
            .iter()
            .map(members)
            .filter(|m| m.contains(&cell))
            .flatten()
            .collect::<Vec<_>>()
    };
    smallest(related_to(pinned))
        .or_else(|| {
            smallest(
                (0..counts.len())
                    .filter(|&i| published[i].is_hidden())
                    .flat_map(related_to)
                    .collect(),
            )
        })
        .or_else(|| smallest((0..counts.len()).collect()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    /// The example: total 8, prefecture A 7, B 1. B alone hidden gives B = 8 − 7.
    #[test]
    fn a_lone_small_part_gets_a_complement() {
        let relations = [SumRelation {
            total: 0,
            parts: vec![1, 2],
        }];
        let published = suppress(&[8, 7, 1], &relations, 5);
        assert_eq!(published[2], Published::Small);
        assert!(published[1].is_hidden(), "{published:?}");
        let bounds = reader_bounds(&published, &relations, 5);
        assert!(bounds[2].0 < bounds[2].1, "{bounds:?}");
    }

    /// Total 6 = 5 + 1: withholding the 5 is not enough (5 or more, so B ≤ 1); the total
    /// goes too.
    #[test]
    fn a_complement_that_still_pins_is_not_enough() {
        let relations = [SumRelation {
            total: 0,
            parts: vec![1, 2],
        }];
        let published = suppress(&[6, 5, 1], &relations, 5);
        let bounds = reader_bounds(&published, &relations, 5);
        assert!(bounds[2].0 < bounds[2].1, "{published:?} {bounds:?}");
    }

    #[test]
    fn tables_without_small_counts_are_published_whole() {
        let relations = [SumRelation {
            total: 0,
            parts: vec![1, 2, 3],
        }];
        let counts = [20, 10, 0, 10];
        let published = suppress(&counts, &relations, 5);
        assert!(published.iter().all(|p| !p.is_hidden()), "{published:?}");
    }

    #[test]
    fn rendering() {
        assert_eq!(Published::Small.to_json(5), serde_json::json!("<5"));
        assert_eq!(Published::Withheld.to_json(5), serde_json::json!("x"));
        assert_eq!(Published::Count(0).to_json(5), serde_json::json!(0));
    }

    /// An attacker independent of [`reader_bounds`]: a two-margin summary (one total, its
    /// split by status and by prefecture) is consistent exactly when both splits can reach the
    /// same total (any two margins with one sum come from some table of counts). For each
    /// hidden count it tries every value and keeps those some consistent table allows.
    fn values_an_attacker_cannot_exclude(
        published: &[Published],
        relations: &[SumRelation],
        minimum: i64,
        cell: usize,
        largest: i64,
    ) -> Vec<i64> {
        let domain = |p: Published| -> (i64, i64) {
            match p {
                Published::Count(n) => (n, n),
                Published::Small => (1, minimum - 1),
                Published::Withheld => (minimum, largest),
            }
        };
        let (low, high) = domain(published[cell]);
        (low..=high)
            .filter(|&value| {
                let of = |i: usize| {
                    if i == cell {
                        (value, value)
                    } else {
                        domain(published[i])
                    }
                };
                let (total_low, total_high) = of(relations[0].total);
                (total_low..=total_high).any(|total| {
                    relations.iter().all(|r| {
                        let low: i64 = r.parts.iter().map(|&i| of(i).0).sum();
                        let high: i64 = r.parts.iter().map(|&i| of(i).1).sum();
                        (low..=high).contains(&total)
                    })
                })
            })
            .collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// Random case tables (prefectures × statuses, mostly small counts) published as the
        /// summary is: the total and both margins. No hidden count can be derived.
        #[test]
        fn no_hidden_margin_can_be_derived(
            table in proptest::collection::vec(proptest::collection::vec(0i64..9, 1..4), 1..5),
        ) {
            let statuses = table.iter().map(Vec::len).max().unwrap_or(1);
            let by_prefecture: Vec<i64> = table.iter().map(|row| row.iter().sum()).collect();
            let by_status: Vec<i64> = (0..statuses)
                .map(|s| table.iter().map(|row| row.get(s).copied().unwrap_or(0)).sum())
                .collect();
            let total: i64 = by_prefecture.iter().sum();
            let mut counts = vec![total];
            counts.extend(&by_status);
            counts.extend(&by_prefecture);
            let relations = [
                SumRelation { total: 0, parts: (1..=statuses).collect() },
                SumRelation { total: 0, parts: (statuses + 1..counts.len()).collect() },
            ];
            let published = suppress(&counts, &relations, 5);
            for (i, p) in published.iter().enumerate() {
                match p {
                    Published::Count(n) => prop_assert_eq!(*n, counts[i]),
                    Published::Small => prop_assert!(counts[i] > 0 && counts[i] < 5),
                    Published::Withheld => prop_assert!(counts[i] >= 5),
                }
                if p.is_hidden() {
                    let feasible = values_an_attacker_cannot_exclude(&published, &relations, 5, i, total + 10);
                    prop_assert!(feasible.contains(&counts[i]), "the truth is feasible: {:?}", feasible);
                    prop_assert!(feasible.len() >= 2, "count {} of {:?} ({:?}) derived as {:?}", i, counts, published, feasible);
                }
            }
        }
    }
}
