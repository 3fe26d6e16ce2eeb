//! Safety culture beside the reviews, and where a jurisdiction's culture
//! stands among the members'.
//!
//! The units are closed survey waves' whole-wave counts (culture sends
//! nothing per unit). Their counts go through the same cell key perturbation
//! as every pooled count; on top of it, a pooled comparison of members is
//! shown only for a year that is over, so that its set of members never
//! changes after anyone has seen it (a change would describe the newcomer),
//! and only when at least `min_members` members took part, so that no
//! member's value is the pool's.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use scir_proto::insights::v1::{self as pb, Row, Suppression, Table};

use super::engine::{Query, Tables, counts, header, rows, share};
use super::facts::Dicts;
use super::protection::{self, Perturbation};
use super::snapshot::{Compact, Keyed, Snapshot};

/// The row code of the response rate among a year's composites.
pub const RESPONSE_RATE: &str = "RESPONSE_RATE";

fn year_of(c: &Compact) -> i32 {
    c.quarter.div_euclid(4)
}

/// A sum of keyed counts: the population's count and cell key.
#[derive(Debug, Default, Clone, Copy)]
struct Sum {
    n: i64,
    key: u32,
}

impl Sum {
    fn add(&mut self, k: Keyed) {
        self.n += k.n;
        self.key = self.key.wrapping_add(k.key);
    }
}

fn show(protection: Option<&Perturbation>, s: Sum) -> pb::Count {
    match protection {
        Some(p) => p.protect(s.n, s.key),
        None => protection::shown(s.n),
    }
}

fn hidden_comparison() -> pb::Count {
    pb::Count {
        value: None,
        suppression: Suppression::Members as i32,
    }
}

/// Whether a pooled comparison of a year's `members` may be shown.
fn comparable(query: &Query, year: i32, members: usize) -> bool {
    year < query.this_month / 100 && members >= query.min_members
}

/// (positive answers, answers) of a composite.
type Answers = (Sum, Sum);

/// The counted waves' sums by year: per composite, the response counts, and
/// the members that surveyed.
#[derive(Default)]
struct Yearly {
    composites: BTreeMap<(i32, u32), Answers>,
    response: BTreeMap<i32, (Sum, Sum)>,
    members: BTreeMap<i32, BTreeSet<u32>>,
}

fn yearly(query: &Query, snap: &Snapshot) -> Yearly {
    let c = &snap.culture;
    let mut out = Yearly::default();
    for w in &c.waves {
        let Some(head) = c.heads.get(w.row as usize).filter(|h| counts(query, h)) else {
            continue;
        };
        let year = year_of(head);
        out.members
            .entry(year)
            .or_default()
            .insert(head.jurisdiction);
        let r = out.response.entry(year).or_default();
        r.0.add(w.respondents);
        r.1.add(w.invited);
        for composite in &w.composites {
            let e = out.composites.entry((year, composite.code)).or_default();
            e.0.add(composite.positive);
            e.1.add(composite.answered);
        }
    }
    out
}

fn row(keys: Vec<String>, count: pb::Count, denominator: pb::Count) -> Row {
    Row {
        keys,
        share: share(&count, &denominator),
        count: Some(count),
        denominator: Some(denominator),
        ..Default::default()
    }
}

