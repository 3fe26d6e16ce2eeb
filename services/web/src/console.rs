//! The console's pages: sign-in, the jurisdiction's reviews, a review with
//! its team, deadlines and history, and advancing it. Every page but sign-in
//! needs a live session; every form needs the session's token.

use std::sync::Arc;

use http::{StatusCode, header};
use maud::html;
use scir_kit::auth::{ExposeSecret as _, Role};
use scir_kit::directory::Directory;
use scir_kit::pages::{Page, PageFuture, PageHandler, PageRequest};
use scir_proto::Labelled;
use scir_proto::review::v1 as review;
use tonic::Code;
use tonic_types::StatusExt;

use crate::oidc::{Pending, Provider};
use crate::parts::{Kind, Tab, review_nav};
use crate::peers::Peers;
use crate::session::{Bearer, Session, Sessions, SignedIn, cookie_name, random_hex, same_token};
use crate::views::{self, Chrome, STYLE, STYLE_PATH, csrf, date, page, stage};

/// The cookie that binds the sign-in form to the browser that loaded it.
const SIGN_IN_COOKIE: &str = "scir_sign_in";
/// The cookie that binds a sign-in at the identity provider to the browser
/// that started it (its state, nonce and PKCE verifier).
const OIDC_COOKIE: &str = "scir_oidc";
/// How long a sign-in at the identity provider may take.
const OIDC_SECONDS: i64 = 600;

/// Roles the development sign-in offers (never `service`).
const OFFERED: [Role; 6] = [
    Role::ScrLead,
    Role::Reviewer,
    Role::Analyst,
    Role::Admin,
    Role::Partner,
    Role::Reporter,
];

/// The roles a team member may have, in the form's order.
const TEAM_ROLES: [review::TeamRole; 3] = [
    review::TeamRole::Reviewer,
    review::TeamRole::ScrLead,
    review::TeamRole::MappingTeam,
];

/// Who may open a kind of page, and what others are told.
#[derive(Debug)]
pub(crate) struct Gate {
    /// Roles let in.
    pub roles: &'static [Role],
    /// The refusal's title.
    pub title: &'static str,
    /// The refusal's words.
    pub text: &'static str,
}

/// The pages of reviews (the services decide each review; this says why a
/// role with no part in reviews is shown nothing).
pub(crate) const REVIEW_PAGES: Gate = Gate {
    roles: &[Role::ScrLead, Role::Reviewer, Role::Admin, Role::Analyst],
    title: "Reviews",
    text: "Your roles do not include work on reviews.",
};

/// The web console.
#[derive(Debug)]
pub struct Console {
    sessions: Sessions,
    pub(crate) peers: Peers,
    directory: Arc<Directory>,
    dev: bool,
    secure: bool,
    provider: Option<Arc<Provider>>,
    /// One renewal at a time: a page and its image arriving together must
    /// not both spend a refresh token the provider accepts once.
    renewing: tokio::sync::Mutex<()>,
}

impl PageHandler for Console {
    fn handle(self: Arc<Self>, request: PageRequest) -> PageFuture {
        // Each page is a span of its own (continuing a trace the request
        // names), and every call it makes to a service carries it on.
        let span = tracing::info_span!(
            "web.page",
            otel.kind = "server",
            http.request.method = %request.method,
            url.path = %request.path,
        );
        if let Some(traceparent) = &request.traceparent {
            scir_kit::telemetry::set_parent_from_traceparent(&span, traceparent);
        }
        Box::pin(tracing::Instrument::instrument(
            async move { self.route(request).await },
            span,
        ))
    }

    fn too_many(&self) -> Page {
        self.message(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many requests",
            None,
            "This address sent too many requests. Please wait a minute and try again.",
        )
    }
}

