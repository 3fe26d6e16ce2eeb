//! The questions, answered from the facts in one pass each.
//!
//! Every unit (a review; for recommendation questions a recommendation; for
//! the learning loop's questions a consideration or a notice at a recipient) that
//! meets the filters is classified once: which breakdown values it has, which
//! measures it satisfies. Each cell's count and cell key (the sum of its
//! units' keys) come from the resulting tables, without another pass; pooled
//! answers are perturbed from the two ([`super::protection`]).

use std::collections::HashMap;

use scir_proto::Labelled;
use scir_proto::insights::v1::{self as pb, Breakdown, Question, Row, Table};
use scir_proto::intake::v1 as intake;
use scir_proto::learning::v1 as learning;
use scir_proto::review::v1 as review;

use super::facts::{AGE_BANDS, Dicts};
use super::protection::{self, Perturbation};
use super::snapshot::{Compact, CompactRecipient, CompactRecommendation, Snapshot};

/// A filter: a name (for errors) and a test.
pub struct Filter {
    /// What it tests, e.g. `cause`.
    pub name: &'static str,
    /// The test.
    pub test: Box<dyn Fn(&Compact) -> bool + Send + Sync>,
}

impl std::fmt::Debug for Filter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Filter").field("name", &self.name).finish()
    }
}

/// A question with its parameters, ready to answer.
#[derive(Debug)]
pub struct Query {
    /// The question.
    pub question: Question,
    /// Filters; a unit counts when it meets all of them.
    pub filters: Vec<Filter>,
    /// Breakdown.
    pub breakdown: Breakdown,
    /// Level at or above which an item counts.
    pub level: i32,
    /// Item code or theme name (trend, systems map).
    pub code: String,
    /// Perturbation, for answers that leave a jurisdiction.
    pub protection: Option<std::sync::Arc<Perturbation>>,
    /// By jurisdiction number: whether its reviews count.
    pub universe: Vec<bool>,
    /// By jurisdiction number: whether its name is shown as `withheld`.
    pub withheld: Vec<bool>,
    /// This month as year * 100 + month, for overdue recommendations.
    pub this_month: i32,
    /// Fewest members a pooled comparison of members takes.
    pub min_members: usize,
    /// For a culture standing asked by an analyst: their own jurisdiction,
    /// whose exact counts the answer places among the members'.
    pub own: Option<String>,
}

/// A theme's name for keys, e.g. `SAFE_SLEEP`.
pub fn theme_name(value: i32) -> String {
    review::Theme::try_from(value)
        .map(|t| t.label().to_owned())
        .unwrap_or_else(|_| value.to_string())
}

fn enum_name<T: TryFrom<i32>>(value: i32, name: fn(&T) -> &'static str) -> String {
    T::try_from(value)
        .map(|v| name(&v).to_owned())
        .unwrap_or_else(|_| value.to_string())
}

/// Numbers of a unit's breakdown values, pushed to `out`; `withheld` is the
/// number of the `withheld` group.
fn breakdown_ids(
    query: &Query,
    f: &Compact,
    withheld_ids: &[bool],
    withheld: u32,
    out: &mut Vec<u32>,
) {
    match query.breakdown {
        Breakdown::Unspecified if query.question == Question::Trend => out.push(f.quarter_id),
        Breakdown::Unspecified => out.push(0),
        Breakdown::ByCause => out.push(f.cause as u32),
        Breakdown::ByIncidentType => out.push(f.incident_type as u32),
        Breakdown::ByRaceEthnicity => out.extend((0..64u32).filter(|r| f.races & (1 << r) != 0)),
        Breakdown::ByTribalStatus => out.push(f.tribal as u32),
        Breakdown::ByAgeBand => out.push(f.age_band),
        Breakdown::BySex => out.push(f.sex as u32),
        Breakdown::ByJurisdiction => {
            let j = f.jurisdiction;
            out.push(if withheld_ids.get(j as usize).copied().unwrap_or(false) {
                withheld
            } else {
                j
            });
        }
    }
}

/// How many breakdown numbers there can be.
fn breakdown_size(query: &Query, dicts: &Dicts) -> usize {
    match query.breakdown {
        Breakdown::Unspecified if query.question == Question::Trend => dicts.quarters.len(),
        Breakdown::Unspecified => 1,
        Breakdown::ByAgeBand => AGE_BANDS.len(),
        Breakdown::ByJurisdiction => dicts.jurisdictions.len() + 1,
        _ => 64,
    }
}

