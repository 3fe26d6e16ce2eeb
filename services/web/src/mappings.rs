//! Aggregate mappings (the learning service): the jurisdiction's mappings by
//! stage, and one mapping's scope, team seats, map, what its next stage still
//! needs, and its considerations with their progress. Read here; run through
//! the learning service's API.

use http::StatusCode;
use maud::html;
use scir_kit::auth::Role;
use scir_proto::Labelled;
use scir_proto::learning::v1 as pb;
use scir_proto::review::v1 as review;

use crate::console::{Console, Gate};
use crate::forms::shown;
use crate::maps;
use crate::session::Session;
use crate::views::{self, date, page, words};
use scir_kit::pages::Page;

/// Who reads aggregate mappings.
const READERS: Gate = Gate {
    roles: &[Role::ScrLead, Role::Admin, Role::Reviewer, Role::Analyst],
    title: "Aggregate mappings",
    text: "Aggregate mappings are for the people of a member's reviews.",
};

fn stage(value: i32) -> String {
    pb::Stage::try_from(value)
        .map(|s| words(s.label(), "STAGE_"))
        .unwrap_or_else(|_| "–".to_owned())
}

impl Console {
    /// The jurisdiction's aggregate mappings.
    pub(crate) async fn mappings(&self, session: &Session) -> Page {
        if let Some(refused) = self.refused(session, &READERS) {
            return refused;
        }
        let Ok(mut client) = self.peers.learning(session) else {
            return self.unavailable();
        };
        let listed = client
            .list_aggregate_mappings(pb::ListAggregateMappingsRequest {
                parent: format!("jurisdictions/{}", session.jurisdiction),
                page_size: 500,
                ..Default::default()
            })
            .await;
        let mappings = match listed {
            Ok(m) => m.into_inner().aggregate_mappings,
            Err(status) => return self.failed(&status, session),
        };
        let body = html! {
            p { "Systems maps across many incidents: a theme the cases share, the learning opportunities they draw on, the factors and how they influence each other, and the considerations for future work." }
            @if mappings.is_empty() { p { "No aggregate mappings yet." } }
            @else {
                (views::scrolling("Aggregate mappings", html! { table {
                    caption { "Aggregate mappings" }
                    thead { tr {
                        th scope="col" { "Mapping" } th scope="col" { "Stage" }
                        th scope="col" { "Theme" } th scope="col" { "Factors" }
                    } }
                    tbody { @for m in &mappings {
                        @let id = m.name.rsplit('/').next().unwrap_or_default();
                        tr {
                            td { a href={ "/mappings/" (id) } { (m.title) } }
                            td { (stage(m.stage)) }
                            td { (shown::<review::Theme>(m.scope.as_ref().map_or(0, |s| s.theme), "")) }
                            td { (m.map.as_ref().map_or(0, |map| map.nodes.len())) }
                        }
                    } }
                } }))
            }
        };
        Page::html(
            StatusCode::OK,
            page("Aggregate mappings", &self.chrome(Some(session)), body),
        )
    }

    /// One aggregate mapping.
    pub(crate) async fn mapping(&self, session: &Session, id: &str) -> Page {
        if let Some(refused) = self.refused(session, &READERS) {
            return refused;
        }
        let Ok(client) = self.peers.learning(session) else {
            return self.unavailable();
        };
        let name = format!(
            "jurisdictions/{}/aggregateMappings/{id}",
            session.jurisdiction
        );
        let (mut a, mut b) = (client.clone(), client);
        let (found, considerations) = tokio::join!(
            a.get_aggregate_mapping(pb::GetAggregateMappingRequest { name: name.clone() }),
            b.list_considerations(pb::ListConsiderationsRequest {
                parent: name.clone()
            }),
        );
        let m = match found {
            Ok(m) => m.into_inner(),
            Err(status) => return self.failed(&status, session),
        };
        let considerations = considerations
            .map(|c| c.into_inner().considerations)
            .unwrap_or_default();
        let scope = m.scope.clone().unwrap_or_default();
        let map = m.map.clone().unwrap_or_default();
        let question = pb::Question::try_from(scope.question)
            .map(|q| words(q.label(), "QUESTION_"))
            .unwrap_or_else(|_| "–".to_owned());
        let body = html! {
            p { a href="/mappings" { "All aggregate mappings" } }
            dl {
                dt { "Stage" } dd { (stage(m.stage)) }
                dt { "Theme" } dd { (shown::<review::Theme>(scope.theme, "")) }
                dt { "Question across the cases" } dd { (question) }
                dt { "The common thread" } dd { (if scope.description.is_empty() { "–" } else { &scope.description }) }
                dt { "Cases from" } dd { (date(scope.period_start.as_ref())) " to " (date(scope.period_end.as_ref())) }
                dt { "Learning opportunities drawn on" } dd { (scope.learning_opportunities.len()) }
            }
            @if !m.next_stage_needs.is_empty() {
                h2 { "Before the next stage" }
                ul class="checklist" { @for need in &m.next_stage_needs {
                    li { (need.description) " (" (need.field) ")" }
                } }
            }
            h2 { "The mapping team" }
            @if m.team.is_empty() { p { "No seats yet." } }
            @else { ul { @for seat in &m.team { li { (seat.role) " – " (seat.sector) } } } }
            h2 { "The map" }
            @if map.nodes.is_empty() { p { "No factors mapped yet." } }
            @else {
                div class="answer" {
                    figure { (maps::aggregate_map(&m.name, &map)) figcaption { "The map as drawn; the table beside it says the same." } }
                    (views::scrolling("Factors", html! { table {
                        caption { "Factors" }
                        thead { tr { th scope="col" { "Factor" } th scope="col" { "Kind" } th scope="col" { "SSIT items" } th scope="col" { "Influences" } } }
                        tbody { @for n in &map.nodes { tr {
                            td { (n.label) }
                            td { (shown::<review::ContributoryFactor>(n.factor, "")) }
                            td { (n.ssit_items.join(", ")) }
                            td { (map.edges.iter().filter(|e| e.from == n.id)
                                    .filter_map(|e| map.nodes.iter().find(|o| o.id == e.to).map(|o| o.label.as_str()))
                                    .collect::<Vec<_>>().join("; ")) }
                        } } }
                    } }))
                }
            }
            h2 { "Considerations" }
            @if considerations.is_empty() { p { "None yet." } }
            @else {
                (views::scrolling("Considerations", html! { table {
                    thead { tr {
                        th scope="col" { "Consideration" } th scope="col" { "Category" }
                        th scope="col" { "Owner" } th scope="col" { "Due" } th scope="col" { "Status" }
                    } }
                    tbody { @for c in &considerations { tr {
                        td { (c.description) }
                        td { (shown::<review::RecommendationCategory>(c.category, "")) }
                        td { (c.owner) }
                        td { (date(c.due_date.as_ref())) }
                        td { (shown::<pb::ConsiderationStatus>(c.status, "CONSIDERATION_STATUS_")) }
                    } } }
                } }))
            }
            @if !m.process_notes.is_empty() {
                h2 { "What we know now that we've done it" }
                @for paragraph in m.process_notes.split("\n\n") { p { (paragraph) } }
            }
        };
        Page::html(
            StatusCode::OK,
            page(&m.title, &self.chrome(Some(session)), body),
        )
    }
}
