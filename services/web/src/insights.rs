//! The insights pages: a question with its filters and breakdown, the answer
//! as a table beside its chart, the disclosure control said in plain words
//! beside every hidden or adjusted value, and the same answer as CSV.

use http::{StatusCode, header};
use maud::{Markup, html};
use scir_kit::auth::Role;
use scir_kit::pages::{Page, PageRequest};
use scir_proto::Labelled;
use scir_proto::insights::v1::{self as pb, Breakdown, Question, Suppression};
use tonic::Code;

use crate::console::{Console, violations};
use crate::session::Session;
use crate::views::{self, page, words};

/// Roles that may ask insights anything.
const ASKERS: &[Role] = &[Role::Analyst, Role::Admin, Role::Partner];

/// The questions offered, in the order people look for them.
const QUESTIONS: [Question; 14] = [
    Question::DomainPrevalence,
    Question::FactorPrevalence,
    Question::ThemePrevalence,
    Question::Trend,
    Question::CoOccurrence,
    Question::SystemsMap,
    Question::Recommendations,
    Question::RecommendationEffectiveness,
    Question::Considerations,
    Question::ConsiderationStatus,
    Question::ConsiderationEffectiveness,
    Question::SafetyNoticeResponses,
    Question::CultureBesideReviews,
    Question::CultureStanding,
];

/// Questions the service draws.
const CHARTED: [Question; 11] = [
    Question::DomainPrevalence,
    Question::FactorPrevalence,
    Question::ThemePrevalence,
    Question::Trend,
    Question::CoOccurrence,
    Question::RecommendationEffectiveness,
    Question::ConsiderationEffectiveness,
    Question::ConsiderationStatus,
    Question::SafetyNoticeResponses,
    Question::CultureBesideReviews,
    Question::CultureStanding,
];

const BREAKDOWNS: [Breakdown; 8] = [
    Breakdown::Unspecified,
    Breakdown::ByCause,
    Breakdown::ByIncidentType,
    Breakdown::ByRaceEthnicity,
    Breakdown::ByTribalStatus,
    Breakdown::ByAgeBand,
    Breakdown::BySex,
    Breakdown::ByJurisdiction,
];

/// The form as sent (a GET: answers can be bookmarked and change nothing).
#[derive(Debug, Default)]
struct Asked {
    question: String,
    breakdown: String,
    level: String,
    code: String,
    quarter_from: String,
    quarter_to: String,
    pooled: bool,
}

impl Asked {
    fn of(request: &PageRequest) -> Self {
        let field = |name: &str| request.field(name).unwrap_or_default().trim().to_owned();
        // Any name the contract accepts, written back as its label, so the
        // form shows what was asked.
        let question = field("question");
        let breakdown = field("breakdown");
        Self {
            question: Question::from_label(&question).map_or(question, |q| q.label().to_owned()),
            breakdown: Breakdown::from_label(&breakdown)
                .filter(|b| *b != Breakdown::Unspecified)
                .map_or(breakdown, |b| b.label().to_owned()),
            level: field("level"),
            code: field("code"),
            quarter_from: field("quarter_from"),
            quarter_to: field("quarter_to"),
            pooled: request.field("pooled").is_some(),
        }
    }

    /// The request, or what is wrong with the form itself.
    fn request(&self) -> Result<pb::AskRequest, Vec<(String, String)>> {
        let mut errors = Vec::new();
        let question = Question::from_label(&self.question).filter(|q| QUESTIONS.contains(q));
        if question.is_none() {
            errors.push(("question".to_owned(), "Choose a question.".to_owned()));
        }
        let breakdown = if self.breakdown.is_empty() {
            Some(Breakdown::Unspecified)
        } else {
            Breakdown::from_label(&self.breakdown)
        };
        if breakdown.is_none() {
            errors.push((
                "breakdown".to_owned(),
                "Choose a breakdown from the list.".to_owned(),
            ));
        }
        let level = match self.level.as_str() {
            "" => Some(0),
            text => text.parse::<i32>().ok(),
        };
        if level.is_none() {
            errors.push(("level".to_owned(), "Enter a level from 1 to 3.".to_owned()));
        }
        if !errors.is_empty() {
            return Err(errors);
        }
        Ok(pb::AskRequest {
            question: question.unwrap_or_default() as i32,
            breakdown: breakdown.unwrap_or_default() as i32,
            level: level.unwrap_or_default(),
            code: self.code.clone(),
            pooled: self.pooled,
            filters: Some(pb::Filters {
                quarter_from: self.quarter_from.clone(),
                quarter_to: self.quarter_to.clone(),
                ..Default::default()
            }),
        })
    }