/// The label of a breakdown number.
fn breakdown_label(query: &Query, dicts: &Dicts, id: u32) -> String {
    let v = id as i32;
    match query.breakdown {
        Breakdown::Unspecified if query.question == Question::Trend => {
            dicts.quarters.name(id).to_owned()
        }
        Breakdown::Unspecified => String::new(),
        Breakdown::ByCause => enum_name::<intake::CauseCategory>(v, |x| x.label()),
        Breakdown::ByIncidentType => enum_name::<intake::IncidentType>(v, |x| x.label()),
        Breakdown::ByRaceEthnicity => enum_name::<intake::RaceEthnicity>(v, |x| x.label()),
        Breakdown::ByTribalStatus => enum_name::<intake::TribalStatus>(v, |x| x.label()),
        Breakdown::ByAgeBand => AGE_BANDS
            .get(id as usize)
            .copied()
            .unwrap_or_default()
            .to_owned(),
        Breakdown::BySex => enum_name::<intake::Sex>(v, |x| x.label()),
        Breakdown::ByJurisdiction if id as usize == dicts.jurisdictions.len() => {
            "withheld".to_owned()
        }
        Breakdown::ByJurisdiction => dicts.jurisdictions.name(id).to_owned(),
    }
}

fn breakdown_column(query: &Query) -> Option<&'static str> {
    match query.breakdown {
        Breakdown::Unspecified if query.question == Question::Trend => Some("quarter"),
        Breakdown::Unspecified => None,
        Breakdown::ByCause => Some("cause"),
        Breakdown::ByIncidentType => Some("incident_type"),
        Breakdown::ByRaceEthnicity => Some("race_ethnicity"),
        Breakdown::ByTribalStatus => Some("tribal_status"),
        Breakdown::ByAgeBand => Some("age_band"),
        Breakdown::BySex => Some("sex"),
        Breakdown::ByJurisdiction => Some("jurisdiction"),
    }
}

/// Counts and cell keys by breakdown number and measure number, in dense arrays.
pub(super) struct Tables {
    nb: usize,
    nm: usize,
    pop: (i64, u32),
    by_b: Vec<(i64, u32)>,
    by_m: Vec<(i64, u32)>,
    cell: Vec<(i64, u32)>,
}

fn bump(slot: &mut (i64, u32), key: u32) {
    slot.0 += 1;
    slot.1 = slot.1.wrapping_add(key);
}

impl Tables {
    pub(super) fn new(nb: usize, nm: usize) -> Self {
        Self {
            nb,
            nm,
            pop: (0, 0),
            by_b: vec![(0, 0); nb],
            by_m: vec![(0, 0); nm],
            cell: vec![(0, 0); nb * nm],
        }
    }

    /// Counts a unit with cell key `key`, breakdown numbers `bs` and measure
    /// numbers `ms`.
    pub(super) fn add(&mut self, key: u32, bs: &[u32], ms: &[u32]) {
        bump(&mut self.pop, key);
        for &b in bs {
            bump(&mut self.by_b[b as usize], key);
        }
        for &m in ms {
            bump(&mut self.by_m[m as usize], key);
            for &b in bs {
                bump(&mut self.cell[b as usize * self.nm + m as usize], key);
            }
        }
    }

    /// Count and cell key of the units with breakdown `b` (when given) and
    /// measure `m` (when given).
    pub(super) fn get(&self, b: Option<usize>, m: Option<usize>) -> (i64, u32) {
        match (b, m) {
            (None, None) => self.pop,
            (Some(b), None) => self.by_b[b],
            (None, Some(m)) => self.by_m[m],
            (Some(b), Some(m)) => self.cell[b * self.nm + m],
        }
    }

    /// The count as shown: exact, or perturbed under `protection`.
    pub(super) fn shown(
        &self,
        protection: Option<&Perturbation>,
        b: Option<usize>,
        m: Option<usize>,
    ) -> pb::Count {
        let (n, key) = self.get(b, m);
        match protection {
            Some(p) => p.protect(n, key),
            None => protection::shown(n),
        }
    }

    /// Breakdown numbers with any unit, and measure numbers with any unit.
    pub(super) fn present(&self) -> (Vec<usize>, Vec<usize>) {
        let bs = (0..self.nb).filter(|b| self.by_b[*b].0 > 0).collect();
        let ms = (0..self.nm).filter(|m| self.by_m[*m].0 > 0).collect();
        (bs, ms)
    }
}

fn sort_by_label(ids: &mut [usize], label: impl Fn(usize) -> String) {
    ids.sort_by_key(|i| label(*i));
}

