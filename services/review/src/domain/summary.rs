//! Summaries: a Markdown document rendered from a review, with people referred to
//! by role, and the check that no identity the system holds appears in it.

use std::fmt::Write as _;

use chrono::{Datelike, NaiveDate};
use regex::Regex;
use scir_proto::Labelled;
use scir_proto::review::v1 as pb;

/// One narrative field that goes into a summary, with where it comes from.
#[derive(Debug, Clone)]
pub struct Field {
    /// Resource name and field, e.g. `.../episodes/e1#what_happened`.
    pub source: String,
    /// The text.
    pub text: String,
}

/// A section of the summary: a heading and its entries, each a list of fields
/// rendered as lines.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// Heading.
    pub heading: String,
    /// Entries: (title line, detail lines).
    pub entries: Vec<(Field, Vec<Field>)>,
}

/// What a summary holds.
#[derive(Debug, Clone, Default)]
pub struct SummaryInput {
    /// Title, e.g. "90-day summary".
    pub title: String,
    /// Facts a public summary may hold, as label and value (codes in words).
    pub facts: Vec<(String, String)>,
    /// Sections in order.
    pub sections: Vec<Section>,
}

/// A code's name in words (`SCREENED_OUT` -> "screened out").
pub fn words(name: &str) -> String {
    name.to_lowercase().replace('_', " ")
}

/// An enum field's value in words, "not recorded" when it is not a value.
pub fn enum_words<T: TryFrom<i32>>(value: i32, name: fn(&T) -> &'static str) -> String {
    T::try_from(value)
        .map(|v| words(name(&v)))
        .unwrap_or_else(|_| "not recorded".to_owned())
}

/// A field from `source`.
pub fn field(source: String, text: String) -> Field {
    Field { source, text }
}

fn month_of(date: Option<&scir_proto::common::v1::Date>) -> String {
    date.and_then(scir_kit::validate::to_date)
        .map(|d| d.format("%B %Y").to_string())
        .unwrap_or_default()
}

/// A part of a review as a summary entry: its title line and detail lines,
/// each naming the field it comes from (`{source}#field`).
pub trait SummaryEntry {
    /// The entry of the part whose resource name is `source`.
    fn entry(&self, source: &str) -> (Field, Vec<Field>);
}

impl SummaryEntry for pb::Debriefing {
    fn entry(&self, source: &str) -> (Field, Vec<Field>) {
        let when = month_of(self.date.as_ref());
        (
            field(
                format!("{source}#participant_roles"),
                format!(
                    "Debriefing ({when}) with: {}",
                    self.participant_roles.join(", ")
                ),
            ),
            vec![field(
                format!("{source}#decision_context"),
                self.decision_context.clone(),
            )],
        )
    }
}

impl SummaryEntry for pb::Episode {
    fn entry(&self, source: &str) -> (Field, Vec<Field>) {
        let assessment = enum_words::<pb::Assessment>(self.assessment, |v| v.label());
        (
            field(
                format!("{source}#title"),
                format!("{} ({assessment} practice)", self.title),
            ),
            vec![field(
                format!("{source}#what_happened"),
                self.what_happened.clone(),
            )],
        )
    }
}

impl SummaryEntry for pb::KeyObservation {
    fn entry(&self, source: &str) -> (Field, Vec<Field>) {
        (
            field(format!("{source}#title"), self.title.clone()),
            vec![field(
                format!("{source}#description"),
                self.description.clone(),
            )],
        )
    }
}

impl SummaryEntry for pb::LearningOpportunity {
    fn entry(&self, source: &str) -> (Field, Vec<Field>) {
        let status = enum_words::<pb::NeedStatus>(self.status, |v| v.label());
        (
            field(
                format!("{source}#family_need"),
                format!("What the family needed: {}", self.family_need),
            ),
            vec![
                field(
                    format!("{source}#action_taken"),
                    format!(
                        "What action did or did not take place: {}",
                        self.action_taken
                    ),
                ),
                field(format!("{source}#status"), format!("Status: {status}")),
            ],
        )
    }
}

impl SummaryEntry for pb::Recommendation {
    fn entry(&self, source: &str) -> (Field, Vec<Field>) {
        let due = self
            .due_date
            .as_ref()
            .and_then(scir_kit::validate::to_date)
            .map_or_else(|| "not set".to_owned(), |d| d.to_string());
        let detail = format!(
            "Category: {}. Strength: {}. Status: {}. Due: {due}.",
            enum_words::<pb::RecommendationCategory>(self.category, |v| v.label()),
            enum_words::<pb::ActionStrength>(self.strength, |v| v.label()),
            enum_words::<pb::RecommendationStatus>(self.status, |v| v.label()),
        );
        (
            field(format!("{source}#description"), self.description.clone()),
            vec![
                field(format!("{source}#owner"), format!("Owner: {}", self.owner)),
                field(format!("{source}#status"), detail),
            ],
        )
    }
}

