//! The questions, answered from the facts in one pass each.
//!
//! Every unit (a review, or for recommendation questions a recommendation) is
//! classified once: which filters it meets (a bit each), which breakdown values
//! it has, which measures it satisfies. Counts for every cell and for every
//! broader answer the suppression rule needs (each subset of the cell's
//! constraints) come from the resulting tables, without another pass.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use scir_proto::insights::v1::{self as pb, Breakdown, Question, Row, Suppression, Table};
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1 as review;

use super::facts::{AGE_BANDS, ReviewFact};
use super::suppression::{self, Rule};

/// A filter: a name (for errors) and a test.
pub struct Filter {
    /// What it tests, e.g. `cause`.
    pub name: &'static str,
    /// The test.
    pub test: Box<dyn Fn(&ReviewFact) -> bool + Send + Sync>,
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
    /// Filters, each a separate constraint for suppression.
    pub filters: Vec<Filter>,
    /// Breakdown.
    pub breakdown: Breakdown,
    /// Level at or above which an item counts.
    pub level: i32,
    /// Item code or theme name (trend, systems map).
    pub code: String,
    /// Suppression, for answers that leave a jurisdiction.
    pub rule: Option<Rule>,
    /// Jurisdictions whose names are shown as `withheld`.
    pub withheld: BTreeSet<String>,
    /// This month, `YYYY-MM`, for overdue recommendations.
    pub this_month: String,
}

/// A theme's name for keys, e.g. `SAFE_SLEEP`.
pub fn theme_name(value: i32) -> String {
    review::Theme::try_from(value)
        .map(|t| t.as_str_name().to_owned())
        .unwrap_or_else(|_| value.to_string())
}

fn enum_name<T: TryFrom<i32>>(value: i32, name: fn(&T) -> &'static str) -> String {
    T::try_from(value)
        .map(|v| name(&v).to_owned())
        .unwrap_or_else(|_| value.to_string())
}