/// Per year: each culture composite's positive answers over answers and the
/// response rate, then each SSIT domain's prevalence in that year's reviews.
pub fn beside_reviews(query: &Query, snap: &Snapshot, dicts: &Dicts) -> Table {
    let protection = query.protection.as_deref();
    let culture = yearly(query, snap);
    let level = query.level.clamp(0, 255) as u8;
    let mut years: BTreeSet<i32> = culture.members.keys().copied().collect();
    years.extend(rows(query, snap).map(|(_, f)| year_of(f)));
    let year_ids: HashMap<i32, u32> = years
        .iter()
        .enumerate()
        .map(|(i, y)| (*y, i as u32))
        .collect();
    let mut t = Tables::new(years.len().max(1), dicts.domains.len().max(1));
    let mut ms = Vec::new();
    for (row, f) in rows(query, snap) {
        ms.clear();
        ms.extend(
            snap.domains_of(row)
                .iter()
                .take(dicts.domains.len())
                .enumerate()
                .filter(|(_, l)| **l >= level.max(1))
                .map(|(i, _)| i as u32),
        );
        t.add(f.key, &[year_ids[&year_of(f)]], &ms);
    }
    let (_, mut domains) = t.present();
    domains.sort_by_key(|d| dicts.domains.name(*d as u32).to_owned());
    let mut table = Table {
        key_columns: vec!["year".into(), "source".into(), "code".into()],
        ..header(query)
    };
    for year in &years {
        let members = culture.members.get(year).map_or(0, BTreeSet::len);
        let hide = protection.is_some() && !comparable(query, *year, members);
        let pair = |(a, b): (Sum, Sum)| {
            if hide {
                (hidden_comparison(), hidden_comparison())
            } else {
                (show(protection, a), show(protection, b))
            }
        };
        let mut composites: Vec<(&str, Answers)> = culture
            .composites
            .range((*year, 0)..=(*year, u32::MAX))
            .map(|((_, code), sums)| (dicts.composites.name(*code), *sums))
            .collect();
        composites.sort_by_key(|(code, _)| *code);
        for (code, sums) in composites {
            let (count, denominator) = pair(sums);
            let keys = vec![year.to_string(), "culture".into(), code.to_owned()];
            table.rows.push(row(keys, count, denominator));
        }
        if let Some(sums) = culture.response.get(year) {
            let (count, denominator) = pair(*sums);
            let keys = vec![year.to_string(), "culture".into(), RESPONSE_RATE.into()];
            table.rows.push(row(keys, count, denominator));
        }
        let b = year_ids[year] as usize;
        if t.get(Some(b), None).0 == 0 {
            continue;
        }
        let denominator = t.shown(protection, Some(b), None);
        for d in &domains {
            let count = t.shown(protection, Some(b), Some(*d));
            let name = dicts.domains.name(*d as u32).to_owned();
            table.rows.push(row(
                vec![year.to_string(), "ssit".into(), name],
                count,
                denominator,
            ));
        }
    }
    table.population = Some(t.shown(protection, None, None));
    table
}

/// The `q` quantile of sorted `values` by linear interpolation.
fn quantile(values: &[f64], q: f64) -> f64 {
    let at = (values.len() - 1) as f64 * q;
    let (lo, hi) = (at.floor() as usize, at.ceil() as usize);
    values[lo] + (values[hi] - values[lo]) * (at - lo as f64)
}