/// An id as resource names carry it (a review's, a wave's, a notice's or its
/// issuer's): what a page's path may hold before it goes into a name.
pub(crate) fn id_ok(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// The violations of an INVALID_ARGUMENT or FAILED_PRECONDITION, as
/// (field or subject, description).
pub(crate) fn violations(status: &tonic::Status) -> Vec<(String, String)> {
    let details = status.get_error_details();
    let mut out: Vec<(String, String)> = details
        .bad_request()
        .map(|b| {
            b.field_violations
                .iter()
                .map(|v| (v.field.clone(), v.description.clone()))
                .collect()
        })
        .unwrap_or_default();
    if let Some(p) = details.precondition_failure() {
        out.extend(
            p.violations
                .iter()
                .map(|v| (v.subject.clone(), v.description.clone())),
        );
    }
    out
}

impl Console {
    /// The console over `sessions`, calling `peers`; `dev` when the
    /// development sign-in is on; `secure` when cookies are `Secure`.
    pub fn new(
        sessions: Sessions,
        peers: Peers,
        directory: Arc<Directory>,
        dev: bool,
        secure: bool,
    ) -> Self {
        Self {
            sessions,
            peers,
            directory,
            dev,
            secure,
            provider: None,
            renewing: tokio::sync::Mutex::new(()),
        }
    }

    /// The console signing people in with `provider`.
    pub fn with_provider(mut self, provider: Provider) -> Self {
        self.provider = Some(Arc::new(provider));
        self
    }

    /// The page (403) that turns `session` away when it holds none of
    /// `gate`'s roles.
    pub(crate) fn refused(&self, session: &Session, gate: &Gate) -> Option<Page> {
        (!session.holds(gate.roles))
            .then(|| self.message(StatusCode::FORBIDDEN, gate.title, Some(session), gate.text))
    }

    pub(crate) fn chrome<'a>(&self, session: Option<&'a Session>) -> Chrome<'a> {
        Chrome {
            session,
            dev: self.dev,
        }
    }

    pub(crate) fn message(
        &self,
        status: StatusCode,
        title: &str,
        session: Option<&Session>,
        text: &str,
    ) -> Page {
        Page::html(
            status,
            page(title, &self.chrome(session), views::message(text)),
        )
    }

    fn cookie(&self, name: &str, value: &str, max_age: Option<i64>) -> String {
        let mut cookie = format!("{name}={value}; Path=/; HttpOnly; SameSite=Lax");
        if self.secure {
            cookie.push_str("; Secure");
        }
        if let Some(age) = max_age {
            cookie.push_str(&format!("; Max-Age={age}"));
        }
        cookie
    }

    /// The page for a service's refusal or failure.
    pub(crate) fn failed(&self, status: &tonic::Status, session: &Session) -> Page {
        match status.code() {
            Code::NotFound | Code::PermissionDenied => self.message(
                StatusCode::NOT_FOUND,
                "Not found",
                Some(session),
                "There is no such page, or it is not yours to see.",
            ),
            Code::Unauthenticated => Page::see_other("/sign-in"),
            Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted => self.message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Try again",
                Some(session),
                "A service this page needs is not answering. Please try again in a moment.",
            ),
            _ => {
                tracing::warn!(code = ?status.code(), "a service refused a console page");
                self.message(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Something went wrong",
                    Some(session),
                    "The page could not be built. Please try again; if it keeps happening, tell your administrator.",
                )
            }
        }
    }

    pub(crate) fn unavailable(&self) -> Page {
        self.message(
            StatusCode::SERVICE_UNAVAILABLE,
            "Try again",
            None,
            "The console cannot reach its database. Please try again in a moment.",
        )
    }

    async fn route(&self, request: PageRequest) -> Page {
        let path = request.path.clone();
        if path == STYLE_PATH {
            return Page::css(STYLE);
        }
        if path == "/sign-in" {
            return match &self.provider {
                Some(provider) if request.method == http::Method::GET => {
                    self.sign_in_at_provider(provider)
                }
                Some(_) => self.message(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "Sign in",
                    None,
                    "Sign in with your agency account.",
                ),
                None => self.sign_in(&request).await,
            };
        }
        if path == "/sign-in/callback" {
            return match self.provider.clone() {
                Some(provider) if request.method == http::Method::GET => {
                    self.callback(&provider, &request).await
                }
                _ => self.message(
                    StatusCode::NOT_FOUND,
                    "Not found",
                    None,
                    "There is no such page.",
                ),
            };
        }
        if path == "/favicon.ico" {
            return Page::html(StatusCode::NOT_FOUND, String::new());
        }
        let id = request.cookie(cookie_name(self.secure)).map(str::to_owned);
        let session = match id.as_deref() {
            Some(id) => match self.sessions.find(id).await {
                Ok(session) => session,
                Err(e) => {
                    tracing::warn!(error = %e, "reading a session failed");
                    return self.unavailable();
                }
            },
            None => None,
        };
        let Some(mut session) = session else {
            return Page::see_other("/sign-in");
        };
        if session.renew_with.is_some()
            && let Some(id) = id.as_deref()
        {
            let _one = self.renewing.lock().await;
            // Another request may have renewed it while this one waited.
            let current = match self.sessions.find(id).await {
                Ok(Some(current)) => current,
                Ok(None) => return Page::see_other("/sign-in"),
                Err(e) => {
                    tracing::warn!(error = %e, "reading a session failed");
                    return self.unavailable();
                }
            };
            session.bearer = match &current.renew_with {
                Some(refresh) => match self.renew(id, refresh).await {
                    Some(bearer) => Some(bearer),
                    None => return Page::see_other("/sign-in"),
                },
                None => current.bearer,
            };
        }
        let post = request.method == http::Method::POST;
        if post {
            // Only the form's field counts: a token in the address could be
            // read from logs or history.
            let sent = request.form_value("csrf").unwrap_or_default();
            if !same_token(sent, &session.csrf) {
                return self.message(
                    StatusCode::FORBIDDEN,
                    "The form has expired",
                    Some(&session),
                    "The form was not sent from this console's own page. Go back, reload the page and try again.",
                );
            }
        }
        let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        match (post, segments.as_slice()) {
            (false, [""]) => self.reviews(&session).await,
            (true, ["sign-out"]) => {
                if let Some(id) = id
                    && let Err(e) = self.sessions.end(&id).await
                {
                    tracing::warn!(error = %e, "ending a session failed");
                    return self.unavailable();
                }
                Page::see_other("/sign-in").with_header(
                    header::SET_COOKIE,
                    &self.cookie(cookie_name(self.secure), "", Some(0)),
                )
            }
            (false, ["insights"]) => self.insights(&session, &request).await,
            (false, ["insights", "operational"]) => self.operational(&session).await,
            (false, ["insights", "chart.svg"]) => self.insights_chart(&session, &request).await,
            (false, ["insights", "answer.csv"]) => self.insights_csv(&session, &request).await,
            (false, ["notices"]) => self.notices(&session).await,
            (false, ["notices", issuer, id]) if id_ok(issuer) && id_ok(id) => {
                self.notice(&session, issuer, id, Vec::new()).await
            }
            (true, ["notices", issuer, id, "respond"]) if id_ok(issuer) && id_ok(id) => {
                self.respond(&session, issuer, id, &request).await
            }
            (false, ["mappings"]) => self.mappings(&session).await,
            (false, ["mappings", id]) if id_ok(id) => self.mapping(&session, id).await,
            (false, ["culture"]) => self.culture_waves(&session).await,
            (false, ["culture", "trend"]) => self.culture_trend(&session).await,
            (false, ["culture", id]) if id_ok(id) => self.culture_wave(&session, id).await,
            (false, ["culture", id, "results.csv"]) if id_ok(id) => {
                self.culture_csv(&session, id).await
            }
            (false, ["culture", id, "chart.svg"]) if id_ok(id) => {
                self.culture_chart(&session, id).await
            }
            (false, ["reviews", id]) if id_ok(id) => self.review(&session, id, Vec::new()).await,
            (true, ["reviews", id, "advance"]) if id_ok(id) => {
                self.advance(&session, id, &request).await
            }
            (true, ["reviews", id, "team"]) if id_ok(id) => {
                self.add_member(&session, id, &request).await
            }
            (true, ["reviews", id, "withdraw"]) if id_ok(id) => {
                self.withdraw(&session, id, &request).await
            }
            (false, ["reviews", id, "summary", kind]) if id_ok(id) => {
                self.summary(&session, id, kind).await
            }
            (false, ["reviews", id, "ssit"]) if id_ok(id) => self.ssit(&session, id).await,
            (false, ["reviews", id, "ssit", ko]) if id_ok(id) && id_ok(ko) => {
                self.ssit_observation(&session, id, ko, None).await
            }
            (true, ["reviews", id, "ssit", ko, "ratings"]) if id_ok(id) && id_ok(ko) => {
                self.ssit_submit(&session, id, ko, false, &request).await
            }
            (true, ["reviews", id, "ssit", ko, "consensus"]) if id_ok(id) && id_ok(ko) => {
                self.ssit_submit(&session, id, ko, true, &request).await
            }
            (false, ["reviews", id, segment]) if id_ok(id) => match Kind::from_segment(segment) {
                Some(kind) => self.parts(&session, id, kind, None).await,
                None => self.not_found(&session),
            },
            (true, ["reviews", id, segment]) if id_ok(id) => match Kind::from_segment(segment) {
                Some(kind) => self.create_part(&session, id, kind, &request).await,
                None => self.not_found(&session),
            },
            (false, ["reviews", id, segment, item]) if id_ok(id) && id_ok(item) => {
                match Kind::from_segment(segment) {
                    Some(kind) => self.edit_part(&session, id, kind, item, None).await,
                    None => self.not_found(&session),
                }
            }
            (true, ["reviews", id, segment, item]) if id_ok(id) && id_ok(item) => {
                match Kind::from_segment(segment) {
                    Some(kind) => {
                        self.edit_part(&session, id, kind, item, Some(&request))
                            .await
                    }
                    None => self.not_found(&session),
                }
            }
            (true, ["reviews", id, segment, item, "delete"]) if id_ok(id) && id_ok(item) => {
                match Kind::from_segment(segment) {
                    Some(kind) => self.delete_part(&session, id, kind, item, &request).await,
                    None => self.not_found(&session),
                }
            }
            _ => self.not_found(&session),
        }
    }

    fn not_found(&self, session: &Session) -> Page {
        self.message(
            StatusCode::NOT_FOUND,
            "Not found",
            Some(session),
            "There is no such page, or it is not yours to see.",
        )
    }

    /// Renews a session's access token with its refresh token; the new
    /// token, or none (the session is then ended: sign in again).
    async fn renew(&self, id: &str, refresh: &Bearer) -> Option<Bearer> {
        let provider = self.provider.as_ref()?;
        let renewed = match provider.refresh(refresh.0.expose_secret()).await {
            Ok(renewed) => renewed,
            Err(why) => {
                tracing::info!(why, "a session's refresh was refused; it ends");
                if let Err(e) = self.sessions.end(id).await {
                    tracing::warn!(error = %e, "ending a session failed");
                }
                return None;
            }
        };
        let ends = renewed
            .ends
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let stored = self
            .sessions
            .renew(
                id,
                renewed.access_token.expose_secret(),
                ends,
                renewed.refresh_token.as_ref().map(|r| r.expose_secret()),
            )
            .await;
        if let Err(e) = stored {
            tracing::warn!(error = %e, "keeping a renewed token failed");
            return None;
        }
        Some(Bearer(renewed.access_token))
    }

    /// Starts a sign-in at the identity provider: the browser is sent there
    /// with a fresh state, nonce and PKCE challenge, kept in its own cookie.
    fn sign_in_at_provider(&self, provider: &Provider) -> Page {
        let pending = Pending::new();
        Page::see_other(&provider.authorization_url(&pending)).with_header(
            header::SET_COOKIE,
            &self.cookie(OIDC_COOKIE, &pending.cookie(), Some(OIDC_SECONDS)),
        )
    }

    /// A sign-in that could not be completed, and the way to start again.
    fn sign_in_failed(&self, status: StatusCode, why: &str) -> Page {
        let body = html! {
            p { (why) }
            p { a href="/sign-in" { "Sign in again" } }
        };
        Page::html(status, page("Sign-in failed", &self.chrome(None), body))
            .with_header(header::SET_COOKIE, &self.cookie(OIDC_COOKIE, "", Some(0)))
    }

    /// The identity provider sent the browser back: the state must be the
    /// one this browser's sign-in sent, the code is redeemed with the PKCE
    /// verifier, and the ID token must carry this sign-in's nonce.
    async fn callback(&self, provider: &Provider, request: &PageRequest) -> Page {
        let query = |name: &str| {
            request
                .query
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        if let Some(error) = query("error") {
            return self.sign_in_failed(
                StatusCode::UNAUTHORIZED,
                &format!("The identity provider did not sign you in ({error})."),
            );
        }
        let Some(pending) = request.cookie(OIDC_COOKIE).and_then(Pending::parse) else {
            return self.sign_in_failed(
                StatusCode::FORBIDDEN,
                "This sign-in was not started from this browser, or it took too long.",
            );
        };
        if !same_token(query("state").unwrap_or(""), &pending.state) {
            return self.sign_in_failed(
                StatusCode::FORBIDDEN,
                "This sign-in was not started from this browser, or it took too long.",
            );
        }
        let Some(code) = query("code").filter(|c| !c.is_empty() && c.len() <= 2048) else {
            return self.sign_in_failed(
                StatusCode::BAD_REQUEST,
                "The identity provider sent no code.",
            );
        };
        let person = match provider.finish(code, &pending).await {
            Ok(person) => person,
            Err(why) => {
                tracing::warn!(why, "a sign-in at the identity provider was refused");
                return self.sign_in_failed(
                    StatusCode::FORBIDDEN,
                    "The identity provider's answer could not be accepted. Sign in again; if it keeps happening, tell your administrator.",
                );
            }
        };
        let caller = &person.caller;
        if self.directory.get(&caller.jurisdiction).is_none() {
            tracing::warn!(
                jurisdiction = caller.jurisdiction,
                "a sign-in named an unknown jurisdiction"
            );
            return self.sign_in_failed(
                StatusCode::FORBIDDEN,
                "Your account names no jurisdiction of this deployment. Ask your administrator.",
            );
        }
        let ends = person
            .ends
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| i64::try_from(d.as_micros()).unwrap_or(i64::MAX));
        let started = self
            .sessions
            .begin(SignedIn {
                subject: &caller.subject,
                jurisdiction: &caller.jurisdiction,
                roles: &caller.roles,
                token: Some((person.access_token.expose_secret(), ends)),
                refresh: person.refresh_token.as_ref().map(|r| r.expose_secret()),
            })
            .await;
        match started {
            Ok((id, _)) => Page::see_other("/")
                .with_header(
                    header::SET_COOKIE,
                    &self.cookie(cookie_name(self.secure), &id, None),
                )
                .with_header(header::SET_COOKIE, &self.cookie(OIDC_COOKIE, "", Some(0))),
            Err(e) => {
                tracing::warn!(error = %e, "starting a session failed");
                self.unavailable()
            }
        }
    }

    /// The development sign-in: a form to pick who to be, and its answer.
    async fn sign_in(&self, request: &PageRequest) -> Page {
        if !self.dev {
            return self.message(
                StatusCode::SERVICE_UNAVAILABLE,
                "Sign in",
                None,
                "No sign-in is configured for this console.",
            );
        }
        if request.method != http::Method::POST {
            // One nonce per browser, kept while it signs in: a second load of
            // the page (another tab, a redirected icon request) must not make
            // the first form stale.
            let nonce = request
                .cookie(SIGN_IN_COOKIE)
                .filter(|n| n.len() == 32 && n.bytes().all(|b| b.is_ascii_hexdigit()))
                .map_or_else(|| random_hex(16), str::to_owned);
            return Page::html(StatusCode::OK, self.sign_in_form(&nonce, "", &[])).with_header(
                header::SET_COOKIE,
                &self.cookie(SIGN_IN_COOKIE, &nonce, None),
            );
        }
        let field = |name: &str| request.form_value(name).unwrap_or_default();
        let nonce = request.cookie(SIGN_IN_COOKIE).unwrap_or("");
        if nonce.is_empty() || !same_token(field("nonce"), nonce) {
            return self.message(
                StatusCode::FORBIDDEN,
                "The form has expired",
                None,
                "The sign-in form was not sent from this console's own page. Reload it and try again.",
            );
        }
        let subject = field("subject").trim();
        let jurisdiction = field("jurisdiction");
        let roles: Vec<Role> = request
            .form
            .iter()
            .filter(|(k, _)| k == "roles")
            .filter_map(|(_, v)| v.parse::<Role>().ok())
            .filter(|r| OFFERED.contains(r))
            .collect();
        let mut errors = Vec::new();
        if subject.is_empty()
            || subject.len() > 64
            || !subject
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-_.@".contains(&b))
        {
            errors.push((
                "subject",
                "Enter a name of 1 to 64 letters, digits, '-', '_', '.' or '@'.",
            ));
        }
        if self.directory.get(jurisdiction).is_none() {
            errors.push(("jurisdiction", "Choose a jurisdiction from the list."));
        }
        if roles.is_empty() {
            errors.push(("roles", "Choose at least one role."));
        }
        if !errors.is_empty() {
            return Page::html(
                StatusCode::BAD_REQUEST,
                self.sign_in_form(nonce, subject, &errors),
            );
        }
        match self.sessions.start(subject, jurisdiction, &roles).await {
            Ok((id, _)) => Page::see_other("/")
                .with_header(
                    header::SET_COOKIE,
                    &self.cookie(cookie_name(self.secure), &id, None),
                )
                .with_header(
                    header::SET_COOKIE,
                    &self.cookie(SIGN_IN_COOKIE, "", Some(0)),
                ),
            Err(e) => {
                tracing::warn!(error = %e, "starting a session failed");
                self.unavailable()
            }
        }
    }

    fn sign_in_form(&self, nonce: &str, subject: &str, errors: &[(&str, &str)]) -> String {
        let error = |field: &str| errors.iter().find(|(f, _)| *f == field).map(|(_, e)| *e);
        let mut jurisdictions: Vec<(&str, &str)> = self
            .directory
            .iter()
            .map(|j| (j.id.as_str(), j.name.as_str()))
            .collect();
        jurisdictions.sort();
        let body = html! {
            p { "Pick who to be. This sign-in is for development: with an identity provider, people sign in with their agency account instead." }
            @if !errors.is_empty() {
                div class="problems" role="alert" {
                    h2 { "Please check the form" }
                    ul { @for (field, e) in errors { li { a href={ "#" (field) } { (e) } } } }
                }
            }
            form class="stack" method="post" action="/sign-in" {
                input type="hidden" name="nonce" value=(nonce);
                div {
                    label for="subject" { "Your name (the token's subject)" }
                    @if let Some(e) = error("subject") { p id="subject-error" class="overdue" { (e) } }
                    input id="subject" name="subject" type="text" autocomplete="username" required
                        value=(if subject.is_empty() { "dev-person" } else { subject })
                        aria-describedby=[error("subject").map(|_| "subject-error")];
                }
                div {
                    label for="jurisdiction" { "Jurisdiction" }
                    @if let Some(e) = error("jurisdiction") { p id="jurisdiction-error" class="overdue" { (e) } }
                    select id="jurisdiction" name="jurisdiction"
                        aria-describedby=[error("jurisdiction").map(|_| "jurisdiction-error")] {
                        @for (id, name) in &jurisdictions {
                            option value=(id) { (name) " (" (id) ")" }
                        }
                    }
                }
                fieldset id="roles" {
                    legend { "Roles" }
                    @if let Some(e) = error("roles") { p class="overdue" { (e) } }
                    @for role in OFFERED {
                        div {
                            input type="checkbox" name="roles" value=(role.as_str()) id={ "role-" (role.as_str()) };
                            " "
                            label for={ "role-" (role.as_str()) } { (role.as_str()) }
                        }
                    }
                }
                div { button type="submit" { "Sign in" } }
            }
        };
        page("Sign in", &self.chrome(None), body)
    }

    /// The jurisdiction's reviews, overdue first, then by next deadline.
    async fn reviews(&self, session: &Session) -> Page {
        if let Some(refused) = self.refused(session, &REVIEW_PAGES) {
            return refused;
        }
        let Ok(client) = self.peers.review(session) else {
            return self.unavailable();
        };
        let list = |team_member: String| {
            let mut client = client.clone();
            let parent = format!("jurisdictions/{}", session.jurisdiction);
            async move {
                client
                    .list_reviews(review::ListReviewsRequest {
                        parent,
                        page_size: 500,
                        team_member,
                        ..Default::default()
                    })
                    .await
                    .map(|r| r.into_inner().reviews)
            }
        };
        let (all, mine) = tokio::join!(list(String::new()), list(session.subject.clone()));
        let (mut all, mut mine) = match (all, mine) {
            (Ok(all), Ok(mine)) => (all, mine),
            (Err(status), _) | (_, Err(status)) => return self.failed(&status, session),
        };
        for reviews in [&mut all, &mut mine] {
            reviews.sort_by(|a, b| b.overdue.cmp(&a.overdue).then_with(|| due(a).cmp(&due(b))));
        }
        let overdue = all.iter().filter(|r| r.overdue).count();
        let body = html! {
            h2 { "My reviews" }
            @if mine.is_empty() { p { "You are on no review's team." } }
            @else { (review_table("My reviews, overdue first, then by next deadline", &mine)) }
            h2 { "All reviews in " (session.jurisdiction) }
            p { (all.len()) " reviews in " (session.jurisdiction) "; " (overdue) " overdue." }
            (review_table("Reviews, overdue first, then by next deadline", &all))
        };
        Page::html(
            StatusCode::OK,
            page("Reviews", &self.chrome(Some(session)), body),
        )
    }

    /// A review: stage, deadlines, team, history, and (for those who may)
    /// the form to advance it; `problems` are what the last attempt was told.
    async fn review(&self, session: &Session, id: &str, problems: Vec<(String, String)>) -> Page {
        let name = format!("jurisdictions/{}/reviews/{id}", session.jurisdiction);
        let Ok(client) = self.peers.review(session) else {
            return self.unavailable();
        };
        let (mut a, mut b, mut c) = (client.clone(), client.clone(), client);
        let (found, team, history) = tokio::join!(
            a.get_review(review::GetReviewRequest { name: name.clone() }),
            b.list_team_members(review::ListTeamMembersRequest {
                parent: name.clone()
            }),
            c.list_review_history(review::ListReviewHistoryRequest {
                name: name.clone(),
                page_size: 200,
                ..Default::default()
            }),
        );
        let r = match found {
            Ok(r) => r.into_inner(),
            Err(status) => return self.failed(&status, session),
        };
        let team = team.map(|t| t.into_inner().members).unwrap_or_default();
        let history = history.map(|h| h.into_inner().entries).unwrap_or_default();
        let open = r.stage != review::Stage::Finalised as i32
            && r.stage != review::Stage::Withdrawn as i32;
        let may_advance = open && session.holds(&[Role::ScrLead, Role::Admin]);
        // The guard's own answer, asked without changing anything, is the
        // checklist of what the next stage still needs.
        let checklist = if may_advance && problems.is_empty() {
            self.guard_check(session, &name).await
        } else {
            None
        };
        let body = html! {
            (review_nav(id, Tab::Overview))
            (views::problems("The review cannot move on yet", &problems))
            dl {
                dt { "Stage" } dd { (stage(r.stage)) }
                dt { "Incident" } dd { (incident(&r)) }
                dt { "Next deadline" } dd {
                    (date(r.next_due_date.as_ref()))
                    @if r.overdue { " " span class="overdue" { "overdue" } }
                }
                dt { "Period under review" } dd { (date(r.period_start.as_ref())) " to " (date(r.period_end.as_ref())) }
            }
            @if let Some(missing) = &checklist {
                h2 { "Before the next stage" }
                @if missing.is_empty() { p { "Nothing is missing: the review can move on." } }
                @else {
                    p { "The next stage still needs:" }
                    ul class="checklist" { @for (what, why) in missing {
                        li { (why) @if !what.is_empty() { " (" (what) ")" } }
                    } }
                }
            }
            @if may_advance {
                form method="post" action={ "/reviews/" (id) "/advance" } {
                    (csrf(session))
                    input type="hidden" name="etag" value=(r.etag);
                    button type="submit" { "Advance to the next stage" }
                }
                @if r.stage == review::Stage::SsitScoring as i32 {
                    form class="stack" method="post" action={ "/reviews/" (id) "/advance" } {
                        (csrf(session))
                        input type="hidden" name="etag" value=(r.etag);
                        div {
                            label for="skip-reason" { "Or skip systems mapping, because" }
                            textarea id="skip-reason" name="skip_systems_mapping_reason" rows="2" required {}
                        }
                        div { button type="submit" { "Skip mapping and go to learning opportunities" } }
                    }
                }
            }
            h2 { "Deadlines" }
            (views::scrolling("Deadlines", html! {
                table {
                    thead { tr { th scope="col" { "What" } th scope="col" { "Due" } th scope="col" { "Met" } th scope="col" { "From" } } }
                    tbody { @for d in &r.deadlines { tr {
                        td { (d.label) } td { (date(d.due_date.as_ref())) }
                        td { @if d.met { "yes" } @else { "no" } } td { (d.source) }
                    } } }
                }
            }))
            h2 { "Team" }
            @if team.is_empty() { p { "No one is on the team yet." } }
            @else { ul { @for m in &team { li { (m.subject) " – " (team_role(m.role)) } } } }
            @if may_advance {
                form class="stack" method="post" action={ "/reviews/" (id) "/team" } {
                    (csrf(session))
                    div {
                        label for="member-subject" { "Add to the team: their name (the token's subject)" }
                        input id="member-subject" name="subject" type="text" autocomplete="off" required;
                    }
                    div {
                        label for="member-role" { "Their role on the team" }
                        select id="member-role" name="role" {
                            @for role in TEAM_ROLES {
                                option value=(role.label()) { (team_role(role as i32)) }
                            }
                        }
                    }
                    div { button type="submit" { "Add to the team" } }
                }
            }
            @if may_advance {
                h2 { "Withdraw" }
                form class="stack" method="post" action={ "/reviews/" (id) "/withdraw" } {
                    (csrf(session))
                    input type="hidden" name="etag" value=(r.etag);
                    div {
                        label for="withdraw-reason" { "Why the review is withdrawn" }
                        textarea id="withdraw-reason" name="reason" rows="3" required {}
                    }
                    div { button type="submit" { "Withdraw the review" } }
                }
            }
            @if session.holds(&[Role::ScrLead, Role::Admin]) && r.stage != review::Stage::Withdrawn as i32 {
                h2 { "Summaries" }
                p { "Generated from the review as it stands, checked for any identity the system holds, and downloaded as Markdown." }
                ul {
                    li { a href={ "/reviews/" (id) "/summary/ninety-day" } download { "The 90-day summary" } }
                    li { a href={ "/reviews/" (id) "/summary/six-month" } download { "The 6-month summary" } }
                }
            }
            h2 { "History" }
            (views::scrolling("History", html! {
                table {
                    thead { tr { th scope="col" { "#" } th scope="col" { "Who" } th scope="col" { "What" } th scope="col" { "Reason" } } }
                    tbody { @for e in &history { tr {
                        td { (e.sequence) } td { (e.actor) } td { (e.action) } td { (e.reason) }
                    } } }
                }
            }))
        };
        let status = if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::CONFLICT
        };
        Page::html(
            status,
            page(
                &format!("Review {}", short(id)),
                &self.chrome(Some(session)),
                body,
            ),
        )
    }

    /// What the review's guard still lacks (empty when it would pass), or
    /// nothing when the check itself failed.
    async fn guard_check(&self, session: &Session, name: &str) -> Option<Vec<(String, String)>> {
        let mut client = self.peers.review(session).ok()?;
        let checked = client
            .advance_review(review::AdvanceReviewRequest {
                name: name.to_owned(),
                validate_only: true,
                ..Default::default()
            })
            .await;
        match checked {
            Ok(_) => Some(Vec::new()),
            Err(status) if status.code() == Code::FailedPrecondition => Some(
                violations(&status)
                    .into_iter()
                    .map(|(what, why)| (if what == name { String::new() } else { what }, why))
                    .collect(),
            ),
            Err(_) => None,
        }
    }

    /// A review's summary, generated and downloaded; a refusal is shown on
    /// the review's page.
    async fn summary(&self, session: &Session, id: &str, kind: &str) -> Page {
        let (kind, file) = match kind {
            "ninety-day" => (review::SummaryKind::NinetyDay, "summary-90-day.md"),
            "six-month" => (review::SummaryKind::SixMonth, "summary-6-month.md"),
            _ => return self.not_found(session),
        };
        let Ok(mut client) = self.peers.review(session) else {
            return self.unavailable();
        };
        let generated = client
            .generate_summary(review::GenerateSummaryRequest {
                name: format!("jurisdictions/{}/reviews/{id}", session.jurisdiction),
                kind: kind as i32,
            })
            .await;
        match generated {
            Ok(summary) => Page {
                content_type: "text/markdown; charset=utf-8",
                ..Page::html(StatusCode::OK, summary.into_inner().markdown)
            }
            .with_header(
                header::CONTENT_DISPOSITION,
                &format!("attachment; filename=\"{}-{file}\"", short(id)),
            ),
            Err(status) => self.after_change(session, id, Err(status)).await,
        }
    }

    /// The review's page after a change it refused, or the change's page.
    async fn after_change(
        &self,
        session: &Session,
        id: &str,
        outcome: Result<(), tonic::Status>,
    ) -> Page {
        let status = match outcome {
            Ok(()) => return Page::see_other(&format!("/reviews/{id}")),
            Err(status) => status,
        };
        let own = format!("jurisdictions/{}/reviews/{id}", session.jurisdiction);
        let problems = match status.code() {
            Code::FailedPrecondition | Code::InvalidArgument => violations(&status)
                .into_iter()
                // The review's own name says nothing on its own page.
                .map(|(what, why)| (if what == own { String::new() } else { what }, why))
                .collect(),
            // They can read the review (the form came from its page), so the
            // service's reason is theirs to see.
            Code::PermissionDenied => vec![(String::new(), status.message().to_owned())],
            Code::Aborted => vec![(
                String::new(),
                "Someone changed the review while you were reading it; this is the latest. Try again if it still applies.".to_owned(),
            )],
            _ => return self.failed(&status, session),
        };
        self.review(session, id, problems).await
    }

    /// Advances a review; a guard's refusal is shown on the review's page as
    /// the list of what it still needs.
    async fn advance(&self, session: &Session, id: &str, request: &PageRequest) -> Page {
        let Ok(mut client) = self.peers.review(session) else {
            return self.unavailable();
        };
        let outcome = client
            .advance_review(review::AdvanceReviewRequest {
                name: format!("jurisdictions/{}/reviews/{id}", session.jurisdiction),
                etag: form_field(request, "etag"),
                skip_systems_mapping_reason: form_field(request, "skip_systems_mapping_reason")
                    .trim()
                    .to_owned(),
                validate_only: false,
            })
            .await
            .map(|_| ());
        self.after_change(session, id, outcome).await
    }

    /// Adds a member to a review's team.
    async fn add_member(&self, session: &Session, id: &str, request: &PageRequest) -> Page {
        let Ok(mut client) = self.peers.review(session) else {
            return self.unavailable();
        };
        let role = review::TeamRole::from_label(&form_field(request, "role"))
            .unwrap_or(review::TeamRole::Unspecified);
        let outcome = client
            .add_team_member(review::AddTeamMemberRequest {
                parent: format!("jurisdictions/{}/reviews/{id}", session.jurisdiction),
                member: Some(review::TeamMember {
                    subject: form_field(request, "subject").trim().to_owned(),
                    role: role as i32,
                    ..Default::default()
                }),
            })
            .await
            .map(|_| ());
        self.after_change(session, id, outcome).await
    }

    /// Withdraws a review, with its reason.
    async fn withdraw(&self, session: &Session, id: &str, request: &PageRequest) -> Page {
        let Ok(mut client) = self.peers.review(session) else {
            return self.unavailable();
        };
        let outcome = client
            .withdraw_review(review::WithdrawReviewRequest {
                name: format!("jurisdictions/{}/reviews/{id}", session.jurisdiction),
                reason: form_field(request, "reason"),
                etag: form_field(request, "etag"),
            })
            .await
            .map(|_| ());
        self.after_change(session, id, outcome).await
    }
}

