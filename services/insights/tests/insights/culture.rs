//! Safety culture beside the reviews and among the members: an analyst's own
//! exact counts from culture's events, against an independent sum of the
//! fixtures; a partner's pooled counts perturbed and shown only for a year
//! that is over with enough members; the standing of a jurisdiction among
//! members without naming any; refusals naming their fields.

use scir_kit::auth::Role;
use scir_proto::insights::v1::{self as pb, Breakdown, Question, Suppression};
use scir_proto::intake::v1 as intake;
use scir_testkit::Backend;

use super::harness::{
    COMPOSITES, CULTURE_MEMBERS, Settings, WaveFixture, ask, culture_waves, partnership, start,
    this_year, value,
};

scir_testkit::on_both_backends!(culture_is_compared_without_naming_any_member);

const K: i64 = 10;

fn whole_year(year: i32) -> pb::Filters {
    pb::Filters {
        quarter_from: format!("{year}-Q1"),
        quarter_to: format!("{year}-Q4"),
        ..Default::default()
    }
}

/// Positive answers and answers to `code` of `waves`, or respondents and
/// invited for the response rate.
fn truth(waves: &[&WaveFixture], code: &str) -> (i64, i64) {
    waves.iter().fold((0, 0), |(p, a), w| {
        let (x, y) = if code == "RESPONSE_RATE" {
            (i64::from(w.respondents), i64::from(w.invited))
        } else {
            w.composite(code)
        };
        (p + x, a + y)
    })
}

fn find<'a>(table: &'a pb::Table, keys: &[&str]) -> &'a pb::Row {
    table
        .rows
        .iter()
        .find(|r| r.keys == keys)
        .unwrap_or_else(|| panic!("{keys:?} in {:?}", table.rows))
}

