//! The parts of a review (episodes, debriefings, key observations, systems maps,
//! learning opportunities, recommendations) share one lifecycle: create, get,
//! list, update with an etag, delete. [`Item`] says what differs per kind.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDate;
use prost::Message;
use prost_types::Timestamp;
use scir_kit::events;
use scir_kit::validate::Check;
use scir_proto::review::v1 as pb;

/// What validation of a part can see of its review.
#[derive(Debug)]
pub struct ItemContext<'a> {
    /// The review's resource name.
    pub review: &'a str,
    /// The period under review.
    pub period: (NaiveDate, NaiveDate),
    /// Today.
    pub today: NaiveDate,
    /// Names of the review's parts, by collection, for the kinds in `Item::LINKED`.
    pub existing: &'a HashMap<&'static str, HashSet<String>>,
}

impl ItemContext<'_> {
    fn links(&self, c: &mut Check<'_>, field: &str, collection: &'static str, names: &[String]) {
        let known = self.existing.get(collection);
        for (i, name) in names.iter().enumerate() {
            if !known.is_some_and(|k| k.contains(name)) {
                c.bad(
                    &format!("{field}[{i}]"),
                    format!("is not one of this review's {collection}"),
                );
            }
            if names[..i].contains(name) {
                c.bad(&format!("{field}[{i}]"), "is repeated");
            }
        }
    }
}

/// The output-only fields every part carries.
#[derive(Debug)]
pub struct Meta<'a> {
    /// Resource name.
    pub name: &'a mut String,
    /// Etag.
    pub etag: &'a mut String,
    /// Creation time.
    pub create_time: &'a mut Option<Timestamp>,
    /// Update time.
    pub update_time: &'a mut Option<Timestamp>,
    /// Language findings.
    pub findings: &'a mut Vec<pb::LanguageFinding>,
}

/// An event body: the message, typed by its own full name.
pub type EventBody = prost_types::Any;

/// One kind of review part.
pub trait Item: Message + Default + Clone + Send + Sync + 'static {
    /// Collection id in resource names, e.g. `episodes`.
    const COLLECTION: &'static str;
    /// Field of the create/update request holding the part, e.g. `episode`.
    const FIELD: &'static str;
    /// Top-level fields an update mask may name.
    const FIELDS: &'static [&'static str];
    /// Collections whose names the part may link to.
    const LINKED: &'static [&'static str] = &[];
    /// The fields that may still change once the review is finalised.
    const WRITABLE_WHEN_FINAL: &'static [&'static str] = &[];

    /// The output-only fields.
    fn meta(&mut self) -> Meta<'_>;
    /// Copies field `path` from `source`; whether the value changed.
    fn apply_field(&mut self, path: &str, source: &Self) -> bool;
    /// Records every bad field.
    fn validate(&self, ctx: &ItemContext<'_>, c: &mut Check<'_>);
    /// Narrative fields, for the language check and summaries.
    fn narrative(&self) -> Vec<(&'static str, String)>;
    /// Takes restricted content out of the part, encoded.
    fn take_restricted(&mut self) -> Option<Vec<u8>> {
        None
    }
    /// Puts restricted content back.
    fn put_restricted(&mut self, _bytes: &[u8]) {}
    /// The event published when the part changes, if any.
    fn event(&self, _review: &str, _name: &str, _deleted: bool) -> Option<EventBody> {
        None
    }
    /// Clears every output-only field.
    fn clear_output(&mut self) {
        let m = self.meta();
        m.name.clear();
        m.etag.clear();
        *m.create_time = None;
        *m.update_time = None;
        m.findings.clear();
    }
}

macro_rules! fields {
    ($ty:ty; $($field:ident),* $(,)?) => {
        const FIELDS: &'static [&'static str] = &[$(stringify!($field)),*];

        fn meta(&mut self) -> Meta<'_> {
            Meta {
                name: &mut self.name,
                etag: &mut self.etag,
                create_time: &mut self.create_time,
                update_time: &mut self.update_time,
                findings: &mut self.language_findings,
            }
        }

        fn apply_field(&mut self, path: &str, source: &Self) -> bool {
            match path {
                $(stringify!($field) => {
                    let changed = self.$field != source.$field;
                    self.$field = source.$field.clone();
                    changed
                })*
                _ => false,
            }
        }
    };
}

