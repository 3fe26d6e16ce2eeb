//! A review's parts: key practice episodes, debriefings, key observations,
//! systems maps, learning opportunities and recommendations. Each kind is a
//! page with what is recorded (the language check's advice beside the text)
//! and the form to record one more; every refusal comes back beside the
//! field it names.

use std::future::Future;

use http::StatusCode;
use maud::{Markup, html};
use scir_kit::auth::Role;
use scir_kit::pages::{Page, PageRequest};
use scir_proto::review::v1 as review;
use tonic::Code;

use crate::console::{Console, REVIEW_PAGES, form_field, violations};
use crate::forms::{Choice, Form, Posted, choices, date_value, label_of, shown};
use crate::maps;
use crate::peers::Review;
use crate::session::Session;
use crate::views::{self, csrf, date, page};

/// Roles that record a review's parts.
const WRITERS: &[Role] = &[Role::Reviewer, Role::ScrLead, Role::Admin];

/// Rows of nodes and edges a systems map's form offers.
pub(crate) const NODE_ROWS: usize = 8;
pub(crate) const EDGE_ROWS: usize = 10;
/// The most a map may hold (review's limits), and so the most rows read.
const MAX_NODES: usize = 200;
const MAX_EDGES: usize = 1000;

/// The kinds of part, as the console's paths name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Episodes,
    Debriefings,
    KeyObservations,
    SystemsMaps,
    LearningOpportunities,
    Recommendations,
}

impl Kind {
    /// Every kind, in the order a review records them.
    pub(crate) const ALL: [Kind; 6] = [
        Kind::Episodes,
        Kind::Debriefings,
        Kind::KeyObservations,
        Kind::SystemsMaps,
        Kind::LearningOpportunities,
        Kind::Recommendations,
    ];

    /// The kind a path segment names.
    pub(crate) fn from_segment(segment: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.segment() == segment)
    }

    /// Its path segment.
    pub(crate) fn segment(self) -> &'static str {
        match self {
            Kind::Episodes => "episodes",
            Kind::Debriefings => "debriefings",
            Kind::KeyObservations => "observations",
            Kind::SystemsMaps => "maps",
            Kind::LearningOpportunities => "learning",
            Kind::Recommendations => "recommendations",
        }
    }

    /// Its title.
    pub(crate) fn title(self) -> &'static str {
        match self {
            Kind::Episodes => "Key practice episodes",
            Kind::Debriefings => "Debriefings",
            Kind::KeyObservations => "Key observations",
            Kind::SystemsMaps => "Systems maps",
            Kind::LearningOpportunities => "Learning opportunities",
            Kind::Recommendations => "Recommendations",
        }
    }
}

/// What a part's page and form refer to: the review and the parts a part may
/// link to, as (resource name, title).
#[derive(Debug, Default)]
pub(crate) struct Context {
    /// Whether the reader may read and write debriefing notes (the team and
    /// administrators).
    pub may_note: bool,
    pub episodes: Vec<Choice>,
    pub debriefings: Vec<Choice>,
    pub key_observations: Vec<Choice>,
    pub learning_opportunities: Vec<Choice>,
}

/// The titles of linked parts, or their names when unknown.
fn titles(names: &[String], known: &[Choice]) -> Markup {
    html! {
        @if names.is_empty() { "–" }
        @else { ul class="plain" { @for n in names {
            li { (known.iter().find(|(k, _)| k == n).map_or(n.as_str(), |(_, t)| t.as_str())) }
        } } }
    }
}

