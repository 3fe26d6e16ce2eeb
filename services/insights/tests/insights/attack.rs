//! The disclosure attack harness. A partner with unlimited queries asks the
//! real server every pooled question the API allows over a seeded synthetic
//! partnership with many small cells (every breakdown, every combination of up
//! to three one-value filters, whole years, quarters by `TREND`), then attacks
//! the answers with `scir-disclosure`:
//!
//! 1. exact: bounds propagation over every count, as an interval of what the
//!    published mechanism allows; a population of 1..k-1 reviews whose
//!    interval lies inside 1..k-1 is disclosed;
//! 2. statistical: least squares with the published standard deviation; a
//!    population of 1..k-1 is recovered when its estimate rounds to the truth
//!    with a standard error under 0.5;
//! 3. insider: both again by a partner who knows every record of its own
//!    jurisdiction exactly.
//!
//! The attacker is given more than a real one has: which combinations of facts
//! occur (the atoms), not how often. Counts of reviews by their facts are the
//! equations; a measure's counts (themes, items) are perturbed the same way
//! and are not solved here.

use std::collections::{BTreeMap, HashMap};

use scir_disclosure::{
    Equation, Interval, LeastSquares, UNBOUNDED, bounds, interval_of, substitute,
};
use scir_kit::auth::Role;
use scir_proto::Labelled;
use scir_proto::insights::v1::{self as pb, Breakdown, Question, Suppression};
use scir_proto::intake::v1 as intake;
use scir_testkit::{Backend, TestDatabase};

use super::harness::{self, CAUSES, Fixture, Settings};

const K: i64 = 10;

/// The finest group of reviews the questions can tell apart.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
struct Atom {
    label: &'static str,
    cause: i32,
    year: i32,
    quarter: i32,
    races: u64,
    tribal: i32,
    finalised: bool,
}

const RACES: [intake::RaceEthnicity; 4] = [
    intake::RaceEthnicity::AmericanIndianAlaskaNative,
    intake::RaceEthnicity::White,
    intake::RaceEthnicity::Black,
    intake::RaceEthnicity::HispanicLatino,
];
const TRIBAL: [intake::TribalStatus; 2] = [
    intake::TribalStatus::MemberOrEligible,
    intake::TribalStatus::NotTribal,
];
const LABELS: [&str; 4] = ["us-wi", "us-tn", "us-wi-dane", "withheld"];
const YEARS: [i32; 2] = [2024, 2025];

fn label_of(jurisdiction: &str) -> Option<&'static str> {
    match jurisdiction {
        "us-ks" => None,
        "us-wi-milwaukee" | "tribal-sample" => Some("withheld"),
        other => LABELS.iter().copied().find(|l| *l == other),
    }
}

fn atom_of(f: &Fixture) -> Option<Atom> {
    Some(Atom {
        label: label_of(f.jurisdiction)?,
        cause: f.cause as i32,
        year: f.date.0,
        quarter: (f.date.1 - 1) / 3 + 1,
        races: f.races.iter().fold(0, |m, r| m | 1 << (*r as i32)),
        tribal: f.tribal as i32,
        finalised: f.stage == scir_proto::review::v1::Stage::Finalised,
    })
}

/// One pooled question's filters.
#[derive(Debug, Clone, Copy, Default)]
struct Spec {
    label: Option<&'static str>,
    cause: Option<i32>,
    race: Option<i32>,
    tribal: Option<i32>,
    year: Option<i32>,
    finalised: bool,
    incident_type: bool,
}

impl Spec {
    fn matches(&self, a: &Atom) -> bool {
        self.label.is_none_or(|l| l == a.label)
            && self.cause.is_none_or(|c| c == a.cause)
            && self.race.is_none_or(|r| a.races & (1 << r) != 0)
            && self.tribal.is_none_or(|t| t == a.tribal)
            && self.year.is_none_or(|y| y == a.year)
            && (!self.finalised || a.finalised)
    }

    fn filters(&self) -> pb::Filters {
        let mut f = pb::Filters::default();
        if let Some(l) = self.label {
            f.jurisdictions = vec![l.to_owned()];
        }
        if let Some(c) = self.cause {
            f.causes = vec![c];
        }
        if let Some(r) = self.race {
            f.race_ethnicity = vec![r];
        }
        if let Some(t) = self.tribal {
            f.tribal_statuses = vec![t];
        }
        if let Some(y) = self.year {
            f.quarter_from = format!("{y}-Q1");
            f.quarter_to = format!("{y}-Q4");
        }
        f.finalised_only = self.finalised;
        if self.incident_type {
            f.incident_types = vec![intake::IncidentType::Death as i32];
        }
        f
    }
}