/// Longest title.
const MAX_TITLE: usize = 200;
/// Longest narrative.
const MAX_NARRATIVE: usize = 10_000;

fn period_date(
    c: &mut Check<'_>,
    ctx: &ItemContext<'_>,
    field: &str,
    date: Option<&scir_proto::common::v1::Date>,
) -> Option<NaiveDate> {
    let d = c.date(field, date, true)?;
    if d < ctx.period.0 || d > ctx.period.1 {
        c.bad(
            field,
            format!(
                "must be within the period under review ({} to {})",
                ctx.period.0, ctx.period.1
            ),
        );
    }
    Some(d)
}

impl Item for pb::Episode {
    const COLLECTION: &'static str = "episodes";
    const FIELD: &'static str = "episode";
    fields!(pb::Episode; start_date, end_date, title, what_happened, assessment, source_documents, contributory_factors);

    fn validate(&self, ctx: &ItemContext<'_>, c: &mut Check<'_>) {
        let start = period_date(c, ctx, "start_date", self.start_date.as_ref());
        let end = period_date(c, ctx, "end_date", self.end_date.as_ref());
        if let (Some(s), Some(e)) = (start, end)
            && e < s
        {
            c.bad("end_date", "must not be before start_date");
        }
        c.text("title", &self.title, MAX_TITLE, true);
        c.text("what_happened", &self.what_happened, MAX_NARRATIVE, true);
        c.required_enum::<pb::Assessment>("assessment", self.assessment);
        c.text_list("source_documents", &self.source_documents, 50, MAX_TITLE);
        c.enum_list::<pb::ContributoryFactor>("contributory_factors", &self.contributory_factors);
    }

    fn narrative(&self) -> Vec<(&'static str, String)> {
        vec![
            ("title", self.title.clone()),
            ("what_happened", self.what_happened.clone()),
        ]
    }
}

impl Item for pb::Debriefing {
    const COLLECTION: &'static str = "debriefings";
    const FIELD: &'static str = "debriefing";
    fields!(pb::Debriefing; date, participant_roles, decision_context, notes);

    fn validate(&self, ctx: &ItemContext<'_>, c: &mut Check<'_>) {
        let date = c.date("date", self.date.as_ref(), true);
        c.not_future("date", date, ctx.today);
        if self.participant_roles.is_empty() {
            c.bad("participant_roles", "needs at least one role");
        }
        c.text_list("participant_roles", &self.participant_roles, 50, 100);
        c.text(
            "decision_context",
            &self.decision_context,
            MAX_NARRATIVE,
            false,
        );
        c.text("notes", &self.notes, 20_000, false);
    }

    fn narrative(&self) -> Vec<(&'static str, String)> {
        // The notes are restricted and never go into a summary; the check still
        // reads them for blaming language.
        vec![
            ("decision_context", self.decision_context.clone()),
            ("notes", self.notes.clone()),
        ]
    }

    fn take_restricted(&mut self) -> Option<Vec<u8>> {
        let notes = std::mem::take(&mut self.notes);
        (!notes.is_empty()).then(|| notes.into_bytes())
    }

    fn put_restricted(&mut self, bytes: &[u8]) {
        self.notes = String::from_utf8_lossy(bytes).into_owned();
    }
}