fn enum_list<E>(values: &[i32], prefix: &str) -> String
where
    E: scir_proto::Labelled + TryFrom<i32>,
{
    if values.is_empty() {
        return "–".to_owned();
    }
    values
        .iter()
        .map(|v| shown::<E>(*v, prefix))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Enum values as a form's repeated field (checkboxes).
fn pairs<E>(name: &str, values: &[i32]) -> Vec<(String, String)>
where
    E: scir_proto::Labelled + TryFrom<i32>,
{
    values
        .iter()
        .map(|v| (name.to_owned(), label_of::<E>(*v)))
        .collect()
}

/// The language check's findings, as advice beside the text.
fn advice(findings: &[review::LanguageFinding]) -> Markup {
    html! {
        @if !findings.is_empty() {
            aside class="advice" aria-label="Language advice" {
                p { strong { "Advice on the wording" } " (it never stops a save):" }
                ul { @for f in findings { li {
                    "“" (f.text) "” in " (views::words(&f.field, "")) ": "
                    (shown::<review::FindingCategory>(f.category, "").to_lowercase())
                    @if !f.suggestion.is_empty() { ". " (f.suggestion) }
                } } }
            }
        }
    }
}

/// One kind of part: how it is listed, shown, read from a form and sent.
pub(crate) trait Part: Sized + Send + 'static {
    const KIND: Kind;
    /// The request's field holding the part (violations are prefixed with it).
    const FIELD: &'static str;
    fn name(&self) -> &str;
    fn etag(&self) -> &str;
    fn findings(&self) -> &[review::LanguageFinding];
    /// A short title (headings, links from other parts).
    fn heading(&self) -> String;
    /// Its fields.
    fn show(&self, ctx: &Context) -> Markup;
    /// The form to record one.
    fn form(form: &Form<'_>, ctx: &Context) -> Markup;
    /// One read from a posted form.
    fn read(posted: &mut Posted<'_>, ctx: &Context) -> Self;
    /// The form's field a violation's field (without the prefix) names.
    fn field_of(field: &str, _request: &PageRequest) -> String {
        field.to_owned()
    }
    /// Every one recorded, drawn with `actions` (delete) beside each.
    fn show_all(items: &[Self], ctx: &Context, actions: &dyn Fn(&Self) -> Markup) -> Markup {
        html! { @for item in items {
            article class="part" {
                h3 { (item.heading()) }
                (item.show(ctx))
                (advice(item.findings()))
                (actions(item))
            }
        } }
    }
    /// Its fields as the form holds them, to edit it.
    fn values(&self) -> Vec<(String, String)>;
    /// Names it (the part an update replaces).
    fn set_name(&mut self, name: String);
    /// The fields the form writes (an update replaces these only).
    fn mask(ctx: &Context) -> Vec<&'static str>;
    fn list(
        c: Review,
        parent: String,
    ) -> impl Future<Output = Result<Vec<Self>, tonic::Status>> + Send;
    fn get(c: Review, name: String) -> impl Future<Output = Result<Self, tonic::Status>> + Send;
    fn update(
        c: Review,
        item: Self,
        mask: Vec<&'static str>,
        etag: String,
    ) -> impl Future<Output = Result<(), tonic::Status>> + Send;
    fn create(
        c: Review,
        parent: String,
        item: Self,
    ) -> impl Future<Output = Result<(), tonic::Status>> + Send;
    fn delete(
        c: Review,
        name: String,
        etag: String,
    ) -> impl Future<Output = Result<(), tonic::Status>> + Send;
}

/// The accessors every part shares, and its list, create and delete calls
/// (the same three RPCs for each kind, differing only in names).
macro_rules! part_calls {
    ($list:ident, $list_request:ident, $listed:ident, $create:ident, $create_request:ident, $field:ident, $delete:ident, $delete_request:ident, $get:ident, $get_request:ident, $update:ident, $update_request:ident) => {
        fn name(&self) -> &str {
            &self.name
        }
        fn etag(&self) -> &str {
            &self.etag
        }
        fn set_name(&mut self, name: String) {
            self.name = name;
        }
        fn findings(&self) -> &[review::LanguageFinding] {
            &self.language_findings
        }
        async fn list(mut c: Review, parent: String) -> Result<Vec<Self>, tonic::Status> {
            let r = c
                .$list(review::$list_request {
                    parent,
                    page_size: 500,
                    ..Default::default()
                })
                .await?;
            Ok(r.into_inner().$listed)
        }
        async fn create(mut c: Review, parent: String, item: Self) -> Result<(), tonic::Status> {
            c.$create(review::$create_request {
                parent,
                $field: Some(item),
            })
            .await
            .map(|_| ())
        }
        async fn delete(mut c: Review, name: String, etag: String) -> Result<(), tonic::Status> {
            c.$delete(review::$delete_request { name, etag })
                .await
                .map(|_| ())
        }
        async fn get(mut c: Review, name: String) -> Result<Self, tonic::Status> {
            c.$get(review::$get_request { name })
                .await
                .map(tonic::Response::into_inner)
        }
        async fn update(
            mut c: Review,
            item: Self,
            mask: Vec<&'static str>,
            etag: String,
        ) -> Result<(), tonic::Status> {
            c.$update(review::$update_request {
                $field: Some(item),
                update_mask: Some(prost_types::FieldMask {
                    paths: mask.into_iter().map(str::to_owned).collect(),
                }),
                etag,
            })
            .await
            .map(|_| ())
        }
    };
}

impl Part for review::Episode {
    const KIND: Kind = Kind::Episodes;
    const FIELD: &'static str = "episode";
    fn heading(&self) -> String {
        self.title.clone()
    }
    fn show(&self, _ctx: &Context) -> Markup {
        html! { dl {
            dt { "When" } dd { (date(self.start_date.as_ref())) " to " (date(self.end_date.as_ref())) }
            dt { "Assessment" } dd { (shown::<review::Assessment>(self.assessment, "")) }
            dt { "What happened" } dd { (self.what_happened) }
            dt { "Sources" } dd { (if self.source_documents.is_empty() { "–".to_owned() } else { self.source_documents.join("; ") }) }
            dt { "Contributory factors" } dd { (enum_list::<review::ContributoryFactor>(&self.contributory_factors, "")) }
        } }
    }
    fn form(f: &Form<'_>, _ctx: &Context) -> Markup {
        html! {
            (f.line("title", "Title", true))
            (f.date("start_date", "Started", true))
            (f.date("end_date", "Ended", true))
            (f.area("what_happened", "What happened", true))
            (f.one("assessment", "How practice went", &choices::<review::Assessment>(""), true))
            (f.area("source_documents", "Source documents, one per line", false))
            (f.many("contributory_factors", "Contributory factors", &choices::<review::ContributoryFactor>("")))
        }
    }
    fn read(p: &mut Posted<'_>, _ctx: &Context) -> Self {
        Self {
            title: p.text("title"),
            start_date: p.date("start_date"),
            end_date: p.date("end_date"),
            what_happened: p.text("what_happened"),
            assessment: p.one::<review::Assessment>("assessment"),
            source_documents: p.lines("source_documents"),
            contributory_factors: p.many::<review::ContributoryFactor>("contributory_factors"),
            ..Default::default()
        }
    }
    fn values(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("title".to_owned(), self.title.clone()),
            (
                "start_date".to_owned(),
                date_value(self.start_date.as_ref()),
            ),
            ("end_date".to_owned(), date_value(self.end_date.as_ref())),
            ("what_happened".to_owned(), self.what_happened.clone()),
            (
                "assessment".to_owned(),
                label_of::<review::Assessment>(self.assessment),
            ),
            (
                "source_documents".to_owned(),
                self.source_documents.join("\n"),
            ),
        ];
        v.extend(pairs::<review::ContributoryFactor>(
            "contributory_factors",
            &self.contributory_factors,
        ));
        v
    }
    fn mask(_ctx: &Context) -> Vec<&'static str> {
        vec![
            "title",
            "start_date",
            "end_date",
            "what_happened",
            "assessment",
            "source_documents",
            "contributory_factors",
        ]
    }
    part_calls!(
        list_episodes,
        ListEpisodesRequest,
        episodes,
        create_episode,
        CreateEpisodeRequest,
        episode,
        delete_episode,
        DeleteEpisodeRequest,
        get_episode,
        GetEpisodeRequest,
        update_episode,
        UpdateEpisodeRequest
    );
}