/// Identities the system holds for an incident and its review.
#[derive(Debug, Clone, Default)]
pub struct Identities {
    /// People's names (child, caregivers, team members' subjects).
    pub names: Vec<(&'static str, String)>,
    /// Birth dates.
    pub birth_dates: Vec<(&'static str, NaiveDate)>,
    /// Case and record numbers.
    pub case_numbers: Vec<(&'static str, String)>,
}

/// Which identity fields appear in `text` (their field names, never the values).
pub fn identities_in(text: &str, identities: &Identities) -> Vec<&'static str> {
    let mut hits = Vec::new();
    let lower = text.to_lowercase();
    for (field, name) in &identities.names {
        // A full name, or any part of it of three letters or more, as a word.
        let parts = std::iter::once(name.as_str())
            .chain(name.split_whitespace().filter(|p| p.chars().count() >= 3));
        let found = parts.into_iter().any(|part| {
            let pattern = format!(r"(?i)\b{}\b", regex::escape(part.trim()));
            !part.trim().is_empty() && Regex::new(&pattern).is_ok_and(|r| r.is_match(text))
        });
        if found && !hits.contains(field) {
            hits.push(*field);
        }
    }
    for (field, date) in &identities.birth_dates {
        let forms = [
            date.format("%Y-%m-%d").to_string(),
            date.format("%m/%d/%Y").to_string(),
            format!("{}/{}/{}", date.month(), date.day(), date.year()),
            date.format("%B %-d, %Y").to_string().to_lowercase(),
            date.format("%-d %B %Y").to_string().to_lowercase(),
        ];
        if forms.iter().any(|f| lower.contains(f.as_str())) && !hits.contains(field) {
            hits.push(*field);
        }
    }
    for (field, number) in &identities.case_numbers {
        if !number.trim().is_empty()
            && lower.contains(&number.trim().to_lowercase())
            && !hits.contains(field)
        {
            hits.push(*field);
        }
    }
    hits
}

/// Every field of the summary, for the identity check.
pub fn fields(input: &SummaryInput) -> impl Iterator<Item = &Field> {
    input.sections.iter().flat_map(|s| {
        s.entries
            .iter()
            .flat_map(|(title, details)| std::iter::once(title).chain(details))
    })
}

/// Renders the summary as Markdown.
pub fn render(input: &SummaryInput) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", input.title);
    let _ = writeln!(
        out,
        "People are referred to by their role. This summary holds no names, birth dates or case numbers.\n"
    );
    let _ = writeln!(out, "## The incident\n");
    for (label, value) in &input.facts {
        let _ = writeln!(out, "- **{label}:** {value}");
    }
    for section in &input.sections {
        let _ = writeln!(out, "\n## {}\n", section.heading);
        if section.entries.is_empty() {
            let _ = writeln!(out, "None recorded.");
        }
        for (title, details) in &section.entries {
            let _ = writeln!(out, "### {}\n", title.text.trim());
            for d in details {
                let _ = writeln!(out, "{}\n", d.text.trim());
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parts_become_entries_in_words_naming_their_sources() {
        let learning = pb::LearningOpportunity {
            family_need: "a safe sleep assessment".into(),
            action_taken: "no home visit was made".into(),
            status: pb::NeedStatus::Unmet as i32,
            ..Default::default()
        };
        let (title, details) = learning.entry("r/learningOpportunities/l1");
        assert_eq!(title.source, "r/learningOpportunities/l1#family_need");
        assert_eq!(
            title.text,
            "What the family needed: a safe sleep assessment"
        );
        assert_eq!(
            details.iter().map(|d| d.text.as_str()).collect::<Vec<_>>(),
            [
                "What action did or did not take place: no home visit was made",
                "Status: need unmet"
            ]
        );
        let recommendation = pb::Recommendation {
            description: "d".into(),
            owner: "o".into(),
            category: 999,
            ..Default::default()
        };
        let (_, details) = recommendation.entry("r/recommendations/x");
        assert!(
            details[1].text.starts_with("Category: not recorded.")
                && details[1].text.ends_with("Due: not set."),
            "{}",
            details[1].text
        );
    }

    fn ids() -> Identities {
        Identities {
            names: vec![("child_name", "Zyxwa Quonset-Testchild".into())],
            birth_dates: vec![("birth_date", "2024-11-02".parse().expect("date"))],
            case_numbers: vec![("case_numbers", "CASE-ZZ-998877".into())],
        }
    }

    #[test]
    fn any_part_of_a_name_or_any_form_of_a_date_is_found() {
        assert_eq!(
            identities_in("We spoke about zyxwa.", &ids()),
            ["child_name"]
        );
        assert_eq!(
            identities_in("Born November 2, 2024.", &ids()),
            ["birth_date"]
        );
        assert_eq!(identities_in("Born 11/02/2024.", &ids()), ["birth_date"]);
        assert_eq!(
            identities_in("see case-zz-998877", &ids()),
            ["case_numbers"]
        );
        assert!(
            identities_in(
                "The mother and the caseworker met in November 2024.",
                &ids()
            )
            .is_empty()
        );
    }

    #[test]
    fn the_document_lists_facts_and_sections() {
        let input = SummaryInput {
            title: "90-day summary".into(),
            facts: vec![("Incident".into(), "death".into())],
            sections: vec![Section {
                heading: "Findings".into(),
                entries: vec![(
                    Field {
                        source: "k#title".into(),
                        text: "Coordination".into(),
                    },
                    vec![],
                )],
            }],
        };
        let md = render(&input);
        assert!(md.starts_with("# 90-day summary"));
        assert!(md.contains("- **Incident:** death"));
        assert!(md.contains("### Coordination"));
    }
}
