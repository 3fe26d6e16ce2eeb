//! Insights' use cases: who sees what (own jurisdiction, or pooled and
//! suppressed), the filters each scope allows, and the answers.

use std::sync::Arc;

use scir_kit::audit::{AuditLog, AuditRecord};
use scir_kit::auth::{Caller, Role};
use scir_kit::directory::Directory;
use scir_kit::validate::Check;
use scir_kit::{ApiError, FieldViolation};
use scir_proto::Labelled;
use scir_proto::insights::v1::{self as pb, Question, Table};
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1 as review;

use crate::domain::engine::{self, Filter, Query};
use crate::domain::facts::{AGE_BANDS, Dicts, ReviewFact};
use crate::domain::protection::{Perturbation, Utility};
use crate::domain::snapshot::{Compact, month_number, quarter_key};
use crate::index::Index;

/// Most filters a pooled question may combine.
pub const MAX_POOLED_FILTERS: usize = 3;

/// Most filters a pooled question about actions (recommendations,
/// considerations, notices at their recipients) may combine. Each row of such
/// an answer carries several counts of nested groups (all, implemented,
/// overdue; a response and its days), so each filter multiplies what an
/// attacker can difference: with three filters the attack harness estimated
/// single recommendations with a standard error of 0.40, with two never
/// below 0.95 (docs/insights.md, "Disclosure control").
pub const MAX_POOLED_ACTION_FILTERS: usize = 2;

/// Who shares what with the partnership.
#[derive(Debug, Clone)]
pub struct Sharing {
    /// The perturbation of pooled counts, with its threshold k.
    pub protection: Arc<Perturbation>,
    /// The member jurisdictions: whose names are shared, whose reviews pooled.
    pub directory: Arc<Directory>,
    /// Fewest members a pooled comparison of members takes.
    pub min_members: usize,
}

impl Sharing {
    /// Whether pooled answers show `withheld` for this jurisdiction: it asked
    /// so, or the directory does not list it (names are shown only by consent).
    pub fn withholds(&self, jurisdiction: &str) -> bool {
        !self
            .directory
            .get(jurisdiction)
            .is_some_and(|j| j.share_name)
    }

    /// Whether its reviews count in pooled answers.
    pub fn pools(&self, jurisdiction: &str) -> bool {
        self.directory.get(jurisdiction).is_none_or(|j| j.pooled)
    }
}

/// Insights' logic.
#[derive(Debug, Clone)]
pub struct Insights {
    index: Index,
    audit: AuditLog,
    sharing: Sharing,
}

fn quarter_ok(q: &str) -> bool {
    let Some((year, quarter)) = q.split_once("-Q") else {
        return false;
    };
    year.len() == 4
        && year.chars().all(|c| c.is_ascii_digit())
        && matches!(quarter, "1" | "2" | "3" | "4")
}

/// What is wrong with a pooled period: one whole calendar year (`YYYY-Q1` to
/// `YYYY-Q4`) or none. Each violation names the field the caller sent.
fn whole_year_violations(from: &str, to: &str) -> Vec<(&'static str, &'static str)> {
    const FROM: &str = "filters.quarter_from";
    const TO: &str = "filters.quarter_to";
    match (from.split_once("-Q"), to.split_once("-Q")) {
        _ if from.is_empty() && to.is_empty() => vec![],
        (_, _) if from.is_empty() => vec![(
            TO,
            "needs filters.quarter_from: pooled questions take one whole calendar year (YYYY-Q1 to YYYY-Q4)",
        )],
        (_, _) if to.is_empty() => vec![(
            FROM,
            "needs filters.quarter_to: pooled questions take one whole calendar year (YYYY-Q1 to YYYY-Q4)",
        )],
        (Some((y1, q1)), Some((y2, q2))) => {
            let mut out = Vec::new();
            if q1 != "1" {
                out.push((
                    FROM,
                    "must be the first quarter of a year (YYYY-Q1) in pooled questions",
                ));
            }
            if q2 != "4" {
                out.push((
                    TO,
                    "must be the last quarter of a year (YYYY-Q4) in pooled questions",
                ));
            } else if y1 != y2 {
                out.push((
                    TO,
                    "must be in the same year as filters.quarter_from in pooled questions",
                ));
            }
            out
        }
        // Malformed quarters are reported by the format check.
        _ => vec![],
    }
}