impl Part for review::Debriefing {
    const KIND: Kind = Kind::Debriefings;
    const FIELD: &'static str = "debriefing";
    fn heading(&self) -> String {
        format!(
            "{} with {}",
            date(self.date.as_ref()),
            self.participant_roles.join(", ")
        )
    }
    fn show(&self, ctx: &Context) -> Markup {
        html! { dl {
            dt { "Decision context" } dd { (if self.decision_context.is_empty() { "–" } else { &self.decision_context }) }
            @if ctx.may_note {
                dt { "Notes (the team only)" } dd { (if self.notes.is_empty() { "–" } else { &self.notes }) }
            }
        } }
    }
    fn form(f: &Form<'_>, ctx: &Context) -> Markup {
        html! {
            (f.date("date", "Date", true))
            (f.area("participant_roles", "Participants' roles (never names), one per line", true))
            (f.area("decision_context", "What made sense at the time: the decision context", false))
            @if ctx.may_note {
                (f.area("notes", "Notes (kept sealed; read by the team only)", false))
            }
        }
    }
    fn read(p: &mut Posted<'_>, ctx: &Context) -> Self {
        Self {
            date: p.date("date"),
            participant_roles: p.lines("participant_roles"),
            decision_context: p.text("decision_context"),
            notes: if ctx.may_note {
                p.text("notes")
            } else {
                String::new()
            },
            ..Default::default()
        }
    }
    fn values(&self) -> Vec<(String, String)> {
        vec![
            ("date".to_owned(), date_value(self.date.as_ref())),
            (
                "participant_roles".to_owned(),
                self.participant_roles.join("\n"),
            ),
            ("decision_context".to_owned(), self.decision_context.clone()),
            ("notes".to_owned(), self.notes.clone()),
        ]
    }
    fn mask(ctx: &Context) -> Vec<&'static str> {
        // Notes are written only by those who may read them; anyone else's
        // update leaves them as they are.
        let mut mask = vec!["date", "participant_roles", "decision_context"];
        if ctx.may_note {
            mask.push("notes");
        }
        mask
    }
    part_calls!(
        list_debriefings,
        ListDebriefingsRequest,
        debriefings,
        create_debriefing,
        CreateDebriefingRequest,
        debriefing,
        delete_debriefing,
        DeleteDebriefingRequest,
        get_debriefing,
        GetDebriefingRequest,
        update_debriefing,
        UpdateDebriefingRequest
    );
}

impl Part for review::KeyObservation {
    const KIND: Kind = Kind::KeyObservations;
    const FIELD: &'static str = "key_observation";
    fn heading(&self) -> String {
        self.title.clone()
    }
    fn show(&self, ctx: &Context) -> Markup {
        html! { dl {
            dt { "Description" } dd { (self.description) }
            dt { "Episodes" } dd { (titles(&self.episodes, &ctx.episodes)) }
            dt { "Debriefings" } dd { (titles(&self.debriefings, &ctx.debriefings)) }
            dt { "Contributory factors" } dd { (enum_list::<review::ContributoryFactor>(&self.contributory_factors, "")) }
            dt { "Themes" } dd { (enum_list::<review::Theme>(&self.themes, "")) }
        } }
    }
    fn form(f: &Form<'_>, ctx: &Context) -> Markup {
        html! {
            (f.line("title", "Title", true))
            (f.area("description", "What the team observed", true))
            (f.many("episodes", "Episodes it draws on", &ctx.episodes))
            (f.many("debriefings", "Debriefings it draws on", &ctx.debriefings))
            (f.many("contributory_factors", "Contributory factors", &choices::<review::ContributoryFactor>("")))
            (f.many("themes", "Themes", &choices::<review::Theme>("")))
        }
    }
    fn read(p: &mut Posted<'_>, _ctx: &Context) -> Self {
        Self {
            title: p.text("title"),
            description: p.text("description"),
            episodes: p.all("episodes"),
            debriefings: p.all("debriefings"),
            contributory_factors: p.many::<review::ContributoryFactor>("contributory_factors"),
            themes: p.many::<review::Theme>("themes"),
            ..Default::default()
        }
    }
    fn values(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("title".to_owned(), self.title.clone()),
            ("description".to_owned(), self.description.clone()),
        ];
        v.extend(
            self.episodes
                .iter()
                .map(|e| ("episodes".to_owned(), e.clone())),
        );
        v.extend(
            self.debriefings
                .iter()
                .map(|d| ("debriefings".to_owned(), d.clone())),
        );
        v.extend(pairs::<review::ContributoryFactor>(
            "contributory_factors",
            &self.contributory_factors,
        ));
        v.extend(pairs::<review::Theme>("themes", &self.themes));
        v
    }
    fn mask(_ctx: &Context) -> Vec<&'static str> {
        vec![
            "title",
            "description",
            "episodes",
            "debriefings",
            "contributory_factors",
            "themes",
        ]
    }
    part_calls!(
        list_key_observations,
        ListKeyObservationsRequest,
        key_observations,
        create_key_observation,
        CreateKeyObservationRequest,
        key_observation,
        delete_key_observation,
        DeleteKeyObservationRequest,
        get_key_observation,
        GetKeyObservationRequest,
        update_key_observation,
        UpdateKeyObservationRequest
    );
}