pub(super) fn share(n: &pb::Count, d: &pb::Count) -> Option<f64> {
    match (n.value, d.value) {
        (Some(n), Some(d)) if d > 0 => Some(n as f64 / d as f64),
        _ => None,
    }
}

/// Whether the query counts a review: alive, in its universe, meeting every filter.
pub(super) fn counts(query: &Query, c: &Compact) -> bool {
    c.alive
        && query
            .universe
            .get(c.jurisdiction as usize)
            .copied()
            .unwrap_or(false)
        && query.filters.iter().all(|f| (f.test)(c))
}

/// The rows of the snapshot the query counts.
pub(super) fn rows<'a>(
    query: &'a Query,
    snap: &'a Snapshot,
) -> impl Iterator<Item = (usize, &'a Compact)> + 'a {
    snap.rows
        .iter()
        .enumerate()
        .filter(|(_, c)| counts(query, c))
}

/// A table's header for a query: its question and, for pooled answers, the
/// threshold and the perturbation's published bounds.
pub(super) fn header(query: &Query) -> Table {
    let p = query.protection.as_deref();
    Table {
        question: query.question as i32,
        k: p.map_or(0, |p| p.k as i32),
        max_adjustment: p.map_or(0, |p| p.max as i32),
        adjustment_sd: p.map_or(0.0, |p| p.sd),
        ..Default::default()
    }
}

/// Answers `query` over the snapshot, whose names `dicts` numbers.
pub fn answer(query: &Query, snap: &Snapshot, dicts: &Dicts) -> Table {
    let level = query.level;
    match query.question {
        Question::Recommendations => {
            return actions(query, &snap.rows, &snap.recommendations, RECOMMENDATION);
        }
        Question::RecommendationEffectiveness => {
            return effectiveness(query, &snap.rows, &snap.recommendations, RECOMMENDATION);
        }
        Question::Considerations => {
            let l = &snap.learning;
            return actions(query, &l.heads, &l.considerations, CONSIDERATION);
        }
        Question::ConsiderationStatus => {
            let l = &snap.learning;
            return consideration_status(query, &l.heads, &l.considerations);
        }
        Question::ConsiderationEffectiveness => {
            let l = &snap.learning;
            return effectiveness(query, &l.heads, &l.considerations, CONSIDERATION);
        }
        Question::SafetyNoticeResponses => {
            let l = &snap.learning;
            return notice_responses(query, &l.heads, &l.recipients);
        }
        Question::CoOccurrence | Question::SystemsMap => {
            return pairs(query, snap, dicts);
        }
        Question::CultureBesideReviews => {
            return super::culture::beside_reviews(query, snap, dicts);
        }
        Question::CultureStanding => return super::culture::standing(query, snap, dicts),
        _ => {}
    }
    let protection = query.protection.as_deref();
    let mut table = header(query);
    let withheld = &query.withheld;
    let withheld_id = dicts.jurisdictions.len() as u32;
    let code_item = dicts.items.get(&query.code).map(|i| i as usize);
    let code_theme = review::Theme::from_label(&query.code).map(|t| t as i32);
    let nm = match query.question {
        Question::FactorPrevalence => dicts.items.len(),
        Question::DomainPrevalence => dicts.domains.len(),
        Question::ThemePrevalence => 32,
        _ => 1,
    };
    let mut t = Tables::new(breakdown_size(query, dicts).max(1), nm.max(1));
    let (mut bs, mut ms) = (Vec::new(), Vec::new());
    let level = level.clamp(0, 255) as u8;
    for (row, f) in rows(query, snap) {
        bs.clear();
        ms.clear();
        breakdown_ids(query, f, withheld, withheld_id, &mut bs);
        match query.question {
            Question::FactorPrevalence => {
                ms.extend(
                    snap.items_of(row)
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| **l >= level)
                        .map(|(i, _)| i as u32),
                );
            }
            Question::DomainPrevalence => {
                ms.extend(
                    snap.domains_of(row)
                        .iter()
                        .enumerate()
                        .filter(|(_, l)| **l >= level)
                        .map(|(i, _)| i as u32),
                );
            }
            Question::ThemePrevalence => ms.extend((0..32u32).filter(|t| f.themes & (1 << t) != 0)),
            Question::Trend => {
                let has = code_item
                    .is_some_and(|c| snap.items_of(row).get(c).is_some_and(|l| *l >= level))
                    || code_theme.is_some_and(|c| (0..64).contains(&c) && f.themes & (1 << c) != 0);
                if has {
                    ms.push(0);
                }
            }
            _ => {}
        }
        t.add(f.key, &bs, &ms);
    }
    let b_col = breakdown_column(query);
    table.key_columns = b_col
        .into_iter()
        .map(str::to_owned)
        .chain([measure_column(query.question).to_owned()])
        .collect();
    let with_b = b_col.is_some();
    let (mut b_present, mut m_present) = t.present();
    if query.question == Question::Trend {
        m_present = vec![0];
    }
    let measure_label = |m: usize| match query.question {
        Question::FactorPrevalence => dicts.items.name(m as u32).to_owned(),
        Question::DomainPrevalence => dicts.domains.name(m as u32).to_owned(),
        Question::ThemePrevalence => theme_name(m as i32),
        _ => query.code.clone(),
    };
    sort_by_label(&mut b_present, |b| breakdown_label(query, dicts, b as u32));
    sort_by_label(&mut m_present, measure_label);
    let bs: Vec<Option<usize>> = if with_b {
        b_present.into_iter().map(Some).collect()
    } else {
        vec![None]
    };

    for b in &bs {
        // Breakdown values only filtered-out units have make no row.
        if t.get(*b, None).0 == 0 {
            continue;
        }
        let denominator = t.shown(protection, *b, None);
        for m in &m_present {
            let count = t.shown(protection, *b, Some(*m));
            let mut keys: Vec<String> = b
                .map(|b| breakdown_label(query, dicts, b as u32))
                .into_iter()
                .collect();
            keys.push(measure_label(*m));
            table.rows.push(Row {
                keys,
                share: share(&count, &denominator),
                count: Some(count),
                denominator: Some(denominator),
                ..Default::default()
            });
        }
    }
    table.population = Some(t.shown(protection, None, None));
    table
}