impl Item for pb::KeyObservation {
    const COLLECTION: &'static str = "keyObservations";
    const FIELD: &'static str = "key_observation";
    const LINKED: &'static [&'static str] = &["episodes", "debriefings"];
    fields!(pb::KeyObservation; title, description, episodes, debriefings, contributory_factors, themes);

    fn validate(&self, ctx: &ItemContext<'_>, c: &mut Check<'_>) {
        c.text("title", &self.title, MAX_TITLE, true);
        c.text("description", &self.description, MAX_NARRATIVE, true);
        ctx.links(c, "episodes", "episodes", &self.episodes);
        ctx.links(c, "debriefings", "debriefings", &self.debriefings);
        c.enum_list::<pb::ContributoryFactor>("contributory_factors", &self.contributory_factors);
        c.enum_list::<pb::Theme>("themes", &self.themes);
    }

    fn narrative(&self) -> Vec<(&'static str, String)> {
        vec![
            ("title", self.title.clone()),
            ("description", self.description.clone()),
        ]
    }

    fn event(&self, review: &str, name: &str, deleted: bool) -> Option<EventBody> {
        let e = pb::KeyObservationChanged {
            review: review.to_owned(),
            key_observation: name.to_owned(),
            deleted,
            contributory_factors: self.contributory_factors.clone(),
            themes: self.themes.clone(),
        };
        Some(events::payload(&e))
    }
}

impl Item for pb::SystemsMap {
    const COLLECTION: &'static str = "systemsMaps";
    const FIELD: &'static str = "systems_map";
    const LINKED: &'static [&'static str] = &["keyObservations"];
    fields!(pb::SystemsMap; key_observation, nodes, edges, considerations);

    fn validate(&self, ctx: &ItemContext<'_>, c: &mut Check<'_>) {
        if self.key_observation.is_empty() {
            c.bad("key_observation", "is required");
        } else {
            ctx.links(
                c,
                "key_observation",
                "keyObservations",
                std::slice::from_ref(&self.key_observation),
            );
        }
        if self.nodes.is_empty() || self.nodes.len() > 200 {
            c.bad("nodes", "needs 1 to 200 nodes");
        }
        let mut ids = HashSet::new();
        for (i, node) in self.nodes.iter().enumerate() {
            let valid = !node.id.is_empty()
                && node.id.len() <= 64
                && node
                    .id
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_' || ch == '-');
            if !valid {
                c.bad(
                    &format!("nodes[{i}].id"),
                    "must be 1 to 64 characters of A-Z a-z 0-9 _ -",
                );
            } else if !ids.insert(node.id.as_str()) {
                c.bad(&format!("nodes[{i}].id"), "is repeated");
            }
            c.text(&format!("nodes[{i}].label"), &node.label, MAX_TITLE, true);
            c.known_enum::<pb::ContributoryFactor>(&format!("nodes[{i}].factor"), node.factor);
        }
        if self.edges.len() > 1000 {
            c.bad("edges", "must have at most 1000 entries");
        }
        for (i, edge) in self.edges.iter().enumerate() {
            for (end, id) in [("from", &edge.from), ("to", &edge.to)] {
                if !ids.contains(id.as_str()) {
                    c.bad(&format!("edges[{i}].{end}"), "is not a node of this map");
                }
            }
            c.text(&format!("edges[{i}].label"), &edge.label, MAX_TITLE, false);
        }
        c.text_list("considerations", &self.considerations, 50, 2000);
    }

    fn narrative(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<_> = self
            .nodes
            .iter()
            .map(|n| ("nodes.label", n.label.clone()))
            .collect();
        out.extend(
            self.considerations
                .iter()
                .map(|c| ("considerations", c.clone())),
        );
        out
    }
}

impl Item for pb::LearningOpportunity {
    const COLLECTION: &'static str = "learningOpportunities";
    const FIELD: &'static str = "learning_opportunity";
    const LINKED: &'static [&'static str] = &["keyObservations"];
    fields!(pb::LearningOpportunity; family_need, action_taken, status, practice_function, themes, key_observations);

    fn validate(&self, ctx: &ItemContext<'_>, c: &mut Check<'_>) {
        c.text("family_need", &self.family_need, 5000, false);
        c.text("action_taken", &self.action_taken, 5000, false);
        c.known_enum::<pb::NeedStatus>("status", self.status);
        c.known_enum::<pb::PracticeFunction>("practice_function", self.practice_function);
        c.enum_list::<pb::Theme>("themes", &self.themes);
        ctx.links(
            c,
            "key_observations",
            "keyObservations",
            &self.key_observations,
        );
    }

    fn narrative(&self) -> Vec<(&'static str, String)> {
        vec![
            ("family_need", self.family_need.clone()),
            ("action_taken", self.action_taken.clone()),
        ]
    }

    fn event(&self, review: &str, name: &str, deleted: bool) -> Option<EventBody> {
        let e = pb::LearningOpportunityRecorded {
            review: review.to_owned(),
            learning_opportunity: name.to_owned(),
            deleted,
            status: self.status,
            practice_function: self.practice_function,
            themes: self.themes.clone(),
        };
        Some(events::payload(&e))
    }
}

