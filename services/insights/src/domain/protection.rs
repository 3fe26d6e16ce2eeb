//! Disclosure control of pooled answers: the cell key method.
//!
//! Every counted record (a review, a recommendation) carries a permanent random
//! 32-bit key, given when it enters the projection, stored, never shown and
//! never changed. A cell's key is the sum of its records' keys (mod 2^32), so
//! the same population has the same key in every question, CSV and chart,
//! and two populations that differ by even one record have independent keys.
//! A published table (the p-table) maps the cell key to an adjustment between
//! `-max` and `+max`, drawn from a discretised normal distribution with mean 0
//! plus a thin even floor over the whole range (see [`FLOOR`]).
//! Then the small-count rule applies to the perturbed count: a non-zero count
//! whose perturbed value is below k is hidden; zero is always shown as zero.
//!
//! So no shown count is ever 1 to k-1, an answer repeated gives the same value
//! (averaging repeats learns nothing), and a difference of two answers carries
//! the noise of both: no subtraction is exact. Shares, lifts and rates are
//! computed from the perturbed counts.

use scir_proto::insights::v1::{Count, Suppression};

/// The perturbation of pooled counts, with its p-table.
#[derive(Debug, Clone, PartialEq)]
pub struct Perturbation {
    /// Counts whose perturbed value is from 1 to k-1 are hidden.
    pub k: i64,
    /// The largest adjustment.
    pub max: i64,
    /// The standard deviation of the adjustment (of the table, as built).
    pub sd: f64,
    /// Cumulative probabilities of the adjustments `-max..=max`, scaled to 2^32.
    thresholds: Vec<u64>,
}

/// The share of the p-table spread evenly over every adjustment from `-max`
/// to `+max`. It makes the published bound true (every adjustment in it can
/// happen, none is rounded away), so an attacker reasoning from the bound
/// cannot assume the tails never occur.
pub const FLOOR: f64 = 0.01;

/// Why a perturbation's parameters are refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct BadParameters(String);

impl Perturbation {
    /// The p-table for threshold `k`, largest adjustment `max` and target
    /// standard deviation `sd`.
    pub fn new(k: i64, max: i64, sd: f64) -> Result<Self, BadParameters> {
        if k < 2 {
            return Err(BadParameters("k must be at least 2".into()));
        }
        if !(1..=100).contains(&max) {
            return Err(BadParameters(
                "the largest adjustment must be from 1 to 100".into(),
            ));
        }
        if !(sd.is_finite() && sd >= 0.5 && sd <= max as f64) {
            return Err(BadParameters(
                "the standard deviation must be from 0.5 to the largest adjustment".into(),
            ));
        }
        let gaussian: Vec<f64> = (-max..=max)
            .map(|e| (-((e * e) as f64) / (2.0 * sd * sd)).exp())
            .collect();
        let g_total: f64 = gaussian.iter().sum();
        let uniform = FLOOR / (2 * max + 1) as f64;
        let weights: Vec<f64> = gaussian
            .iter()
            .map(|g| (1.0 - FLOOR) * g / g_total + uniform)
            .collect();
        let total: f64 = weights.iter().sum();
        let scale = (1u64 << 32) as f64;
        let mut cumulative = 0.0;
        let mut thresholds: Vec<u64> = weights
            .iter()
            .map(|w| {
                cumulative += w / total;
                (cumulative * scale).round() as u64
            })
            .collect();
        if let Some(last) = thresholds.last_mut() {
            *last = 1 << 32;
        }
        let mut table = Self {
            k,
            max,
            sd: 0.0,
            thresholds,
        };
        table.sd = table.variance().sqrt();
        Ok(table)
    }

    /// The probability of each adjustment `-max..=max`, as the table has it.
    pub fn probabilities(&self) -> Vec<f64> {
        let mut previous = 0u64;
        self.thresholds
            .iter()
            .map(|t| {
                let p = (t - previous) as f64 / (1u64 << 32) as f64;
                previous = *t;
                p
            })
            .collect()
    }

    fn variance(&self) -> f64 {
        self.probabilities()
            .iter()
            .zip(-self.max..=self.max)
            .map(|(p, e)| p * (e * e) as f64)
            .sum()
    }

    /// The adjustment of a cell of `n` records whose keys sum to `key`.
    pub fn adjustment(&self, n: i64, key: u32) -> i64 {
        // The cell key and the count pick a row of the table; mixing spreads
        // neighbouring keys over the whole range.
        let u = mix(u64::from(key) ^ ((n as u64) << 32)) & 0xffff_ffff;
        let i = self.thresholds.partition_point(|t| *t <= u);
        i as i64 - self.max
    }

    /// A count as shown: 0 as 0; otherwise perturbed, and hidden when the
    /// perturbed value is below k.
    pub fn protect(&self, n: i64, key: u32) -> Count {
        if n == 0 {
            return shown(0);
        }
        let perturbed = n + self.adjustment(n, key);
        if perturbed < self.k {
            Count {
                value: None,
                suppression: Suppression::SmallCell as i32,
            }
        } else {
            shown(perturbed)
        }
    }
}