/// `nodes[j].x` or `edges[j].x` of the request as sent (blank rows left
/// out) back to the form's row.
fn map_row(field: &str, request: &PageRequest) -> Option<String> {
    let (table, rest) = field.split_once('[')?;
    let (index, tail) = rest.split_once(']')?;
    let index: usize = index.parse().ok()?;
    let (rows, columns): (usize, &[&str]) = match table {
        "nodes" => (
            crate::forms::rows(&request.form, "nodes", 0, 0, MAX_NODES),
            &["id", "label", "factor"],
        ),
        "edges" => (
            crate::forms::rows(&request.form, "edges", 0, 0, MAX_EDGES),
            &["from", "to", "label"],
        ),
        _ => return None,
    };
    let row = (0..rows)
        .filter(|r| !blank_row(request, table, *r, columns))
        .nth(index)?;
    Some(format!("{table}[{row}]{tail}"))
}

fn blank_row(request: &PageRequest, table: &str, row: usize, columns: &[&str]) -> bool {
    columns.iter().all(|c| {
        form_field(request, &format!("{table}[{row}].{c}"))
            .trim()
            .is_empty()
    })
}

impl Part for review::SystemsMap {
    const KIND: Kind = Kind::SystemsMaps;
    const FIELD: &'static str = "systems_map";
    fn heading(&self) -> String {
        format!("Map of {} factors", self.nodes.len())
    }
    fn show(&self, ctx: &Context) -> Markup {
        html! {
            div { strong { "Key observation:" } " " (titles(std::slice::from_ref(&self.key_observation), &ctx.key_observations)) }
            div class="answer" {
                figure { (maps::review_map(self)) figcaption { "The map as drawn; the tables beside it say the same." } }
                div {
                    (views::scrolling("Factors", html! { table {
                        caption { "Factors" }
                        thead { tr { th scope="col" { "Id" } th scope="col" { "Factor" } th scope="col" { "Kind" } } }
                        tbody { @for n in &self.nodes { tr {
                            td { (n.id) } td { (n.label) } td { (shown::<review::ContributoryFactor>(n.factor, "")) }
                        } } }
                    } }))
                    (views::scrolling("Links", html! { table {
                        caption { "Links" }
                        thead { tr { th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "How" } } }
                        tbody { @for e in &self.edges { tr { td { (e.from) } td { (e.to) } td { (e.label) } } } }
                    } }))
                    @if !self.considerations.is_empty() {
                        h4 { "Considerations" }
                        ul { @for c in &self.considerations { li { (c) } } }
                    }
                }
            }
        }
    }
    fn form(f: &Form<'_>, ctx: &Context) -> Markup {
        let factors = choices::<review::ContributoryFactor>("");
        html! {
            (f.one("key_observation", "The key observation it maps", &ctx.key_observations, true))
            (views::scrolling("Factors to map", html! { table class="edit" {
                caption { "Factors (leave a row empty to skip it)" }
                thead { tr { th scope="col" { "Id (letters, digits, - or _)" } th scope="col" { "What it is" } th scope="col" { "Kind" } } }
                tbody { @for i in 0..f.rows("nodes", NODE_ROWS, 2, MAX_NODES) { tr {
                    td { (f.cell(&format!("nodes[{i}].id"), &format!("Factor {} id", i + 1))) }
                    td { (f.cell(&format!("nodes[{i}].label"), &format!("Factor {} description", i + 1))) }
                    td { (f.cell_choice(&format!("nodes[{i}].factor"), &format!("Factor {} kind", i + 1), &factors)) }
                } } }
            } }))
            (views::scrolling("Links to map", html! { table class="edit" {
                caption { "Links between factors (by id)" }
                thead { tr { th scope="col" { "From" } th scope="col" { "To" } th scope="col" { "How (optional)" } } }
                tbody { @for i in 0..f.rows("edges", EDGE_ROWS, 2, MAX_EDGES) { tr {
                    td { (f.cell(&format!("edges[{i}].from"), &format!("Link {} from", i + 1))) }
                    td { (f.cell(&format!("edges[{i}].to"), &format!("Link {} to", i + 1))) }
                    td { (f.cell(&format!("edges[{i}].label"), &format!("Link {} how", i + 1))) }
                } } }
            } }))
            (f.area("considerations", "Considerations for the system, one per line", false))
        }
    }
    fn read(p: &mut Posted<'_>, _ctx: &Context) -> Self {
        let mut nodes = Vec::new();
        for i in 0..p.rows("nodes", MAX_NODES) {
            let id = p.text(&format!("nodes[{i}].id"));
            let label = p.text(&format!("nodes[{i}].label"));
            let factor_field = format!("nodes[{i}].factor");
            if id.is_empty() && label.is_empty() && p.text(&factor_field).is_empty() {
                continue;
            }
            let factor = p.one::<review::ContributoryFactor>(&factor_field);
            nodes.push(review::MapNode { id, label, factor });
        }
        let mut edges = Vec::new();
        for i in 0..p.rows("edges", MAX_EDGES) {
            let edge = review::MapEdge {
                from: p.text(&format!("edges[{i}].from")),
                to: p.text(&format!("edges[{i}].to")),
                label: p.text(&format!("edges[{i}].label")),
            };
            if !(edge.from.is_empty() && edge.to.is_empty() && edge.label.is_empty()) {
                edges.push(edge);
            }
        }
        Self {
            key_observation: p.text("key_observation"),
            nodes,
            edges,
            considerations: p.lines("considerations"),
            ..Default::default()
        }
    }
    fn field_of(field: &str, request: &PageRequest) -> String {
        map_row(field, request).unwrap_or_else(|| field.to_owned())
    }
    fn values(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("key_observation".to_owned(), self.key_observation.clone()),
            ("considerations".to_owned(), self.considerations.join("\n")),
        ];
        for (i, n) in self.nodes.iter().enumerate() {
            v.push((format!("nodes[{i}].id"), n.id.clone()));
            v.push((format!("nodes[{i}].label"), n.label.clone()));
            v.push((
                format!("nodes[{i}].factor"),
                label_of::<review::ContributoryFactor>(n.factor),
            ));
        }
        for (i, e) in self.edges.iter().enumerate() {
            v.push((format!("edges[{i}].from"), e.from.clone()));
            v.push((format!("edges[{i}].to"), e.to.clone()));
            v.push((format!("edges[{i}].label"), e.label.clone()));
        }
        v
    }
    fn mask(_ctx: &Context) -> Vec<&'static str> {
        vec!["key_observation", "nodes", "edges", "considerations"]
    }
    part_calls!(
        list_systems_maps,
        ListSystemsMapsRequest,
        systems_maps,
        create_systems_map,
        CreateSystemsMapRequest,
        systems_map,
        delete_systems_map,
        DeleteSystemsMapRequest,
        get_systems_map,
        GetSystemsMapRequest,
        update_systems_map,
        UpdateSystemsMapRequest
    );
}