/// Labels of a unit for the breakdown.
fn breakdown_labels(query: &Query, f: &ReviewFact) -> Vec<String> {
    match query.breakdown {
        Breakdown::Unspecified if query.question == Question::Trend => vec![f.quarter.clone()],
        Breakdown::Unspecified => vec![String::new()],
        Breakdown::ByCause => vec![enum_name::<intake::CauseCategory>(f.cause, |v| {
            v.as_str_name()
        })],
        Breakdown::ByIncidentType => {
            vec![enum_name::<intake::IncidentType>(f.incident_type, |v| {
                v.as_str_name()
            })]
        }
        Breakdown::ByRaceEthnicity => f
            .races
            .iter()
            .map(|r| enum_name::<intake::RaceEthnicity>(*r, |v| v.as_str_name()))
            .collect(),
        Breakdown::ByTribalStatus => vec![enum_name::<intake::TribalStatus>(f.tribal, |v| {
            v.as_str_name()
        })],
        Breakdown::ByAgeBand => vec![f.age_band.clone()],
        Breakdown::BySex => vec![enum_name::<intake::Sex>(f.sex, |v| v.as_str_name())],
        Breakdown::ByJurisdiction => {
            vec![if query.withheld.contains(&f.jurisdiction) {
                "withheld".to_owned()
            } else {
                f.jurisdiction.clone()
            }]
        }
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

/// Counts by filter mask, breakdown index and measure index.
struct Tables {
    filters: usize,
    breakdowns: Vec<String>,
    measures: Vec<String>,
    pop: Vec<i64>,
    by_b: HashMap<(usize, usize), i64>,
    by_m: HashMap<(usize, usize), i64>,
    cell: HashMap<(usize, usize, usize), i64>,
}

impl Tables {
    fn full(&self) -> usize {
        (1 << self.filters) - 1
    }

    /// Count of the units meeting the filters in `mask`, breakdown `b` (when
    /// given) and measure `m` (when given): the sum over every filter mask that
    /// includes `mask`.
    fn count(&self, mask: usize, b: Option<usize>, m: Option<usize>) -> i64 {
        (0..1usize << self.filters)
            .filter(|fm| fm & mask == mask)
            .map(|fm| match (b, m) {
                (None, None) => self.pop[fm],
                (Some(b), None) => self.by_b.get(&(fm, b)).copied().unwrap_or(0),
                (None, Some(m)) => self.by_m.get(&(fm, m)).copied().unwrap_or(0),
                (Some(b), Some(m)) => self.cell.get(&(fm, b, m)).copied().unwrap_or(0),
            })
            .sum()
    }

    /// The suppression of the cell with every filter, `b` and `m`, under `rule`.
    fn judge(&self, rule: Option<Rule>, b: Option<usize>, m: Option<usize>) -> (i64, Suppression) {
        let full = self.full();
        let n = self.count(full, b, m);
        let Some(rule) = rule else {
            return (n, Suppression::Shown);
        };
        let mut broader = Vec::new();
        for mask in 0..=full {
            for with_b in [false, true] {
                for with_m in [false, true] {
                    if (with_b && b.is_none()) || (with_m && m.is_none()) {
                        continue;
                    }
                    let whole = mask == full && (with_b == b.is_some()) && (with_m == m.is_some());
                    if whole {
                        continue;
                    }
                    broader.push(self.count(
                        mask,
                        with_b.then_some(b).flatten(),
                        with_m.then_some(m).flatten(),
                    ));
                }
            }
        }
        (n, rule.judge(n, broader))
    }
}

/// Classifies every unit and fills the tables.
fn tabulate<U>(
    units: impl Iterator<Item = U>,
    filters: usize,
    mask_of: impl Fn(&U) -> usize,
    breakdowns_of: impl Fn(&U) -> Vec<String>,
    measures_of: impl Fn(&U) -> Vec<String>,
) -> Tables {
    let mut t = Tables {
        filters,
        breakdowns: Vec::new(),
        measures: Vec::new(),
        pop: vec![0; 1 << filters],
        by_b: HashMap::new(),
        by_m: HashMap::new(),
        cell: HashMap::new(),
    };
    let mut b_index: BTreeMap<String, usize> = BTreeMap::new();
    let mut m_index: BTreeMap<String, usize> = BTreeMap::new();
    for unit in units {
        let fm = mask_of(&unit);
        t.pop[fm] += 1;
        let bs: Vec<usize> = breakdowns_of(&unit)
            .into_iter()
            .map(|b| {
                let next = b_index.len();
                *b_index.entry(b).or_insert(next)
            })
            .collect();
        let ms: Vec<usize> = measures_of(&unit)
            .into_iter()
            .map(|m| {
                let next = m_index.len();
                *m_index.entry(m).or_insert(next)
            })
            .collect();
        for &b in &bs {
            *t.by_b.entry((fm, b)).or_default() += 1;
        }
        for &m in &ms {
            *t.by_m.entry((fm, m)).or_default() += 1;
            for &b in &bs {
                *t.cell.entry((fm, b, m)).or_default() += 1;
            }
        }
    }
    t.breakdowns = vec![String::new(); b_index.len()];
    for (label, i) in b_index {
        t.breakdowns[i] = label;
    }
    t.measures = vec![String::new(); m_index.len()];
    for (label, i) in m_index {
        t.measures[i] = label;
    }
    t
}

fn sorted_indices(labels: &[String]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..labels.len()).collect();
    idx.sort_by(|a, b| labels[*a].cmp(&labels[*b]));
    idx
}

fn share(n: &pb::Count, d: &pb::Count) -> Option<f64> {
    match (n.value, d.value) {
        (Some(n), Some(d)) if d > 0 => Some(n as f64 / d as f64),
        _ => None,
    }
}

fn pair(a: &str, b: &str) -> String {
    format!("{a}\u{1f}{b}")
}

/// Answers `query` over `facts`.
pub fn answer(query: &Query, facts: &[&ReviewFact]) -> Table {
    let filters = query.filters.len();
    let mask_of = |f: &ReviewFact| {
        query
            .filters
            .iter()
            .enumerate()
            .filter(|(_, flt)| (flt.test)(f))
            .fold(0usize, |m, (i, _)| m | (1 << i))
    };
    let level = query.level;
    let mut table = Table {
        question: query.question as i32,
        k: query.rule.map_or(0, |r| r.k as i32),
        ..Default::default()
    };
    match query.question {
        Question::Recommendations => return recommendations(query, facts, mask_of),
        Question::CoOccurrence | Question::SystemsMap => return pairs(query, facts, mask_of),
        _ => {}
    }
    let measures_of = |f: &&ReviewFact| -> Vec<String> {
        match query.question {
            Question::FactorPrevalence => f
                .item_levels
                .iter()
                .filter(|(_, l)| **l >= level)
                .map(|(c, _)| c.clone())
                .collect(),
            Question::DomainPrevalence => f
                .domain_levels
                .iter()
                .filter(|(_, l)| **l >= level)
                .map(|(c, _)| c.clone())
                .collect(),
            Question::ThemePrevalence => f
                .themes
                .iter()
                .map(|t| theme_name(*t))
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect(),
            Question::Trend => {
                let has = f.item_levels.get(&query.code).is_some_and(|l| *l >= level)
                    || f.themes.iter().any(|t| theme_name(*t) == query.code);
                if has {
                    vec![query.code.clone()]
                } else {
                    Vec::new()
                }
            }
            _ => Vec::new(),
        }
    };
    let t = tabulate(
        facts.iter().copied(),
        filters,
        |f| mask_of(f),
        |f| breakdown_labels(query, f),
        measures_of,
    );
    let b_col = breakdown_column(query);
    table.key_columns = b_col
        .into_iter()
        .map(str::to_owned)
        .chain([measure_column(query.question).to_owned()])
        .collect();
    let with_b = b_col.is_some();
    let bs: Vec<Option<usize>> = if with_b {
        sorted_indices(&t.breakdowns)
            .into_iter()
            .map(Some)
            .collect()
    } else {
        vec![None]
    };
    let ms = sorted_indices(&t.measures);

    // Denominators per breakdown value, complemented across the breakdown.
    let mut denominators: Vec<(i64, Suppression)> =
        bs.iter().map(|b| t.judge(query.rule, *b, None)).collect();
    if query.rule.is_some() && with_b {
        suppression::complement(&mut denominators);
    }
    // Numerators, complemented across the breakdown for each measure.
    let mut numerators: Vec<Vec<(i64, Suppression)>> = ms
        .iter()
        .map(|m| {
            bs.iter()
                .map(|b| t.judge(query.rule, *b, Some(*m)))
                .collect()
        })
        .collect();
    if query.rule.is_some() && with_b {
        for group in &mut numerators {
            suppression::complement(group);
        }
    }
    for (bi, b) in bs.iter().enumerate() {
        // Breakdown values only filtered-out units have make no row.
        if denominators[bi].0 == 0 {
            continue;
        }
        for (mi, m) in ms.iter().enumerate() {
            let (n, s) = numerators[mi][bi];
            let count = suppression::count(n, s);
            let denominator = suppression::count(denominators[bi].0, denominators[bi].1);
            let mut keys: Vec<String> = b.map(|b| t.breakdowns[b].clone()).into_iter().collect();
            keys.push(t.measures[*m].clone());
            table.rows.push(Row {
                keys,
                share: share(&count, &denominator),
                count: Some(count),
                denominator: Some(denominator),
                ..Default::default()
            });
        }
    }
    let (p, ps) = t.judge(query.rule, None, None);
    table.population = Some(suppression::count(p, ps));
    table
}

fn measure_column(q: Question) -> &'static str {
    match q {
        Question::FactorPrevalence | Question::CoOccurrence | Question::SystemsMap => "item",
        Question::DomainPrevalence => "domain",
        Question::ThemePrevalence => "theme",
        Question::Trend => "code",
        Question::Recommendations => "category",
        Question::Unspecified => "",
    }
}

