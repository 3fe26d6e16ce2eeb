//! The learning loop's questions: considerations and safety notices counted
//! from learning's events, against an independent count of the fixtures, for
//! an analyst (exact) and a partner (pooled, perturbed, small counts hidden);
//! review dimensions refused for units that are not cases.

use scir_kit::auth::Role;
use scir_proto::Labelled;
use scir_proto::insights::v1::{self as pb, Breakdown, Question, Suppression};
use scir_proto::intake::v1 as intake;
use scir_proto::learning::v1 as learning;
use scir_testkit::Backend;

use super::harness::{
    ConsiderationFixture, LearningFixtures, RecipientFixture, Settings, ask, learning_of,
    partnership, start, value,
};

scir_testkit::on_both_backends!(the_learning_loop_is_counted_like_every_other_answer);

const K: i64 = 10;

fn status_label(s: learning::ConsiderationStatus) -> &'static str {
    s.label().trim_start_matches("CONSIDERATION_STATUS_")
}

fn open(c: &ConsiderationFixture) -> bool {
    !matches!(
        c.status,
        learning::ConsiderationStatus::Implemented | learning::ConsiderationStatus::NotPursued
    )
}

/// The recipients a row of `SAFETY_NOTICE_RESPONSES` counts.
fn responders<'a>(
    recipients: &[&'a RecipientFixture],
    response: &str,
    days: &str,
) -> Vec<&'a RecipientFixture> {
    let band = |d: i32| match d {
        0..=7 => "0-7",
        8..=14 => "8-14",
        15..=30 => "15-30",
        31..=60 => "31-60",
        _ => "61+",
    };
    recipients
        .iter()
        .copied()
        .filter(|r| match (response, r.answer) {
            ("RESPONDED", Some(_)) => true,
            ("UNANSWERED", None) => true,
            ("OVERDUE", None) => r.due_past,
            (kind, Some((k, _))) => k.label().trim_start_matches("RESPONSE_KIND_") == kind,
            _ => false,
        })
        .filter(|r| days == "all" || r.answer.is_some_and(|(_, d)| band(d) == days))
        .collect()
}

/// The truth behind every count of a learning question's answer, for the
/// considerations and recipients in its scope.
fn truths(
    question: Question,
    table: &pb::Table,
    considerations: &[&ConsiderationFixture],
    recipients: &[&RecipientFixture],
) -> Vec<(String, Option<pb::Count>, i64)> {
    let mut out = Vec::new();
    let population = match question {
        Question::ConsiderationEffectiveness => considerations
            .iter()
            .filter(|c| {
                c.status == learning::ConsiderationStatus::Implemented
                    && c.effectiveness != learning::Effectiveness::Unspecified
            })
            .count(),
        Question::SafetyNoticeResponses => recipients.len(),
        _ => considerations.len(),
    } as i64;
    out.push(("population".to_owned(), table.population, population));
    for row in &table.rows {
        let what = row.keys.join("/");
        let (k0, k1) = (row.keys[0].as_str(), row.keys[1].as_str());
        match question {
            Question::Considerations => {
                let group: Vec<_> = considerations
                    .iter()
                    .filter(|c| c.category.label() == k0 && c.strength.label() == k1)
                    .collect();
                let done = group
                    .iter()
                    .filter(|c| c.status == learning::ConsiderationStatus::Implemented)
                    .count();
                let overdue = group.iter().filter(|c| open(c) && c.due_past).count();
                out.push((format!("{what} count"), row.count, group.len() as i64));
                out.push((format!("{what} implemented"), row.implemented, done as i64));
                out.push((format!("{what} overdue"), row.overdue, overdue as i64));
            }
            Question::ConsiderationStatus => {
                let category: Vec<_> = considerations
                    .iter()
                    .filter(|c| c.category.label() == k0)
                    .collect();
                let n = category
                    .iter()
                    .filter(|c| status_label(c.status) == k1)
                    .count();
                out.push((format!("{what} count"), row.count, n as i64));
                out.push((format!("{what} of"), row.denominator, category.len() as i64));
            }
            Question::ConsiderationEffectiveness => {
                let checked: Vec<_> = considerations
                    .iter()
                    .filter(|c| {
                        c.status == learning::ConsiderationStatus::Implemented
                            && c.effectiveness != learning::Effectiveness::Unspecified
                            && c.strength.label() == k0
                    })
                    .collect();
                let n = checked
                    .iter()
                    .filter(|c| c.effectiveness.label().trim_start_matches("EFFECTIVENESS_") == k1)
                    .count();
                out.push((format!("{what} count"), row.count, n as i64));
                out.push((format!("{what} of"), row.denominator, checked.len() as i64));
            }
            Question::SafetyNoticeResponses => {
                let n = responders(recipients, k0, k1).len() as i64;
                let of = if k1 == "all" {
                    recipients.len()
                } else {
                    responders(recipients, k0, "all").len()
                } as i64;
                out.push((format!("{what} count"), row.count, n));
                out.push((format!("{what} of"), row.denominator, of));
            }
            other => panic!("not a learning question: {other:?}"),
        }
    }
    out
}

const QUESTIONS: [Question; 4] = [
    Question::Considerations,
    Question::ConsiderationStatus,
    Question::ConsiderationEffectiveness,
    Question::SafetyNoticeResponses,
];