impl Part for review::LearningOpportunity {
    const KIND: Kind = Kind::LearningOpportunities;
    const FIELD: &'static str = "learning_opportunity";
    fn heading(&self) -> String {
        let need: String = self.family_need.chars().take(60).collect();
        if need.is_empty() {
            "A learning opportunity".to_owned()
        } else {
            need
        }
    }
    fn show(&self, ctx: &Context) -> Markup {
        html! { dl {
            dt { "Need" } dd { (shown::<review::NeedStatus>(self.status, "NEED_")) }
            dt { "Practice function" } dd { (shown::<review::PracticeFunction>(self.practice_function, "FUNCTION_")) }
            dt { "Themes" } dd { (enum_list::<review::Theme>(&self.themes, "")) }
            dt { "Key observations" } dd { (titles(&self.key_observations, &ctx.key_observations)) }
        } }
    }
    /// The seed's two columns: what the family needed, beside what action did
    /// or did not take place.
    fn show_all(items: &[Self], ctx: &Context, actions: &dyn Fn(&Self) -> Markup) -> Markup {
        html! {
            @if !items.is_empty() {
                (views::scrolling("Learning opportunities", html! { table class="two" {
                    caption { "Learning opportunities" }
                    thead { tr {
                        th scope="col" { "What the family needed" }
                        th scope="col" { "What action did or did not take place" }
                        th scope="col" { "About it" }
                    } }
                    tbody { @for lo in items { tr {
                        td { (lo.family_need) }
                        td { (lo.action_taken) }
                        td { (lo.show(ctx)) (advice(lo.findings())) (actions(lo)) }
                    } } }
                } }))
            }
        }
    }
    fn form(f: &Form<'_>, ctx: &Context) -> Markup {
        html! {
            div class="columns" {
                (f.area("family_need", "What the family needed", true))
                (f.area("action_taken", "What action did or did not take place", true))
            }
            (f.one("status", "Was the need met?", &choices::<review::NeedStatus>("NEED_"), true))
            (f.one("practice_function", "Practice function", &choices::<review::PracticeFunction>("FUNCTION_"), false))
            (f.many("themes", "Themes", &choices::<review::Theme>("")))
            (f.many("key_observations", "Key observations it comes from", &ctx.key_observations))
        }
    }
    fn read(p: &mut Posted<'_>, _ctx: &Context) -> Self {
        Self {
            family_need: p.text("family_need"),
            action_taken: p.text("action_taken"),
            status: p.one::<review::NeedStatus>("status"),
            practice_function: p.one::<review::PracticeFunction>("practice_function"),
            themes: p.many::<review::Theme>("themes"),
            key_observations: p.all("key_observations"),
            ..Default::default()
        }
    }
    fn values(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("family_need".to_owned(), self.family_need.clone()),
            ("action_taken".to_owned(), self.action_taken.clone()),
            (
                "status".to_owned(),
                label_of::<review::NeedStatus>(self.status),
            ),
            (
                "practice_function".to_owned(),
                label_of::<review::PracticeFunction>(self.practice_function),
            ),
        ];
        v.extend(pairs::<review::Theme>("themes", &self.themes));
        v.extend(
            self.key_observations
                .iter()
                .map(|k| ("key_observations".to_owned(), k.clone())),
        );
        v
    }
    fn mask(_ctx: &Context) -> Vec<&'static str> {
        vec![
            "family_need",
            "action_taken",
            "status",
            "practice_function",
            "themes",
            "key_observations",
        ]
    }
    part_calls!(
        list_learning_opportunities,
        ListLearningOpportunitiesRequest,
        learning_opportunities,
        create_learning_opportunity,
        CreateLearningOpportunityRequest,
        learning_opportunity,
        delete_learning_opportunity,
        DeleteLearningOpportunityRequest,
        get_learning_opportunity,
        GetLearningOpportunityRequest,
        update_learning_opportunity,
        UpdateLearningOpportunityRequest
    );
}

