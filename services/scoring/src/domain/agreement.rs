//! Inter-rater agreement on an ordinal scale: percent agreement, Cohen's kappa
//! and quadratic-weighted kappa (two raters), Fleiss' kappa (three or more).
//!
//! Undefined figures (one rater, no variance) are reported as undefined with a
//! reason, never as 0 or NaN. The formulas match scikit-learn's
//! `cohen_kappa_score` (with the full scale as labels) and statsmodels'
//! `fleiss_kappa`; `tests/fixtures/agreement_reference.json` holds the vectors.

/// A figure, or why it is undefined.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    /// The value.
    Value(f64),
    /// Why there is none.
    Undefined(&'static str),
}

impl Figure {
    /// The value, if defined.
    pub fn value(&self) -> Option<f64> {
        match self {
            Figure::Value(v) => Some(*v),
            Figure::Undefined(_) => None,
        }
    }
}

/// Agreement over a set of units each rated by the same raters.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// Raters.
    pub raters: usize,
    /// Units rated.
    pub units: usize,
    /// Share of agreeing rater pairs.
    pub percent_agreement: Figure,
    /// Cohen's kappa.
    pub cohen_kappa: Figure,
    /// Fleiss' kappa.
    pub fleiss_kappa: Figure,
    /// Quadratic-weighted kappa.
    pub quadratic_weighted_kappa: Figure,
}

const TWO_RATERS: &str = "needs exactly two raters";
const THREE_RATERS: &str = "needs three or more raters";

/// Computes agreement; `units[u][r]` is rater `r`'s level for unit `u`, and
/// levels are `0..categories`.
pub fn agreement(units: &[Vec<i32>], categories: usize) -> Agreement {
    let raters = units.first().map_or(0, Vec::len);
    let mut out = Agreement {
        raters,
        units: units.len(),
        percent_agreement: Figure::Undefined("no ratings"),
        cohen_kappa: Figure::Undefined(TWO_RATERS),
        fleiss_kappa: Figure::Undefined(THREE_RATERS),
        quadratic_weighted_kappa: Figure::Undefined(TWO_RATERS),
    };
    if units.is_empty() || categories == 0 || units.iter().any(|u| u.len() != raters) {
        return out;
    }
    if raters < 2 {
        out.percent_agreement = Figure::Undefined("one rater");
        out.cohen_kappa = Figure::Undefined("one rater");
        out.fleiss_kappa = Figure::Undefined("one rater");
        out.quadratic_weighted_kappa = Figure::Undefined("one rater");
        return out;
    }
    out.percent_agreement = Figure::Value(percent(units));
    if raters == 2 {
        let pairs: Vec<(usize, usize)> = units
            .iter()
            .map(|u| (u[0] as usize, u[1] as usize))
            .collect();
        out.cohen_kappa = weighted_kappa(&pairs, categories, |i, j| if i == j { 0.0 } else { 1.0 });
        out.quadratic_weighted_kappa = weighted_kappa(&pairs, categories, |i, j| {
            let d = i as f64 - j as f64;
            d * d
        });
    } else {
        out.fleiss_kappa = fleiss(units, categories);
    }
    out
}

fn percent(units: &[Vec<i32>]) -> f64 {
    let (mut agree, mut pairs) = (0u64, 0u64);
    for unit in units {
        for a in 0..unit.len() {
            for b in a + 1..unit.len() {
                pairs += 1;
                agree += u64::from(unit[a] == unit[b]);
            }
        }
    }
    agree as f64 / pairs as f64
}