async fn culture_is_compared_without_naming_any_member(backend: Backend) {
    let server = start(backend, &partnership(), Settings { k: K }).await;
    let waves = culture_waves();
    let counted: Vec<&WaveFixture> = waves.iter().filter(|w| !w.withheld).collect();
    let years = [2024, 2025, this_year()];
    let codes: Vec<&str> = COMPOSITES
        .iter()
        .map(|(c, _)| *c)
        .chain(["RESPONSE_RATE"])
        .collect();

    // An analyst: their own jurisdiction's waves, exact, every year; the
    // wave whose counts culture withheld is not among them.
    let mut analyst = server.client(&[Role::Analyst], "us-wi");
    let table = analyst
        .ask(ask(
            Question::CultureBesideReviews,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("beside")
        .into_inner();
    assert_eq!(table.key_columns, ["year", "source", "code"]);
    assert_eq!(table.scope, "jurisdiction:us-wi");
    for year in years {
        let mine: Vec<&WaveFixture> = counted
            .iter()
            .copied()
            .filter(|w| w.jurisdiction == "us-wi" && w.year == year)
            .collect();
        for code in &codes {
            let row = find(&table, &[&year.to_string(), "culture", code]);
            let (p, a) = truth(&mine, code);
            assert_eq!(value(&row.count), Some(p), "{year} {code}");
            assert_eq!(value(&row.denominator), Some(a), "{year} {code}");
        }
    }
    // Its SSIT rows are the domain prevalence of the year's reviews, as the
    // prevalence question counts them.
    let mut compared = 0;
    for year in 2022..=2025 {
        let prevalence = analyst
            .ask(ask(
                Question::DomainPrevalence,
                Breakdown::Unspecified,
                whole_year(year),
                false,
            ))
            .await
            .expect("prevalence")
            .into_inner();
        for p in &prevalence.rows {
            let row = find(&table, &[&year.to_string(), "ssit", &p.keys[0]]);
            assert_eq!((row.count, row.denominator), (p.count, p.denominator));
            compared += 1;
        }
    }
    assert!(compared >= 3, "{compared} SSIT rows compared");

    // A partner: the pool (every member but Kansas); a year that is over and
    // that enough members surveyed is shown within the bound, the others are
    // hidden as a comparison of members.
    let pooled: Vec<&WaveFixture> = counted
        .iter()
        .copied()
        .filter(|w| w.jurisdiction != "us-ks")
        .collect();
    let mut partner = server.client(&[Role::Partner], "us-tn");
    let table = partner
        .ask(ask(
            Question::CultureBesideReviews,
            Breakdown::Unspecified,
            pb::Filters::default(),
            true,
        ))
        .await
        .expect("pooled beside")
        .into_inner();
    let max = i64::from(table.max_adjustment);
    assert!(max > 0);
    for year in years {
        let theirs: Vec<&WaveFixture> = pooled.iter().copied().filter(|w| w.year == year).collect();
        for code in &codes {
            let row = find(&table, &[&year.to_string(), "culture", code]);
            if year == 2024 {
                let (p, a) = truth(&theirs, code);
                let (shown_p, shown_a) = (value(&row.count), value(&row.denominator));
                assert!(
                    shown_p.is_some_and(|v| (v - p).abs() <= max),
                    "{code}: {p} as {shown_p:?}"
                );
                assert!(
                    shown_a.is_some_and(|v| (v - a).abs() <= max),
                    "{code}: {a} as {shown_a:?}"
                );
            } else {
                for count in [&row.count, &row.denominator] {
                    let count = count.expect("a count is sent");
                    assert_eq!(count.value, None, "{year} {code}");
                    assert_eq!(count.suppression, Suppression::Members as i32);
                }
                assert_eq!(row.share, None);
            }
        }
    }
    // One population, one answer: the year asked alone gives the same counts.
    let alone = partner
        .ask(ask(
            Question::CultureBesideReviews,
            Breakdown::Unspecified,
            whole_year(2024),
            true,
        ))
        .await
        .expect("2024 alone")
        .into_inner();
    for row in alone.rows.iter().filter(|r| r.keys[1] == "culture") {
        let keys: Vec<&str> = row.keys.iter().map(String::as_str).collect();
        assert_eq!(row.count, find(&table, &keys).count, "{keys:?}");
    }

    // The standing of an analyst's jurisdiction: their own exact share, the
    // members' quartiles (each member's share from perturbed counts), their
    // percentile; no member named.
    let members_2024 = CULTURE_MEMBERS.iter().filter(|j| **j != "us-ks").count() as i64;
    let standing = analyst
        .ask(ask(
            Question::CultureStanding,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("standing")
        .into_inner();
    assert_eq!(standing.key_columns, ["year", "composite"]);
    assert_eq!(standing.k, K as i32, "the members' values are pooled");
    for (code, _) in COMPOSITES {
        for year in years {
            let row = find(&standing, &[&year.to_string(), code]);
            let mine: Vec<&WaveFixture> = counted
                .iter()
                .copied()
                .filter(|w| w.jurisdiction == "us-wi" && w.year == year)
                .collect();
            let (p, a) = truth(&mine, code);
            assert_eq!(
                (value(&row.count), value(&row.denominator)),
                (Some(p), Some(a))
            );
            let d = row.distribution.expect("a distribution");
            if year != 2024 {
                assert_eq!(
                    d.members.map(|m| (m.value, m.suppression)),
                    Some((None, Suppression::Members as i32)),
                    "{year} {code}"
                );
                assert_eq!(
                    (d.p25, d.median, d.p75, d.own_percentile),
                    (None, None, None, None)
                );
                continue;
            }
            assert_eq!(value(&d.members), Some(members_2024), "{code}");
            // Every member's true share; the quartiles lie among them, give or
            // take the perturbation of the smallest member's answers.
            let mut shares = Vec::new();
            let mut least = i64::MAX;
            for j in CULTURE_MEMBERS.iter().filter(|j| **j != "us-ks") {
                let theirs: Vec<&WaveFixture> = pooled
                    .iter()
                    .copied()
                    .filter(|w| w.jurisdiction == *j && w.year == 2024)
                    .collect();
                let (p, a) = truth(&theirs, code);
                shares.push(p as f64 / a as f64);
                least = least.min(a);
            }
            let slack = 2.0 * max as f64 / least as f64;
            let (lo, hi) = shares
                .iter()
                .fold((1.0f64, 0.0f64), |(lo, hi), s| (lo.min(*s), hi.max(*s)));
            let (q1, q2, q3) = (
                d.p25.expect("p25"),
                d.median.expect("median"),
                d.p75.expect("p75"),
            );
            assert!(q1 <= q2 && q2 <= q3, "{code}: {q1} {q2} {q3}");
            assert!(
                q1 >= lo - slack && q3 <= hi + slack,
                "{code}: {q1}..{q3} of {lo}..{hi}"
            );
            let percentile = d.own_percentile.expect("own percentile");
            assert!((0.0..=100.0).contains(&percentile));
        }
    }
    // A partner sees the same distribution, without a jurisdiction of its own.
    let theirs = partner
        .ask(ask(
            Question::CultureStanding,
            Breakdown::Unspecified,
            pb::Filters::default(),
            true,
        ))
        .await
        .expect("partner standing")
        .into_inner();
    assert_eq!(theirs.scope, "pooled");
    for row in &theirs.rows {
        let keys: Vec<&str> = row.keys.iter().map(String::as_str).collect();
        let mine = find(&standing, &keys);
        let (a, b) = (row.distribution.expect("d"), mine.distribution.expect("d"));
        assert_eq!(
            (a.members, a.p25, a.median, a.p75),
            (b.members, b.p25, b.median, b.p75)
        );
        assert_eq!((row.count, a.own_percentile), (None, None), "{keys:?}");
        assert!(
            row.keys
                .iter()
                .all(|k| !CULTURE_MEMBERS.contains(&k.as_str())),
            "no member is named: {keys:?}"
        );
    }
    // Kansas keeps out of the pool: its analyst is placed among the others.
    let kansas = server
        .client(&[Role::Analyst], "us-ks")
        .ask(ask(
            Question::CultureStanding,
            Breakdown::Unspecified,
            whole_year(2024),
            false,
        ))
        .await
        .expect("kansas")
        .into_inner();
    let row = find(&kansas, &["2024", "COM"]);
    assert_eq!(
        value(&row.distribution.expect("d").members),
        Some(members_2024)
    );
    assert!(value(&row.count).is_some(), "its own exact count");

    // Refusals, each naming its field.
    let refused = |status: tonic::Status, code: tonic::Code, fields: &[&str]| {
        assert_eq!(status.code(), code, "{status:?}");
        assert_eq!(scir_testkit::violated_fields(&status), fields);
    };
    for question in [Question::CultureBesideReviews, Question::CultureStanding] {
        let status = analyst
            .ask(ask(
                question,
                Breakdown::ByCause,
                pb::Filters {
                    causes: vec![intake::CauseCategory::Suid as i32],
                    ..Default::default()
                },
                false,
            ))
            .await
            .expect_err("case dimensions");
        refused(
            status,
            tonic::Code::InvalidArgument,
            &["breakdown", "filters.causes"],
        );
        let status = partner
            .ask(ask(
                question,
                Breakdown::Unspecified,
                pb::Filters {
                    jurisdictions: vec!["us-wi".into()],
                    ..whole_year(2024)
                },
                true,
            ))
            .await
            .expect_err("one member's culture");
        refused(
            status,
            tonic::Code::InvalidArgument,
            &["filters.jurisdictions"],
        );
    }
    // A standing compares whole years, even for an analyst: part of a year
    // would let two answers differ by the members that closed a wave in it.
    let status = analyst
        .ask(ask(
            Question::CultureStanding,
            Breakdown::Unspecified,
            pb::Filters {
                quarter_from: "2024-Q2".into(),
                quarter_to: "2024-Q4".into(),
                ..Default::default()
            },
            false,
        ))
        .await
        .expect_err("part of a year");
    refused(
        status,
        tonic::Code::InvalidArgument,
        &["filters.quarter_from"],
    );
    let status = analyst
        .ask(ask(
            Question::CultureStanding,
            Breakdown::Unspecified,
            pb::Filters {
                jurisdictions: vec!["us-tn".into()],
                ..Default::default()
            },
            false,
        ))
        .await
        .expect_err("another jurisdiction");
    assert_eq!(status.code(), tonic::Code::PermissionDenied);
    server.stop().await;
}
