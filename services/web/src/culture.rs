//! The safety culture pages: the jurisdiction's survey waves, a wave's
//! results per unit (withheld units say why) beside the service's chart and
//! as CSV, and each unit's trend across waves.

use http::{StatusCode, header};
use maud::html;
use scir_kit::auth::Role;
use scir_kit::pages::Page;
use scir_proto::culture::v1 as pb;

use crate::console::{Console, Gate};
use crate::session::Session;
use crate::views::{self, date, page};

/// Who reads survey results.
const READERS: Gate = Gate {
    roles: &[Role::Admin, Role::Analyst, Role::ScrLead],
    title: "Safety culture",
    text: "Survey results are for a jurisdiction's admins, analysts and SCR leads.",
};

fn state(value: i32) -> &'static str {
    match pb::WaveState::try_from(value) {
        Ok(pb::WaveState::Open) => "open",
        Ok(pb::WaveState::Closed) => "closed",
        _ => "–",
    }
}

fn withheld(value: i32) -> &'static str {
    match pb::Withheld::try_from(value) {
        Ok(pb::Withheld::TooFew) => "withheld: too few respondents",
        Ok(pb::Withheld::Subtraction) => "withheld: would reveal a small team",
        _ => "",
    }
}

impl Console {
    /// The jurisdiction's survey waves, newest first.
    pub(crate) async fn culture_waves(&self, session: &Session) -> Page {
        if let Some(refused) = self.refused(session, &READERS) {
            return refused;
        }
        let Ok(mut client) = self.peers.culture(session) else {
            return self.unavailable();
        };
        let waves = match client
            .list_survey_waves(pb::ListSurveyWavesRequest {
                parent: format!("jurisdictions/{}", session.jurisdiction),
            })
            .await
        {
            Ok(w) => w.into_inner().survey_waves,
            Err(status) => return self.failed(&status, session),
        };
        let body = html! {
            p { a href="/culture/trend" { "Each unit across waves" } }
            @if waves.is_empty() { p { "No survey waves yet." } }
            @else {
                (views::scrolling("Survey waves", html! {
                    table {
                        caption { "Survey waves, newest first" }
                        thead { tr {
                            th scope="col" { "Wave" } th scope="col" { "State" }
                            th scope="col" { "Dates" } th scope="col" { "Responses" }
                        } }
                        tbody { @for w in &waves {
                            @let id = w.name.rsplit('/').next().unwrap_or_default();
                            tr {
                                td { a href={ "/culture/" (id) } { (w.title) } }
                                td { (state(w.state)) }
                                td { (date(w.open_date.as_ref())) " to " (date(w.close_date.as_ref())) }
                                td { (w.responses) }
                            }
                        } }
                    }
                }))
            }
        };
        Page::html(
            StatusCode::OK,
            page("Safety culture surveys", &self.chrome(Some(session)), body),
        )
    }

    /// A wave's results per unit, beside the service's chart.
    pub(crate) async fn culture_wave(&self, session: &Session, id: &str) -> Page {
        if let Some(refused) = self.refused(session, &READERS) {
            return refused;
        }
        let name = format!("jurisdictions/{}/surveyWaves/{id}", session.jurisdiction);
        let Ok(client) = self.peers.culture(session) else {
            return self.unavailable();
        };
        let (mut a, mut b) = (client.clone(), client);
        let (wave, results) = tokio::join!(
            a.get_survey_wave(pb::GetSurveyWaveRequest { name: name.clone() }),
            b.get_survey_results(pb::GetSurveyResultsRequest { wave: name.clone() }),
        );
        let (wave, results) = match (wave, results) {
            (Ok(w), Ok(r)) => (w.into_inner(), r.into_inner()),
            (Err(status), _) | (_, Err(status)) => return self.failed(&status, session),
        };
        let composites: Vec<String> = results
            .units
            .iter()
            .flat_map(|u| u.composites.iter().map(|c| c.code.clone()))
            .fold(Vec::new(), |mut seen, code| {
                if !seen.contains(&code) {
                    seen.push(code);
                }
                seen
            });
        let body = html! {
            p { "Percent positive per unit and composite. A unit with fewer than "
                (results.min_respondents) " respondents is withheld, and so is one whose result, less its shown units', would describe fewer." }
            div class="answer" {
                (views::scrolling("Results per unit", html! {
                    table {
                        caption { "Results per unit" }
                        thead { tr {
                            th scope="col" { "Unit" } th scope="col" { "Answered" }
                            @for c in &composites { th scope="col" { (c) } }
                        } }
                        tbody { @for u in &results.units {
                            tr {
                                td { (u.unit) }
                                @if u.withheld == pb::Withheld::Unspecified as i32 {
                                    td { (u.respondents) "/" (u.invited) " (" (format!("{:.0}%", u.response_rate * 100.0)) ")" }
                                    @for c in &composites {
                                        td { (u.composites.iter().find(|s| &s.code == c)
                                            .map_or("–".to_owned(), |s| format!("{:.0}%", s.positive * 100.0))) }
                                    }
                                } @else {
                                    td colspan=(composites.len() + 1) { (withheld(u.withheld)) }
                                }
                            }
                        } }
                    }
                }))
                p { a href={ "/culture/" (id) "/results.csv" } download { "Download these results (CSV)" } }
                figure {
                    img src={ "/culture/" (id) "/chart.svg" }
                        alt="The results above as stacked bars per unit and composite; the table holds the same values.";
                    figcaption { "Positive, neutral and negative per composite, for each unit shown." }
                }
            }
        };
        Page::html(
            StatusCode::OK,
            page(&wave.title, &self.chrome(Some(session)), body),
        )
    }

