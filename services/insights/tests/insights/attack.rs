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

use scir_insights::service::MAX_POOLED_ACTION_FILTERS;

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

/// Counts as equations over atoms: the same population asked twice keeps the
/// tightest interval the declared mechanism allows.
#[derive(Default)]
struct System {
    by_cells: HashMap<Vec<u32>, Equation>,
    sd: f64,
}

impl System {
    /// Adds what `count`, shown in `table`, says of the atoms `cells`.
    fn add(&mut self, cells: Vec<u32>, count: &pb::Count, table: &pb::Table) {
        self.sd = self.sd.max(table.adjustment_sd);
        let i = interval(count, i64::from(table.k), i64::from(table.max_adjustment));
        let e = self.by_cells.entry(cells.clone()).or_insert(Equation {
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
    }

    /// The equations over at least one atom.
    fn equations(self) -> Vec<Equation> {
        self.by_cells
            .into_values()
            .filter(|e| !e.atoms.is_empty())
            .collect()
    }
}

/// Checks that every equation's interval holds the truth, then attacks every
/// population of 1..k-1 as an outsider and as an insider who knows the atoms
/// `known` gives (an insider's targets are what remains of a population once
/// its own atoms are taken out); reports both.
fn attack_both(
    who: &str,
    atoms: usize,
    equations: &[Equation],
    count_of: &dyn Fn(&[u32]) -> i64,
    known: &[Option<i64>],
    sd: f64,
    least_targets: usize,
) -> (Findings, Findings) {
    for e in equations {
        let t = count_of(&e.atoms);
        assert!(
            e.interval.lo <= t && t <= e.interval.hi,
            "the mechanism's published bounds hold: {t} outside {:?}",
            e.interval
        );
    }
    let targets: Vec<(Vec<u32>, i64)> = equations
        .iter()
        .map(|e| (e.atoms.clone(), count_of(&e.atoms)))
        .filter(|(_, t)| (1..K).contains(t))
        .collect();
    assert!(
        targets.len() >= least_targets,
        "only {} small populations",
        targets.len()
    );
    let outsider = attack(atoms, equations, &targets, sd);
    report(&format!("{who}outsider"), &outsider);

    let theirs = substitute(equations, known);
    let insider_targets: Vec<(Vec<u32>, i64)> = targets
        .iter()
        .map(|(cells, _)| {
            cells
                .iter()
                .copied()
                .filter(|c| known[*c as usize].is_none())
                .collect::<Vec<u32>>()
        })
        .filter(|cells| !cells.is_empty())
        .map(|cells| {
            let t = count_of(&cells);
            (cells, t)
        })
        .filter(|(_, t)| (1..K).contains(t))
        .collect();
    let insider = attack(atoms, &theirs, &insider_targets, sd);
    report(&format!("{who}insider (us-tn)"), &insider);
    (outsider, insider)
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
    let mut system = System::default();
    for (spec, question, breakdown, table) in &tables {
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
            system.add(cells_where(&|_| true), p, table);
        }
        for row in &table.rows {
            answers += usize::from(row.count.is_some()) + usize::from(row.denominator.is_some());
            let Some(d) = &row.denominator else { continue };
            let key = if *breakdown == Breakdown::Unspecified && *question != Question::Trend {
                ""
            } else {
                row.keys[0].as_str()
            };
            system.add(
                cells_where(&|a| row_matches(*question, *breakdown, key, a)),
                d,
                table,
            );
        }
    }
    let sd = system.sd;
    let equations = system.equations();
    eprintln!(
        "{} questions, {} answers, {} distinct populations over {} atoms",
        tables.len(),
        answers,
        equations.len(),
        atoms.len()
    );
    assert!(answers >= 20_000, "only {answers} answers");
    // The insider, us-tn, knows its own records.
    let known: Vec<Option<i64>> = atoms.iter().map(|a| owner[a].then(|| truth[a])).collect();
    let (outsider, insider) = attack_both("", atoms.len(), &equations, &count_of, &known, sd, 200);

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

/// The finest group of action or notice units the questions can tell apart:
/// a review's recommendation (with its review's atom), a mapping's
/// consideration, or a notice at one recipient.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Unit {
    Recommendation {
        review: Atom,
        category: i32,
        strength: i32,
        status: i32,
        effect: i32,
    },
    Consideration {
        label: &'static str,
        category: i32,
        strength: i32,
        status: i32,
        effect: i32,
        due_past: bool,
    },
    Recipient {
        label: &'static str,
        response: i32,
        days: &'static str,
        due_past: bool,
    },
}

/// The units' year: recommendations their review's; learning's units were
/// all published in 2025 (the harness's event month).
fn unit_matches(spec: &Spec, u: &Unit) -> bool {
    match u {
        Unit::Recommendation { review, .. } => spec.matches(review),
        Unit::Consideration { label, .. } | Unit::Recipient { label, .. } => {
            spec.label.is_none_or(|l| l == *label) && spec.year.is_none_or(|y| y == 2025)
        }
    }
}

fn days_band(d: i32) -> &'static str {
    match d {
        0..=7 => "0-7",
        8..=14 => "8-14",
        15..=30 => "15-30",
        31..=60 => "31-60",
        _ => "61+",
    }
}