/// Whether a question counts the learning loop's units (considerations,
/// notices at their recipients) rather than reviews or their recommendations.
fn is_learning(q: Question) -> bool {
    matches!(
        q,
        Question::Considerations
            | Question::ConsiderationStatus
            | Question::ConsiderationEffectiveness
            | Question::SafetyNoticeResponses
    )
}

/// Whether a question counts closed culture survey waves.
fn is_culture(q: Question) -> bool {
    matches!(
        q,
        Question::CultureBesideReviews | Question::CultureStanding
    )
}

/// Whether a question's units are actions or notices (several nested counts
/// per row) rather than reviews.
fn counts_actions(q: Question) -> bool {
    is_learning(q)
        || matches!(
            q,
            Question::Recommendations | Question::RecommendationEffectiveness
        )
}

/// What a learning or culture question cannot take: a consideration draws
/// on many reviews, a notice on none, a survey wave on none, so only the
/// period (and for the learning loop the jurisdictions) filter them, and their
/// answers have fixed key columns.
fn learning_violations(
    q: Question,
    breakdown: pb::Breakdown,
    f: &pb::Filters,
) -> Vec<(&'static str, String)> {
    let why = if is_culture(q) {
        format!(
            "does not apply to {}: surveys are not cases; filter by period only",
            q.label()
        )
    } else {
        format!(
            "does not apply to {}: its units are not cases; filter by period and jurisdictions only",
            q.label()
        )
    };
    let mut out = Vec::new();
    if breakdown != pb::Breakdown::Unspecified {
        out.push(("breakdown", why.clone()));
    }
    for (field, used) in [
        ("filters.incident_types", !f.incident_types.is_empty()),
        ("filters.causes", !f.causes.is_empty()),
        ("filters.age_bands", !f.age_bands.is_empty()),
        ("filters.sexes", !f.sexes.is_empty()),
        ("filters.race_ethnicity", !f.race_ethnicity.is_empty()),
        ("filters.tribal_statuses", !f.tribal_statuses.is_empty()),
        ("filters.finalised_only", f.finalised_only),
    ] {
        if used {
            out.push((field, why.clone()));
        }
    }
    out
}

impl Insights {
    /// Insights over its index, audit log and sharing settings.
    pub fn new(index: Index, audit: AuditLog, sharing: Sharing) -> Self {
        Self {
            index,
            audit,
            sharing,
        }
    }

    /// Whether the caller asks for pooled data (and may).
    fn scope(&self, caller: &Caller, request: &pb::AskRequest) -> Result<Option<String>, ApiError> {
        let local = caller.granted_any(&[Role::Analyst, Role::Admin]);
        let partner = caller.granted_any(&[Role::Partner]);
        if request.pooled || !local {
            if !partner {
                return Err(ApiError::PermissionDenied(
                    "pooled partnership data is for partner callers".to_owned(),
                ));
            }
            return Ok(None);
        }
        let own = &caller.jurisdiction;
        if request
            .filters
            .as_ref()
            .is_some_and(|f| f.jurisdictions.iter().any(|j| j != own))
        {
            return Err(ApiError::PermissionDenied(
                "analysts see their own jurisdiction only".to_owned(),
            ));
        }
        Ok(Some(own.clone()))
    }

