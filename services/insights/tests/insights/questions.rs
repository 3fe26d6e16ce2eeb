//! Figures recomputed independently from the fixtures match the service's.

use std::collections::{BTreeMap, BTreeSet};

use scir_kit::auth::Role;
use scir_proto::Labelled;
use scir_proto::insights::v1::{self as pb, Breakdown, Question};
use scir_testkit::Backend;

use super::harness::{Fixture, ITEMS, Settings, ask, partnership, start, value};

scir_testkit::on_both_backends!(an_analysts_figures_match_an_independent_count);

fn wi(fixtures: &[Fixture]) -> Vec<&Fixture> {
    fixtures
        .iter()
        .filter(|f| f.jurisdiction == "us-wi")
        .collect()
}

async fn an_analysts_figures_match_an_independent_count(backend: Backend) {
    let fixtures = partnership();
    let server = start(backend, &fixtures, Settings { k: 10 }).await;
    let mut analyst = server.client(&[Role::Analyst], "us-wi");
    let mine = wi(&fixtures);

    // Factor prevalence by cause, level 2.
    let table = analyst
        .ask(ask(
            Question::FactorPrevalence,
            Breakdown::ByCause,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("ask")
        .into_inner();
    assert_eq!(table.scope, "jurisdiction:us-wi");
    assert_eq!(
        table.k, 0,
        "answers that stay in the jurisdiction are not suppressed"
    );
    assert_eq!(value(&table.population), Some(mine.len() as i64));
    let mut expected: BTreeMap<(String, String), (i64, i64)> = BTreeMap::new();
    let causes: BTreeSet<_> = mine.iter().map(|f| f.cause.label().to_owned()).collect();
    for cause in &causes {
        let group: Vec<_> = mine.iter().filter(|f| f.cause.label() == cause).collect();
        for (item, _) in ITEMS {
            let n = group.iter().filter(|f| f.levels[item] >= 2).count() as i64;
            expected.insert((cause.clone(), item.to_owned()), (n, group.len() as i64));
        }
    }
    let got: BTreeMap<(String, String), (i64, i64)> = table
        .rows
        .iter()
        .map(|r| {
            (
                (r.keys[0].clone(), r.keys[1].clone()),
                (
                    value(&r.count).expect("shown"),
                    value(&r.denominator).expect("shown"),
                ),
            )
        })
        .collect();
    assert_eq!(got, expected);
    for row in &table.rows {
        let (n, d) = (
            value(&row.count).expect("n") as f64,
            value(&row.denominator).expect("d") as f64,
        );
        assert!((row.share.expect("share") - n / d).abs() < 1e-12);
    }

    // Theme prevalence: share of reviews in which each theme appears.
    let table = analyst
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("ask")
        .into_inner();
    for row in &table.rows {
        let theme = &row.keys[0];
        let n = mine
            .iter()
            .filter(|f| f.themes.iter().any(|t| t.label() == theme))
            .count() as i64;
        assert_eq!(value(&row.count), Some(n), "{theme}");
    }
    assert!(table.rows.iter().any(|r| r.keys[0] == "SAFE_SLEEP"));

    // Co-occurrence: counts and lift of every pair.
    let table = analyst
        .ask(ask(
            Question::CoOccurrence,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("ask")
        .into_inner();
    let total = mine.len() as f64;
    let share = |item: &str| mine.iter().filter(|f| f.levels[item] >= 2).count() as f64 / total;
    for row in &table.rows {
        let (a, b) = (row.keys[0].as_str(), row.keys[1].as_str());
        let both = mine
            .iter()
            .filter(|f| f.levels[a] >= 2 && f.levels[b] >= 2)
            .count() as i64;
        assert_eq!(value(&row.count), Some(both), "{a}+{b}");
        let lift = (both as f64 / total) / (share(a) * share(b));
        assert!((row.lift.expect("lift") - lift).abs() < 1e-9, "{a}+{b}");
    }
    let lifts: Vec<f64> = table.rows.iter().map(|r| r.lift.expect("lift")).collect();
    assert!(lifts.windows(2).all(|w| w[0] >= w[1]), "sorted by lift");

    // Trend of SYS1 by quarter, filtered to 2025.
    let filters = pb::Filters {
        quarter_from: "2025-Q1".into(),
        quarter_to: "2025-Q4".into(),
        ..Default::default()
    };
    let mut trend = ask(Question::Trend, Breakdown::Unspecified, filters, false);
    trend.code = "SYS1".into();
    let table = analyst.ask(trend).await.expect("trend").into_inner();
    assert_eq!(table.key_columns, ["quarter", "code"]);
    for row in &table.rows {
        let q = &row.keys[0];
        let in_q: Vec<_> = mine
            .iter()
            .filter(|f| format!("{}-Q{}", f.date.0, (f.date.1 - 1) / 3 + 1) == *q)
            .collect();
        assert!(q.starts_with("2025"));
        assert_eq!(value(&row.denominator), Some(in_q.len() as i64), "{q}");
        assert_eq!(
            value(&row.count),
            Some(in_q.iter().filter(|f| f.levels["SYS1"] >= 2).count() as i64),
            "{q}"
        );
    }

    // Recommendations by category and strength.
    let table = analyst
        .ask(ask(
            Question::Recommendations,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("recs")
        .into_inner();
    let recs: Vec<_> = mine.iter().flat_map(|f| f.recommendations.iter()).collect();
    assert_eq!(
        table
            .rows
            .iter()
            .map(|r| value(&r.count).expect("n"))
            .sum::<i64>(),
        recs.len() as i64
    );
    for row in &table.rows {
        let matching: Vec<_> = recs
            .iter()
            .filter(|(c, s, _)| c.label() == row.keys[0] && s.label() == row.keys[1])
            .collect();
        assert_eq!(value(&row.count), Some(matching.len() as i64));
        let done = matching
            .iter()
            .filter(|(_, _, st)| *st == scir_proto::review::v1::RecommendationStatus::Implemented)
            .count() as i64;
        assert_eq!(value(&row.implemented), Some(done));
        assert_eq!(
            value(&row.overdue),
            Some(matching.len() as i64 - done),
            "due January 2025, open ones are overdue"
        );
    }

    // Implemented recommendations checked for effect, by strength (the
    // fixtures' stronger ones worked, the others did not).
    let table = analyst
        .ask(ask(
            Question::RecommendationEffectiveness,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("effectiveness")
        .into_inner();
    let implemented: Vec<_> = recs
        .iter()
        .filter(|(_, _, st)| *st == scir_proto::review::v1::RecommendationStatus::Implemented)
        .collect();
    assert!(!implemented.is_empty(), "the fixtures implement some");
    assert_eq!(value(&table.population), Some(implemented.len() as i64));
    assert!(!table.rows.is_empty());
    for row in &table.rows {
        let stronger = row.keys[0] == "STRONGER";
        let expected = implemented
            .iter()
            .filter(|(_, s, _)| s.label() == row.keys[0])
            .count() as i64;
        let worked = row.keys[1] == "EFFECTIVE";
        assert_eq!(
            value(&row.count),
            Some(if worked == stronger { expected } else { 0 }),
            "{:?}",
            row.keys
        );
        assert_eq!(value(&row.denominator), Some(expected));
    }

    // The operational view of the jurisdiction.
    let view = analyst
        .get_operational_view(pb::GetOperationalViewRequest {
            jurisdiction: "jurisdictions/us-wi".into(),
        })
        .await
        .expect("view")
        .into_inner();
    let finalised = mine
        .iter()
        .filter(|f| f.stage == scir_proto::review::v1::Stage::Finalised)
        .count() as i64;
    let by_stage: BTreeMap<i32, i64> = view.stages.iter().map(|s| (s.stage, s.reviews)).collect();
    assert_eq!(
        by_stage[&(scir_proto::review::v1::Stage::Finalised as i32)],
        finalised
    );
    assert_eq!(
        view.overdue,
        mine.len() as i64 - finalised,
        "every open review's deadline month has passed"
    );
    assert!(view.stages.iter().any(|s| s.median_days.is_some()));

    // CSV and SVG of the same answers.
    use tokio_stream::StreamExt;
    let csv: String = analyst
        .export_csv(ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("csv")
        .into_inner()
        .map(|c| c.expect("chunk").text)
        .collect::<Vec<_>>()
        .await
        .concat();
    assert!(
        csv.starts_with("theme,count,denominator,share,lift,implemented,overdue\n"),
        "{csv}"
    );
    assert!(csv.contains("SAFE_SLEEP,"));
    let chart = analyst
        .render_chart(ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("chart")
        .into_inner();
    assert!(chart.svg.starts_with("<svg") && chart.svg.contains("SAFE_SLEEP"));
    let no_chart = analyst
        .render_chart(ask(
            Question::Recommendations,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect_err("no chart");
    assert_eq!(no_chart.code(), tonic::Code::InvalidArgument);
    server.stop().await;
}