/// Every combination of at most three one-value filters.
fn specs() -> Vec<Spec> {
    type Set = fn(&mut Spec, usize);
    let dims: [(usize, Set); 7] = [
        (LABELS.len(), |s, i| s.label = Some(LABELS[i])),
        (CAUSES.len(), |s, i| s.cause = Some(CAUSES[i] as i32)),
        (RACES.len(), |s, i| s.race = Some(RACES[i] as i32)),
        (TRIBAL.len(), |s, i| s.tribal = Some(TRIBAL[i] as i32)),
        (YEARS.len(), |s, i| s.year = Some(YEARS[i])),
        (1, |s, _| s.finalised = true),
        (1, |s, _| s.incident_type = true),
    ];
    let mut out = vec![Spec::default()];
    for (d, (n, set)) in dims.iter().enumerate() {
        let mut more = Vec::new();
        for spec in &out {
            let used = [
                spec.label.is_some(),
                spec.cause.is_some(),
                spec.race.is_some(),
                spec.tribal.is_some(),
                spec.year.is_some(),
                spec.finalised,
                spec.incident_type,
            ];
            if used.iter().filter(|u| **u).count() >= 3 || used[d] {
                continue;
            }
            for i in 0..*n {
                let mut s = *spec;
                set(&mut s, i);
                more.push(s);
            }
        }
        out.extend(more);
    }
    out
}

/// The population of a breakdown row, as a test on atoms.
fn row_matches(question: Question, breakdown: Breakdown, key: &str, a: &Atom) -> bool {
    match (question, breakdown) {
        (Question::Trend, Breakdown::Unspecified) => format!("{}-Q{}", a.year, a.quarter) == key,
        (_, Breakdown::ByCause) => {
            intake::CauseCategory::from_label(key).is_some_and(|c| c as i32 == a.cause)
        }
        (_, Breakdown::ByRaceEthnicity) => {
            intake::RaceEthnicity::from_label(key).is_some_and(|r| a.races & (1 << (r as i32)) != 0)
        }
        (_, Breakdown::ByTribalStatus) => {
            intake::TribalStatus::from_label(key).is_some_and(|t| t as i32 == a.tribal)
        }
        (_, Breakdown::ByJurisdiction) => key == a.label,
        _ => true,
    }
}

/// What a count says about its population, under the mechanism the answer
/// declares (k, the largest adjustment).
fn interval(count: &pb::Count, k: i64, max: i64) -> Interval {
    // Suppression fails closed: no count leaves it unset, and a count with a
    // value says so.
    assert_ne!(
        count.suppression,
        Suppression::Unspecified as i32,
        "{count:?}"
    );
    assert_eq!(
        count.value.is_some(),
        count.suppression == Suppression::None as i32,
        "{count:?}"
    );
    match (count.value, Suppression::try_from(count.suppression)) {
        (Some(0), _) => Interval { lo: 0, hi: 0 },
        (Some(v), _) => Interval {
            lo: (v - max).max(if max > 0 { 1 } else { 0 }),
            hi: v + max,
        },
        (None, Ok(Suppression::SmallCell)) => Interval {
            lo: 1,
            hi: k - 1 + max,
        },
        (None, Ok(Suppression::Complementary)) => Interval {
            lo: 1,
            hi: UNBOUNDED,
        },
        (None, _) => Interval {
            lo: 0,
            hi: UNBOUNDED,
        },
    }
}

/// What the attacks found.
#[derive(Debug, Default)]
struct Findings {
    targets: usize,
    exact: usize,
    bounded: usize,
    recovered: usize,
    rounds_right: usize,
    abs_error: f64,
    /// The lowest upper bound of any small population (the margin of 1).
    lowest_upper: i64,
    /// The smallest standard error of any small population (the margin of 2).
    smallest_se: f64,
}