/// Cohen's weighted kappa: 1 - sum(w * observed) / sum(w * expected), with
/// expected = outer product of the two raters' marginals.
fn weighted_kappa(
    pairs: &[(usize, usize)],
    k: usize,
    weight: impl Fn(usize, usize) -> f64,
) -> Figure {
    let n = pairs.len() as f64;
    let mut observed = vec![vec![0.0; k]; k];
    let (mut rows, mut cols) = (vec![0.0; k], vec![0.0; k]);
    for &(a, b) in pairs {
        if a >= k || b >= k {
            return Figure::Undefined("a level is outside the scale");
        }
        observed[a][b] += 1.0;
        rows[a] += 1.0;
        cols[b] += 1.0;
    }
    let (mut num, mut den) = (0.0, 0.0);
    for i in 0..k {
        for j in 0..k {
            let w = weight(i, j);
            num += w * observed[i][j];
            den += w * rows[i] * cols[j] / n;
        }
    }
    if den == 0.0 {
        return Figure::Undefined("no variance: the expected disagreement is zero");
    }
    Figure::Value(1.0 - num / den)
}

fn fleiss(units: &[Vec<i32>], k: usize) -> Figure {
    let n = units[0].len() as f64;
    let total = units.len() as f64;
    let mut column = vec![0.0; k];
    let mut p_bar = 0.0;
    for unit in units {
        let mut counts = vec![0.0; k];
        for &level in unit {
            let Some(c) = counts.get_mut(level as usize) else {
                return Figure::Undefined("a level is outside the scale");
            };
            *c += 1.0;
        }
        let squares: f64 = counts.iter().map(|c| c * c).sum();
        p_bar += (squares - n) / (n * (n - 1.0));
        for (j, c) in counts.iter().enumerate() {
            column[j] += c;
        }
    }
    p_bar /= total;
    let p_e: f64 = column.iter().map(|c| (c / (total * n)).powi(2)).sum();
    if (1.0 - p_e).abs() < f64::EPSILON {
        return Figure::Undefined("no variance: every rating is the same level");
    }
    Figure::Value((p_bar - p_e) / (1.0 - p_e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Reference {
        levels: Vec<i32>,
        cases: Vec<Case>,
    }

    #[derive(serde::Deserialize)]
    struct Case {
        name: String,
        ratings: Vec<Vec<i32>>,
        percent_agreement: f64,
        #[serde(default)]
        cohen_kappa: Option<f64>,
        #[serde(default)]
        quadratic_weighted_kappa: Option<f64>,
        #[serde(default)]
        fleiss_kappa: Option<f64>,
    }

    fn close(name: &str, what: &str, got: &Figure, want: Option<f64>) {
        match (got.value(), want) {
            (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{name}: {what} {g} != {w}"),
            (None, None) => {}
            _ => panic!("{name}: {what} {got:?} != {want:?}"),
        }
    }

    #[test]
    fn figures_equal_the_reference_implementations() {
        let text = include_str!("../../tests/fixtures/agreement_reference.json");
        let reference: Reference = serde_json::from_str(text).expect("reference vectors");
        assert_eq!(reference.levels, [0, 1, 2, 3]);
        assert!(reference.cases.len() >= 10);
        for case in &reference.cases {
            let got = agreement(&case.ratings, reference.levels.len());
            close(
                &case.name,
                "percent agreement",
                &got.percent_agreement,
                Some(case.percent_agreement),
            );
            if got.raters == 2 {
                close(
                    &case.name,
                    "Cohen's kappa",
                    &got.cohen_kappa,
                    case.cohen_kappa,
                );
                close(
                    &case.name,
                    "weighted kappa",
                    &got.quadratic_weighted_kappa,
                    case.quadratic_weighted_kappa,
                );
                assert!(got.fleiss_kappa.value().is_none());
            } else {
                close(
                    &case.name,
                    "Fleiss' kappa",
                    &got.fleiss_kappa,
                    case.fleiss_kappa,
                );
                assert!(got.cohen_kappa.value().is_none());
            }
        }
    }

    #[test]
    fn one_rater_is_undefined_not_zero() {
        let got = agreement(&[vec![1], vec![2]], 4);
        assert_eq!(got.percent_agreement, Figure::Undefined("one rater"));
        assert_eq!(got.cohen_kappa, Figure::Undefined("one rater"));
    }
}