fn rounded(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

/// Per year and composite: the members' quartiles of percent positive, each
/// member's from its perturbed counts, and for an analyst their own
/// jurisdiction's exact share and percentile among them.
pub fn standing(query: &Query, snap: &Snapshot, dicts: &Dicts) -> Table {
    let protection = query.protection.as_deref();
    let c = &snap.culture;
    let own = query
        .own
        .as_deref()
        .and_then(|j| dicts.jurisdictions.get(j));
    let mut pool: BTreeMap<(i32, u32), BTreeMap<u32, Answers>> = BTreeMap::new();
    let mut mine: BTreeMap<(i32, u32), Answers> = BTreeMap::new();
    for w in &c.waves {
        let Some(head) = c.heads.get(w.row as usize) else {
            continue;
        };
        let pooled = counts(query, head);
        // The analyst's own waves count for them even when their
        // jurisdiction keeps out of the pool.
        let theirs = own == Some(head.jurisdiction)
            && head.alive
            && query.filters.iter().all(|f| (f.test)(head));
        for composite in &w.composites {
            let at = (year_of(head), composite.code);
            if pooled {
                let e = pool
                    .entry(at)
                    .or_default()
                    .entry(head.jurisdiction)
                    .or_default();
                e.0.add(composite.positive);
                e.1.add(composite.answered);
            }
            if theirs {
                let e = mine.entry(at).or_default();
                e.0.add(composite.positive);
                e.1.add(composite.answered);
            }
        }
    }
    let mut table = Table {
        key_columns: vec!["year".into(), "composite".into()],
        ..header(query)
    };
    let cells: BTreeSet<(i32, u32)> = pool.keys().chain(mine.keys()).copied().collect();
    for at @ (year, code) in cells {
        let mut values: Vec<f64> = pool
            .get(&at)
            .into_iter()
            .flat_map(BTreeMap::values)
            .filter_map(|(p, a)| {
                let (p, a) = (show(protection, *p).value?, show(protection, *a).value?);
                (a > 0).then(|| (p as f64 / a as f64).clamp(0.0, 1.0))
            })
            .collect();
        values.sort_by(f64::total_cmp);
        let exact = mine
            .get(&at)
            .map(|(p, a)| (protection::shown(p.n), protection::shown(a.n)));
        let own_share = exact.as_ref().and_then(|(p, a)| share(p, a));
        let distribution = if comparable(query, year, values.len()) {
            pb::Distribution {
                members: Some(protection::shown(values.len() as i64)),
                p25: Some(rounded(quantile(&values, 0.25))),
                median: Some(rounded(quantile(&values, 0.5))),
                p75: Some(rounded(quantile(&values, 0.75))),
                own_percentile: own_share.map(|x| {
                    let below = values.iter().filter(|v| **v < x).count() as f64;
                    let equal = values.iter().filter(|v| **v == x).count() as f64;
                    (100.0 * (below + equal / 2.0) / values.len() as f64).round()
                }),
            }
        } else {
            pb::Distribution {
                members: Some(hidden_comparison()),
                ..Default::default()
            }
        };
        let (count, denominator) = exact.unzip();
        table.rows.push(Row {
            keys: vec![year.to_string(), dicts.composites.name(code).to_owned()],
            share: own_share,
            count,
            denominator,
            distribution: Some(distribution),
            ..Default::default()
        });
    }
    table.rows.sort_by(|a, b| a.keys.cmp(&b.keys));
    table
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use scir_proto::insights::v1::{Breakdown, Question};

    use super::*;
    use crate::domain::facts::CultureWaveFact;
    use crate::domain::snapshot::Culture;

    const THIS_YEAR: i32 = 2026;

    /// A wave of `jurisdiction` closed in `year` whose composite `COM` had
    /// `positive` of `answered` answers positive.
    fn wave(
        jurisdiction: &str,
        year: i32,
        positive: i32,
        answered: i32,
        key: u32,
    ) -> CultureWaveFact {
        CultureWaveFact {
            jurisdiction: jurisdiction.into(),
            quarter: format!("{year}-Q3"),
            respondents: answered / 2,
            invited: answered,
            composites: [("COM".to_owned(), [positive, answered - positive, 0])].into(),
            cell_key: key,
        }
    }

    fn members(n: usize, year: i32) -> Vec<CultureWaveFact> {
        (0..n)
            .map(|i| {
                let answered = 80 + 17 * i as i32;
                let positive = answered * (2 + i as i32 % 5) / 8;
                wave(
                    &format!("m{i}"),
                    year,
                    positive,
                    answered,
                    0x9e37_79b9u32.wrapping_mul(i as u32 + 1),
                )
            })
            .collect()
    }

    fn answer(question: Question, facts: &[CultureWaveFact], own: Option<&str>) -> Table {
        let mut dicts = Dicts::default();
        let mut snap = Snapshot::new();
        snap.culture = Culture::of(facts, &mut dicts);
        let query = Query {
            question,
            filters: Vec::new(),
            breakdown: Breakdown::Unspecified,
            level: 2,
            code: String::new(),
            protection: Some(Arc::new(Perturbation::new(10, 20, 2.0).expect("table"))),
            universe: vec![true; dicts.jurisdictions.len()],
            withheld: vec![false; dicts.jurisdictions.len()],
            this_month: THIS_YEAR * 100 + 6,
            min_members: 5,
            own: own.map(str::to_owned),
        };
        match question {
            Question::CultureStanding => standing(&query, &snap, &dicts),
            _ => beside_reviews(&query, &snap, &dicts),
        }
    }

    /// A row's keys, its counts, and its shares and quartiles.
    type Shown = (Vec<String>, Vec<Option<i64>>, Vec<Option<f64>>);

    /// Every value a partner is shown, by row.
    fn shown(table: &Table) -> Vec<Shown> {
        table
            .rows
            .iter()
            .map(|r| {
                let d = r.distribution.unwrap_or_default();
                (
                    r.keys.clone(),
                    vec![
                        r.count.and_then(|c| c.value),
                        r.denominator.and_then(|c| c.value),
                        d.members.and_then(|c| c.value),
                    ],
                    vec![r.share, d.p25, d.median, d.p75, d.own_percentile],
                )
            })
            .collect()
    }

    #[test]
    fn answers_are_the_same_whoever_holds_which_value() {
        // The attack: a partner that knows which members surveyed tries to
        // tell which value is whose. Swapping two members' names (each
        // wave keeping its counts and key) must change no answer, so no
        // answer depends on who holds a value.
        let facts = members(7, 2024);
        let mut swapped = facts.clone();
        swapped[0].jurisdiction = "m3".into();
        swapped[3].jurisdiction = "m0".into();
        for question in [Question::CultureStanding, Question::CultureBesideReviews] {
            let (a, b) = (
                answer(question, &facts, None),
                answer(question, &swapped, None),
            );
            assert_eq!(shown(&a), shown(&b), "{question:?}");
            assert!(
                shown(&a)
                    .iter()
                    .all(|(_, counts, _)| counts.iter().any(Option::is_some))
            );
        }
        // An analyst of m0 is placed by their own value, which did move.
        let (a, b) = (
            answer(Question::CultureStanding, &facts, Some("m0")),
            answer(Question::CultureStanding, &swapped, Some("m0")),
        );
        assert_ne!(a.rows[0].share, b.rows[0].share);
    }

    #[test]
    fn a_newcomer_this_year_changes_nothing_a_partner_sees() {
        // The attack: ask before and after a member announces its survey and
        // difference the answers. This year's comparison is hidden until the
        // year is over, and the years before do not move.
        let mut facts = members(7, 2024);
        facts.extend(members(6, THIS_YEAR));
        let mut after = facts.clone();
        after.push(wave("newcomer", THIS_YEAR, 20, 90, 77));
        for question in [Question::CultureStanding, Question::CultureBesideReviews] {
            let (a, b) = (
                answer(question, &facts, None),
                answer(question, &after, None),
            );
            assert_eq!(shown(&a), shown(&b), "{question:?}");
            let this_year: Vec<_> = shown(&b)
                .into_iter()
                .filter(|(keys, _, _)| keys[0] == THIS_YEAR.to_string())
                .collect();
            assert!(!this_year.is_empty());
            for (keys, counts, values) in this_year {
                assert!(counts.iter().all(Option::is_none), "{keys:?}: {counts:?}");
                assert!(values.iter().all(Option::is_none), "{keys:?}: {values:?}");
            }
        }
    }

    #[test]
    fn fewer_members_than_the_minimum_are_never_compared() {
        let table = answer(Question::CultureStanding, &members(4, 2024), None);
        let d = table.rows[0].distribution.expect("distribution");
        assert_eq!(
            d.members.map(|m| m.suppression),
            Some(Suppression::Members as i32)
        );
        assert_eq!((d.p25, d.median, d.p75), (None, None, None));
        let table = answer(Question::CultureStanding, &members(5, 2024), None);
        let d = table.rows[0].distribution.expect("distribution");
        assert_eq!(d.members.and_then(|m| m.value), Some(5));
        assert!(d.median.is_some());
    }

    #[test]
    fn quartiles_interpolate_between_members() {
        let v = [0.2, 0.4, 0.6, 0.8, 1.0];
        assert!((quantile(&v, 0.5) - 0.6).abs() < 1e-12);
        assert!((quantile(&v, 0.25) - 0.4).abs() < 1e-12);
        let v = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        assert!((quantile(&v, 0.5) - 0.35).abs() < 1e-12);
        assert!((quantile(&v, 0.75) - 0.475).abs() < 1e-12);
    }
}