/// What a count of an action or notice answer counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Measure {
    Population,
    Count,
    Denominator,
    Implemented,
    Overdue,
}

fn response_label(response: i32) -> &'static str {
    scir_proto::learning::v1::ResponseKind::try_from(response)
        .map(|k| k.label().trim_start_matches("RESPONSE_KIND_"))
        .unwrap_or("UNANSWERED")
}

/// Whether `u` is in the population a count of `question` stands for.
fn unit_in(question: Question, keys: &[String], measure: Measure, u: &Unit) -> bool {
    use scir_proto::learning::v1 as learning;
    use scir_proto::review::v1 as review;
    let label_of_category = |c: i32| review::RecommendationCategory::try_from(c).map(|c| c.label());
    let label_of_strength = |s: i32| review::ActionStrength::try_from(s).map(|s| s.label());
    let effect_label = |e: i32| {
        review::Effectiveness::try_from(e).map(|e| e.label().trim_start_matches("EFFECTIVENESS_"))
    };
    let (category, strength, status, effect, due_past, implemented, closed) = match *u {
        Unit::Recommendation {
            category,
            strength,
            status,
            effect,
            ..
        } => (
            category,
            strength,
            status,
            effect,
            // The harness's recommendations are all due in January 2025.
            true,
            review::RecommendationStatus::Implemented as i32,
            review::RecommendationStatus::Declined as i32,
        ),
        Unit::Consideration {
            category,
            strength,
            status,
            effect,
            due_past,
            ..
        } => (
            category,
            strength,
            status,
            effect,
            due_past,
            learning::ConsiderationStatus::Implemented as i32,
            learning::ConsiderationStatus::NotPursued as i32,
        ),
        Unit::Recipient {
            response,
            days,
            due_past,
            ..
        } => {
            let answered = response != 0;
            let is = |r: &str| match r {
                "RESPONDED" => answered,
                "UNANSWERED" => !answered,
                "OVERDUE" => !answered && due_past,
                kind => answered && response_label(response) == kind,
            };
            return match measure {
                Measure::Population => true,
                Measure::Denominator if keys[1] == "all" => true,
                Measure::Denominator => is(&keys[0]),
                _ => is(&keys[0]) && (keys[1] == "all" || keys[1] == days),
            };
        }
    };
    let checked = status == implemented && effect != 0;
    match (question, measure) {
        (Question::RecommendationEffectiveness | Question::ConsiderationEffectiveness, m) => {
            checked
                && (m == Measure::Population
                    || label_of_strength(strength).is_ok_and(|s| s == keys[0])
                        && (m == Measure::Denominator
                            || effect_label(effect).is_ok_and(|e| e == keys[1])))
        }
        (_, Measure::Population) => true,
        (Question::ConsiderationStatus, m) => {
            label_of_category(category).is_ok_and(|c| c == keys[0])
                && (m == Measure::Denominator
                    || learning::ConsiderationStatus::try_from(status).is_ok_and(|s| {
                        s.label().trim_start_matches("CONSIDERATION_STATUS_") == keys[1]
                    }))
        }
        (_, m) => {
            label_of_category(category).is_ok_and(|c| c == keys[0])
                && label_of_strength(strength).is_ok_and(|s| s == keys[1])
                && match m {
                    Measure::Implemented => status == implemented,
                    Measure::Overdue => status != implemented && status != closed && due_past,
                    _ => true,
                }
        }
    }
}

