//! SSIT scoring in the console: each key observation's progress, the rating
//! form for a rater who has not submitted, the others' ratings hidden until
//! every rater has submitted (the scoring service decides what anyone sees),
//! then the agreement and the consensus form for the SCR lead.

use http::StatusCode;
use maud::{Markup, html};
use scir_kit::auth::Role;
use scir_kit::pages::{Page, PageRequest};
use scir_proto::review::v1 as review;
use scir_proto::scoring::v1 as scoring;
use tonic::Code;

use crate::console::{Console, Gate, violations};
use crate::forms::Posted;
use crate::parts::{Part as _, Tab, review_nav};
use crate::session::Session;
use crate::views::{self, csrf, page};

/// Who sees a review's scoring.
const TEAM: Gate = Gate {
    roles: &[Role::Reviewer, Role::ScrLead, Role::Admin],
    title: "SSIT scoring",
    text: "SSIT scoring is for a review's team.",
};
/// Roles that record the consensus.
const LEADS: &[Role] = &[Role::ScrLead, Role::Admin];

fn statistic(s: Option<&scoring::Statistic>) -> String {
    match s {
        Some(scoring::Statistic { value: Some(v), .. }) => format!("{v:.2}"),
        Some(s) if !s.undefined_reason.is_empty() => {
            format!("not defined ({})", s.undefined_reason)
        }
        _ => "–".to_owned(),
    }
}

/// Every item of an instrument, in order, with its domain's title.
fn items(instrument: &scoring::Instrument) -> Vec<(&scoring::Domain, &scoring::InstrumentItem)> {
    instrument
        .domains
        .iter()
        .flat_map(|d| d.items.iter().map(move |i| (d, i)))
        .collect()
}

/// The lower median of the raters' levels for an item: where a consensus
/// discussion starts.
fn median_level(sets: &[scoring::RatingSet], code: &str) -> Option<i32> {
    let mut levels: Vec<i32> = sets
        .iter()
        .filter_map(|s| s.ratings.iter().find(|r| r.item_code == code))
        .map(|r| r.level)
        .collect();
    levels.sort_unstable();
    levels.get(levels.len().saturating_sub(1) / 2).copied()
}

/// What a posted scoring form shows again.
pub(crate) struct Sent<'a> {
    pub values: &'a [(String, String)],
    pub problems: Vec<(String, String)>,
}

impl Sent<'_> {
    fn value(&self, name: &str) -> Option<&str> {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
    fn error(&self, name: &str) -> Option<&str> {
        self.problems
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, e)| e.as_str())
    }
}

/// One item's level (radio buttons) and rationale, for ratings and consensus.
fn item_fields(
    instrument: &scoring::Instrument,
    item: &scoring::InstrumentItem,
    domain: &scoring::Domain,
    preset: Option<i32>,
    sent: Option<&Sent<'_>>,
) -> Markup {
    let level_name = format!("level-{}", item.code);
    let rationale_name = format!("rationale-{}", item.code);
    let chosen = sent
        .and_then(|s| s.value(&level_name))
        .map(str::to_owned)
        .or_else(|| preset.map(|l| l.to_string()));
    let level_error = sent.and_then(|s| s.error(&level_name));
    let rationale_error = sent.and_then(|s| s.error(&rationale_name));
    html! {
        div class="item" {
            // The radios alone in their group, so each choice is read as one
            // of the item's levels.
            fieldset id=(level_name) aria-describedby=[level_error.map(|_| format!("{level_name}-error"))] {
                legend { strong { (item.code) } " " (item.title) " " span class="muted" { "(" (domain.title) ")" } }
                @if !item.guidance.is_empty() { p class="muted" { (item.guidance) } }
                @if let Some(e) = level_error { p id={ (level_name) "-error" } class="error" { (e) } }
                div class="levels" {
                    @for l in &instrument.levels {
                        @let id = format!("{level_name}-{}", l.value);
                        div {
                            input type="radio" id=(id) name=(level_name) value=(l.value)
                                checked[chosen.as_deref() == Some(l.value.to_string().as_str())];
                            " " label for=(id) { (l.value) " " (l.label) }
                        }
                    }
                }
            }
            div {
                label for=(rationale_name) { "Why (" (item.code) ")" }
                @if let Some(e) = rationale_error { p id={ (rationale_name) "-error" } class="error" { (e) } }
                textarea id=(rationale_name) name=(rationale_name) rows="2"
                    aria-describedby=[rationale_error.map(|_| format!("{rationale_name}-error"))] {
                    (sent.and_then(|s| s.value(&rationale_name)).unwrap_or(""))
                }
            }
        }
    }
}