fn attack(atoms: usize, equations: &[Equation], targets: &[(Vec<u32>, i64)], sd: f64) -> Findings {
    let b = bounds(atoms, equations, 200);
    let ls = LeastSquares::fit(atoms, equations, sd);
    let mut f = Findings {
        targets: targets.len(),
        lowest_upper: UNBOUNDED,
        smallest_se: f64::INFINITY,
        ..Default::default()
    };
    for (cells, truth) in targets {
        let i = interval_of(cells, &b);
        if i.lo == i.hi {
            f.exact += 1;
        }
        if i.lo >= 1 && i.hi < K {
            f.bounded += 1;
        }
        f.lowest_upper = f.lowest_upper.min(i.hi);
        let (estimate, se) = ls.of(cells);
        f.smallest_se = f.smallest_se.min(se);
        let right = estimate.round() as i64 == *truth;
        f.rounds_right += usize::from(right);
        f.recovered += usize::from(right && se < 0.5);
        f.abs_error += (estimate - *truth as f64).abs();
    }
    f
}

fn report(who: &str, f: &Findings) {
    let share = |n: usize| 100.0 * n as f64 / f.targets.max(1) as f64;
    eprintln!(
        "{who}: {} small populations; exact: {} determined, {} bounded within 1..{} \
         (lowest upper bound {}); statistical: {} recovered, {:.1} % round right, \
         mean absolute error {:.2}, smallest standard error {:.2}",
        f.targets,
        f.exact,
        f.bounded,
        K - 1,
        f.lowest_upper,
        f.recovered,
        share(f.rounds_right),
        f.abs_error / f.targets.max(1) as f64,
        f.smallest_se,
    );
}

