//! Pooled answers: small cells hidden, no lone hidden cell in a total, and no
//! two nested answers that differ by a small group.

use std::collections::BTreeMap;

use scir_kit::auth::Role;
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

    // The rare cause is a small group: hidden, and not recoverable from the total.
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
    assert_eq!(
        value(&by_cause.population),
        Some(pool.len() as i64),
        "Kansas opted out of the pool"
    );
    let mut shown_cells = 0;
    for row in &by_cause.rows {
        let truth_d = pool
            .iter()
            .filter(|f| f.cause.as_str_name() == row.keys[0])
            .count() as i64;
        let truth_n = pool
            .iter()
            .filter(|f| {
                f.cause.as_str_name() == row.keys[0]
                    && f.themes.iter().any(|t| t.as_str_name() == row.keys[1])
            })
            .count() as i64;
        for (count, truth) in [(&row.count, truth_n), (&row.denominator, truth_d)] {
            match value(count) {
                Some(v) => {
                    assert_eq!(v, truth, "{:?}", row.keys);
                    assert!(v == 0 || v >= K, "a shown count is 0 or at least k");
                    shown_cells += 1;
                }
                None => assert_ne!(suppression(count), Suppression::Shown),
            }
            if (1..K).contains(&truth) {
                assert_eq!(value(count), None, "{:?}: {truth} must be hidden", row.keys);
            }
        }
    }
    assert!(shown_cells > 0, "suppression leaves the large cells");
    let drowning = intake::CauseCategory::Drowning.as_str_name();
    assert!(
        by_cause
            .rows
            .iter()
            .filter(|r| r.keys[0] == drowning)
            .all(|r| value(&r.denominator).is_none())
    );

    // In every group adding up to a total, hidden non-zero cells come in twos or more.
    let mut groups: BTreeMap<String, Vec<&pb::Row>> = BTreeMap::new();
    for row in &by_cause.rows {
        groups.entry(row.keys[1].clone()).or_default().push(row);
    }
    for (theme, rows) in &groups {
        let hidden = rows.iter().filter(|r| value(&r.count).is_none()).count();
        assert_ne!(
            hidden, 1,
            "a lone hidden cell in {theme} would be the total minus the rest"
        );
    }
    let hidden_denominators: std::collections::BTreeSet<&str> = by_cause
        .rows
        .iter()
        .filter(|r| value(&r.denominator).is_none())
        .map(|r| r.keys[0].as_str())
        .collect();
    assert_ne!(
        hidden_denominators.len(),
        1,
        "the causes' populations add up to the pool"
    );

    // Differencing: every answer filtered to one value, against the answer
    // without that filter: nested, so their shown counts never differ by 1..k-1.
    let unfiltered = partner
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            pb::Filters::default(),
            true,
        ))
        .await
        .expect("ask")
        .into_inner();
    let whole: BTreeMap<String, Option<i64>> = unfiltered
        .rows
        .iter()
        .map(|r| (r.keys[0].clone(), value(&r.count)))
        .collect();
    let mut filters: Vec<pb::Filters> = CAUSES
        .iter()
        .map(|c| pb::Filters {
            causes: vec![*c as i32],
            ..Default::default()
        })
        .collect();
    filters.push(pb::Filters {
        quarter_from: "2025-Q1".into(),
        quarter_to: "2025-Q4".into(),
        ..Default::default()
    });
    filters.push(pb::Filters {
        race_ethnicity: vec![intake::RaceEthnicity::AmericanIndianAlaskaNative as i32],
        ..Default::default()
    });
    filters.push(pb::Filters {
        tribal_statuses: vec![intake::TribalStatus::TribalMemberOrEligible as i32],
        ..Default::default()
    });
    filters.push(pb::Filters {
        jurisdictions: vec!["withheld".into()],
        ..Default::default()
    });
    let mut differencing = 0;
    for f in filters {
        let narrow = partner
            .ask(ask(
                Question::ThemePrevalence,
                Breakdown::Unspecified,
                f.clone(),
                true,
            ))
            .await
            .expect("ask")
            .into_inner();
        if let (Some(a), Some(b)) = (value(&unfiltered.population), value(&narrow.population)) {
            assert!(
                !(1..K).contains(&(a - b)),
                "{f:?}: populations differ by {}",
                a - b
            );
        }
        for row in &narrow.rows {
            if let (Some(Some(a)), Some(b)) = (whole.get(&row.keys[0]), value(&row.count)) {
                assert!(
                    !(1..K).contains(&(a - b)),
                    "{f:?} {}: {a} - {b} reveals a small group",
                    row.keys[0]
                );
            }
            if suppression(&row.count) == Suppression::Differencing {
                differencing += 1;
            }
        }
    }
    assert!(
        differencing > 0,
        "the fixtures exercise the differencing rule"
    );

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
    server.stop().await;
}
