//! What an attacker can learn from published counts, computed the way an
//! attacker would: every published count is an equation over *atoms* (the
//! finest groups of records the questions can tell apart), and two solvers
//! read those equations.
//!
//! - [`bounds`]: the exact attack. Each count gives an interval for the sum of
//!   its atoms (what the mechanism says a shown value or a hidden one can
//!   mean); intervals are propagated between equations until nothing tightens
//!   (bounds propagation, the interval relaxation of a linear programme). A
//!   population whose interval lies inside 1..k-1 is disclosed.
//! - [`LeastSquares`]: the statistical attack. The attacker knows the
//!   mechanism's variance; the generalised least-squares estimate of every
//!   atom, and for any population the estimate and its standard error. A
//!   population is recovered when its estimate rounds to the truth with a
//!   standard error under 0.5.
//!
//! It is a test tool: it holds no records, only equations.

/// What a published count says about the true count of its population.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// Smallest possible true count.
    pub lo: i64,
    /// Largest possible true count (`UNBOUNDED` when nothing is known).
    pub hi: i64,
}

/// No upper bound.
pub const UNBOUNDED: i64 = i64::MAX / 4;

/// One published count: the atoms of its population and what the count says.
#[derive(Debug, Clone)]
pub struct Equation {
    /// Atom numbers (distinct).
    pub atoms: Vec<u32>,
    /// The true count lies in this interval.
    pub interval: Interval,
    /// The value shown, when one was (the least-squares observation).
    pub shown: Option<i64>,
}

/// Atoms whose counts the attacker knows (an insider's own records), folded
/// into the equations: their counts are subtracted and they leave the system.
pub fn substitute(equations: &[Equation], known: &[Option<i64>]) -> Vec<Equation> {
    equations
        .iter()
        .map(|e| {
            let fixed: i64 = e.atoms.iter().filter_map(|a| known[*a as usize]).sum();
            let sub = |v: i64| if v >= UNBOUNDED { v } else { v - fixed };
            Equation {
                atoms: e
                    .atoms
                    .iter()
                    .copied()
                    .filter(|a| known[*a as usize].is_none())
                    .collect(),
                interval: Interval {
                    lo: sub(e.interval.lo),
                    hi: sub(e.interval.hi),
                },
                shown: e.shown.map(sub),
            }
        })
        .filter(|e| !e.atoms.is_empty())
        .collect()
}

/// The exact attack: the tightest interval of every atom that bounds
/// propagation finds (atoms are counts, so at least 0).
pub fn bounds(atoms: usize, equations: &[Equation], max_passes: usize) -> Vec<Interval> {
    let mut b = vec![
        Interval {
            lo: 0,
            hi: UNBOUNDED
        };
        atoms
    ];
    for _ in 0..max_passes {
        let mut changed = false;
        for e in equations {
            let (mut sum_lo, mut sum_hi) = (0i64, 0i64);
            for a in &e.atoms {
                let x = b[*a as usize];
                sum_lo += x.lo;
                sum_hi = (sum_hi + x.hi).min(UNBOUNDED);
            }
            for a in &e.atoms {
                let x = b[*a as usize];
                let others_lo = sum_lo - x.lo;
                let others_hi = if sum_hi >= UNBOUNDED || x.hi >= UNBOUNDED {
                    UNBOUNDED
                } else {
                    sum_hi - x.hi
                };
                let mut next = x;
                if e.interval.hi < UNBOUNDED {
                    next.hi = next.hi.min(e.interval.hi - others_lo);
                }
                if others_hi < UNBOUNDED {
                    next.lo = next.lo.max(e.interval.lo - others_hi);
                }
                if next != x {
                    changed = true;
                    b[*a as usize] = next;
                }
            }
        }
        if !changed {
            break;
        }
    }
    b
}

/// The interval of a population (a set of atoms) under atom bounds.
pub fn interval_of(atoms: &[u32], bounds: &[Interval]) -> Interval {
    let lo = atoms.iter().map(|a| bounds[*a as usize].lo).sum();
    let hi = atoms
        .iter()
        .map(|a| bounds[*a as usize].hi)
        .fold(0i64, |s, h| (s + h).min(UNBOUNDED));
    Interval { lo, hi }
}

/// The statistical attack: least squares over every shown count, with a small
/// ridge so that populations the equations do not determine get an enormous
/// standard error instead of a singular system.
#[derive(Debug)]
pub struct LeastSquares {
    n: usize,
    /// Lower triangle of the Cholesky factor of AᵀA + λI, row-major.
    factor: Vec<f64>,
    estimate: Vec<f64>,
    sd: f64,
}

/// The ridge: far below any real information (one equation adds at least 1 to
/// a diagonal entry), so an estimable population's variance is unaffected.
const RIDGE: f64 = 1e-7;