/// Pooled counts against the truth.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Utility {
    /// Non-zero true counts (each population once).
    pub nonzero: usize,
    /// Of those, shown.
    pub shown: usize,
    /// Sum of absolute errors of shown counts.
    pub abs_error: f64,
    /// The largest absolute error of a shown count.
    pub largest_error: i64,
    /// Shown counts whose truth is 50 or more.
    pub large: usize,
    /// Sum of their relative errors.
    pub large_relative_error: f64,
}

impl Utility {
    /// Counts one cell: as shown, against the truth.
    pub fn add(&mut self, shown: &Option<Count>, truth: &Option<Count>) {
        let Some(n) = truth.as_ref().and_then(|c| c.value).filter(|n| *n > 0) else {
            return;
        };
        self.nonzero += 1;
        let Some(v) = shown.as_ref().and_then(|c| c.value) else {
            return;
        };
        self.shown += 1;
        let e = (v - n).abs();
        self.abs_error += e as f64;
        self.largest_error = self.largest_error.max(e);
        if n >= 50 {
            self.large += 1;
            self.large_relative_error += e as f64 / n as f64;
        }
    }
}

impl std::fmt::Display for Utility {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let per = |sum: f64, n: usize| if n == 0 { 0.0 } else { sum / n as f64 };
        write!(
            f,
            "{} of {} non-zero counts shown ({:.1} %); shown counts off by {:.2} on average, \
             {} at most; counts of 50 or more ({}) off by {:.2} % on average",
            self.shown,
            self.nonzero,
            100.0 * per(self.shown as f64, self.nonzero),
            per(self.abs_error, self.shown),
            self.largest_error,
            self.large,
            100.0 * per(self.large_relative_error, self.large),
        )
    }
}

/// SplitMix64's finaliser: every output bit depends on every input bit.
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// A count shown as it is (answers that stay in their jurisdiction).
pub fn shown(n: i64) -> Count {
    Count {
        value: Some(n),
        suppression: Suppression::None as i32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Perturbation {
        Perturbation::new(10, 6, 2.0).expect("parameters")
    }

    #[test]
    fn the_table_is_bounded_symmetric_and_has_the_declared_spread() {
        let t = table();
        let p = t.probabilities();
        assert_eq!(p.len(), 13);
        for (a, b) in p.iter().zip(p.iter().rev()) {
            assert!((a - b).abs() < 1e-8, "{p:?}");
        }
        assert!((p.iter().sum::<f64>() - 1.0).abs() < 1e-9);
        assert!(t.sd > 2.0 && t.sd < 2.2, "{}", t.sd);
        assert!(
            p.iter().all(|p| *p >= FLOOR / 13.0 * 0.99),
            "every adjustment can happen"
        );
    }

    #[test]
    fn adjustments_follow_the_table_and_stay_within_the_bound() {
        let t = table();
        let mut seen = [0usize; 13];
        let mut key = 0x1234_5678u32;
        for n in 0..200_000i64 {
            key = key.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            let e = t.adjustment(20 + n % 50, key);
            assert!((-6..=6).contains(&e));
            seen[(e + 6) as usize] += 1;
        }
        let mean: f64 = seen
            .iter()
            .enumerate()
            .map(|(i, c)| (i as f64 - 6.0) * *c as f64)
            .sum::<f64>()
            / 200_000.0;
        assert!(mean.abs() < 0.02, "{mean}");
        for (i, p) in t.probabilities().iter().enumerate() {
            let observed = seen[i] as f64 / 200_000.0;
            assert!((observed - p).abs() < 0.005, "{i}: {observed} vs {p}");
        }
    }

    #[test]
    fn no_count_from_1_to_k_minus_1_is_ever_shown_and_zero_stays_zero() {
        let t = table();
        for n in 0..40 {
            for key in (0..u32::MAX).step_by(9_973_331) {
                let c = t.protect(n, key);
                match c.value {
                    Some(v) => {
                        assert!(v == 0 || v >= 10, "{n} shown as {v}");
                        assert_eq!(v == 0, n == 0);
                        assert!((v - n).abs() <= 6);
                    }
                    None => assert!(n > 0 && n < 10 + 6, "{n} hidden"),
                }
            }
        }
    }

    #[test]
    fn the_same_cell_always_gets_the_same_answer() {
        let t = table();
        assert_eq!(t.protect(42, 7), t.protect(42, 7));
    }

    #[test]
    fn parameters_are_checked() {
        assert!(Perturbation::new(1, 6, 2.0).is_err());
        assert!(Perturbation::new(10, 0, 2.0).is_err());
        assert!(Perturbation::new(10, 6, 0.1).is_err());
        assert!(Perturbation::new(10, 2, 3.0).is_err());
    }
}