impl Part for review::Recommendation {
    const KIND: Kind = Kind::Recommendations;
    const FIELD: &'static str = "recommendation";
    fn heading(&self) -> String {
        self.description.chars().take(60).collect()
    }
    fn show(&self, ctx: &Context) -> Markup {
        html! { dl {
            dt { "Recommendation" } dd { (self.description) }
            dt { "Category" } dd { (shown::<review::RecommendationCategory>(self.category, "")) }
            dt { "Owner" } dd { (if self.owner.is_empty() { "–" } else { &self.owner }) }
            dt { "Due" } dd { (date(self.due_date.as_ref())) }
            dt { "Strength" } dd { (shown::<review::ActionStrength>(self.strength, "")) }
            dt { "Status" } dd { (shown::<review::RecommendationStatus>(self.status, "")) }
            dt { "Key observations" } dd { (titles(&self.key_observations, &ctx.key_observations)) }
            dt { "Learning opportunities" } dd { (titles(&self.learning_opportunities, &ctx.learning_opportunities)) }
            dt { "Factors" } dd { (enum_list::<review::ContributoryFactor>(&self.factors, "")) }
        } }
    }
    fn form(f: &Form<'_>, ctx: &Context) -> Markup {
        html! {
            (f.area("description", "What the system should change", true))
            (f.one("category", "Category", &choices::<review::RecommendationCategory>(""), true))
            (f.line("owner", "Owner (a role or a body, never a person's name)", true))
            (f.date("due_date", "Due", true))
            (f.one("strength", "Strength of the action", &choices::<review::ActionStrength>(""), true))
            (f.one("status", "Status", &choices::<review::RecommendationStatus>(""), false))
            (f.many("key_observations", "Key observations it answers", &ctx.key_observations))
            (f.many("learning_opportunities", "Learning opportunities it answers", &ctx.learning_opportunities))
            (f.many("factors", "Contributory factors it addresses", &choices::<review::ContributoryFactor>("")))
        }
    }
    fn read(p: &mut Posted<'_>, _ctx: &Context) -> Self {
        Self {
            description: p.text("description"),
            category: p.one::<review::RecommendationCategory>("category"),
            owner: p.text("owner"),
            due_date: p.date("due_date"),
            strength: p.one::<review::ActionStrength>("strength"),
            status: p.one::<review::RecommendationStatus>("status"),
            key_observations: p.all("key_observations"),
            learning_opportunities: p.all("learning_opportunities"),
            factors: p.many::<review::ContributoryFactor>("factors"),
            ..Default::default()
        }
    }
    fn values(&self) -> Vec<(String, String)> {
        let mut v = vec![
            ("description".to_owned(), self.description.clone()),
            (
                "category".to_owned(),
                label_of::<review::RecommendationCategory>(self.category),
            ),
            ("owner".to_owned(), self.owner.clone()),
            ("due_date".to_owned(), date_value(self.due_date.as_ref())),
            (
                "strength".to_owned(),
                label_of::<review::ActionStrength>(self.strength),
            ),
            (
                "status".to_owned(),
                label_of::<review::RecommendationStatus>(self.status),
            ),
        ];
        v.extend(
            self.key_observations
                .iter()
                .map(|k| ("key_observations".to_owned(), k.clone())),
        );
        v.extend(
            self.learning_opportunities
                .iter()
                .map(|l| ("learning_opportunities".to_owned(), l.clone())),
        );
        v.extend(pairs::<review::ContributoryFactor>(
            "factors",
            &self.factors,
        ));
        v
    }
    fn mask(_ctx: &Context) -> Vec<&'static str> {
        vec![
            "description",
            "category",
            "owner",
            "due_date",
            "strength",
            "status",
            "key_observations",
            "learning_opportunities",
            "factors",
        ]
    }
    part_calls!(
        list_recommendations,
        ListRecommendationsRequest,
        recommendations,
        create_recommendation,
        CreateRecommendationRequest,
        recommendation,
        delete_recommendation,
        DeleteRecommendationRequest,
        get_recommendation,
        GetRecommendationRequest,
        update_recommendation,
        UpdateRecommendationRequest
    );
}

/// Runs `$body` with `$part` naming the type of `$kind`'s parts: the one
/// place a kind meets its type.
macro_rules! with_part {
    ($kind:expr, $part:ident => $body:expr) => {
        match $kind {
            Kind::Episodes => {
                type $part = review::Episode;
                $body
            }
            Kind::Debriefings => {
                type $part = review::Debriefing;
                $body
            }
            Kind::KeyObservations => {
                type $part = review::KeyObservation;
                $body
            }
            Kind::SystemsMaps => {
                type $part = review::SystemsMap;
                $body
            }
            Kind::LearningOpportunities => {
                type $part = review::LearningOpportunity;
                $body
            }
            Kind::Recommendations => {
                type $part = review::Recommendation;
                $body
            }
        }
    };
}

/// Parts as choices: (resource name, heading).
fn as_choices<P: Part>(items: Result<Vec<P>, tonic::Status>) -> Vec<Choice> {
    items
        .unwrap_or_default()
        .iter()
        .map(|p| (p.name().to_owned(), p.heading()))
        .collect()
}

/// What a posted part page shows again: the values sent and what was wrong.
pub(crate) struct Again<'a> {
    pub values: &'a [(String, String)],
    pub problems: Vec<(String, String)>,
}

impl Console {
    /// The context of a review's part pages: what parts link to, and whether
    /// the reader is on the team.
    pub(crate) async fn part_context(
        &self,
        client: &Review,
        session: &Session,
        id: &str,
    ) -> Context {
        let parent = format!("jurisdictions/{}/reviews/{id}", session.jurisdiction);
        let mut team_client = client.clone();
        let (episodes, debriefings, key_observations, learning, team) = tokio::join!(
            review::Episode::list(client.clone(), parent.clone()),
            review::Debriefing::list(client.clone(), parent.clone()),
            review::KeyObservation::list(client.clone(), parent.clone()),
            review::LearningOpportunity::list(client.clone(), parent.clone()),
            team_client.list_team_members(review::ListTeamMembersRequest {
                parent: parent.clone()
            }),
        );
        let on_team = team
            .map(|t| {
                t.into_inner()
                    .members
                    .iter()
                    .any(|m| m.subject == session.subject)
            })
            .unwrap_or(false);
        Context {
            may_note: on_team || session.holds(&[Role::Admin]),
            episodes: as_choices(episodes),
            debriefings: as_choices(debriefings),
            key_observations: as_choices(key_observations),
            learning_opportunities: as_choices(learning),
        }
    }