/// Co-occurrence and the aggregate systems map: items and pairs of items at or
/// above the level, with lift.
fn pairs(query: &Query, facts: &[&ReviewFact], mask_of: impl Fn(&ReviewFact) -> usize) -> Table {
    let level = query.level;
    let map = query.question == Question::SystemsMap;
    // For a map, the theme is one more constraint, like a filter.
    let filters = query.filters.len() + usize::from(map);
    let theme_bit = 1 << query.filters.len();
    let mask = |f: &&ReviewFact| {
        let m = mask_of(f);
        if map && f.themes.iter().any(|t| theme_name(*t) == query.code) {
            m | theme_bit
        } else {
            m
        }
    };
    let measures = |f: &&ReviewFact| {
        let items: Vec<&String> = f
            .item_levels
            .iter()
            .filter(|(_, l)| **l >= level)
            .map(|(c, _)| c)
            .collect();
        let mut out: Vec<String> = items.iter().map(|c| (*c).clone()).collect();
        for (i, a) in items.iter().enumerate() {
            for b in &items[i + 1..] {
                out.push(pair(a, b));
            }
        }
        out
    };
    let t = tabulate(
        facts.iter().copied(),
        filters,
        mask,
        |_| vec![String::new()],
        measures,
    );
    let mut table = Table {
        question: query.question as i32,
        key_columns: if map {
            vec!["kind".into(), "from".into(), "to".into()]
        } else {
            vec!["item".into(), "item".into()]
        },
        k: query.rule.map_or(0, |r| r.k as i32),
        ..Default::default()
    };
    let (p, ps) = t.judge(
        query.rule,
        Some(0).filter(|_| !t.breakdowns.is_empty()),
        None,
    );
    let population = suppression::count(p, ps);
    let judged: HashMap<&str, pb::Count> = t
        .measures
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let (n, s) = t.judge(query.rule, Some(0), Some(i));
            (label.as_str(), suppression::count(n, s))
        })
        .collect();
    let share_of = |c: &pb::Count| share(c, &population);
    for label in t
        .measures
        .iter()
        .filter(|l| !l.contains('\u{1f}'))
        .collect::<BTreeSet<_>>()
    {
        if map {
            let count = judged[label.as_str()];
            table.rows.push(Row {
                keys: vec!["node".into(), label.clone(), String::new()],
                share: share_of(&count),
                count: Some(count),
                denominator: Some(population),
                ..Default::default()
            });
        }
    }
    let mut edges: Vec<Row> = Vec::new();
    for label in t.measures.iter().filter(|l| l.contains('\u{1f}')) {
        let (a, b) = label.split_once('\u{1f}').unwrap_or_default();
        let count = judged[label.as_str()];
        let both = share_of(&count);
        let lift = match (both, share_of(&judged[a]), share_of(&judged[b])) {
            (Some(ab), Some(pa), Some(pb)) if pa > 0.0 && pb > 0.0 => Some(ab / (pa * pb)),
            _ => None,
        };
        let keys = if map {
            vec!["edge".into(), a.to_owned(), b.to_owned()]
        } else {
            vec![a.to_owned(), b.to_owned()]
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

/// Recommendations by category and strength: count, implemented, overdue.
fn recommendations(
    query: &Query,
    facts: &[&ReviewFact],
    mask_of: impl Fn(&ReviewFact) -> usize,
) -> Table {
    let implemented = review::RecommendationStatus::Implemented as i32;
    let declined = review::RecommendationStatus::Declined as i32;
    let units = facts
        .iter()
        .flat_map(|f| f.recommendations.iter().map(move |r| (*f, r)));
    let t = tabulate(
        units,
        query.filters.len(),
        |(f, _)| mask_of(f),
        |(_, r)| {
            vec![format!(
                "{}\u{1f}{}",
                enum_name::<review::RecommendationCategory>(r.category, |v| v.as_str_name()),
                enum_name::<review::ActionStrength>(r.strength, |v| v.as_str_name())
            )]
        },
        |(_, r)| {
            let mut m = Vec::new();
            if r.status == implemented {
                m.push("implemented".to_owned());
            }
            if r.status != implemented
                && r.status != declined
                && !r.due_month.is_empty()
                && r.due_month < query.this_month
            {
                m.push("overdue".to_owned());
            }
            m
        },
    );
    let bs = sorted_indices(&t.breakdowns);
    let m_of = |name: &str| t.measures.iter().position(|m| m == name);
    let mut counts: Vec<(i64, Suppression)> = bs
        .iter()
        .map(|b| t.judge(query.rule, Some(*b), None))
        .collect();
    let mut done: Vec<(i64, Suppression)> = bs
        .iter()
        .map(|b| {
            m_of("implemented").map_or((0, Suppression::Shown), |m| {
                t.judge(query.rule, Some(*b), Some(m))
            })
        })
        .collect();
    let mut late: Vec<(i64, Suppression)> = bs
        .iter()
        .map(|b| {
            m_of("overdue").map_or((0, Suppression::Shown), |m| {
                t.judge(query.rule, Some(*b), Some(m))
            })
        })
        .collect();
    if query.rule.is_some() {
        for group in [&mut counts, &mut done, &mut late] {
            suppression::complement(group);
        }
    }
    let mut table = Table {
        question: query.question as i32,
        key_columns: vec!["category".into(), "strength".into()],
        k: query.rule.map_or(0, |r| r.k as i32),
        ..Default::default()
    };
    for (i, b) in bs.iter().enumerate() {
        let (category, strength) = t.breakdowns[*b].split_once('\u{1f}').unwrap_or_default();
        let count = suppression::count(counts[i].0, counts[i].1);
        let implemented = suppression::count(done[i].0, done[i].1);
        table.rows.push(Row {
            keys: vec![category.to_owned(), strength.to_owned()],
            share: share(&implemented, &count),
            denominator: Some(count),
            count: Some(count),
            implemented: Some(implemented),
            overdue: Some(suppression::count(late[i].0, late[i].1)),
            ..Default::default()
        });
    }
    let (p, ps) = t.judge(query.rule, None, None);
    table.population = Some(suppression::count(p, ps));
    table
}

/// Every age band, for validating filters.
pub fn is_age_band(text: &str) -> bool {
    AGE_BANDS.contains(&text)
}