impl LeastSquares {
    /// Fits the shown counts of `equations` over `atoms` atoms, each count
    /// carrying noise of standard deviation `sd` (0 for exact counts).
    pub fn fit(atoms: usize, equations: &[Equation], sd: f64) -> Self {
        let n = atoms;
        let mut ata = vec![0.0f64; n * n];
        let mut atb = vec![0.0f64; n];
        for e in equations {
            let Some(v) = e.shown else { continue };
            for (i, a) in e.atoms.iter().enumerate() {
                let a = *a as usize;
                atb[a] += v as f64;
                for b in &e.atoms[..=i] {
                    let b = *b as usize;
                    let (r, c) = if a >= b { (a, b) } else { (b, a) };
                    ata[r * n + c] += 1.0;
                }
            }
        }
        for i in 0..n {
            ata[i * n + i] += RIDGE;
        }
        cholesky_in_place(&mut ata, n);
        let mut s = Self {
            n,
            factor: ata,
            estimate: Vec::new(),
            sd,
        };
        s.estimate = s.solve(atb);
        s
    }

    fn solve(&self, mut b: Vec<f64>) -> Vec<f64> {
        let (n, l) = (self.n, &self.factor);
        for i in 0..n {
            let mut v = b[i];
            for k in 0..i {
                v -= l[i * n + k] * b[k];
            }
            b[i] = v / l[i * n + i];
        }
        for i in (0..n).rev() {
            let mut v = b[i];
            for k in i + 1..n {
                v -= l[k * n + i] * b[k];
            }
            b[i] = v / l[i * n + i];
        }
        b
    }

    /// The estimate of a population's count and its standard error; a
    /// population the equations do not determine has an error of thousands.
    pub fn of(&self, atoms: &[u32]) -> (f64, f64) {
        let mut c = vec![0.0; self.n];
        for a in atoms {
            c[*a as usize] = 1.0;
        }
        let estimate = atoms.iter().map(|a| self.estimate[*a as usize]).sum();
        let z = self.solve(c);
        let quad: f64 = atoms.iter().map(|a| z[*a as usize]).sum();
        // With exact counts (sd 0) an estimable population has no error and a
        // non-estimable one is told apart by its ridge-sized variance.
        let se = if quad > 1e4 {
            quad.sqrt()
        } else {
            self.sd * quad.max(0.0).sqrt()
        };
        (estimate, se)
    }
}

fn cholesky_in_place(m: &mut [f64], n: usize) {
    for j in 0..n {
        let mut d = m[j * n + j];
        for k in 0..j {
            d -= m[j * n + k] * m[j * n + k];
        }
        let d = d.max(RIDGE).sqrt();
        m[j * n + j] = d;
        for i in j + 1..n {
            let (row_i, row_j) = (i * n, j * n);
            let mut v = m[row_i + j];
            for k in 0..j {
                v -= m[row_i + k] * m[row_j + k];
            }
            m[row_i + j] = v / d;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn exact(atoms: &[u32], v: i64) -> Equation {
        Equation {
            atoms: atoms.to_vec(),
            interval: Interval { lo: v, hi: v },
            shown: Some(v),
        }
    }

    #[test]
    fn a_total_minus_shown_parts_isolates_the_hidden_one() {
        // Atoms 0..3: 50, 3, 20. The total and two parts are shown exactly.
        let eqs = [exact(&[0, 1, 2], 73), exact(&[0], 50), exact(&[2], 20)];
        let b = bounds(3, &eqs, 50);
        assert_eq!(b[1], Interval { lo: 3, hi: 3 });
        let ls = LeastSquares::fit(3, &eqs, 0.0);
        let (est, se) = ls.of(&[1]);
        assert!((est - 3.0).abs() < 1e-3 && se < 1e-3, "{est} {se}");
    }

    #[test]
    fn an_undetermined_population_is_not_recovered() {
        // Only the total of two atoms is known.
        let eqs = [exact(&[0, 1], 12)];
        let b = bounds(2, &eqs, 50);
        assert_eq!(b[0], Interval { lo: 0, hi: 12 });
        let (_, se) = LeastSquares::fit(2, &eqs, 0.0).of(&[0]);
        assert!(se > 100.0, "{se}");
    }

    #[test]
    fn noise_widens_what_differencing_gives() {
        let noisy = |atoms: &[u32], v: i64, d: i64| Equation {
            atoms: atoms.to_vec(),
            interval: Interval {
                lo: v - d,
                hi: v + d,
            },
            shown: Some(v),
        };
        let eqs = [noisy(&[0, 1], 55, 3), noisy(&[0], 50, 3)];
        let b = bounds(2, &eqs, 50);
        assert_eq!(b[1], Interval { lo: 0, hi: 11 });
        let (est, se) = LeastSquares::fit(2, &eqs, 2.0).of(&[1]);
        assert!((est - 5.0).abs() < 1e-3, "{est}");
        assert!((se - 2.0 * 2f64.sqrt()).abs() < 1e-3, "{se}");
    }

    #[test]
    fn an_insiders_records_leave_the_system() {
        let eqs = [exact(&[0, 1, 2], 30)];
        let known = [Some(20), None, Some(4)];
        let left = substitute(&eqs, &known);
        assert_eq!(left[0].atoms, vec![1]);
        assert_eq!(left[0].interval, Interval { lo: 6, hi: 6 });
    }
}