fn measure_column(q: Question) -> &'static str {
    match q {
        Question::FactorPrevalence | Question::CoOccurrence | Question::SystemsMap => "item",
        Question::DomainPrevalence => "domain",
        Question::ThemePrevalence => "theme",
        Question::Trend => "code",
        Question::Recommendations | Question::Considerations => "category",
        Question::ConsiderationStatus => "status",
        Question::RecommendationEffectiveness | Question::ConsiderationEffectiveness => "result",
        Question::SafetyNoticeResponses => "response",
        Question::CultureBesideReviews => "code",
        Question::CultureStanding => "composite",
        Question::Unspecified => "",
    }
}

/// Co-occurrence and the aggregate systems map: items and pairs of items at or
/// above the level, with lift.
fn pairs(query: &Query, snap: &Snapshot, dicts: &Dicts) -> Table {
    let level = query.level.clamp(0, 255) as u8;
    let map = query.question == Question::SystemsMap;
    let theme = review::Theme::from_label(&query.code).map(|t| t as i32);
    let protection = query.protection.as_deref();
    let n = dicts.items.len().max(1);
    // Measures: item i is i; pair (a, b) with a < b is n + a * n + b.
    let mut t = Tables::new(1, n + n * n);
    let (mut items, mut ms) = (Vec::new(), Vec::new());
    for (row, f) in rows(query, snap) {
        // For a map, the theme is one more constraint, like a filter.
        if map && !theme.is_some_and(|th| (0..64).contains(&th) && f.themes & (1 << th) != 0) {
            continue;
        }
        items.clear();
        items.extend(
            snap.items_of(row)
                .iter()
                .enumerate()
                .filter(|(_, l)| **l >= level)
                .map(|(i, _)| i as u32),
        );
        ms.clear();
        ms.extend(items.iter().copied());
        for (i, a) in items.iter().enumerate() {
            for b in &items[i + 1..] {
                ms.push((n + *a as usize * n + *b as usize) as u32);
            }
        }
        t.add(f.key, &[0], &ms);
    }
    let mut table = Table {
        key_columns: if map {
            vec!["kind".into(), "from".into(), "to".into()]
        } else {
            vec!["item".into(), "item".into()]
        },
        ..header(query)
    };
    let population = t.shown(protection, None, None);
    let (_, present) = t.present();
    let judged: HashMap<usize, pb::Count> = present
        .iter()
        .map(|m| (*m, t.shown(protection, Some(0), Some(*m))))
        .collect();
    let share_of = |c: &pb::Count| share(c, &population);
    let name = |i: usize| dicts.items.name(i as u32).to_owned();
    if map {
        let mut nodes: Vec<usize> = present.iter().copied().filter(|m| *m < n).collect();
        nodes.sort_by_key(|i| name(*i));
        for i in nodes {
            let count = judged[&i];
            table.rows.push(Row {
                keys: vec!["node".into(), name(i), String::new()],
                share: share_of(&count),
                count: Some(count),
                denominator: Some(population),
                ..Default::default()
            });
        }
    }
    let mut edges: Vec<Row> = Vec::new();
    for m in present.iter().copied().filter(|m| *m >= n) {
        let (a, b) = ((m - n) / n, (m - n) % n);
        let count = judged[&m];
        let both = share_of(&count);
        let single = |i: usize| judged.get(&i).and_then(share_of);
        let lift = match (both, single(a), single(b)) {
            (Some(ab), Some(pa), Some(pb)) if pa > 0.0 && pb > 0.0 => Some(ab / (pa * pb)),
            _ => None,
        };
        let (la, lb) = {
            let (x, y) = (name(a), name(b));
            if x <= y { (x, y) } else { (y, x) }
        };
        let keys = if map {
            vec!["edge".into(), la, lb]
        } else {
            vec![la, lb]
        };
        edges.push(Row {
            keys,
            share: both,
            lift,
            count: Some(count),
            denominator: Some(population),
            ..Default::default()
        });
    }
    edges.sort_by(|x, y| {
        y.lift
            .unwrap_or(f64::MIN)
            .total_cmp(&x.lift.unwrap_or(f64::MIN))
            .then_with(|| x.keys.cmp(&y.keys))
    });
    table.rows.extend(edges);
    table.population = Some(population);
    table
}

