//! Small-cell suppression for answers that leave a jurisdiction.
//!
//! A cell is defined by a set of constraints (filters, a breakdown value, a
//! measure). It is shown only if
//! 1. its count is 0 or at least k (primary suppression), and
//! 2. for every proper subset of its constraints (every broader answer anyone
//!    can ask), the broader count minus this count is 0 or at least k
//!    (differencing: no two nested answers differ by a small group);
//!
//! and within each group of cells that add up to a broader total (the rows of a
//! breakdown), a lone hidden cell gets a companion: the smallest other non-zero
//! cell is hidden too (complementary suppression), so the total minus the shown
//! cells never isolates one hidden cell. Pooled queries take one value per
//! filter, so every answer is such a conjunction and rule 2 covers every pair
//! of nested answers.

use scir_proto::insights::v1::{Count, Suppression};

/// Decides whether a count may be shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    /// The threshold: counts from 1 to k-1 are hidden.
    pub k: i64,
}

impl Rule {
    fn small(self, n: i64) -> bool {
        n >= 1 && n < self.k
    }

    /// The suppression of a cell with count `n`, given the counts of every
    /// broader answer (each proper subset of its constraints).
    pub fn judge(self, n: i64, broader: impl IntoIterator<Item = i64>) -> Suppression {
        if self.small(n) {
            return Suppression::SmallCell;
        }
        if broader.into_iter().any(|b| self.small(b - n)) {
            return Suppression::Differencing;
        }
        Suppression::Shown
    }
}

/// A count as shown: its value, or why it is hidden.
pub fn count(n: i64, suppression: Suppression) -> Count {
    Count {
        value: (suppression == Suppression::Shown).then_some(n),
        suppression: suppression as i32,
    }
}

/// A count that is not suppressed (answers that stay in their jurisdiction).
pub fn shown(n: i64) -> Count {
    count(n, Suppression::Shown)
}

/// Complementary suppression over one group of cells that add up to a total:
/// while exactly one non-zero cell is hidden, hide the smallest shown non-zero
/// cell (ties by position), so no hidden cell is the total minus the others.
pub fn complement(group: &mut [(i64, Suppression)]) {
    let hidden = group
        .iter()
        .filter(|(n, s)| *n > 0 && *s != Suppression::Shown)
        .count();
    if hidden != 1 {
        return;
    }
    let candidate = group
        .iter()
        .enumerate()
        .filter(|(_, (n, s))| *n > 0 && *s == Suppression::Shown)
        .min_by_key(|(i, (n, _))| (*n, *i))
        .map(|(i, _)| i);
    if let Some(i) = candidate {
        group[i].1 = Suppression::Complementary;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: Rule = Rule { k: 10 };

    #[test]
    fn small_cells_are_hidden_and_zero_is_shown() {
        assert_eq!(RULE.judge(0, []), Suppression::Shown);
        assert_eq!(RULE.judge(1, []), Suppression::SmallCell);
        assert_eq!(RULE.judge(9, []), Suppression::SmallCell);
        assert_eq!(RULE.judge(10, []), Suppression::Shown);
    }

    #[test]
    fn a_broader_answer_minus_this_one_may_not_be_small() {
        assert_eq!(RULE.judge(40, [43]), Suppression::Differencing);
        assert_eq!(RULE.judge(40, [40, 50, 100]), Suppression::Shown);
    }

    #[test]
    fn a_lone_hidden_cell_gets_a_companion() {
        let mut group = [
            (50, Suppression::Shown),
            (3, Suppression::SmallCell),
            (12, Suppression::Shown),
            (20, Suppression::Shown),
            (0, Suppression::Shown),
        ];
        complement(&mut group);
        assert_eq!(group[2].1, Suppression::Complementary);
        assert_eq!(
            group[4].1,
            Suppression::Shown,
            "zeros are never the companion"
        );
        let mut two = [
            (3, Suppression::SmallCell),
            (4, Suppression::SmallCell),
            (30, Suppression::Shown),
        ];
        complement(&mut two);
        assert_eq!(two[2].1, Suppression::Shown);
    }
}