impl Item for pb::Recommendation {
    const COLLECTION: &'static str = "recommendations";
    const FIELD: &'static str = "recommendation";
    const LINKED: &'static [&'static str] = &["keyObservations", "learningOpportunities"];
    const WRITABLE_WHEN_FINAL: &'static [&'static str] = &[
        "status",
        "done_date",
        "check_date",
        "effectiveness",
        "evidence",
    ];
    fields!(pb::Recommendation; description, category, owner, due_date, status, done_date, strength, key_observations, learning_opportunities, factors, check_date, effectiveness, evidence);

    fn validate(&self, ctx: &ItemContext<'_>, c: &mut Check<'_>) {
        c.text("description", &self.description, 5000, true);
        c.known_enum::<pb::RecommendationCategory>("category", self.category);
        c.text("owner", &self.owner, MAX_TITLE, false);
        c.date("due_date", self.due_date.as_ref(), false);
        let status = c.known_enum::<pb::RecommendationStatus>("status", self.status);
        let done = c.date("done_date", self.done_date.as_ref(), false);
        c.not_future("done_date", done, ctx.today);
        if done.is_some() && status != Some(pb::RecommendationStatus::Implemented) {
            c.bad("done_date", "is only given when the status is IMPLEMENTED");
        }
        c.effect(
            status == Some(pb::RecommendationStatus::Implemented),
            done,
            self.check_date.as_ref(),
            self.effectiveness,
            &self.evidence,
            ctx.today,
        );
        c.known_enum::<pb::ActionStrength>("strength", self.strength);
        ctx.links(
            c,
            "key_observations",
            "keyObservations",
            &self.key_observations,
        );
        ctx.links(
            c,
            "learning_opportunities",
            "learningOpportunities",
            &self.learning_opportunities,
        );
        c.enum_list::<pb::ContributoryFactor>("factors", &self.factors);
    }

    fn narrative(&self) -> Vec<(&'static str, String)> {
        vec![
            ("description", self.description.clone()),
            ("owner", self.owner.clone()),
        ]
    }

    fn event(&self, review: &str, name: &str, deleted: bool) -> Option<EventBody> {
        let e = pb::RecommendationChanged {
            review: review.to_owned(),
            recommendation: name.to_owned(),
            deleted,
            category: self.category,
            strength: self.strength,
            status: self.status,
            due_date: self.due_date,
            done_date: self.done_date,
            effectiveness: self.effectiveness,
        };
        Some(events::payload(&e))
    }
}

/// Fields a learning opportunity lacks to leave its stage.
pub fn learning_opportunity_gaps(lo: &pb::LearningOpportunity) -> Vec<&'static str> {
    let mut gaps = Vec::new();
    if lo.family_need.trim().is_empty() {
        gaps.push("family_need");
    }
    if lo.action_taken.trim().is_empty() {
        gaps.push("action_taken");
    }
    if lo.status == 0 {
        gaps.push("status");
    }
    gaps
}

/// Fields a recommendation lacks to finalise the review.
pub fn recommendation_gaps(r: &pb::Recommendation) -> Vec<&'static str> {
    let mut gaps = Vec::new();
    if r.category == 0 {
        gaps.push("category");
    }
    if r.owner.trim().is_empty() {
        gaps.push("owner");
    }
    if r.due_date.is_none() {
        gaps.push("due_date");
    }
    if r.strength == 0 {
        gaps.push("strength");
    }
    gaps
}