    /// Checks the request for its scope (pooled questions take a narrower
    /// set of filters); returns the question, breakdown and level.
    fn validate(
        &self,
        request: &pb::AskRequest,
        pooled: bool,
    ) -> Result<(Question, pb::Breakdown, i32), ApiError> {
        let mut check = Check::new("");
        let question = check.required_enum::<Question>("question", request.question);
        let breakdown = check
            .known_enum::<pb::Breakdown>("breakdown", request.breakdown)
            .unwrap_or_default();
        let level = if request.level == 0 { 2 } else { request.level };
        if !(1..=3).contains(&level) {
            check.bad("level", "must be 1 to 3 (0 means 2)");
        }
        let needs_code = matches!(question, Some(Question::Trend | Question::SystemsMap));
        if needs_code && request.code.trim().is_empty() {
            check.bad("code", "is required for this question");
        }
        if question == Some(Question::SystemsMap)
            && review::Theme::from_label(&request.code).is_none()
        {
            check.bad(
                "code",
                "must be a theme name, e.g. TEAMWORK_AND_COORDINATION",
            );
        }
        check.text("code", &request.code, 64, false);
        let f = request.filters.clone().unwrap_or_default();
        if let Some(q) = question.filter(|q| is_learning(*q) || is_culture(*q)) {
            for (field, field_violation) in learning_violations(q, breakdown, &f) {
                check.bad(field, field_violation);
            }
        }
        if question.is_some_and(is_culture) && pooled && !f.jurisdictions.is_empty() {
            check.bad(
                "filters.jurisdictions",
                "culture is compared across every member, never shown by member",
            );
        }
        for (field, q) in [
            ("filters.quarter_from", &f.quarter_from),
            ("filters.quarter_to", &f.quarter_to),
        ] {
            if !q.is_empty() && !quarter_ok(q) {
                check.bad(field, "must be YYYY-Qn");
            }
        }
        check.enum_list::<intake::IncidentType>("filters.incident_types", &f.incident_types);
        check.enum_list::<intake::CauseCategory>("filters.causes", &f.causes);
        check.enum_list::<intake::Sex>("filters.sexes", &f.sexes);
        check.enum_list::<intake::RaceEthnicity>("filters.race_ethnicity", &f.race_ethnicity);
        check.enum_list::<intake::TribalStatus>("filters.tribal_statuses", &f.tribal_statuses);
        for (i, band) in f.age_bands.iter().enumerate() {
            if !engine::is_age_band(band) {
                check.bad(&format!("filters.age_bands[{i}]"), "is not an age band");
            }
        }
        if pooled {
            // One value per filter and whole years: the query space the
            // disclosure tests enumerate (docs/insights.md); the protection
            // itself does not depend on it.
            for (field, n) in [
                ("filters.jurisdictions", f.jurisdictions.len()),
                ("filters.incident_types", f.incident_types.len()),
                ("filters.causes", f.causes.len()),
                ("filters.age_bands", f.age_bands.len()),
                ("filters.sexes", f.sexes.len()),
                ("filters.race_ethnicity", f.race_ethnicity.len()),
                ("filters.tribal_statuses", f.tribal_statuses.len()),
            ] {
                if n > 1 {
                    check.bad(field, "pooled questions take at most one value per filter");
                }
            }
            for (field, message) in whole_year_violations(&f.quarter_from, &f.quarter_to) {
                check.bad(field, message);
            }
            for (i, j) in f.jurisdictions.iter().enumerate() {
                if j != "withheld" && (self.sharing.withholds(j) || !self.sharing.pools(j)) {
                    check.bad(
                        &format!("filters.jurisdictions[{i}]"),
                        "is not a jurisdiction that shares its name; use `withheld`",
                    );
                }
            }
        }
        check.finish()?;
        Ok((question.unwrap_or_default(), breakdown, level))
    }

