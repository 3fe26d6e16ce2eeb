//! Safety notices between members: those the jurisdiction issued and those
//! addressed to it, one notice with the responses its reader may see, and a
//! recipient's response.

use http::StatusCode;
use maud::html;
use scir_kit::auth::Role;
use scir_kit::pages::{Page, PageRequest};
use scir_proto::Labelled;
use scir_proto::learning::v1 as pb;
use tonic::Code;

use crate::console::{Console, Gate, form_field, violations};
use crate::session::Session;
use crate::views::{self, csrf, date, page, words};

/// Who reads notices.
const READERS: Gate = Gate {
    roles: &[Role::ScrLead, Role::Admin, Role::Reviewer, Role::Analyst],
    title: "Safety notices",
    text: "Safety notices are for the people of a member's reviews.",
};
/// Roles that answer a notice for their jurisdiction.
const ANSWERERS: &[Role] = &[Role::ScrLead, Role::Admin];
/// The answers offered.
const KINDS: [pb::ResponseKind; 3] = [
    pb::ResponseKind::Acknowledged,
    pb::ResponseKind::ActionTaken,
    pb::ResponseKind::NotApplicable,
];

fn kind(value: i32) -> String {
    pb::ResponseKind::try_from(value)
        .map(|k| words(k.label(), "RESPONSE_KIND_"))
        .unwrap_or_default()
}

impl Console {
    /// The notices the jurisdiction issued or received, newest first.
    pub(crate) async fn notices(&self, session: &Session) -> Page {
        if let Some(refused) = self.refused(session, &READERS) {
            return refused;
        }
        let Ok(mut client) = self.peers.learning(session) else {
            return self.unavailable();
        };
        let notices = match client
            .list_safety_notices(pb::ListSafetyNoticesRequest {
                parent: format!("jurisdictions/{}", session.jurisdiction),
                ..Default::default()
            })
            .await
        {
            Ok(n) => n.into_inner().safety_notices,
            Err(status) => return self.failed(&status, session),
        };
        let body = html! {
            @if notices.is_empty() { p { "No safety notices issued or received." } }
            @else {
                (views::scrolling("Safety notices", html! {
                    table {
                        caption { "Safety notices, newest first" }
                        thead { tr {
                            th scope="col" { "Notice" } th scope="col" { "From" }
                            th scope="col" { "Responses due" } th scope="col" { "Response" }
                        } }
                        tbody { @for n in &notices {
                            @let path = n.name.trim_start_matches("jurisdictions/").replace("/safetyNotices/", "/");
                            @let issuer = n.name.split('/').nth(1).unwrap_or_default();
                            tr {
                                td { a href={ "/notices/" (path) } { (n.title) } }
                                td { (issuer) }
                                td { (date(n.response_due.as_ref())) }
                                td {
                                    @if issuer == session.jurisdiction {
                                        (format!("{:.0}% answered", n.response_rate * 100.0))
                                    } @else {
                                        (n.responses.first().map_or("not yet".to_owned(), |r| kind(r.kind)))
                                    }
                                }
                            }
                        } }
                    }
                }))
            }
        };
        Page::html(
            StatusCode::OK,
            page("Safety notices", &self.chrome(Some(session)), body),
        )
    }

    /// One notice, with the responses its reader may see and, for a
    /// recipient who may answer, the response form.
    pub(crate) async fn notice(
        &self,
        session: &Session,
        issuer: &str,
        id: &str,
        problems: Vec<(String, String)>,
    ) -> Page {
        if let Some(refused) = self.refused(session, &READERS) {
            return refused;
        }
        let Ok(mut client) = self.peers.learning(session) else {
            return self.unavailable();
        };
        let name = format!("jurisdictions/{issuer}/safetyNotices/{id}");
        let n = match client
            .get_safety_notice(pb::GetSafetyNoticeRequest { name })
            .await
        {
            Ok(n) => n.into_inner(),
            Err(status) => return self.failed(&status, session),
        };
        let recipient = issuer != session.jurisdiction;
        let body = html! {
            (views::problems("The response was not recorded", &problems))
            dl {
                dt { "From" } dd { (issuer) }
                dt { "Responses due" } dd { (date(n.response_due.as_ref())) }
            }
            @for paragraph in n.body.split("\n\n") { p { (paragraph) } }
            h2 { "Responses" }
            @if n.responses.is_empty() { p { "None yet." } }
            @else {
                (views::scrolling("Responses", html! {
                    table {
                        thead { tr { th scope="col" { "Member" } th scope="col" { "Response" } th scope="col" { "Days" } th scope="col" { "Detail" } } }
                        tbody { @for r in &n.responses { tr {
                            td { (r.jurisdiction) } td { (kind(r.kind)) }
                            td { (r.days_to_respond) } td { (r.detail) }
                        } } }
                    }
                }))
            }
            @if recipient && session.holds(ANSWERERS) {
                h2 { "Respond for " (session.jurisdiction) }
                form class="stack" method="post" action={ "/notices/" (issuer) "/" (id) "/respond" } {
                    (csrf(session))
                    div {
                        label for="kind" { "Response" }
                        select id="kind" name="kind" {
                            @for k in KINDS { option value=(k.label()) { (kind(k as i32)) } }
                        }
                    }
                    div {
                        label for="detail" { "What was done, or why it does not apply" }
                        textarea id="detail" name="detail" rows="3" {}
                    }
                    div { button type="submit" { "Send the response" } }
                }
            }
        };
        let status = if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        Page::html(status, page(&n.title, &self.chrome(Some(session)), body))
    }

    /// Records the jurisdiction's response to a notice addressed to it.
    pub(crate) async fn respond(
        &self,
        session: &Session,
        issuer: &str,
        id: &str,
        request: &PageRequest,
    ) -> Page {
        let Ok(mut client) = self.peers.learning(session) else {
            return self.unavailable();
        };
        let field = |name: &str| form_field(request, name);
        let answered = client
            .respond_to_safety_notice(pb::RespondToSafetyNoticeRequest {
                name: format!("jurisdictions/{issuer}/safetyNotices/{id}"),
                kind: pb::ResponseKind::from_label(&field("kind"))
                    .unwrap_or(pb::ResponseKind::Unspecified) as i32,
                detail: field("detail"),
            })
            .await;
        match answered {
            Ok(_) => Page::see_other(&format!("/notices/{issuer}/{id}")),
            Err(status)
                if matches!(
                    status.code(),
                    Code::InvalidArgument | Code::FailedPrecondition | Code::PermissionDenied
                ) =>
            {
                let mut problems = violations(&status);
                if problems.is_empty() {
                    problems.push((String::new(), status.message().to_owned()));
                }
                self.notice(session, issuer, id, problems).await
            }
            Err(status) => self.failed(&status, session),
        }
    }
}