/// The levels and rationales of a posted form, in the instrument's order;
/// an item without a level is an error beside it.
fn read_levels(
    instrument: &scoring::Instrument,
    posted: &mut Posted<'_>,
) -> Vec<(String, i32, String)> {
    let mut out = Vec::new();
    for (_, item) in items(instrument) {
        let level_name = format!("level-{}", item.code);
        let level = posted.text(&level_name);
        let parsed = level
            .parse::<i32>()
            .ok()
            .filter(|l| instrument.levels.iter().any(|x| x.value == *l));
        match parsed {
            Some(l) => out.push((
                item.code.clone(),
                l,
                posted.text(&format!("rationale-{}", item.code)),
            )),
            None => posted
                .errors
                .push((level_name, "Choose a level.".to_owned())),
        }
    }
    out
}

/// A scoring service's violation (`rating_set.ratings[3].rationale`) as the
/// form's field (`rationale-TW4`), the items having been sent in order.
fn form_field_of(field: &str, list: &str, codes: &[String]) -> String {
    let parsed = field
        .split_once('.')
        .map(|(_, rest)| rest)
        .and_then(|rest| rest.strip_prefix(list))
        .and_then(|rest| rest.strip_prefix('['))
        .and_then(|rest| rest.split_once("]."))
        .and_then(|(i, what)| Some((i.parse::<usize>().ok()?, what)));
    match parsed {
        Some((i, what)) if i < codes.len() => format!(
            "{}-{}",
            if what == "level" {
                "level"
            } else {
                "rationale"
            },
            codes[i]
        ),
        _ => field.to_owned(),
    }
}

impl Console {
    /// A review's key observations with their scoring progress.
    pub(crate) async fn ssit(&self, session: &Session, id: &str) -> Page {
        if let Some(refused) = self.refused(session, &TEAM) {
            return refused;
        }
        let (Ok(review_client), Ok(mut scoring_client)) =
            (self.peers.review(session), self.peers.scoring(session))
        else {
            return self.unavailable();
        };
        let name = format!("jurisdictions/{}/reviews/{id}", session.jurisdiction);
        let (kos, status) = tokio::join!(
            review::KeyObservation::list(review_client, name.clone()),
            scoring_client.get_scoring_status(scoring::GetScoringStatusRequest {
                review: name.clone()
            }),
        );
        let kos = match kos {
            Ok(k) => k,
            Err(status) => return self.failed(&status, session),
        };
        let status = match status {
            Ok(s) => s.into_inner(),
            Err(status) => return self.failed(&status, session),
        };
        let body = html! {
            (review_nav(id, Tab::Ssit))
            p { "Each reviewer on the team rates every key observation on their own. "
                "The ratings stay hidden from the others until every rater has submitted; "
                "then the team sees them side by side with their agreement, and the SCR lead records the consensus." }
            @if kos.is_empty() { p { "No key observations yet." } }
            @else {
                (views::scrolling("Scoring", html! { table {
                    caption { "Key observations and their scoring" }
                    thead { tr {
                        th scope="col" { "Key observation" } th scope="col" { "Ratings in" }
                        th scope="col" { "Consensus" }
                    } }
                    tbody { @for ko in &kos {
                        @let ko_id = ko.name.rsplit('/').next().unwrap_or_default();
                        @let s = status.key_observations.iter().find(|s| s.key_observation == ko.name);
                        tr {
                            td { a href={ "/reviews/" (id) "/ssit/" (ko_id) } { (ko.title) } }
                            td { (s.map_or(0, |s| s.submitted.len())) " of " (s.map_or(0, |s| s.raters.len())) }
                            td { @if s.is_some_and(|s| s.consensus_recorded) { "recorded" } @else { "not yet" } }
                        }
                    } }
                } }))
            }
        };
        Page::html(
            StatusCode::OK,
            page("SSIT scoring", &self.chrome(Some(session)), body),
        )
    }

