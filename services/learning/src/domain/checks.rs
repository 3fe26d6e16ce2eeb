//! The shape of what callers send: every bad field named, in one pass. What
//! needs another service (that a learning opportunity exists in a finalised
//! review) is checked by the use case.

use std::collections::HashSet;

use chrono::NaiveDate;
use scir_kit::validate::Check;
use scir_proto::learning::v1 as pb;
use scir_proto::review::v1 as review;

/// Most learning opportunities in a scope.
pub const MAX_LEARNING_OPPORTUNITIES: usize = 200;
/// Most distinct reviews a scope draws on: each is asked about once per
/// change of scope, so this bounds what one call may cost review.
pub const MAX_REVIEWS: usize = 50;
/// Most seats on a team.
pub const MAX_SEATS: usize = 50;
/// Most nodes on a map.
pub const MAX_NODES: usize = 200;
/// Most edges on a map.
pub const MAX_EDGES: usize = 1_000;
/// Most SSIT item codes on a node.
pub const MAX_ITEMS: usize = 20;

/// `[A-Za-z0-9_-]{1,max}`.
fn is_code(text: &str, max: usize) -> bool {
    !text.is_empty()
        && text.len() <= max
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A learning opportunity's resource name:
/// `jurisdictions/{j}/reviews/{uuid}/learningOpportunities/{uuid}`.
pub fn is_learning_opportunity(name: &str) -> bool {
    match name.split('/').collect::<Vec<_>>().as_slice() {
        [
            "jurisdictions",
            j,
            "reviews",
            r,
            "learningOpportunities",
            id,
        ] => !j.is_empty() && uuid::Uuid::parse_str(r).is_ok() && uuid::Uuid::parse_str(id).is_ok(),
        _ => false,
    }
}

/// The title.
pub fn title(check: &mut Check<'_>, title: &str) {
    check.text("title", title, 200, true);
}

/// A scope's own shape (not yet whether its opportunities exist).
pub fn scope(check: &mut Check<'_>, scope: &pb::Scope) {
    if scope.theme != 0 {
        check.known_enum::<review::Theme>("scope.theme", scope.theme);
    }
    if scope.question != 0 {
        check.known_enum::<pb::Question>("scope.question", scope.question);
    }
    check.text("scope.description", &scope.description, 2_000, false);
    let start = check.date("scope.period_start", scope.period_start.as_ref(), false);
    let end = check.date("scope.period_end", scope.period_end.as_ref(), false);
    if let (Some(start), Some(end)) = (start, end)
        && end < start
    {
        check.bad("scope.period_end", "must not be before scope.period_start");
    }
    let los = &scope.learning_opportunities;
    if los.len() > MAX_LEARNING_OPPORTUNITIES {
        check.bad(
            "scope.learning_opportunities",
            format!("must have at most {MAX_LEARNING_OPPORTUNITIES} entries"),
        );
        return;
    }
    let reviews: HashSet<&str> = los
        .iter()
        .filter_map(|lo| lo.rsplit_once("/learningOpportunities/").map(|(r, _)| r))
        .collect();
    if reviews.len() > MAX_REVIEWS {
        check.bad(
            "scope.learning_opportunities",
            format!("must come from at most {MAX_REVIEWS} reviews"),
        );
        return;
    }
    let mut seen = HashSet::new();
    for (i, lo) in los.iter().enumerate() {
        let field = format!("scope.learning_opportunities[{i}]");
        if !is_learning_opportunity(lo) {
            check.bad(
                &field,
                "must be jurisdictions/{jurisdiction}/reviews/{review}/learningOpportunities/{id}",
            );
        } else if !seen.insert(lo.as_str()) {
            check.bad(&field, "is repeated");
        }
    }
}

/// The team: roles and sectors, never names.
pub fn team(check: &mut Check<'_>, team: &[pb::TeamSeat]) {
    if team.len() > MAX_SEATS {
        check.bad("team", format!("must have at most {MAX_SEATS} seats"));
        return;
    }
    for (i, seat) in team.iter().enumerate() {
        check.text(&format!("team[{i}].role"), &seat.role, 200, true);
        check.text(&format!("team[{i}].sector"), &seat.sector, 100, true);
    }
}

/// The map, against the scope's learning opportunities.
pub fn map(check: &mut Check<'_>, map: &pb::AggregateMap, learning_opportunities: &[String]) {
    if map.nodes.len() > MAX_NODES {
        check.bad(
            "map.nodes",
            format!("must have at most {MAX_NODES} entries"),
        );
        return;
    }
    if map.edges.len() > MAX_EDGES {
        check.bad(
            "map.edges",
            format!("must have at most {MAX_EDGES} entries"),
        );
        return;
    }
    let in_scope: HashSet<&str> = learning_opportunities.iter().map(String::as_str).collect();
    let mut ids = HashSet::new();
    for (i, node) in map.nodes.iter().enumerate() {
        let path = format!("map.nodes[{i}]");
        if !is_code(&node.id, 64) {
            check.bad(
                &format!("{path}.id"),
                "must be 1 to 64 characters of [A-Za-z0-9_-]",
            );
        } else if !ids.insert(node.id.as_str()) {
            check.bad(&format!("{path}.id"), "is repeated");
        }
        check.text(&format!("{path}.label"), &node.label, 200, true);
        if node.factor != 0 {
            check.known_enum::<review::ContributoryFactor>(&format!("{path}.factor"), node.factor);
        }
        if node.ssit_items.len() > MAX_ITEMS {
            check.bad(
                &format!("{path}.ssit_items"),
                format!("must have at most {MAX_ITEMS} entries"),
            );
        } else {
            for (j, code) in node.ssit_items.iter().enumerate() {
                if !is_code(code, 16) {
                    check.bad(
                        &format!("{path}.ssit_items[{j}]"),
                        "must be 1 to 16 characters of [A-Za-z0-9_-]",
                    );
                }
            }
        }
        if node.explains.len() > MAX_LEARNING_OPPORTUNITIES {
            check.bad(
                &format!("{path}.explains"),
                "lists more than the scope holds",
            );
            continue;
        }
        for (j, lo) in node.explains.iter().enumerate() {
            if !in_scope.contains(lo.as_str()) {
                check.bad(
                    &format!("{path}.explains[{j}]"),
                    "must be one of scope.learning_opportunities",
                );
            }
        }
    }
    for (i, edge) in map.edges.iter().enumerate() {
        let path = format!("map.edges[{i}]");
        for (field, id) in [("from", &edge.from), ("to", &edge.to)] {
            if !ids.contains(id.as_str()) {
                check.bad(
                    &format!("{path}.{field}"),
                    "must be the id of a node of this map",
                );
            }
        }
        if edge.from == edge.to {
            check.bad(&format!("{path}.to"), "must differ from from");
        }
        check.text(&format!("{path}.label"), &edge.label, 200, false);
    }
}

/// The team's notes on the process.
pub fn process_notes(check: &mut Check<'_>, notes: &str) {
    check.text("process_notes", notes, 10_000, false);
}

/// A session.
pub fn session(check: &mut Check<'_>, session: &pb::MappingSession) {
    check.date("date", session.date.as_ref(), true);
    check.text("agenda", &session.agenda, 2_000, false);
    long_text(check, "notes", &session.notes, 20_000, false);
}

/// A whole consideration, against the map's node ids and today.
pub fn consideration(
    check: &mut Check<'_>,
    c: &pb::Consideration,
    nodes: &HashSet<&str>,
    today: NaiveDate,
) {
    check.required_enum::<review::RecommendationCategory>("category", c.category);
    check.text("description", &c.description, 5_000, true);
    check.text("owner", &c.owner, 200, true);
    let done = check.date("done_date", c.done_date.as_ref(), false);
    check.date("due_date", c.due_date.as_ref(), true);
    check.required_enum::<review::ActionStrength>("strength", c.strength);
    let status = check
        .known_enum::<pb::ConsiderationStatus>("status", c.status)
        .unwrap_or_default();
    check.text("status_reason", &c.status_reason, 2_000, false);
    use pb::ConsiderationStatus as S;
    match status {
        S::NotPursued if c.status_reason.trim().is_empty() => {
            check.bad(
                "status_reason",
                "is required when the status is NOT_PURSUED",
            );
        }
        S::Implemented if done.is_none() && c.done_date.is_none() => {
            check.bad("done_date", "is required when the status is IMPLEMENTED");
        }
        _ => {}
    }
    if status != S::Implemented && c.done_date.is_some() {
        check.bad("done_date", "is only set when the status is IMPLEMENTED");
    }
    check.not_future("done_date", done, today);
    check.effect(
        status == S::Implemented,
        done,
        c.check_date.as_ref(),
        c.effectiveness,
        &c.evidence,
        today,
    );
    if c.nodes.len() > MAX_NODES {
        check.bad("nodes", format!("must have at most {MAX_NODES} entries"));
    } else {
        for (i, node) in c.nodes.iter().enumerate() {
            if !nodes.contains(node.as_str()) {
                check.bad(
                    &format!("nodes[{i}]"),
                    "must be the id of a node of the map",
                );
            }
        }
    }
}

/// Most recipients of a notice.
pub const MAX_RECIPIENTS: usize = 100;

/// Free text that may run over lines: at most `max` characters, no NUL.
fn long_text(check: &mut Check<'_>, field: &str, value: &str, max: usize, required: bool) {
    if required && value.trim().is_empty() {
        check.bad(field, "is required");
    } else if value.chars().count() > max {
        check.bad(field, format!("must be at most {max} characters"));
    } else if value.contains('\0') {
        check.bad(field, "must not contain NUL characters");
    }
}

/// A safety notice `issuer` sends; `members` are the partnership's
/// jurisdiction ids.
pub fn notice(
    check: &mut Check<'_>,
    n: &pb::SafetyNotice,
    issuer: &str,
    members: &HashSet<&str>,
    today: NaiveDate,
) {
    check.text("title", &n.title, 200, true);
    long_text(check, "body", &n.body, 10_000, true);
    if n.theme != 0 {
        check.known_enum::<review::Theme>("theme", n.theme);
    }
    let due = check.date("response_due", n.response_due.as_ref(), true);
    if due.is_some_and(|d| d < today) {
        check.bad("response_due", "must not be in the past");
    }
    if !n.source.is_empty() {
        let own = |collection: &str| {
            matches!(
                n.source.split('/').collect::<Vec<_>>().as_slice(),
                ["jurisdictions", j, c, id] if *j == issuer && *c == collection && uuid::Uuid::parse_str(id).is_ok()
            )
        };
        if !own("aggregateMappings") && !own("reviews") {
            check.bad(
                "source",
                "must be an aggregate mapping or a review of the issuer's jurisdiction",
            );
        }
    }
    if n.recipients.len() > MAX_RECIPIENTS {
        check.bad(
            "recipients",
            format!("must have at most {MAX_RECIPIENTS} entries"),
        );
        return;
    }
    let mut seen = HashSet::new();
    for (i, r) in n.recipients.iter().enumerate() {
        let field = format!("recipients[{i}]");
        if !members.contains(r.as_str()) {
            check.bad(&field, "must be a member jurisdiction's id");
        } else if r == issuer {
            check.bad(&field, "must not be the issuer");
        } else if !seen.insert(r.as_str()) {
            check.bad(&field, "is repeated");
        }
    }
}

/// A notice's recipients when none are named: every member but the issuer,
/// counties left out (a state's counties are the state).
pub fn every_member_but(directory: &scir_kit::directory::Directory, issuer: &str) -> Vec<String> {
    directory
        .iter()
        .filter(|j| j.parent.is_none() && j.id != issuer)
        .map(|j| j.id.clone())
        .collect()
}

/// A response to a notice.
pub fn response(check: &mut Check<'_>, kind: i32, detail: &str) {
    let kind = check.required_enum::<pb::ResponseKind>("kind", kind);
    long_text(check, "detail", detail, 5_000, false);
    if matches!(
        kind,
        Some(pb::ResponseKind::ActionTaken | pb::ResponseKind::NotApplicable)
    ) && detail.trim().is_empty()
    {
        check.bad("detail", "says what was done, or why it does not apply");
    }
}

#[cfg(test)]
mod tests {
    use scir_kit::error::FieldViolation;
    use scir_kit::validate::from_date;

    use super::*;

    const R1: &str = "0190a0a0-0000-7000-8000-000000000001";
    const L1: &str = "0190a0a0-0000-7000-8000-000000000002";

    fn violations(run: impl FnOnce(&mut Check<'_>)) -> Vec<String> {
        let mut check = Check::new("m.");
        run(&mut check);
        check
            .into_violations()
            .into_iter()
            .map(|v: FieldViolation| v.field)
            .collect()
    }

    fn day(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).expect("date")
    }

    #[test]
    fn a_scope_names_each_bad_opportunity_and_period() {
        let lo = format!("jurisdictions/us-wi/reviews/{R1}/learningOpportunities/{L1}");
        let scope = pb::Scope {
            theme: 999,
            period_start: Some(from_date(day(2025, 6, 1))),
            period_end: Some(from_date(day(2025, 1, 1))),
            learning_opportunities: vec![lo.clone(), "reviews/x".into(), lo],
            ..Default::default()
        };
        assert_eq!(
            violations(|c| super::scope(c, &scope)),
            [
                "m.scope.theme",
                "m.scope.period_end",
                "m.scope.learning_opportunities[1]",
                "m.scope.learning_opportunities[2]"
            ]
        );
    }

    #[test]
    fn a_notice_names_its_members_and_its_own_source() {
        let members: HashSet<&str> = ["us-wi", "us-tn", "us-ks"].into();
        let today = day(2026, 12, 1);
        let n = pb::SafetyNotice {
            title: "Safe sleep".into(),
            body: "What we learned.\nWhat to check.".into(),
            source: format!("jurisdictions/us-tn/reviews/{R1}"),
            recipients: vec!["us-tn".into(), "us-wi".into(), "xx".into(), "us-tn".into()],
            response_due: Some(from_date(day(2026, 11, 1))),
            ..Default::default()
        };
        assert_eq!(
            violations(|c| notice(c, &n, "us-wi", &members, today)),
            [
                "m.response_due",
                "m.source",
                "m.recipients[1]",
                "m.recipients[2]",
                "m.recipients[3]"
            ]
        );
        assert_eq!(
            violations(|c| response(c, pb::ResponseKind::NotApplicable as i32, " ")),
            ["m.detail"]
        );
        assert!(violations(|c| response(c, pb::ResponseKind::Acknowledged as i32, "")).is_empty());
    }

    #[test]
    fn a_notice_to_everyone_goes_to_every_other_state_and_nation() {
        let directory = scir_kit::directory::Directory::shipped();
        let mut all = every_member_but(&directory, "us-wi");
        all.sort();
        assert_eq!(all, ["tribal-sample", "us-ks", "us-tn", "us-wv"]);
    }

    #[test]
    fn a_scope_draws_on_a_bounded_number_of_reviews() {
        let many = pb::Scope {
            learning_opportunities: (0..=MAX_REVIEWS)
                .map(|_| {
                    format!(
                        "jurisdictions/us-wi/reviews/{}/learningOpportunities/{L1}",
                        uuid::Uuid::now_v7()
                    )
                })
                .collect(),
            ..Default::default()
        };
        assert_eq!(
            violations(|c| super::scope(c, &many)),
            ["m.scope.learning_opportunities"]
        );
    }

    #[test]
    fn a_map_refers_only_to_its_own_nodes_and_scope() {
        let lo = format!("jurisdictions/us-wi/reviews/{R1}/learningOpportunities/{L1}");
        let map = pb::AggregateMap {
            nodes: vec![
                pb::MapNode {
                    id: "caseload".into(),
                    label: "Caseloads above standard".into(),
                    ssit_items: vec!["TW1".into(), "no spaces".into()],
                    explains: vec![lo.clone(), "other".into()],
                    ..Default::default()
                },
                pb::MapNode {
                    id: "caseload".into(),
                    label: String::new(),
                    ..Default::default()
                },
            ],
            edges: vec![pb::MapEdge {
                from: "caseload".into(),
                to: "missing".into(),
                label: String::new(),
            }],
        };
        assert_eq!(
            violations(|c| super::map(c, &map, &[lo])),
            [
                "m.map.nodes[0].ssit_items[1]",
                "m.map.nodes[0].explains[1]",
                "m.map.nodes[1].id",
                "m.map.nodes[1].label",
                "m.map.edges[0].to"
            ]
        );
    }

    #[test]
    fn a_consideration_follows_its_status() {
        let today = day(2026, 12, 1);
        let nodes: HashSet<&str> = ["caseload"].into();
        let mut c = pb::Consideration {
            category: 1,
            description: "Cap caseloads".into(),
            owner: "State DCF".into(),
            due_date: Some(from_date(day(2027, 6, 30))),
            strength: 1,
            status: pb::ConsiderationStatus::NotPursued as i32,
            nodes: vec!["caseload".into(), "ghost".into()],
            ..Default::default()
        };
        assert_eq!(
            violations(|ch| consideration(ch, &c, &nodes, today)),
            ["m.status_reason", "m.nodes[1]"]
        );
        c.nodes.pop();
        c.status = pb::ConsiderationStatus::Implemented as i32;
        assert_eq!(
            violations(|ch| consideration(ch, &c, &nodes, today)),
            ["m.done_date"]
        );
        c.done_date = Some(from_date(day(2026, 10, 1)));
        c.check_date = Some(from_date(day(2026, 9, 1)));
        c.effectiveness = pb::Effectiveness::Effective as i32;
        assert_eq!(
            violations(|ch| consideration(ch, &c, &nodes, today)),
            ["m.check_date", "m.evidence"]
        );
        c.check_date = Some(from_date(day(2026, 11, 1)));
        c.evidence = "Average caseload fell from 22 to 15".into();
        assert!(violations(|ch| consideration(ch, &c, &nodes, today)).is_empty());
    }
}