    /// The form's fields as a query string, for the chart and the CSV.
    fn query(&self) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        for (k, v) in [
            ("question", &self.question),
            ("breakdown", &self.breakdown),
            ("level", &self.level),
            ("code", &self.code),
            ("quarter_from", &self.quarter_from),
            ("quarter_to", &self.quarter_to),
        ] {
            if !v.is_empty() {
                q.append_pair(k, v);
            }
        }
        if self.pooled {
            q.append_pair("pooled", "on");
        }
        q.finish()
    }
}

/// The form field a service's violation names.
fn input_of(field: &str) -> &str {
    match field {
        "filters.quarter_from" => "quarter_from",
        "filters.quarter_to" => "quarter_to",
        other => other,
    }
}

/// A count as shown, or why it is hidden, in words.
fn count(c: Option<&pb::Count>, k: i32) -> String {
    let Some(c) = c else {
        return "–".to_owned();
    };
    match (c.value, Suppression::try_from(c.suppression)) {
        (Some(v), _) => v.to_string(),
        (None, Ok(Suppression::SmallCell)) => format!("hidden: 1 to {}", (k - 1).max(1)),
        (None, Ok(Suppression::Members)) => "not compared yet".to_owned(),
        (None, _) => "hidden".to_owned(),
    }
}

fn percent(v: Option<f64>) -> String {
    v.map_or("–".to_owned(), |v| format!("{:.0}%", v * 100.0))
}

/// What the disclosure control did to this answer, in plain words.
fn disclosure(table: &pb::Table) -> Markup {
    html! {
        @if table.max_adjustment > 0 {
            div class="note" role="note" {
                h2 { "How these counts are protected" }
                p {
                    "These are pooled partnership data. Each count is moved up or down by a small, fixed amount "
                    "(at most " (table.max_adjustment) ", typically about " (format!("{:.0}", table.adjustment_sd.round())) ") "
                    "so that no answer, or any combination of answers, reveals a small group. "
                    "A count from 1 to " (table.k - 1) " is never shown: it reads "
                    em { "hidden: 1 to " (table.k - 1) } ". Zero is shown as zero. "
                    "Shares are worked out from the adjusted counts."
                }
                @if table.rows.iter().any(|r| r.count.is_some_and(|c| c.suppression == Suppression::Members as i32)) {
                    p {
                        "Comparisons between members are shown only for a year that is over and that enough members took part in: "
                        em { "not compared yet" } " marks the others."
                    }
                }
            }
        } @else if table.k > 0 {
            p class="note" { "Counts from 1 to " (table.k - 1) " are hidden." }
        } @else {
            p class="note" { "Your own jurisdiction's exact counts (" (table.scope) "): they do not leave it." }
        }
    }
}

fn answer_table(table: &pb::Table) -> Markup {
    let lift = table.rows.iter().any(|r| r.lift.is_some());
    let actions = table.rows.iter().any(|r| r.implemented.is_some());
    let standing = table.rows.iter().any(|r| r.distribution.is_some());
    let k = table.k;
    html! {
        table {
            caption { "The answer" }
            thead { tr {
                @for c in &table.key_columns { th scope="col" { (c) } }
                @if standing {
                    th scope="col" { "yours" } th scope="col" { "members" }
                    th scope="col" { "25th" } th scope="col" { "median" } th scope="col" { "75th" }
                    th scope="col" { "your percentile" }
                } @else {
                    th scope="col" { "count" } th scope="col" { "of" } th scope="col" { "share" }
                    @if lift { th scope="col" { "lift" } }
                    @if actions { th scope="col" { "implemented" } th scope="col" { "overdue" } }
                }
            } }
            tbody {
                @for r in &table.rows {
                    tr {
                        @for key in &r.keys { td { (key) } }
                        @if standing {
                            @let d = r.distribution.unwrap_or_default();
                            td { (percent(r.share)) }
                            td { (count(d.members.as_ref(), k)) }
                            td { (percent(d.p25)) } td { (percent(d.median)) } td { (percent(d.p75)) }
                            td { (d.own_percentile.map_or("–".to_owned(), |p| format!("{p:.0}"))) }
                        } @else {
                            td { (count(r.count.as_ref(), k)) }
                            td { (count(r.denominator.as_ref(), k)) }
                            td { (percent(r.share)) }
                            @if lift { td { (r.lift.map_or("–".to_owned(), |l| format!("{l:.2}"))) } }
                            @if actions {
                                td { (count(r.implemented.as_ref(), k)) }
                                td { (count(r.overdue.as_ref(), k)) }
                            }
                        }
                    }
                }
            }
        }
    }
}