    /// One key observation's scoring: the rating form, the hidden or shown
    /// ratings, the agreement and the consensus.
    pub(crate) async fn ssit_observation(
        &self,
        session: &Session,
        id: &str,
        ko_id: &str,
        sent: Option<Sent<'_>>,
    ) -> Page {
        if let Some(refused) = self.refused(session, &TEAM) {
            return refused;
        }
        let (Ok(mut review_client), Ok(scoring_client)) =
            (self.peers.review(session), self.peers.scoring(session))
        else {
            return self.unavailable();
        };
        let review_name = format!("jurisdictions/{}/reviews/{id}", session.jurisdiction);
        let ko_name = format!("{review_name}/keyObservations/{ko_id}");
        let (mut a, mut b, mut c, mut d) = (
            scoring_client.clone(),
            scoring_client.clone(),
            scoring_client.clone(),
            scoring_client,
        );
        let (ko, status, ratings, instruments, profile) = tokio::join!(
            review_client.get_key_observation(review::GetKeyObservationRequest {
                name: ko_name.clone()
            }),
            a.get_scoring_status(scoring::GetScoringStatusRequest {
                review: review_name.clone()
            }),
            b.list_ratings(scoring::ListRatingsRequest {
                key_observation: ko_name.clone()
            }),
            c.list_instruments(scoring::ListInstrumentsRequest {}),
            d.get_consensus_profile(scoring::GetConsensusProfileRequest {
                review: review_name.clone()
            }),
        );
        let ko = match ko {
            Ok(k) => k.into_inner(),
            Err(status) => return self.failed(&status, session),
        };
        let (status, ratings, instruments) = match (status, ratings, instruments) {
            (Ok(s), Ok(r), Ok(i)) => (s.into_inner(), r.into_inner(), i.into_inner()),
            (Err(status), _, _) | (_, Err(status), _) | (_, _, Err(status)) => {
                return self.failed(&status, session);
            }
        };
        let progress = status
            .key_observations
            .iter()
            .find(|s| s.key_observation == ko_name)
            .cloned()
            .unwrap_or_default();
        let consensus = profile.ok().and_then(|p| {
            p.into_inner()
                .consensus
                .into_iter()
                .find(|c| c.key_observation == ko_name)
        });
        // Ratings already made keep their version; new ones use the active one.
        let used = ratings.rating_sets.first().map(|s| s.instrument.clone());
        let Some(instrument) = instruments
            .instruments
            .iter()
            .find(|i| used.as_deref().map_or(i.active, |u| i.name == u))
        else {
            return self.message(
                StatusCode::SERVICE_UNAVAILABLE,
                "SSIT scoring",
                Some(session),
                "The scoring service has no active instrument.",
            );
        };
        let is_rater = progress.raters.contains(&session.subject);
        let submitted = progress.submitted.contains(&session.subject);
        let complete = ratings.complete;
        let may_consent = complete && consensus.is_none() && session.holds(LEADS);
        let all = items(instrument);
        let level_label = |v: i32| {
            instrument
                .levels
                .iter()
                .find(|l| l.value == v)
                .map_or_else(|| v.to_string(), |l| format!("{v} {}", l.label))
        };
        let agreement = if complete {
            let mut client = match self.peers.scoring(session) {
                Ok(c) => c,
                Err(_) => return self.unavailable(),
            };
            client
                .get_agreement(scoring::GetAgreementRequest {
                    scope: Some(scoring::get_agreement_request::Scope::KeyObservation(
                        ko_name.clone(),
                    )),
                    ..Default::default()
                })
                .await
                .ok()
                .map(tonic::Response::into_inner)
        } else {
            None
        };
        let problems = sent.as_ref().map_or(&[][..], |s| s.problems.as_slice());
        let body = html! {
            (review_nav(id, Tab::Ssit))
            p { a href={ "/reviews/" (id) "/ssit" } { "All key observations" } }
            p { (ko.description) }
            p { "Instrument: " (instrument.title) " (" (instrument.version) ")." }
            (views::problems("Please check the form", problems))
            p class="note" {
                (progress.submitted.len()) " of " (progress.raters.len()) " raters have submitted. "
                @if complete { "Every rater has submitted: the ratings are shown side by side." }
                @else { "Each rater's ratings stay hidden from the others until every rater has submitted." }
            }
            @if is_rater && !submitted {
                h2 { "Your ratings" }
                form class="stack wide" method="post" action={ "/reviews/" (id) "/ssit/" (ko_id) "/ratings" } {
                    (csrf(session))
                    @for (domain, item) in &all {
                        (item_fields(instrument, item, domain, None, sent.as_ref()))
                    }
                    div { button type="submit" { "Submit my ratings" } }
                }
            }
            @if !ratings.rating_sets.is_empty() {
                h2 { @if complete { "Every rater's ratings" } @else { "Your submitted ratings" } }
                (views::scrolling("Ratings", html! { table {
                    thead { tr {
                        th scope="col" { "Item" }
                        @for s in &ratings.rating_sets { th scope="col" { (s.rater) } }
                    } }
                    tbody { @for (_, item) in &all { tr {
                        th scope="row" { (item.code) " " (item.title) }
                        @for s in &ratings.rating_sets {
                            td { @if let Some(r) = s.ratings.iter().find(|r| r.item_code == item.code) {
                                (level_label(r.level)) br; span class="muted" { (r.rationale) }
                            } }
                        }
                    } } }
                } }))
            }
            @if let Some(a) = &agreement {
                h2 { "Agreement" }
                dl {
                    dt { "Raters" } dd { (a.raters) }
                    dt { "Items rated" } dd { (a.units) }
                    dt { "Percent agreement" } dd { (statistic(a.percent_agreement.as_ref())) }
                    dt { "Cohen's kappa" } dd { (statistic(a.cohen_kappa.as_ref())) }
                    dt { "Fleiss' kappa" } dd { (statistic(a.fleiss_kappa.as_ref())) }
                    dt { "Weighted kappa" } dd { (statistic(a.quadratic_weighted_kappa.as_ref())) }
                }
            }
            @if let Some(c) = &consensus {
                h2 { "Consensus" }
                p { "Recorded by " (c.recorded_by) "." }
                (views::scrolling("Consensus", html! { table {
                    thead { tr { th scope="col" { "Item" } th scope="col" { "Level" } th scope="col" { "Why" } } }
                    tbody { @for i in &c.items { tr { td { (i.item_code) } td { (level_label(i.level)) } td { (i.rationale) } } } }
                } }))
            }
            @if may_consent {
                h2 { "Record the consensus" }
                p { "Each item starts at the raters' median level; change it to what the calibration discussion agreed, and say why." }
                form class="stack wide" method="post" action={ "/reviews/" (id) "/ssit/" (ko_id) "/consensus" } {
                    (csrf(session))
                    @for (domain, item) in &all {
                        (item_fields(instrument, item, domain, median_level(&ratings.rating_sets, &item.code), sent.as_ref()))
                    }
                    div { button type="submit" { "Record the consensus" } }
                }
            }
        };
        let code = if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        Page::html(
            code,
            page(
                &format!("SSIT: {}", ko.title),
                &self.chrome(Some(session)),
                body,
            ),
        )
    }