/// The attack again over the questions whose units are actions and notices:
/// every pooled recommendation question with every combination of filters
/// the service takes for them (two at most: with three, the differences of
/// a row's count, implemented and overdue across nested filters brought the
/// standard error of single recommendations down to 0.40), and every
/// learning-loop question by jurisdiction and year. Unlike the review
/// questions above, every measure is an equation here.
#[tokio::test]
async fn no_small_count_of_actions_or_notices_is_disclosed() {
    let fixtures = harness::generate(
        20261205,
        &[
            ("us-wi", 300),
            ("us-tn", 240),
            ("us-wi-dane", 90),
            ("tribal-sample", 60),
            ("us-wi-milwaukee", 45),
            ("us-ks", 30),
        ],
    );
    let learning_fixtures = harness::learning_of(&fixtures);
    let running = harness::start_on(
        TestDatabase::new(Backend::Sqlite).await,
        &fixtures,
        Settings { k: K },
    )
    .await;

    // The truth: units and their counts.
    let mut truth: BTreeMap<Unit, i64> = BTreeMap::new();
    let mut owner: BTreeMap<Unit, bool> = BTreeMap::new();
    let mut count_unit = |u: Unit, own: bool| {
        *truth.entry(u).or_default() += 1;
        owner.insert(u, own);
    };
    for f in &fixtures {
        let Some(review) = atom_of(f) else { continue };
        for (category, strength, status) in &f.recommendations {
            let effect = match (status, strength) {
                (
                    scir_proto::review::v1::RecommendationStatus::Implemented,
                    scir_proto::review::v1::ActionStrength::Stronger,
                ) => scir_proto::review::v1::Effectiveness::Effective as i32,
                (scir_proto::review::v1::RecommendationStatus::Implemented, _) => {
                    scir_proto::review::v1::Effectiveness::NotEffective as i32
                }
                _ => 0,
            };
            let u = Unit::Recommendation {
                review,
                category: *category as i32,
                strength: *strength as i32,
                status: *status as i32,
                effect,
            };
            count_unit(u, review.label == "us-tn");
        }
    }
    for c in &learning_fixtures.considerations {
        let Some(label) = label_of(c.jurisdiction) else {
            continue;
        };
        let u = Unit::Consideration {
            label,
            category: c.category as i32,
            strength: c.strength as i32,
            status: c.status as i32,
            effect: c.effectiveness as i32,
            due_past: c.due_past,
        };
        count_unit(u, label == "us-tn");
    }
    for r in &learning_fixtures.recipients {
        let Some(label) = label_of(r.recipient) else {
            continue;
        };
        let u = Unit::Recipient {
            label,
            response: r.answer.map_or(0, |(k, _)| k as i32),
            days: r.answer.map_or("", |(_, d)| days_band(d)),
            due_past: r.due_past,
        };
        count_unit(u, label == "us-tn");
    }
    let units: Vec<Unit> = truth.keys().copied().collect();
    let count_of =
        |cells: &[u32]| -> i64 { cells.iter().map(|c| truth[&units[*c as usize]]).sum() };

    // Every question: recommendations with every filter combination, the
    // learning loop's by jurisdiction and year (the filters it takes).
    let mut asks = Vec::new();
    let mut refused = 0;
    for spec in specs() {
        let used = [
            spec.label.is_some(),
            spec.cause.is_some(),
            spec.race.is_some(),
            spec.tribal.is_some(),
            spec.year.is_some(),
            spec.finalised,
            spec.incident_type,
        ];
        // Three filters are refused for actions (checked below, once).
        if used.iter().filter(|u| **u).count() > MAX_POOLED_ACTION_FILTERS {
            refused += 1;
            continue;
        }
        for question in [
            Question::Recommendations,
            Question::RecommendationEffectiveness,
        ] {
            asks.push((spec, question));
        }
        let learning_filters_only = spec.cause.is_none()
            && spec.race.is_none()
            && spec.tribal.is_none()
            && !spec.finalised
            && !spec.incident_type;
        if learning_filters_only {
            for question in [
                Question::Considerations,
                Question::ConsiderationStatus,
                Question::ConsiderationEffectiveness,
                Question::SafetyNoticeResponses,
            ] {
                asks.push((spec, question));
            }
        }
    }
    let client = running.client(&[Role::Partner], "us-tn");
    let three = specs()
        .into_iter()
        .find(|s| s.label.is_some() && s.cause.is_some() && s.race.is_some())
        .expect("a spec of three filters");
    assert!(refused > 0);
    let status = client
        .clone()
        .ask(harness::ask(
            Question::Recommendations,
            Breakdown::Unspecified,
            three.filters(),
            true,
        ))
        .await
        .expect_err("three filters on actions");
    assert_eq!(scir_testkit::violated_fields(&status), ["filters"]);
    let mut set = tokio::task::JoinSet::new();
    let mut tables = Vec::new();
    for chunk in asks.chunks(asks.len().div_ceil(8)) {
        let (chunk, mut client) = (chunk.to_vec(), client.clone());
        set.spawn(async move {
            let mut out = Vec::new();
            for (spec, question) in chunk {
                let request = harness::ask(question, Breakdown::Unspecified, spec.filters(), true);
                let table = client
                    .ask(request)
                    .await
                    .unwrap_or_else(|e| panic!("{spec:?} {question:?}: {e}"))
                    .into_inner();
                out.push((spec, question, table));
            }
            out
        });
    }
    while let Some(part) = set.join_next().await {
        tables.extend(part.expect("asker"));
    }

    // Every count becomes an equation over units.
    let mut answers = 0usize;
    let mut system = System::default();
    for (spec, question, table) in &tables {
        let kind_of = |u: &Unit| {
            matches!(
                (question, u),
                (
                    Question::Recommendations | Question::RecommendationEffectiveness,
                    Unit::Recommendation { .. },
                ) | (Question::SafetyNoticeResponses, Unit::Recipient { .. })
                    | (
                        Question::Considerations
                            | Question::ConsiderationStatus
                            | Question::ConsiderationEffectiveness,
                        Unit::Consideration { .. },
                    )
            )
        };
        let cells_where = |keys: &[String], measure: Measure| -> Vec<u32> {
            (0..units.len() as u32)
                .filter(|i| {
                    let u = &units[*i as usize];
                    kind_of(u) && unit_matches(spec, u) && unit_in(*question, keys, measure, u)
                })
                .collect()
        };
        if let Some(p) = &table.population {
            answers += 1;
            system.add(cells_where(&[], Measure::Population), p, table);
        }
        for row in &table.rows {
            for (measure, count) in [
                (Measure::Count, &row.count),
                (Measure::Denominator, &row.denominator),
                (Measure::Implemented, &row.implemented),
                (Measure::Overdue, &row.overdue),
            ] {
                if let Some(count) = count {
                    answers += 1;
                    system.add(cells_where(&row.keys, measure), count, table);
                }
            }
        }
    }
    let sd = system.sd;
    let equations = system.equations();
    eprintln!(
        "{} questions, {} answers, {} distinct populations over {} units",
        tables.len(),
        answers,
        equations.len(),
        units.len()
    );
    assert!(
        tables
            .iter()
            .any(|(_, q, _)| *q == Question::SafetyNoticeResponses),
        "the notices are asked"
    );
    let known: Vec<Option<i64>> = units.iter().map(|u| owner[u].then(|| truth[u])).collect();
    let (outsider, insider) = attack_both(
        "actions and notices, ",
        units.len(),
        &equations,
        &count_of,
        &known,
        sd,
        100,
    );

    running.stop().await;
    for (who, f) in [("outsider", &outsider), ("insider", &insider)] {
        assert_eq!(f.bounded, 0, "{who}: small counts bounded within 1..k-1");
        assert_eq!(f.recovered, 0, "{who}: small counts recovered");
    }
}