/// A form field's value (never the query's), or empty.
pub(crate) fn form_field(request: &PageRequest, name: &str) -> String {
    request.form_value(name).unwrap_or_default().to_owned()
}

/// When a review is next due, for ordering (no deadline last).
fn due(r: &review::Review) -> (i32, i32, i32) {
    r.next_due_date
        .as_ref()
        .map_or((9999, 0, 0), |d| (d.year, d.month, d.day))
}

/// Reviews as a table: id, incident, stage, next deadline.
fn review_table(caption: &str, reviews: &[review::Review]) -> maud::Markup {
    views::scrolling(
        caption,
        html! {
            table {
                caption { (caption) }
                thead { tr {
                    th scope="col" { "Review" }
                    th scope="col" { "Incident" }
                    th scope="col" { "Stage" }
                    th scope="col" { "Next deadline" }
                } }
                tbody {
                    @for r in reviews {
                        @let id = r.name.rsplit('/').next().unwrap_or_default();
                        tr {
                            td { a href={ "/reviews/" (id) } { (short(id)) } }
                            td { (incident(r)) }
                            td { (stage(r.stage)) }
                            td {
                                (date(r.next_due_date.as_ref()))
                                @if r.overdue { " " span class="overdue" { "overdue" } }
                            }
                        }
                    }
                }
            }
        },
    )
}

/// The last eight characters of an id: its random end (ids begin with their
/// time, so reviews opened together share their first characters).
fn short(id: &str) -> &str {
    id.get(id.len().saturating_sub(8)..).unwrap_or(id)
}

/// What the incident was, in words.
fn incident(r: &review::Review) -> String {
    let facts = r.incident_facts.clone().unwrap_or_default();
    let kind = scir_proto::intake::v1::IncidentType::try_from(facts.incident_type)
        .map(|t| views::words(t.label(), "INCIDENT_TYPE_"))
        .unwrap_or_else(|_| "Incident".to_owned());
    format!("{kind}, {}", date(facts.incident_date.as_ref()))
}

fn team_role(value: i32) -> String {
    match review::TeamRole::try_from(value) {
        Ok(review::TeamRole::Reviewer) => "Reviewer",
        Ok(review::TeamRole::ScrLead) => "SCR lead",
        Ok(review::TeamRole::MappingTeam) => "Mapping team",
        _ => "–",
    }
    .to_owned()
}