    /// A kind's page of a review, or the form sent again with its problems.
    pub(crate) async fn parts(
        &self,
        session: &Session,
        id: &str,
        kind: Kind,
        again: Option<Again<'_>>,
    ) -> Page {
        with_part!(kind, P => self.parts_of::<P>(session, id, again).await)
    }

    /// Records a part sent from its page.
    pub(crate) async fn create_part(
        &self,
        session: &Session,
        id: &str,
        kind: Kind,
        request: &PageRequest,
    ) -> Page {
        with_part!(kind, P => self.create_of::<P>(session, id, request).await)
    }

    /// A part's edit form (`request` none), or its update sent from it.
    pub(crate) async fn edit_part(
        &self,
        session: &Session,
        id: &str,
        kind: Kind,
        item: &str,
        request: Option<&PageRequest>,
    ) -> Page {
        with_part!(kind, P => self.edit_of::<P>(session, id, item, request).await)
    }

    async fn edit_of<P: Part>(
        &self,
        session: &Session,
        id: &str,
        item: &str,
        request: Option<&PageRequest>,
    ) -> Page {
        if let Some(refused) = self.refused(session, &REVIEW_PAGES) {
            return refused;
        }
        let Ok(client) = self.peers.review(session) else {
            return self.unavailable();
        };
        let name = format!(
            "jurisdictions/{}/reviews/{id}/{}/{item}",
            session.jurisdiction,
            collection(P::KIND)
        );
        let ctx = self.part_context(&client, session, id).await;
        let Some(request) = request else {
            return match P::get(client, name).await {
                Ok(found) => {
                    let values = found.values();
                    self.edit_page::<P>(session, id, item, found.etag(), &values, &[], &ctx)
                }
                Err(status) => self.failed(&status, session),
            };
        };
        let etag = form_field(request, "etag");
        let mut posted = Posted::new(request);
        let mut part = P::read(&mut posted, &ctx);
        if !posted.errors.is_empty() {
            return self.edit_page::<P>(
                session,
                id,
                item,
                &etag,
                &request.form,
                &posted.errors,
                &ctx,
            );
        }
        part.set_name(name);
        match P::update(client, part, P::mask(&ctx), etag.clone()).await {
            Ok(()) => Page::see_other(&format!("/reviews/{id}/{}", P::KIND.segment())),
            Err(status) => {
                let prefix = format!("{}.", P::FIELD);
                let problems: Vec<(String, String)> = match status.code() {
                    Code::InvalidArgument | Code::FailedPrecondition => violations(&status)
                        .into_iter()
                        .map(|(field, why)| match field.strip_prefix(&prefix) {
                            Some(own) => (P::field_of(own, request), why),
                            None => (field, why),
                        })
                        .collect(),
                    Code::PermissionDenied => vec![(String::new(), status.message().to_owned())],
                    Code::Aborted => vec![(
                        String::new(),
                        "Someone changed it while you were editing; reload it to see the latest before saving again.".to_owned(),
                    )],
                    _ => return self.failed(&status, session),
                };
                self.edit_page::<P>(session, id, item, &etag, &request.form, &problems, &ctx)
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn edit_page<P: Part>(
        &self,
        session: &Session,
        id: &str,
        item: &str,
        etag: &str,
        values: &[(String, String)],
        problems: &[(String, String)],
        ctx: &Context,
    ) -> Page {
        let segment = P::KIND.segment();
        let form = Form::new(values, problems);
        let body = html! {
            (review_nav(id, Tab::Part(P::KIND)))
            p { a href={ "/reviews/" (id) "/" (segment) } { "Back to " (P::KIND.title().to_lowercase()) } }
            (views::problems("Please check the form", problems))
            form class="stack wide" method="post" action={ "/reviews/" (id) "/" (segment) "/" (item) } {
                (csrf(session))
                input type="hidden" name="etag" value=(etag);
                (P::form(&form, ctx))
                div { button type="submit" { "Save changes" } }
            }
        };
        let status = if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        Page::html(
            status,
            page(
                &format!("Edit: {}", P::KIND.title()),
                &self.chrome(Some(session)),
                body,
            ),
        )
    }

    /// Deletes a part.
    pub(crate) async fn delete_part(
        &self,
        session: &Session,
        id: &str,
        kind: Kind,
        item: &str,
        request: &PageRequest,
    ) -> Page {
        if let Some(refused) = self.refused(session, &REVIEW_PAGES) {
            return refused;
        }
        let Ok(client) = self.peers.review(session) else {
            return self.unavailable();
        };
        let name = format!(
            "jurisdictions/{}/reviews/{id}/{}/{item}",
            session.jurisdiction,
            collection(kind)
        );
        let etag = form_field(request, "etag");
        let outcome = with_part!(kind, P => P::delete(client, name, etag).await);
        match outcome {
            Ok(()) => Page::see_other(&format!("/reviews/{id}/{}", kind.segment())),
            Err(status) => self.part_refused(session, id, kind, &status, &[]).await,
        }
    }

    /// A refused change, shown on the kind's page (the values kept), or the
    /// page for a failure.
    async fn part_refused(
        &self,
        session: &Session,
        id: &str,
        kind: Kind,
        status: &tonic::Status,
        values: &[(String, String)],
    ) -> Page {
        let problems = match status.code() {
            Code::InvalidArgument | Code::FailedPrecondition => violations(status),
            Code::PermissionDenied => vec![(String::new(), status.message().to_owned())],
            Code::Aborted => vec![(
                String::new(),
                "Someone changed it while you were reading; this is the latest. Try again if it still applies.".to_owned(),
            )],
            _ => return self.failed(status, session),
        };
        let again = Again { values, problems };
        self.parts(session, id, kind, Some(again)).await
    }

    async fn create_of<P: Part>(&self, session: &Session, id: &str, request: &PageRequest) -> Page {
        if let Some(refused) = self.refused(session, &REVIEW_PAGES) {
            return refused;
        }
        let Ok(client) = self.peers.review(session) else {
            return self.unavailable();
        };
        let ctx = self.part_context(&client, session, id).await;
        let mut posted = Posted::new(request);
        let item = P::read(&mut posted, &ctx);
        if !posted.errors.is_empty() {
            let again = Again {
                values: &request.form,
                problems: posted.errors,
            };
            return self.parts_of::<P>(session, id, Some(again)).await;
        }
        let parent = format!("jurisdictions/{}/reviews/{id}", session.jurisdiction);
        match P::create(client, parent, item).await {
            Ok(()) => Page::see_other(&format!("/reviews/{id}/{}", P::KIND.segment())),
            Err(status) => {
                let prefix = format!("{}.", P::FIELD);
                let mut status_problems = violations(&status);
                for (field, _) in &mut status_problems {
                    if let Some(own) = field.strip_prefix(&prefix) {
                        *field = P::field_of(own, request);
                    }
                }
                if matches!(
                    status.code(),
                    Code::InvalidArgument | Code::FailedPrecondition
                ) {
                    let again = Again {
                        values: &request.form,
                        problems: status_problems,
                    };
                    return self.parts_of::<P>(session, id, Some(again)).await;
                }
                self.part_refused(session, id, P::KIND, &status, &request.form)
                    .await
            }
        }
    }

    async fn parts_of<P: Part>(
        &self,
        session: &Session,
        id: &str,
        again: Option<Again<'_>>,
    ) -> Page {
        if let Some(refused) = self.refused(session, &REVIEW_PAGES) {
            return refused;
        }
        let Ok(client) = self.peers.review(session) else {
            return self.unavailable();
        };
        let name = format!("jurisdictions/{}/reviews/{id}", session.jurisdiction);
        let mut review_client = client.clone();
        let (found, items, ctx) = tokio::join!(
            review_client.get_review(review::GetReviewRequest { name: name.clone() }),
            P::list(client.clone(), name.clone()),
            self.part_context(&client, session, id),
        );
        let r = match found {
            Ok(r) => r.into_inner(),
            Err(status) => return self.failed(&status, session),
        };
        let items = match items {
            Ok(items) => items,
            Err(status) => return self.failed(&status, session),
        };
        let open = r.stage != review::Stage::Finalised as i32
            && r.stage != review::Stage::Withdrawn as i32;
        let may_write = open && session.holds(WRITERS);
        let (values, problems) = match &again {
            Some(a) => (a.values, a.problems.as_slice()),
            None => (&[][..], &[][..]),
        };
        let form = Form::new(values, problems);
        let segment = P::KIND.segment();
        let actions = |item: &P| {
            let item_id = item.name().rsplit('/').next().unwrap_or_default();
            html! {
                @if may_write {
                    a class="edit" href={ "/reviews/" (id) "/" (segment) "/" (item_id) } {
                        "Edit" span class="visually-hidden" { " " (item.heading()) }
                    }
                    " "
                    form class="inline" method="post" action={ "/reviews/" (id) "/" (segment) "/" (item_id) "/delete" } {
                        (csrf(session))
                        input type="hidden" name="etag" value=(item.etag());
                        button type="submit" class="quiet" { "Delete" span class="visually-hidden" { " " (item.heading()) } }
                    }
                }
            }
        };
        let body = html! {
            (review_nav(id, Tab::Part(P::KIND)))
            p { "Stage: " (views::stage(r.stage)) "." }
            (views::problems("Please check the form", problems))
            h2 { "Recorded" }
            @if items.is_empty() { p { "None recorded yet." } }
            @else { (P::show_all(&items, &ctx, &actions)) }
            @if may_write {
                h2 { "Record one more" }
                form class="stack wide" method="post" action={ "/reviews/" (id) "/" (segment) } {
                    (csrf(session))
                    (P::form(&form, &ctx))
                    div { button type="submit" { "Save" } }
                }
            }
        };
        let status = if problems.is_empty() {
            StatusCode::OK
        } else {
            StatusCode::BAD_REQUEST
        };
        Page::html(
            status,
            page(P::KIND.title(), &self.chrome(Some(session)), body),
        )
    }
}

/// The collection id a kind's resource names use.
fn collection(kind: Kind) -> &'static str {
    match kind {
        Kind::Episodes => "episodes",
        Kind::Debriefings => "debriefings",
        Kind::KeyObservations => "keyObservations",
        Kind::SystemsMaps => "systemsMaps",
        Kind::LearningOpportunities => "learningOpportunities",
        Kind::Recommendations => "recommendations",
    }
}

/// Which of a review's pages is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tab {
    Overview,
    Part(Kind),
    Ssit,
}

/// The links between a review's pages; `current` is marked.
pub(crate) fn review_nav(id: &str, current: Tab) -> Markup {
    let mark = |tab: Tab| (current == tab).then_some("page");
    html! {
        nav class="review-nav" aria-label="This review" {
            ul {
                li { a href={ "/reviews/" (id) } aria-current=[mark(Tab::Overview)] { "Overview" } }
                @for kind in Kind::ALL {
                    li { a href={ "/reviews/" (id) "/" (kind.segment()) }
                        aria-current=[mark(Tab::Part(kind))] { (kind.title()) } }
                }
                li { a href={ "/reviews/" (id) "/ssit" } aria-current=[mark(Tab::Ssit)] { "SSIT scoring" } }
            }
        }
    }
}