async fn the_learning_loop_is_counted_like_every_other_answer(backend: Backend) {
    let fixtures = partnership();
    let l: LearningFixtures = learning_of(&fixtures);
    let server = start(backend, &fixtures, Settings { k: K }).await;

    // An analyst of Wisconsin: exact counts of its own considerations and of
    // the notices addressed to it.
    let mut analyst = server.client(&[Role::Analyst], "us-wi");
    let considerations: Vec<_> = l
        .considerations
        .iter()
        .filter(|c| c.jurisdiction == "us-wi")
        .collect();
    let recipients: Vec<_> = l
        .recipients
        .iter()
        .filter(|r| r.recipient == "us-wi")
        .collect();
    assert!(considerations.len() >= 15 && recipients.len() >= 9);
    for question in QUESTIONS {
        let table = analyst
            .ask(ask(
                question,
                Breakdown::Unspecified,
                pb::Filters::default(),
                false,
            ))
            .await
            .unwrap_or_else(|e| panic!("{question:?}: {e}"))
            .into_inner();
        assert_eq!(table.scope, "jurisdiction:us-wi");
        assert!(!table.rows.is_empty(), "{question:?}");
        for (what, shown, truth) in truths(question, &table, &considerations, &recipients) {
            assert_eq!(value(&shown), Some(truth), "{question:?} {what}");
        }
    }

    // The answer names every response and band the fixtures hold.
    let responses = analyst
        .ask(ask(
            Question::SafetyNoticeResponses,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("responses")
        .into_inner();
    let rate = responses
        .rows
        .iter()
        .find(|r| r.keys == ["RESPONDED", "all"])
        .expect("the response rate");
    let answered = recipients.iter().filter(|r| r.answer.is_some()).count();
    assert_eq!(
        rate.share,
        Some(answered as f64 / recipients.len() as f64),
        "the response rate"
    );

    // A period outside the events counts nothing.
    let none = analyst
        .ask(ask(
            Question::Considerations,
            Breakdown::Unspecified,
            pb::Filters {
                quarter_from: "2024-Q1".into(),
                quarter_to: "2024-Q4".into(),
                ..Default::default()
            },
            false,
        ))
        .await
        .expect("2024")
        .into_inner();
    assert_eq!(value(&none.population), Some(0));
    assert!(none.rows.is_empty());

    // Review dimensions are refused, each naming its field, for units that
    // are not cases.
    for question in QUESTIONS {
        let status = analyst
            .ask(ask(
                question,
                Breakdown::ByCause,
                pb::Filters {
                    causes: vec![intake::CauseCategory::Suid as i32],
                    finalised_only: true,
                    ..Default::default()
                },
                false,
            ))
            .await
            .expect_err("review dimensions");
        assert_eq!(status.code(), tonic::Code::InvalidArgument);
        assert_eq!(
            scir_testkit::violated_fields(&status),
            ["breakdown", "filters.causes", "filters.finalised_only"],
            "{question:?}"
        );
    }

    // A partner: pooled over every member but Kansas (out of the pool), each
    // count 0 exactly when the truth is, else hidden as a small cell or shown
    // at least k and within the published bound.
    let mut partner = server.client(&[Role::Partner], "us-tn");
    let pooled_considerations: Vec<_> = l
        .considerations
        .iter()
        .filter(|c| c.jurisdiction != "us-ks")
        .collect();
    let pooled_recipients: Vec<_> = l
        .recipients
        .iter()
        .filter(|r| r.recipient != "us-ks")
        .collect();
    let (mut shown, mut hidden) = (0, 0);
    for question in QUESTIONS {
        let filters = pb::Filters {
            quarter_from: "2025-Q1".into(),
            quarter_to: "2025-Q4".into(),
            ..Default::default()
        };
        let table = partner
            .ask(ask(question, Breakdown::Unspecified, filters, true))
            .await
            .unwrap_or_else(|e| panic!("{question:?}: {e}"))
            .into_inner();
        assert_eq!(table.scope, "pooled");
        let max = i64::from(table.max_adjustment);
        assert!(max > 0);
        for (what, count, truth) in
            truths(question, &table, &pooled_considerations, &pooled_recipients)
        {
            let count = count.unwrap_or_else(|| panic!("{question:?} {what}: a count is sent"));
            match count.value {
                Some(v) => {
                    shown += 1;
                    assert_eq!(v == 0, truth == 0, "{question:?} {what}: {truth} as {v}");
                    assert!(v == 0 || v >= K, "{question:?} {what}: shown {v}");
                    assert!(
                        (v - truth).abs() <= max,
                        "{question:?} {what}: {truth} as {v}"
                    );
                }
                None => {
                    hidden += 1;
                    assert_eq!(
                        count.suppression,
                        Suppression::SmallCell as i32,
                        "{question:?} {what}"
                    );
                    assert!(
                        (1..K + max).contains(&truth),
                        "{question:?} {what}: {truth} hidden"
                    );
                }
            }
        }
    }
    assert!(shown > 20 && hidden > 5, "{shown} shown, {hidden} hidden");

    // Pooled review dimensions are refused as they are for an analyst.
    let status = partner
        .ask(ask(
            Question::SafetyNoticeResponses,
            Breakdown::Unspecified,
            pb::Filters {
                tribal_statuses: vec![intake::TribalStatus::MemberOrEligible as i32],
                ..Default::default()
            },
            true,
        ))
        .await
        .expect_err("tribal status of a notice");
    assert_eq!(
        scir_testkit::violated_fields(&status),
        ["filters.tribal_statuses"]
    );
    server.stop().await;
}
