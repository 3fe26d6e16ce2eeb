//! Pooled answers: perturbed by the cell key method within the published bound,
//! never a count from 1 to k-1, the same population the same answer in every
//! question; withheld names never shown and refused in filters like unknown ids.
//! The attack harness (`attack.rs`) tries to get round this with every question.

use scir_kit::auth::Role;
use scir_proto::Labelled;
use scir_proto::insights::v1::{self as pb, Breakdown, Question, Suppression};
use scir_proto::intake::v1 as intake;
use scir_testkit::Backend;

use super::harness::{CAUSES, Fixture, Settings, ask, partnership, start, value};

scir_testkit::on_both_backends!(pooled_answers_never_reveal_a_small_group);

const K: i64 = 10;

fn pooled(fixtures: &[Fixture]) -> Vec<&Fixture> {
    fixtures
        .iter()
        .filter(|f| f.jurisdiction != "us-ks")
        .collect()
}

fn suppression(c: &Option<pb::Count>) -> Suppression {
    c.as_ref()
        .and_then(|c| Suppression::try_from(c.suppression).ok())
        .unwrap_or_default()
}

async fn pooled_answers_never_reveal_a_small_group(backend: Backend) {
    let fixtures = partnership();
    let server = start(backend, &fixtures, Settings { k: K }).await;
    let mut partner = server.client(&[Role::Partner], "us-wa");
    let pool = pooled(&fixtures);

    let by_cause = partner
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::ByCause,
            pb::Filters::default(),
            true,
        ))
        .await
        .expect("ask")
        .into_inner();
    assert_eq!(by_cause.scope, "pooled");
    assert_eq!(by_cause.k as i64, K);
    let max = i64::from(by_cause.max_adjustment);
    assert_eq!(max, scir_insights::config::DEFAULT_NOISE_MAX);
    assert!(by_cause.adjustment_sd >= 2.0, "{}", by_cause.adjustment_sd);

    // Every count: 0 exactly when the truth is 0; otherwise hidden, or shown
    // at least k and within the published bound of the truth.
    let check = |count: &Option<pb::Count>, truth: i64, what: &str| match value(count) {
        Some(v) => {
            assert_eq!(v == 0, truth == 0, "{what}: {truth} shown as {v}");
            assert!(v == 0 || v >= K, "{what}: shown {v}");
            assert!((v - truth).abs() <= max, "{what}: {truth} shown as {v}");
            v != truth
        }
        None => {
            assert_eq!(suppression(count), Suppression::SmallCell, "{what}");
            assert!(truth >= 1 && truth < K + max, "{what}: {truth} hidden");
            false
        }
    };
    let population = pool.len() as i64;
    check(
        &by_cause.population,
        population,
        "population (Kansas is not pooled)",
    );
    let (mut counts, mut moved) = (0, 0);
    for row in &by_cause.rows {
        let truth_d = pool
            .iter()
            .filter(|f| f.cause.label() == row.keys[0])
            .count() as i64;
        let truth_n = pool
            .iter()
            .filter(|f| {
                f.cause.label() == row.keys[0] && f.themes.iter().any(|t| t.label() == row.keys[1])
            })
            .count() as i64;
        for (count, truth) in [(&row.count, truth_n), (&row.denominator, truth_d)] {
            counts += 1;
            moved += usize::from(check(count, truth, &row.keys.join("/")));
        }
        if let (Some(n), Some(d)) = (value(&row.count), value(&row.denominator)) {
            let share = row.share.expect("share of shown counts");
            assert!(
                (share - n as f64 / d as f64).abs() < 1e-9,
                "shares use the shown counts"
            );
        }
    }
    assert!(moved > 0, "{counts} counts, none perturbed");
    // The same population has the same answer however it is asked: a cause's
    // row here, that cause as a filter of another question, and this again.
    for cause in CAUSES {
        let filtered = partner
            .ask(ask(
                Question::FactorPrevalence,
                Breakdown::Unspecified,
                pb::Filters {
                    causes: vec![cause as i32],
                    ..Default::default()
                },
                true,
            ))
            .await
            .expect("ask")
            .into_inner();
        let row = by_cause
            .rows
            .iter()
            .find(|r| r.keys[0] == cause.label())
            .expect("a row per cause");
        assert_eq!(filtered.population, row.denominator, "{cause:?}");
    }
    let again = partner
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::ByCause,
            pb::Filters::default(),
            true,
        ))
        .await
        .expect("ask")
        .into_inner();
    assert_eq!(again, by_cause, "asking again learns nothing new");

    // Pooled filters take one value each and whole years.
    let two = pb::Filters {
        causes: vec![CAUSES[0] as i32, CAUSES[1] as i32],
        ..Default::default()
    };
    let status = partner
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            two,
            true,
        ))
        .await
        .expect_err("two values");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let half = pb::Filters {
        quarter_from: "2025-Q1".into(),
        quarter_to: "2025-Q2".into(),
        ..Default::default()
    };
    let status = partner
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            half,
            true,
        ))
        .await
        .expect_err("half a year");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let many = pb::Filters {
        quarter_from: "2025-Q1".into(),
        quarter_to: "2025-Q4".into(),
        causes: vec![CAUSES[0] as i32],
        sexes: vec![intake::Sex::Female as i32],
        tribal_statuses: vec![intake::TribalStatus::NotTribal as i32],
        ..Default::default()
    };
    let status = partner
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            many,
            true,
        ))
        .await
        .expect_err("four filters");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);

    // A withheld jurisdiction never appears by name; an opted-out one not at all.
    let by_j = partner
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::ByJurisdiction,
            pb::Filters::default(),
            true,
        ))
        .await
        .expect("ask")
        .into_inner();
    let names: std::collections::BTreeSet<&str> =
        by_j.rows.iter().map(|r| r.keys[0].as_str()).collect();
    assert!(names.contains("withheld"));
    assert!(
        !names.contains("tribal-sample") && !names.contains("us-ks"),
        "{names:?}"
    );
    let csv = {
        use tokio_stream::StreamExt;
        partner
            .export_csv(ask(
                Question::ThemePrevalence,
                Breakdown::ByJurisdiction,
                pb::Filters::default(),
                true,
            ))
            .await
            .expect("csv")
            .into_inner()
            .map(|c| c.expect("chunk").text)
            .collect::<Vec<_>>()
            .await
            .concat()
    };
    assert!(!csv.contains("tribal-sample") && csv.contains("withheld"));
    let named = pb::Filters {
        jurisdictions: vec!["tribal-sample".into()],
        ..Default::default()
    };
    let status = partner
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            named,
            true,
        ))
        .await
        .expect_err("withheld name");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    let unknown = partner
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            pb::Filters {
                jurisdictions: vec!["no-such-place".into()],
                ..Default::default()
            },
            true,
        ))
        .await
        .expect_err("unknown id");
    assert_eq!(
        (unknown.code(), unknown.message(), unknown.details()),
        (status.code(), status.message(), status.details()),
        "a withheld id is refused exactly as an unknown one"
    );
    server.stop().await;
}