/// The statuses of an action (a review's recommendation or a mapping's
/// consideration) that say it is done or closed.
#[derive(Debug, Clone, Copy)]
struct Closing {
    implemented: i32,
    closed: i32,
}

const RECOMMENDATION: Closing = Closing {
    implemented: review::RecommendationStatus::Implemented as i32,
    closed: review::RecommendationStatus::Declined as i32,
};

const CONSIDERATION: Closing = Closing {
    implemented: learning::ConsiderationStatus::Implemented as i32,
    closed: learning::ConsiderationStatus::NotPursued as i32,
};

/// Whether the query counts a unit with head `row` in `heads` (its review,
/// or its own for the learning loop's units).
fn counts_at(query: &Query, heads: &[Compact], row: u32) -> bool {
    heads.get(row as usize).is_some_and(|h| counts(query, h))
}

/// Actions by category and strength: count, implemented, overdue.
fn actions(query: &Query, heads: &[Compact], units: &[CompactRecommendation], c: Closing) -> Table {
    let protection = query.protection.as_deref();
    // Breakdown: category * 8 + strength; measures: 0 implemented, 1 overdue.
    let mut t = Tables::new(16 * 8, 2);
    let mut ms = Vec::new();
    for r in units.iter().filter(|u| counts_at(query, heads, u.row)) {
        ms.clear();
        if r.status == c.implemented {
            ms.push(0);
        }
        if r.status != c.implemented
            && r.status != c.closed
            && r.due != 0
            && r.due < query.this_month
        {
            ms.push(1);
        }
        let b = (r.category.clamp(0, 15) * 8 + r.strength.clamp(0, 7)) as u32;
        t.add(r.key, &[b], &ms);
    }
    let (bs, _) = t.present();
    let mut table = Table {
        key_columns: vec!["category".into(), "strength".into()],
        ..header(query)
    };
    for b in bs {
        let category = enum_name::<review::RecommendationCategory>((b / 8) as i32, |v| v.label());
        let strength = enum_name::<review::ActionStrength>((b % 8) as i32, |v| v.label());
        let count = t.shown(protection, Some(b), None);
        let implemented = t.shown(protection, Some(b), Some(0));
        table.rows.push(Row {
            keys: vec![category, strength],
            share: share(&implemented, &count),
            denominator: Some(count),
            count: Some(count),
            implemented: Some(implemented),
            overdue: Some(t.shown(protection, Some(b), Some(1))),
            ..Default::default()
        });
    }
    table.rows.sort_by(|a, b| a.keys.cmp(&b.keys));
    table.population = Some(t.shown(protection, None, None));
    table
}

/// A two-way table's rows, sorted by their keys: each breakdown value's
/// measures, with each count's share of the breakdown value's units.
fn share_rows(
    t: &Tables,
    protection: Option<&Perturbation>,
    label_b: impl Fn(usize) -> String,
    label_m: impl Fn(usize) -> String,
) -> Vec<Row> {
    let (bs, ms) = t.present();
    let mut rows = Vec::new();
    for &b in &bs {
        let key = label_b(b);
        let all = t.shown(protection, Some(b), None);
        for &m in &ms {
            let count = t.shown(protection, Some(b), Some(m));
            rows.push(Row {
                keys: vec![key.clone(), label_m(m)],
                share: share(&count, &all),
                denominator: Some(all),
                count: Some(count),
                ..Default::default()
            });
        }
    }
    rows.sort_by(|a, b| a.keys.cmp(&b.keys));
    rows
}