impl Console {
    /// The insights page: the form, and the answer when a question is asked.
    pub(crate) async fn insights(&self, session: &Session, request: &PageRequest) -> Page {
        if !session.holds(ASKERS) {
            return self.message(
                StatusCode::OK,
                "Insights",
                Some(session),
                "Insights are for analysts, admins and partnership members.",
            );
        }
        let asked = Asked::of(request);
        // Partners see pooled data only; the form says so by checking it.
        let partner_only = !session.holds(&[Role::Analyst, Role::Admin]);
        let asked = Asked {
            pooled: asked.pooled || partner_only,
            ..asked
        };
        let (mut errors, mut answer) = (Vec::new(), None);
        if !asked.question.is_empty() {
            match asked.request() {
                Err(e) => errors = e,
                Ok(ask) => match self.peers.insights(session) {
                    Err(_) => return self.unavailable(),
                    Ok(mut client) => match client.ask(ask).await {
                        Ok(table) => answer = Some(table.into_inner()),
                        Err(status)
                            if matches!(
                                status.code(),
                                Code::InvalidArgument | Code::PermissionDenied
                            ) =>
                        {
                            errors = violations(&status)
                                .into_iter()
                                .map(|(f, why)| (input_of(&f).to_owned(), why))
                                .collect();
                            if errors.is_empty() {
                                errors.push((String::new(), status.message().to_owned()));
                            }
                        }
                        Err(status) => return self.failed(&status, session),
                    },
                },
            }
        }
        let body = html! {
            @if session.holds(&[Role::Analyst, Role::Admin]) {
                p { a href="/insights/operational" { "The operational view of " (session.jurisdiction) } }
            }
            p { "Ask a question of every review's de-identified facts. "
                @if partner_only { "As a partnership member you see pooled data, protected as explained with each answer." }
                @else { "Your own jurisdiction's counts are exact; tick " em { "pooled" } " for the partnership's (a partner's view)." } }
            (views::problems("Please check the question", &errors.iter()
                .filter(|(f, _)| !["question", "breakdown", "level", "code", "quarter_from", "quarter_to"].contains(&f.as_str()))
                .cloned().collect::<Vec<_>>()))
            (form(&asked, &errors, partner_only))
            @if let Some(table) = &answer {
                h2 { (words(Question::try_from(table.question).unwrap_or_default().label(), "QUESTION_")) }
                (disclosure(table))
                div class="answer" {
                    (views::scrolling("The answer", answer_table(table)))
                    @if CHARTED.contains(&Question::try_from(table.question).unwrap_or_default()) {
                        figure {
                            img src={ "/insights/chart.svg?" (asked.query()) }
                                alt="The answer above as a bar chart; the table holds the same values.";
                            figcaption { "The same answer as a chart; hatched bars are hidden values." }
                        }
                    }
                }
                p {
                    (match &table.population {
                        Some(p) => format!("Counted: {}. ", count(Some(p), table.k)),
                        None => String::new(),
                    })
                    a href={ "/insights/answer.csv?" (asked.query()) } download="insights.csv" { "Download as CSV" }
                }
            }
        };
        let status = if errors.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        Page::html(status, page("Insights", &self.chrome(Some(session)), body))
    }

    /// The operational view of the analyst's jurisdiction: reviews by stage,
    /// the overdue ones, and the median days each stage took.
    pub(crate) async fn operational(&self, session: &Session) -> Page {
        if !session.holds(&[Role::Analyst, Role::Admin]) {
            return self.message(
                StatusCode::OK,
                "Operational view",
                Some(session),
                "The operational view is for a jurisdiction's analysts and admins.",
            );
        }
        let Ok(mut client) = self.peers.insights(session) else {
            return self.unavailable();
        };
        let view = match client
            .get_operational_view(pb::GetOperationalViewRequest {
                jurisdiction: format!("jurisdictions/{}", session.jurisdiction),
            })
            .await
        {
            Ok(v) => v.into_inner(),
            Err(status) => return self.failed(&status, session),
        };
        let body = html! {
            p { (view.overdue) " open reviews in " (session.jurisdiction) " have a deadline that passed in an earlier month." }
            (views::scrolling("Reviews by stage", html! {
                table {
                    caption { "Reviews by stage" }
                    thead { tr {
                        th scope="col" { "Stage" }
                        th scope="col" { "Reviews now" }
                        th scope="col" { "Median days in the stage (of those that left it)" }
                    } }
                    tbody { @for s in &view.stages { tr {
                        td { (views::stage(s.stage)) }
                        td { (s.reviews) }
                        td { (s.median_days.map_or("–".to_owned(), |d| format!("{d:.1}"))) }
                    } } }
                }
            }))
        };
        Page::html(
            StatusCode::OK,
            page("Operational view", &self.chrome(Some(session)), body),
        )
    }