    /// The request's filters as tests on a review (a pooled answer names a
    /// withheld jurisdiction only as `withheld`).
    fn filters(&self, f: &pb::Filters, pooled: bool, dicts: &Dicts) -> Vec<Filter> {
        let mut filters: Vec<Filter> = Vec::new();
        if !f.quarter_from.is_empty() || !f.quarter_to.is_empty() {
            let from = (!f.quarter_from.is_empty()).then(|| quarter_key(&f.quarter_from));
            let to = (!f.quarter_to.is_empty()).then(|| quarter_key(&f.quarter_to));
            filters.push(Filter {
                name: "period",
                test: Box::new(move |r: &Compact| {
                    from.is_none_or(|q| r.quarter >= q) && to.is_none_or(|q| r.quarter <= q)
                }),
            });
        }
        let label = |j: u32| {
            let name = dicts.jurisdictions.name(j);
            if pooled && self.sharing.withholds(name) {
                "withheld"
            } else {
                name
            }
        };
        if !f.jurisdictions.is_empty() {
            let allowed: Vec<bool> = (0..dicts.jurisdictions.len() as u32)
                .map(|j| f.jurisdictions.iter().any(|x| x == label(j)))
                .collect();
            filters.push(Filter {
                name: "jurisdictions",
                test: Box::new(move |r: &Compact| {
                    allowed
                        .get(r.jurisdiction as usize)
                        .copied()
                        .unwrap_or(false)
                }),
            });
        }
        let bits = |values: &[i32]| {
            values
                .iter()
                .filter(|v| (0..64).contains(*v))
                .fold(0u64, |m, v| m | 1 << v)
        };
        macro_rules! enum_filter {
            ($name:literal, $values:expr, $field:ident) => {
                if !$values.is_empty() {
                    let set = bits(&$values);
                    filters.push(Filter {
                        name: $name,
                        test: Box::new(move |r: &Compact| {
                            (0..64).contains(&r.$field) && set & (1 << r.$field) != 0
                        }),
                    });
                }
            };
        }
        enum_filter!("incident_types", f.incident_types, incident_type);
        enum_filter!("causes", f.causes, cause);
        enum_filter!("sexes", f.sexes, sex);
        enum_filter!("tribal_statuses", f.tribal_statuses, tribal);
        if !f.race_ethnicity.is_empty() {
            let set = bits(&f.race_ethnicity);
            filters.push(Filter {
                name: "race_ethnicity",
                test: Box::new(move |r: &Compact| r.races & set != 0),
            });
        }
        if !f.age_bands.is_empty() {
            let set: u64 = f
                .age_bands
                .iter()
                .filter_map(|b| AGE_BANDS.iter().position(|x| x == b))
                .fold(0, |m, p| m | 1 << p);
            filters.push(Filter {
                name: "age_bands",
                test: Box::new(move |r: &Compact| set & (1 << r.age_band) != 0),
            });
        }
        if f.finalised_only {
            filters.push(Filter {
                name: "finalised_only",
                test: Box::new(|r: &Compact| r.stage == review::Stage::Finalised as i32),
            });
        }
        filters
    }

    /// Builds the query: validates the request for its scope, turns its
    /// filters into tests, and says whose reviews count and how answers are
    /// protected.
    fn query(
        &self,
        request: &pb::AskRequest,
        scope: Option<&str>,
        dicts: &Dicts,
    ) -> Result<Query, ApiError> {
        // A standing compares members, so its counts are pooled whoever
        // asks; an analyst's own jurisdiction is placed among them.
        let standing = request.question == Question::CultureStanding as i32;
        let own = scope.filter(|_| standing).map(str::to_owned);
        let scope = if standing { None } else { scope };
        let pooled = scope.is_none();
        let (question, breakdown, level) = self.validate(request, pooled)?;
        let filters = self.filters(
            request.filters.as_ref().unwrap_or(&pb::Filters::default()),
            pooled,
            dicts,
        );
        let most = if counts_actions(question) {
            MAX_POOLED_ACTION_FILTERS
        } else {
            MAX_POOLED_FILTERS
        };
        if pooled && filters.len() > most {
            let about = if counts_actions(question) {
                " about actions and notices"
            } else {
                ""
            };
            return Err(ApiError::InvalidArgument(vec![FieldViolation::new(
                "filters",
                format!("pooled questions{about} combine at most {most} filters"),
            )]));
        }
        let jurisdictions = 0..dicts.jurisdictions.len() as u32;
        let universe = jurisdictions
            .clone()
            .map(|j| {
                let name = dicts.jurisdictions.name(j);
                match scope {
                    Some(own) => name == own,
                    None => self.sharing.pools(name),
                }
            })
            .collect();
        let withheld = jurisdictions
            .map(|j| pooled && self.sharing.withholds(dicts.jurisdictions.name(j)))
            .collect();
        Ok(Query {
            question,
            filters,
            breakdown,
            level,
            code: request.code.clone(),
            protection: pooled.then(|| self.sharing.protection.clone()),
            universe,
            withheld,
            this_month: month_number(&chrono::Utc::now().format("%Y-%m").to_string()),
            min_members: self.sharing.min_members,
            own,
        })
    }