/// Considerations by category and status: each status's count and its share
/// of the category.
fn consideration_status(
    query: &Query,
    heads: &[Compact],
    units: &[CompactRecommendation],
) -> Table {
    let protection = query.protection.as_deref();
    // Breakdown: category; measure: status.
    let mut t = Tables::new(16, 8);
    for r in units.iter().filter(|u| counts_at(query, heads, u.row)) {
        t.add(
            r.key,
            &[r.category.clamp(0, 15) as u32],
            &[r.status.clamp(0, 7) as u32],
        );
    }
    let status = |m: usize| {
        enum_name::<learning::ConsiderationStatus>(m as i32, |v| {
            v.label().trim_start_matches("CONSIDERATION_STATUS_")
        })
    };
    let category = |b: usize| enum_name::<review::RecommendationCategory>(b as i32, |v| v.label());
    Table {
        key_columns: vec!["category".into(), "status".into()],
        rows: share_rows(&t, protection, category, status),
        population: Some(t.shown(protection, None, None)),
        ..header(query)
    }
}

/// Implemented actions checked for effect, by action strength and result:
/// each result's count and its share of the strength's checked actions. The
/// unit is the action, with its own cell key.
fn effectiveness(
    query: &Query,
    heads: &[Compact],
    units: &[CompactRecommendation],
    c: Closing,
) -> Table {
    let protection = query.protection.as_deref();
    // Breakdown: strength; measure: result.
    let mut t = Tables::new(8, 8);
    for r in units.iter().filter(|u| counts_at(query, heads, u.row)) {
        if r.status != c.implemented || r.effectiveness == 0 {
            continue;
        }
        t.add(
            r.key,
            &[r.strength.clamp(0, 7) as u32],
            &[r.effectiveness.clamp(0, 7) as u32],
        );
    }
    let strength = |b: usize| enum_name::<review::ActionStrength>(b as i32, |v| v.label());
    let result = |m: usize| {
        enum_name::<review::Effectiveness>(m as i32, |v| {
            v.label().trim_start_matches("EFFECTIVENESS_")
        })
    };
    Table {
        key_columns: vec!["strength".into(), "result".into()],
        rows: share_rows(&t, protection, strength, result),
        population: Some(t.shown(protection, None, None)),
        ..header(query)
    }
}

/// The responses of [`notice_responses`], in their order: any answer, each
/// kind of answer (at the kind's value), none, and none past the due month.
const RESPONSES: [&str; 6] = [
    "RESPONDED",
    "ACKNOWLEDGED",
    "ACTION_TAKEN",
    "NOT_APPLICABLE",
    "UNANSWERED",
    "OVERDUE",
];

/// Days to respond, as bands: (label, last day).
const DAY_BANDS: [(&str, i32); 5] = [
    ("0-7", 7),
    ("8-14", 14),
    ("15-30", 30),
    ("31-60", 60),
    ("61+", i32::MAX),
];

/// Safety notices as their recipients handled them: per response, its count
/// among every recipient (`all`), and for answers, the days they took.
fn notice_responses(query: &Query, heads: &[Compact], units: &[CompactRecipient]) -> Table {
    let protection = query.protection.as_deref();
    let mut t = Tables::new(RESPONSES.len(), DAY_BANDS.len());
    let (mut bs, mut ms) = (Vec::new(), Vec::new());
    for r in units.iter().filter(|u| counts_at(query, heads, u.row)) {
        bs.clear();
        ms.clear();
        if (1..=3).contains(&r.response) {
            bs.extend([0, r.response as u32]);
            ms.extend(
                DAY_BANDS
                    .iter()
                    .position(|(_, last)| r.days <= *last)
                    .map(|b| b as u32),
            );
        } else {
            bs.push(4);
            if r.due != 0 && r.due < query.this_month {
                bs.push(5);
            }
        }
        t.add(r.key, &bs, &ms);
    }
    let mut table = Table {
        key_columns: vec!["response".into(), "days".into()],
        ..header(query)
    };
    let population = t.shown(protection, None, None);
    let (present, bands) = t.present();
    for b in present {
        let all = t.shown(protection, Some(b), None);
        table.rows.push(Row {
            keys: vec![RESPONSES[b].to_owned(), "all".to_owned()],
            share: share(&all, &population),
            denominator: Some(population),
            count: Some(all),
            ..Default::default()
        });
        // Only answers have days.
        if b > 3 {
            continue;
        }
        for &m in &bands {
            let count = t.shown(protection, Some(b), Some(m));
            table.rows.push(Row {
                keys: vec![RESPONSES[b].to_owned(), DAY_BANDS[m].0.to_owned()],
                share: share(&count, &all),
                denominator: Some(all),
                count: Some(count),
                ..Default::default()
            });
        }
    }
    table.population = Some(population);
    table
}

