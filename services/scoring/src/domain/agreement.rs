//! Inter-rater agreement on an ordinal scale: percent agreement, Cohen's kappa
//! and quadratic-weighted kappa (two raters), Fleiss' kappa (three or more).
//!
//! Undefined figures (one rater, no variance) are reported as undefined with a
//! reason, never as 0 or NaN. The formulas match scikit-learn's
//! `cohen_kappa_score` (with the full scale as labels) and statsmodels'
//! `fleiss_kappa`; `tests/fixtures/agreement_reference.json` holds the vectors.
//!
//! Units may have different numbers of raters (a jurisdiction's reviews are
//! rated by teams of two and of three). Every complete unit counts: percent
//! agreement over every pair of raters of every unit; Fleiss' kappa in its
//! general form, each unit's observed agreement over its own pairs and the
//! chance agreement from the pooled shares of all ratings (with equal numbers
//! of raters this is statsmodels' figure); Cohen's kappas only when every unit
//! has exactly two raters.

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

/// Agreement over a set of rated units.
#[derive(Debug, Clone, PartialEq)]
pub struct Agreement {
    /// The most raters of any unit.
    pub raters: usize,
    /// Units rated.
    pub units: usize,
    /// Ratings behind the figures.
    pub ratings: usize,
    /// Share of agreeing rater pairs.
    pub percent_agreement: Figure,
    /// Cohen's kappa.
    pub cohen_kappa: Figure,
    /// Fleiss' kappa.
    pub fleiss_kappa: Figure,
    /// Quadratic-weighted kappa.
    pub quadratic_weighted_kappa: Figure,
}

const TWO_RATERS: &str = "needs exactly two raters on every unit";
const THREE_RATERS: &str = "needs a unit with three or more raters";

/// Computes agreement; `units[u]` holds each rater's level for unit `u` (any
/// number of raters), and levels are `0..categories`.
pub fn agreement(units: &[Vec<i32>], categories: usize) -> Agreement {
    let raters = units.iter().map(Vec::len).max().unwrap_or(0);
    let fewest = units.iter().map(Vec::len).min().unwrap_or(0);
    let mut out = Agreement {
        raters,
        units: units.len(),
        ratings: units.iter().map(Vec::len).sum(),
        percent_agreement: Figure::Undefined("no ratings"),
        cohen_kappa: Figure::Undefined(TWO_RATERS),
        fleiss_kappa: Figure::Undefined(THREE_RATERS),
        quadratic_weighted_kappa: Figure::Undefined(TWO_RATERS),
    };
    if units.is_empty() || categories == 0 {
        return out;
    }
    if fewest < 2 {
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

/// Fleiss' kappa in its general form: unit `i` with `n_i` raters agrees in
/// `sum_j c_ij (c_ij - 1) / (n_i (n_i - 1))` of its pairs; chance agreement is
/// `sum_j p_j^2` with `p_j` the share of all ratings at level `j`.
fn fleiss(units: &[Vec<i32>], k: usize) -> Figure {
    let mut column = vec![0.0; k];
    let (mut p_bar, mut ratings) = (0.0, 0.0);
    for unit in units {
        let n = unit.len() as f64;
        let mut counts = vec![0.0; k];
        for &level in unit {
            let Some(c) = usize::try_from(level).ok().and_then(|l| counts.get_mut(l)) else {
                return Figure::Undefined("a level is outside the scale");
            };
            *c += 1.0;
        }
        let squares: f64 = counts.iter().map(|c| c * c).sum();
        p_bar += (squares - n) / (n * (n - 1.0));
        for (j, c) in counts.iter().enumerate() {
            column[j] += c;
        }
        ratings += n;
    }
    p_bar /= units.len() as f64;
    let p_e: f64 = column.iter().map(|c| (c / ratings).powi(2)).sum();
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
    fn units_with_two_and_three_raters_all_count() {
        // 3 units by three raters and 2 by two: 13 ratings over levels 0..4.
        let units = [
            vec![0, 0, 1],
            vec![2, 2, 2],
            vec![3, 1, 3],
            vec![1, 1],
            vec![0, 2],
        ];
        let got = agreement(&units, 4);
        assert_eq!((got.raters, got.units, got.ratings), (3, 5, 13));
        // Pairs: 3 + 3 + 3 + 1 + 1 = 11, agreeing: 1 + 3 + 1 + 1 + 0 = 6.
        close(
            "mixed",
            "percent agreement",
            &got.percent_agreement,
            Some(6.0 / 11.0),
        );
        // Units agree in 1/3, 1, 1/3, 1, 0 of their pairs: mean 8/15. Levels
        // 0:3, 1:4, 2:4, 3:2 of 13, so chance is (9 + 16 + 16 + 4) / 169.
        let (p, e) = (8.0 / 15.0, 45.0 / 169.0);
        close(
            "mixed",
            "Fleiss' kappa",
            &got.fleiss_kappa,
            Some((p - e) / (1.0 - e)),
        );
        assert_eq!(got.cohen_kappa, Figure::Undefined(TWO_RATERS));
    }

    #[test]
    fn with_equal_teams_the_general_form_is_the_usual_one() {
        let text = include_str!("../../tests/fixtures/agreement_reference.json");
        let reference: Reference = serde_json::from_str(text).expect("reference vectors");
        for case in reference.cases.iter().filter(|c| c.fleiss_kappa.is_some()) {
            let got = agreement(&case.ratings, 4);
            close(
                &case.name,
                "Fleiss' kappa",
                &got.fleiss_kappa,
                case.fleiss_kappa,
            );
        }
    }

    #[test]
    fn one_rater_is_undefined_not_zero() {
        let got = agreement(&[vec![1], vec![2]], 4);
        assert_eq!(got.percent_agreement, Figure::Undefined("one rater"));
        assert_eq!(got.cohen_kappa, Figure::Undefined("one rater"));
    }
}