    /// Submits a rater's ratings, or records the consensus (`consensus`).
    pub(crate) async fn ssit_submit(
        &self,
        session: &Session,
        id: &str,
        ko_id: &str,
        consensus: bool,
        request: &PageRequest,
    ) -> Page {
        let Ok(mut client) = self.peers.scoring(session) else {
            return self.unavailable();
        };
        let ko_name = format!(
            "jurisdictions/{}/reviews/{id}/keyObservations/{ko_id}",
            session.jurisdiction
        );
        let instruments = match client
            .list_instruments(scoring::ListInstrumentsRequest {})
            .await
        {
            Ok(i) => i.into_inner().instruments,
            Err(status) => return self.failed(&status, session),
        };
        let rated = if consensus {
            client
                .list_ratings(scoring::ListRatingsRequest {
                    key_observation: ko_name.clone(),
                })
                .await
                .ok()
                .and_then(|r| {
                    r.into_inner()
                        .rating_sets
                        .first()
                        .map(|s| s.instrument.clone())
                })
        } else {
            None
        };
        let Some(instrument) = instruments
            .iter()
            .find(|i| rated.as_deref().map_or(i.active, |u| i.name == u))
        else {
            return self.unavailable();
        };
        let mut posted = Posted::new(request);
        let levels = read_levels(instrument, &mut posted);
        if !posted.errors.is_empty() {
            let sent = Sent {
                values: &request.form,
                problems: posted.errors,
            };
            return self.ssit_observation(session, id, ko_id, Some(sent)).await;
        }
        let codes: Vec<String> = levels.iter().map(|(c, _, _)| c.clone()).collect();
        let outcome = if consensus {
            client
                .record_consensus(scoring::RecordConsensusRequest {
                    consensus: Some(scoring::Consensus {
                        key_observation: ko_name.clone(),
                        instrument: instrument.name.clone(),
                        items: levels
                            .into_iter()
                            .map(|(item_code, level, rationale)| scoring::ConsensusItem {
                                item_code,
                                level,
                                rationale,
                            })
                            .collect(),
                        ..Default::default()
                    }),
                })
                .await
                .map(|_| ())
        } else {
            client
                .submit_ratings(scoring::SubmitRatingsRequest {
                    rating_set: Some(scoring::RatingSet {
                        key_observation: ko_name.clone(),
                        ratings: levels
                            .into_iter()
                            .map(|(item_code, level, rationale)| scoring::ItemRating {
                                item_code,
                                level,
                                rationale,
                                evidence: Vec::new(),
                            })
                            .collect(),
                        ..Default::default()
                    }),
                })
                .await
                .map(|_| ())
        };
        match outcome {
            Ok(()) => Page::see_other(&format!("/reviews/{id}/ssit/{ko_id}")),
            Err(status)
                if matches!(
                    status.code(),
                    Code::InvalidArgument
                        | Code::FailedPrecondition
                        | Code::PermissionDenied
                        | Code::AlreadyExists
                ) =>
            {
                let list = if consensus { "items" } else { "ratings" };
                let mut problems: Vec<(String, String)> = violations(&status)
                    .into_iter()
                    .map(|(field, why)| (form_field_of(&field, list, &codes), why))
                    .collect();
                if problems.is_empty() {
                    problems.push((String::new(), status.message().to_owned()));
                }
                let sent = Sent {
                    values: &request.form,
                    problems,
                };
                self.ssit_observation(session, id, ko_id, Some(sent)).await
            }
            Err(status) => self.failed(&status, session),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_violation_lands_beside_its_item() {
        let codes = vec!["TW1".to_owned(), "TW2".to_owned()];
        assert_eq!(
            form_field_of("rating_set.ratings[1].rationale", "ratings", &codes),
            "rationale-TW2"
        );
        assert_eq!(
            form_field_of("consensus.items[0].level", "items", &codes),
            "level-TW1"
        );
        assert_eq!(
            form_field_of("rating_set.ratings[7].level", "ratings", &codes),
            "rating_set.ratings[7].level"
        );
    }

    #[test]
    fn the_consensus_starts_at_the_lower_median() {
        let set = |l: i32| scoring::RatingSet {
            ratings: vec![scoring::ItemRating {
                item_code: "A".into(),
                level: l,
                ..Default::default()
            }],
            ..Default::default()
        };
        assert_eq!(median_level(&[set(3), set(1)], "A"), Some(1));
        assert_eq!(median_level(&[set(3), set(1), set(2)], "A"), Some(2));
        assert_eq!(median_level(&[], "A"), None);
    }
}