/// Every age band, for validating filters.
pub fn is_age_band(text: &str) -> bool {
    AGE_BANDS.contains(&text)
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;
    use std::sync::Arc;

    use super::*;
    use crate::domain::facts::ReviewFact;

    /// `n` reviews per (jurisdiction, cause), each with theme SAFE_SLEEP when
    /// `i` is even; keys spread over the whole range.
    fn partnership(groups: &[(&str, intake::CauseCategory, usize)]) -> (Snapshot, Dicts) {
        let mut dicts = Dicts::default();
        let mut facts = HashMap::new();
        let mut keys = Vec::new();
        let mut n = 0u32;
        for (jurisdiction, cause, count) in groups {
            for i in 0..*count {
                n += 1;
                let mut f = ReviewFact {
                    jurisdiction: (*jurisdiction).to_owned(),
                    cause: *cause as i32,
                    quarter: "2024-Q2".into(),
                    age_band: "under-1".into(),
                    themes: if i % 2 == 0 {
                        vec![review::Theme::SafeSleep as i32]
                    } else {
                        vec![]
                    },
                    cell_key: n.wrapping_mul(2_654_435_761),
                    ..Default::default()
                };
                dicts.intern(&mut f);
                let key = format!("r{n}");
                keys.push(key.clone());
                facts.insert(key, f);
            }
        }
        let mut snap = Snapshot::new();
        snap.update(&keys, &facts, &dicts);
        (snap, dicts)
    }

    fn query(
        question: Question,
        breakdown: Breakdown,
        dicts: &Dicts,
        protection: Option<Arc<Perturbation>>,
        withheld: &[&str],
    ) -> Query {
        let names = (0..dicts.jurisdictions.len() as u32).map(|j| dicts.jurisdictions.name(j));
        Query {
            question,
            filters: Vec::new(),
            breakdown,
            level: 2,
            code: String::new(),
            protection,
            universe: vec![true; dicts.jurisdictions.len()],
            withheld: names.map(|n| withheld.contains(&n)).collect(),
            this_month: 202_412,
            min_members: 5,
            own: None,
        }
    }

    fn value(c: &Option<pb::Count>) -> Option<i64> {
        c.as_ref().and_then(|c| c.value)
    }

    #[test]
    fn effectiveness_counts_checked_implemented_recommendations_by_strength() {
        use crate::domain::facts::Action;
        let (_, mut dicts) = partnership(&[("us-wi", intake::CauseCategory::Suid, 1)]);
        let implemented = review::RecommendationStatus::Implemented as i32;
        let stronger = review::ActionStrength::Stronger as i32;
        let weaker = review::ActionStrength::Weaker as i32;
        let effective = review::Effectiveness::Effective as i32;
        let not_effective = review::Effectiveness::NotEffective as i32;
        // Two stronger effective, one stronger not; one weaker not; one
        // weaker unchecked and one in progress, neither counted.
        let recs = [
            (stronger, implemented, effective),
            (stronger, implemented, effective),
            (stronger, implemented, not_effective),
            (weaker, implemented, not_effective),
            (weaker, implemented, 0),
            (weaker, review::RecommendationStatus::InProgress as i32, 0),
        ];
        let mut keys = Vec::new();
        let mut facts = HashMap::new();
        for (i, (strength, status, effectiveness)) in recs.into_iter().enumerate() {
            let mut f = ReviewFact {
                jurisdiction: "us-wi".into(),
                quarter: "2024-Q2".into(),
                cell_key: i as u32,
                recommendations: vec![Action {
                    category: 1,
                    strength,
                    status,
                    due_month: "2024-06".into(),
                    effectiveness,
                    cell_key: (i as u32).wrapping_mul(2_654_435_761),
                }],
                ..Default::default()
            };
            dicts.intern(&mut f);
            keys.push(format!("e{i}"));
            facts.insert(format!("e{i}"), f);
        }
        let mut snap = Snapshot::new();
        snap.update(&keys, &facts, &dicts);
        let q = query(
            Question::RecommendationEffectiveness,
            Breakdown::Unspecified,
            &dicts,
            None,
            &[],
        );
        let table = answer(&q, &snap, &dicts);
        assert_eq!(table.key_columns, ["strength", "result"]);
        assert_eq!(
            value(&table.population),
            Some(4),
            "checked and implemented only"
        );
        let row = |strength: &str, result: &str| {
            table
                .rows
                .iter()
                .find(|r| r.keys == [strength, result])
                .unwrap_or_else(|| panic!("{strength} {result}: {:?}", table.rows))
                .clone()
        };
        let r = row("STRONGER", "EFFECTIVE");
        assert_eq!((value(&r.count), value(&r.denominator)), (Some(2), Some(3)));
        assert!((r.share.expect("share") - 2.0 / 3.0).abs() < 1e-9);
        let r = row("WEAKER", "NOT_EFFECTIVE");
        assert_eq!((value(&r.count), value(&r.denominator)), (Some(1), Some(1)));
    }

    #[test]
    fn exact_answers_count_every_cell_and_withheld_names_group() {
        let (snap, dicts) = partnership(&[
            ("us-wi", intake::CauseCategory::Suid, 30),
            ("us-tn", intake::CauseCategory::Neglect, 12),
            ("tribal-sample", intake::CauseCategory::Suid, 3),
        ]);
        let q = query(
            Question::ThemePrevalence,
            Breakdown::ByJurisdiction,
            &dicts,
            None,
            &["tribal-sample"],
        );
        let table = answer(&q, &snap, &dicts);
        assert_eq!(value(&table.population), Some(45));
        assert_eq!((table.k, table.max_adjustment), (0, 0), "exact: no bound");
        let row = |j: &str| {
            table
                .rows
                .iter()
                .find(|r| r.keys[0] == j)
                .unwrap_or_else(|| panic!("{j}"))
        };
        assert_eq!(value(&row("us-wi").count), Some(15));
        assert_eq!(value(&row("us-wi").denominator), Some(30));
        assert_eq!(value(&row("withheld").denominator), Some(3));
        assert!(table.rows.iter().all(|r| r.keys[0] != "tribal-sample"));
    }

    #[test]
    fn protected_answers_stay_within_the_bound_and_one_population_has_one_answer() {
        let (snap, dicts) = partnership(&[
            ("us-wi", intake::CauseCategory::Suid, 80),
            ("us-tn", intake::CauseCategory::Neglect, 60),
            ("us-ks", intake::CauseCategory::Drowning, 4),
        ]);
        let p = Arc::new(Perturbation::new(10, 20, 2.0).expect("table"));
        let by_cause = answer(
            &query(
                Question::ThemePrevalence,
                Breakdown::ByCause,
                &dicts,
                Some(p.clone()),
                &[],
            ),
            &snap,
            &dicts,
        );
        let by_jurisdiction = answer(
            &query(
                Question::ThemePrevalence,
                Breakdown::ByJurisdiction,
                &dicts,
                Some(p.clone()),
                &[],
            ),
            &snap,
            &dicts,
        );
        let domains = answer(
            &query(
                Question::DomainPrevalence,
                Breakdown::Unspecified,
                &dicts,
                Some(p.clone()),
                &[],
            ),
            &snap,
            &dicts,
        );
        assert_eq!((by_cause.k, by_cause.max_adjustment), (10, 20));
        // The whole pool is one population in every question: one answer.
        assert_eq!(by_cause.population, by_jurisdiction.population);
        assert_eq!(by_cause.population, domains.population);
        let total = value(&by_cause.population).expect("shown");
        assert!((total - 144).abs() <= 20);
        let denominator = |t: &Table, key: &str| {
            t.rows
                .iter()
                .find(|r| r.keys[0] == key)
                .and_then(|r| r.denominator)
        };
        // Kansas's 4 drowning deaths: the same 4 reviews either way, so the
        // same answer, never a count from 1 to 9.
        let drowning = denominator(&by_cause, "DROWNING");
        let kansas = denominator(&by_jurisdiction, "us-ks");
        assert_eq!(drowning, kansas);
        let shown = drowning.and_then(|c| c.value);
        assert!(shown.is_none_or(|v| v >= 10), "{shown:?}");
        for row in &by_cause.rows {
            if let (Some(v), Some(truth)) = (
                value(&row.denominator),
                match row.keys[0].as_str() {
                    "SUID" => Some(80),
                    "NEGLECT" => Some(60),
                    _ => None,
                },
            ) {
                assert!((v - truth).abs() <= 20, "{}: {v}", row.keys[0]);
            }
        }
    }
}