#[tokio::test]
async fn no_small_count_is_disclosed_to_a_partner_asking_everything() {
    let fixtures = harness::generate(
        20261204,
        &[
            ("us-wi", 700),
            ("us-tn", 500),
            ("us-wi-dane", 150),
            ("tribal-sample", 120),
            ("us-wi-milwaukee", 80),
            ("us-ks", 60),
        ],
    );
    let running = harness::start_on(
        TestDatabase::new(Backend::Sqlite).await,
        &fixtures,
        Settings { k: K },
    )
    .await;

    // The truth: atoms and their counts.
    let mut truth: BTreeMap<Atom, i64> = BTreeMap::new();
    let mut owner: BTreeMap<Atom, bool> = BTreeMap::new();
    for f in &fixtures {
        if let Some(a) = atom_of(f) {
            *truth.entry(a).or_default() += 1;
            owner.insert(a, a.label == "us-tn");
        }
    }
    let atoms: Vec<Atom> = truth.keys().copied().collect();
    let count_of =
        |cells: &[u32]| -> i64 { cells.iter().map(|c| truth[&atoms[*c as usize]]).sum() };

    // Every question.
    let mut asks = Vec::new();
    for spec in specs() {
        for breakdown in [
            Breakdown::Unspecified,
            Breakdown::ByCause,
            Breakdown::ByRaceEthnicity,
            Breakdown::ByTribalStatus,
            Breakdown::ByJurisdiction,
        ] {
            asks.push((spec, Question::ThemePrevalence, breakdown, ""));
        }
        asks.push((spec, Question::Trend, Breakdown::Unspecified, "SAFE_SLEEP"));
    }
    let client = running.client(&[Role::Partner], "us-tn");
    let mut set = tokio::task::JoinSet::new();
    let mut tables = Vec::new();
    for chunk in asks.chunks(asks.len().div_ceil(8)) {
        let (chunk, mut client) = (chunk.to_vec(), client.clone());
        set.spawn(async move {
            let mut out = Vec::new();
            for (spec, question, breakdown, code) in chunk {
                let mut request = harness::ask(question, breakdown, spec.filters(), true);
                request.code = code.to_owned();
                let table = client
                    .ask(request)
                    .await
                    .unwrap_or_else(|e| panic!("{spec:?} {question:?} {breakdown:?}: {e}"))
                    .into_inner();
                out.push((spec, question, breakdown, table));
            }
            out
        });
    }
    while let Some(part) = set.join_next().await {
        tables.extend(part.expect("asker"));
    }

    // Every count of reviews becomes an equation over atoms; the same
    // population asked twice keeps the tightest interval.
    let mut answers = 0usize;
    let mut sd = 0.0f64;
    let mut by_cells: HashMap<Vec<u32>, Equation> = HashMap::new();
    let mut add = |cells: Vec<u32>, count: &pb::Count, table: &pb::Table| {
        let i = interval(count, i64::from(table.k), i64::from(table.max_adjustment));
        let e = by_cells.entry(cells.clone()).or_insert(Equation {
            atoms: cells,
            interval: Interval {
                lo: 0,
                hi: UNBOUNDED,
            },
            shown: None,
        });
        e.interval.lo = e.interval.lo.max(i.lo);
        e.interval.hi = e.interval.hi.min(i.hi);
        e.shown = e.shown.or(count.value);
    };
    for (spec, question, breakdown, table) in &tables {
        sd = sd.max(table.adjustment_sd);
        let cells_where = |test: &dyn Fn(&Atom) -> bool| -> Vec<u32> {
            (0..atoms.len() as u32)
                .filter(|i| {
                    let a = &atoms[*i as usize];
                    spec.matches(a) && test(a)
                })
                .collect()
        };
        if let Some(p) = &table.population {
            answers += 1;
            add(cells_where(&|_| true), p, table);
        }
        for row in &table.rows {
            answers += usize::from(row.count.is_some()) + usize::from(row.denominator.is_some());
            let Some(d) = &row.denominator else { continue };
            let key = if *breakdown == Breakdown::Unspecified && *question != Question::Trend {
                ""
            } else {
                row.keys[0].as_str()
            };
            add(
                cells_where(&|a| row_matches(*question, *breakdown, key, a)),
                d,
                table,
            );
        }
    }
    let equations: Vec<Equation> = by_cells
        .into_values()
        .filter(|e| !e.atoms.is_empty())
        .collect();
    eprintln!(
        "{} questions, {} answers, {} distinct populations over {} atoms",
        tables.len(),
        answers,
        equations.len(),
        atoms.len()
    );
    assert!(answers >= 20_000, "only {answers} answers");
    for e in &equations {
        let t = count_of(&e.atoms);
        assert!(
            e.interval.lo <= t && t <= e.interval.hi,
            "the mechanism's published bounds hold: {t} outside {:?}",
            e.interval
        );
    }

    // Outsider.
    let targets: Vec<(Vec<u32>, i64)> = equations
        .iter()
        .map(|e| (e.atoms.clone(), count_of(&e.atoms)))
        .filter(|(_, t)| (1..K).contains(t))
        .collect();
    assert!(
        targets.len() >= 200,
        "only {} small populations",
        targets.len()
    );
    let outsider = attack(atoms.len(), &equations, &targets, sd);
    report("outsider", &outsider);

    // Insider: us-tn knows its own records.
    let known: Vec<Option<i64>> = atoms.iter().map(|a| owner[a].then(|| truth[a])).collect();
    let theirs = substitute(&equations, &known);
    let foreign = |cells: &[u32]| -> Vec<u32> {
        cells
            .iter()
            .copied()
            .filter(|c| known[*c as usize].is_none())
            .collect()
    };
    let insider_targets: Vec<(Vec<u32>, i64)> = targets
        .iter()
        .map(|(cells, _)| foreign(cells))
        .filter(|cells| !cells.is_empty())
        .map(|cells| {
            let t = count_of(&cells);
            (cells, t)
        })
        .filter(|(_, t)| (1..K).contains(t))
        .collect();
    let insider = attack(atoms.len(), &theirs, &insider_targets, sd);
    report("insider (us-tn)", &insider);

    // What the protection costs: every question asked, perturbed against exact.
    let requests: Vec<pb::AskRequest> = asks
        .iter()
        .map(|(spec, question, breakdown, code)| {
            let mut r = harness::ask(*question, *breakdown, spec.filters(), true);
            r.code = (*code).to_owned();
            r
        })
        .collect();
    let utility = running.insights.utility(&requests).expect("utility");
    eprintln!("utility: {utility}");
    assert!(
        utility.large == 0 || utility.large_relative_error / (utility.large as f64) < 0.05,
        "counts of 50 or more stay within 5 % on average: {utility}"
    );

    running.stop().await;
    for (who, f) in [("outsider", &outsider), ("insider", &insider)] {
        assert_eq!(f.bounded, 0, "{who}: small counts bounded within 1..k-1");
        assert_eq!(f.recovered, 0, "{who}: small counts recovered");
    }
}