    /// A wave's chart, as the culture service draws it.
    pub(crate) async fn culture_chart(&self, session: &Session, id: &str) -> Page {
        if let Some(refused) = self.refused(session, &READERS) {
            return refused;
        }
        let Ok(mut client) = self.peers.culture(session) else {
            return self.unavailable();
        };
        let wave = format!("jurisdictions/{}/surveyWaves/{id}", session.jurisdiction);
        match client
            .render_survey_chart(pb::GetSurveyResultsRequest { wave })
            .await
        {
            Ok(chart) => Page {
                content_type: "image/svg+xml",
                ..Page::html(StatusCode::OK, chart.into_inner().svg)
            },
            Err(status) => self.failed(&status, session),
        }
    }

    /// A wave's results as CSV, as the culture service writes them.
    pub(crate) async fn culture_csv(&self, session: &Session, id: &str) -> Page {
        if let Some(refused) = self.refused(session, &READERS) {
            return refused;
        }
        let Ok(mut client) = self.peers.culture(session) else {
            return self.unavailable();
        };
        let wave = format!("jurisdictions/{}/surveyWaves/{id}", session.jurisdiction);
        match client
            .export_survey_results(pb::GetSurveyResultsRequest { wave })
            .await
        {
            Ok(csv) => Page {
                content_type: "text/csv; charset=utf-8",
                ..Page::html(StatusCode::OK, csv.into_inner().text)
            }
            .with_header(
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"survey-results.csv\"",
            ),
            Err(status) => self.failed(&status, session),
        }
    }

    /// Each unit across the waves that surveyed it: percent positive per
    /// composite, withheld points saying why.
    pub(crate) async fn culture_trend(&self, session: &Session) -> Page {
        if let Some(refused) = self.refused(session, &READERS) {
            return refused;
        }
        let Ok(mut client) = self.peers.culture(session) else {
            return self.unavailable();
        };
        let trend = match client
            .get_survey_trend(pb::GetSurveyTrendRequest {
                parent: format!("jurisdictions/{}", session.jurisdiction),
                ..Default::default()
            })
            .await
        {
            Ok(t) => t.into_inner(),
            Err(status) => return self.failed(&status, session),
        };
        let body = html! {
            p { a href="/culture" { "All survey waves" } }
            p { "Percent positive per composite, wave by wave (oldest first). Compare waves of the same instrument; a point with fewer than "
                (trend.min_respondents) " respondents, or one that would reveal a small team, is withheld." }
            @if trend.units.is_empty() { p { "No closed waves yet." } }
            @for unit in &trend.units {
                @let codes: Vec<String> = unit.points.iter()
                    .flat_map(|p| p.result.iter().flat_map(|r| r.composites.iter().map(|c| c.code.clone())))
                    .fold(Vec::new(), |mut seen, code| { if !seen.contains(&code) { seen.push(code); } seen });
                h2 { (unit.unit) }
                (views::scrolling(&format!("{} across waves", unit.unit), html! { table {
                    thead { tr {
                        th scope="col" { "Wave" } th scope="col" { "Closed" } th scope="col" { "Answered" }
                        @for c in &codes { th scope="col" { (c) } }
                    } }
                    tbody { @for point in &unit.points {
                        @let result = point.result.clone().unwrap_or_default();
                        tr {
                            td { (point.title) }
                            td { (date(point.close_date.as_ref())) }
                            @if result.withheld == pb::Withheld::Unspecified as i32 {
                                td { (result.respondents) "/" (result.invited) }
                                @for c in &codes {
                                    td { (result.composites.iter().find(|s| &s.code == c)
                                        .map_or("–".to_owned(), |s| format!("{:.0}%", s.positive * 100.0))) }
                                }
                            } @else {
                                td colspan=(codes.len() + 1) { (withheld(result.withheld)) }
                            }
                        }
                    } }
                } }))
            }
        };
        Page::html(
            StatusCode::OK,
            page("Survey trend", &self.chrome(Some(session)), body),
        )
    }
}