    /// The answer's chart, as the insights service draws it.
    pub(crate) async fn insights_chart(&self, session: &Session, request: &PageRequest) -> Page {
        let (ask, mut client) = match self.asked(session, request) {
            Ok(asked) => asked,
            Err(page) => return page,
        };
        match client.render_chart(ask).await {
            Ok(chart) => Page {
                content_type: "image/svg+xml",
                ..Page::html(StatusCode::OK, chart.into_inner().svg)
            },
            Err(status) => self.failed(&status, session),
        }
    }

    /// The answer as CSV, to download.
    pub(crate) async fn insights_csv(&self, session: &Session, request: &PageRequest) -> Page {
        let (ask, mut client) = match self.asked(session, request) {
            Ok(asked) => asked,
            Err(page) => return page,
        };
        let mut stream = match client.export_csv(ask).await {
            Ok(s) => s.into_inner(),
            Err(status) => return self.failed(&status, session),
        };
        let mut text = String::new();
        loop {
            match stream.message().await {
                Ok(Some(chunk)) => text.push_str(&chunk.text),
                Ok(None) => break,
                Err(status) => return self.failed(&status, session),
            }
        }
        Page {
            content_type: "text/csv; charset=utf-8",
            ..Page::html(StatusCode::OK, text)
        }
        .with_header(
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"insights.csv\"",
        )
    }

    /// The request of a chart or CSV link, for an asker (partners pooled),
    /// with insights' client; or the page that says why not.
    fn asked(
        &self,
        session: &Session,
        request: &PageRequest,
    ) -> Result<(pb::AskRequest, crate::peers::Insights), Page> {
        let asked = Asked::of(request);
        let asked = Asked {
            pooled: asked.pooled || !session.holds(&[Role::Analyst, Role::Admin]),
            ..asked
        };
        let ask = asked
            .request()
            .ok()
            .filter(|_| session.holds(ASKERS))
            .ok_or_else(|| {
                self.message(
                    StatusCode::BAD_REQUEST,
                    "Bad question",
                    Some(session),
                    "The question is not complete.",
                )
            })?;
        let client = self
            .peers
            .insights(session)
            .map_err(|_| self.unavailable())?;
        Ok((ask, client))
    }
}

/// The question form; each error is shown next to its field.
fn form(asked: &Asked, errors: &[(String, String)], partner_only: bool) -> Markup {
    let error = |field: &str| {
        errors
            .iter()
            .find(|(f, _)| f == field)
            .map(|(_, e)| e.clone())
    };
    let described = |field: &str| error(field).map(|_| format!("{field}-error"));
    let note = |field: &str| {
        html! { @if let Some(e) = error(field) { p id={ (field) "-error" } class="error" { (e) } } }
    };
    html! {
        form class="ask" method="get" action="/insights" {
            div {
                label for="question" { "Question" }
                (note("question"))
                select id="question" name="question" aria-describedby=[described("question")] {
                    @for q in QUESTIONS {
                        option value=(q.label()) selected[asked.question == q.label()] {
                            (words(q.label(), "QUESTION_"))
                        }
                    }
                }
            }
            div {
                label for="breakdown" { "Broken down by" }
                (note("breakdown"))
                select id="breakdown" name="breakdown" aria-describedby=[described("breakdown")] {
                    @for b in BREAKDOWNS {
                        @let value = if b == Breakdown::Unspecified { "" } else { b.label() };
                        option value=(value) selected[asked.breakdown == value] {
                            @if b == Breakdown::Unspecified { "Nothing" } @else {
                                (words(b.label().trim_start_matches("BREAKDOWN_"), "BY_"))
                            }
                        }
                    }
                }
            }
            div {
                label for="level" { "SSIT level (1 to 3; empty: 2, contributed)" }
                (note("level"))
                input id="level" name="level" type="text" inputmode="numeric" value=(asked.level)
                    aria-describedby=[described("level")];
            }
            div {
                label for="code" { "Item or theme (trend, systems map)" }
                (note("code"))
                input id="code" name="code" type="text" value=(asked.code) aria-describedby=[described("code")];
            }
            div {
                label for="quarter_from" { "From quarter (YYYY-Qn)" }
                (note("quarter_from"))
                input id="quarter_from" name="quarter_from" type="text" placeholder="2025-Q1" value=(asked.quarter_from)
                    aria-describedby=[described("quarter_from")];
            }
            div {
                label for="quarter_to" { "To quarter (YYYY-Qn)" }
                (note("quarter_to"))
                input id="quarter_to" name="quarter_to" type="text" placeholder="2025-Q4" value=(asked.quarter_to)
                    aria-describedby=[described("quarter_to")];
            }
            div class="check" {
                input id="pooled" name="pooled" type="checkbox" checked[asked.pooled] disabled[partner_only];
                " "
                label for="pooled" { "Pooled partnership data" }
            }
            div { button type="submit" { "Ask" } }
        }
    }
}