    /// `Ask`.
    pub async fn ask(
        &self,
        caller: &Caller,
        method: &str,
        request: &pb::AskRequest,
    ) -> Result<Table, ApiError> {
        let scope = match self.scope(caller, request) {
            Ok(scope) => scope,
            Err(e) => {
                self.audit
                    .record(AuditRecord::by(
                        caller,
                        method,
                        "insights",
                        &caller.jurisdiction,
                        "denied: scope",
                    ))
                    .await?;
                return Err(e);
            }
        };
        let (question, mut table) = self.index.snapshot(|snap, dicts| {
            let query = self.query(request, scope.as_deref(), dicts)?;
            Ok::<_, ApiError>((query.question, engine::answer(&query, snap, dicts)))
        })?;
        table.scope = scope
            .as_ref()
            .map_or_else(|| "pooled".to_owned(), |j| format!("jurisdiction:{j}"));
        let resource = format!("insights/{}", question.label());
        self.audit
            .record(AuditRecord::by(
                caller,
                method,
                &resource,
                scope.as_deref().unwrap_or("pooled"),
                "ok",
            ))
            .await?;
        Ok(table)
    }

    /// How far the pooled answers to `requests` are from the truth: each is
    /// answered twice from one snapshot, perturbed and exact, and every count
    /// compared cell by cell (by its keys). A population that several answers
    /// show (a breakdown value's denominator beside every measure, the same
    /// filters in several questions) counts once.
    pub fn utility(&self, requests: &[pb::AskRequest]) -> Result<Utility, ApiError> {
        let mut u = Utility::default();
        let mut seen = std::collections::HashSet::new();
        for request in requests {
            let (protected, exact) = self.index.snapshot(|snap, dicts| {
                let mut query = self.query(request, None, dicts)?;
                let protected = engine::answer(&query, snap, dicts);
                query.protection = None;
                Ok::<_, ApiError>((protected, engine::answer(&query, snap, dicts)))
            })?;
            let question = Question::try_from(request.question).unwrap_or_default();
            let filters = format!("{:?}", request.filters);
            // The systems map's population is the reviews with its theme.
            let population = match question {
                Question::SystemsMap => format!("{filters} {}", request.code),
                _ => filters.clone(),
            };
            let measure = format!("{filters} {question:?} {} {}", request.code, request.level);
            if seen.insert((population.clone(), Vec::new(), "population")) {
                u.add(&protected.population, &exact.population);
            }
            let truth: std::collections::HashMap<&Vec<String>, &pb::Row> =
                exact.rows.iter().map(|r| (&r.keys, r)).collect();
            for row in &protected.rows {
                let Some(t) = truth.get(&row.keys) else {
                    continue;
                };
                if seen.insert((measure.clone(), row.keys.clone(), "count")) {
                    u.add(&row.count, &t.count);
                    u.add(&row.implemented, &t.implemented);
                    u.add(&row.overdue, &t.overdue);
                }
                // A prevalence row's denominator is its breakdown value's
                // population; the other questions repeat a count or the total.
                let prevalence = !matches!(
                    question,
                    Question::Recommendations
                        | Question::Considerations
                        | Question::SafetyNoticeResponses
                        | Question::CoOccurrence
                        | Question::SystemsMap
                );
                let group = row.keys[..row.keys.len().saturating_sub(1)].to_vec();
                if prevalence && seen.insert((population.clone(), group, "denominator")) {
                    u.add(&row.denominator, &t.denominator);
                }
            }
        }
        Ok(u)
    }

