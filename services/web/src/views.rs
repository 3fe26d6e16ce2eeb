//! The pages' HTML. Every value is escaped by the templates (`maud`), pages
//! carry no script and no inline style, and every form carries its token.

use maud::{DOCTYPE, Markup, PreEscaped, html};
use scir_kit::auth::Role;
use scir_proto::Labelled;
use scir_proto::common::v1::Date;
use scir_proto::review::v1 as review;

use crate::session::Session;

/// The stylesheet every page links.
pub const STYLE: &str = include_str!("../static/site.css");
/// Where it is served.
pub const STYLE_PATH: &str = "/static/site.css";

/// A label such as `STAGE_CASE_RECORD_REVIEW` as words: `Case record review`.
pub fn words(label: &str, prefix: &str) -> String {
    let text = label
        .strip_prefix(prefix)
        .unwrap_or(label)
        .replace('_', " ");
    let mut chars = text.to_lowercase().chars().collect::<Vec<_>>();
    if let Some(first) = chars.first_mut() {
        *first = first.to_ascii_uppercase();
    }
    chars.into_iter().collect()
}

/// A stage in words.
pub fn stage(value: i32) -> String {
    review::Stage::try_from(value)
        .map(|s| words(s.label(), "STAGE_").replace("Ssit", "SSIT"))
        .unwrap_or_else(|_| "Unknown".to_owned())
}

/// A date as `YYYY-MM-DD`, or a dash.
pub fn date(d: Option<&Date>) -> String {
    d.map_or_else(
        || "–".to_owned(),
        |d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day),
    )
}

/// What the layout needs to know of the visitor.
#[derive(Debug)]
pub struct Chrome<'a> {
    /// The signed-in person, if any.
    pub session: Option<&'a Session>,
    /// Whether the development sign-in is on (every page says so).
    pub dev: bool,
}

/// A whole page: the banner, the navigation and sign-out for a signed-in
/// person, and `body` in `main`.
pub fn page(title: &str, chrome: &Chrome<'_>, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " – SCIR" }
                link rel="stylesheet" href=(STYLE_PATH);
            }
            body {
                a class="skip" href="#main" { "Skip to the content" }
                header {
                    @if chrome.dev {
                        p class="dev" role="note" {
                            strong { "Development sign-in." }
                            " Anyone can sign in as anyone: never use this with real case data."
                        }
                    }
                    p class="brand" { a href="/" { "SCIR" } " systems-focused critical incident reviews" }
                    @if let Some(s) = chrome.session {
                        nav aria-label="Main" {
                            ul {
                                li { a href="/" { "Reviews" } }
                                @if s.holds(&[Role::ScrLead, Role::Admin, Role::Reviewer, Role::Analyst]) {
                                    li { a href="/mappings" { "Aggregate mappings" } }
                                    li { a href="/notices" { "Safety notices" } }
                                }
                                @if s.holds(&[Role::Analyst, Role::Admin, Role::Partner]) {
                                    li { a href="/insights" { "Insights" } }
                                }
                                @if s.holds(&[Role::Analyst, Role::Admin, Role::ScrLead]) {
                                    li { a href="/culture" { "Safety culture" } }
                                }
                            }
                        }
                        div class="who" {
                            span { (s.subject) ", " (s.jurisdiction) " (" (roles(&s.roles)) ")" }
                            form method="post" action="/sign-out" {
                                (csrf(s))
                                button type="submit" { "Sign out" }
                            }
                        }
                    }
                }
                main id="main" tabindex="-1" {
                    h1 { (title) }
                    (body)
                }
            }
        }
    }
    .into_string()
}

fn roles(roles: &[Role]) -> String {
    roles
        .iter()
        .map(|r| r.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The hidden form token.
pub fn csrf(session: &Session) -> Markup {
    html! { input type="hidden" name="csrf" value=(session.csrf); }
}

/// A message page's body.
pub fn message(text: &str) -> Markup {
    html! { p { (text) } }
}

/// Violations a service named, as a list (field or subject, and why).
pub fn problems(heading: &str, items: &[(String, String)]) -> Markup {
    html! {
        @if !items.is_empty() {
            div class="problems" role="alert" {
                h2 { (heading) }
                ul {
                    @for (what, why) in items {
                        li {
                            @if !what.is_empty() { strong { (what) } ": " }
                            (why)
                        }
                    }
                }
            }
        }
    }
}

/// A table that scrolls on its own on a narrow screen, reachable by keyboard.
pub fn scrolling(label: &str, table: Markup) -> Markup {
    html! {
        div class="scroll" role="region" aria-label=(label) tabindex="0" { (table) }
    }
}

/// Raw markup already escaped by its producer (an SVG a service rendered).
pub fn trusted_svg(svg: &str) -> Markup {
    PreEscaped(svg.to_owned())
}