    /// `GetOperationalView`.
    pub async fn operational(
        &self,
        caller: &Caller,
        method: &str,
        jurisdiction: &str,
    ) -> Result<pb::OperationalView, ApiError> {
        let id = jurisdiction
            .strip_prefix("jurisdictions/")
            .filter(|j| !j.is_empty() && !j.contains('/'))
            .ok_or_else(|| {
                ApiError::invalid("jurisdiction", "must be jurisdictions/{jurisdiction}")
            })?;
        let acts_in = caller
            .authorize_jurisdiction(&self.sharing.directory, id)
            .is_ok();
        if !acts_in || !caller.granted_any(&[Role::Analyst, Role::Admin]) {
            self.audit
                .record(AuditRecord::by(
                    caller,
                    method,
                    jurisdiction,
                    id,
                    "denied: jurisdiction",
                ))
                .await?;
            return Err(ApiError::PermissionDenied(
                "the operational view is for analysts and admins of the jurisdiction".to_owned(),
            ));
        }
        let this_month = chrono::Utc::now().format("%Y-%m").to_string();
        let view = self.index.read(|facts, _| {
            let mine: Vec<&ReviewFact> = facts.values().filter(|f| f.jurisdiction == id).collect();
            let stages = (review::Stage::Opened as i32..=review::Stage::Withdrawn as i32)
                .map(|stage| {
                    let mut days: Vec<i32> = mine
                        .iter()
                        .filter_map(|f| f.stage_days.get(&stage).copied())
                        .collect();
                    days.sort_unstable();
                    let median_days = (!days.is_empty()).then(|| {
                        let mid = days.len() / 2;
                        if days.len() % 2 == 1 {
                            f64::from(days[mid])
                        } else {
                            f64::from(days[mid - 1] + days[mid]) / 2.0
                        }
                    });
                    pb::StageCount {
                        stage,
                        reviews: mine.iter().filter(|f| f.stage == stage).count() as i64,
                        median_days,
                    }
                })
                .collect();
            let open = |f: &&&ReviewFact| {
                f.stage != review::Stage::Finalised as i32
                    && f.stage != review::Stage::Withdrawn as i32
            };
            let overdue = mine
                .iter()
                .filter(open)
                .filter(|f| !f.next_due_month.is_empty() && f.next_due_month < this_month)
                .count() as i64;
            pb::OperationalView {
                jurisdiction: jurisdiction.to_owned(),
                stages,
                overdue,
            }
        });
        self.audit
            .record(AuditRecord::by(caller, method, jurisdiction, id, "ok"))
            .await?;
        Ok(view)
    }
}

#[cfg(test)]
mod tests {
    use super::whole_year_violations;

    #[test]
    fn a_partial_year_names_the_field_sent() {
        assert!(whole_year_violations("", "").is_empty());
        assert!(whole_year_violations("2024-Q1", "2024-Q4").is_empty());
        for (from, to, field) in [
            ("", "2024-Q4", "filters.quarter_to"),
            ("2024-Q1", "", "filters.quarter_from"),
            ("2024-Q2", "2024-Q4", "filters.quarter_from"),
            ("2024-Q1", "2024-Q3", "filters.quarter_to"),
            ("2024-Q1", "2025-Q4", "filters.quarter_to"),
        ] {
            assert_eq!(whole_year_violations(from, to)[0].0, field, "{from}..{to}");
        }
    }
}
