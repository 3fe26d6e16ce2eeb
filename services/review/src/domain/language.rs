//! The language check: blaming and hindsight words, and text that looks like a
//! person's name or a case number. Findings are advisory.

use regex::Regex;
use scir_proto::review::v1::FindingCategory;
use serde::Deserialize;

/// The shipped term list.
pub const SHIPPED_TERMS: &str = include_str!("../../language.toml");

/// A finding in one text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    /// Start, in characters.
    pub start: usize,
    /// End (exclusive), in characters.
    pub end: usize,
    /// The text found.
    pub text: String,
    /// What it is.
    pub category: FindingCategory,
    /// What to write instead.
    pub suggestion: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TermFile {
    terms: Vec<Term>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Term {
    phrase: String,
    category: TermCategory,
    suggestion: String,
}

#[derive(Deserialize, Clone, Copy)]
#[serde(rename_all = "snake_case")]
enum TermCategory {
    Blaming,
    Hindsight,
}

/// Words that start with a capital letter but are not names: roles, agencies,
/// places of work, days and months, and words that often open a sentence.
const NOT_NAMES: &[&str] = &[
    "the",
    "a",
    "an",
    "and",
    "or",
    "of",
    "in",
    "on",
    "at",
    "to",
    "for",
    "with",
    "by",
    "from",
    "after",
    "before",
    "during",
    "when",
    "while",
    "then",
    "this",
    "that",
    "these",
    "those",
    "there",
    "it",
    "its",
    "he",
    "she",
    "they",
    "his",
    "her",
    "their",
    "we",
    "our",
    "no",
    "not",
    "cps",
    "child",
    "children",
    "protective",
    "services",
    "service",
    "county",
    "state",
    "department",
    "division",
    "bureau",
    "office",
    "agency",
    "police",
    "sheriff",
    "court",
    "judge",
    "hospital",
    "clinic",
    "school",
    "health",
    "human",
    "family",
    "families",
    "social",
    "worker",
    "caseworker",
    "supervisor",
    "manager",
    "director",
    "mother",
    "father",
    "parent",
    "parents",
    "grandmother",
    "grandfather",
    "caregiver",
    "infant",
    "baby",
    "physician",
    "nurse",
    "doctor",
    "therapist",
    "safety",
    "plan",
    "assessment",
    "investigation",
    "report",
    "referral",
    "case",
    "review",
    "team",
    "home",
    "foster",
    "care",
    "medicaid",
    "wic",
    "snap",
    "tanf",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "dcf",
    "dcs",
    "dhs",
    "scr",
    "ssit",
    "npcs",
    "emergency",
    "department's",
    "unit",
    "program",
    "center",
    "centre",
    "intake",
    "ongoing",
    "initial",
    "access",
];

/// A compiled checker.
#[derive(Debug, Clone)]
pub struct LanguageChecker {
    terms: Vec<(Regex, FindingCategory, String)>,
    titled_name: Regex,
    capitalised_run: Regex,
    case_number: Regex,
}

impl LanguageChecker {
    /// A checker from a term file's text; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> anyhow::Result<Self> {
        let parsed: TermFile = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let line = text[..offset.min(text.len())].matches('\n').count() + 1;
            anyhow::anyhow!("{file}:{line}: {}", e.message().trim())
        })?;
        let mut terms = Vec::new();
        for term in parsed.terms {
            let phrase = term.phrase.trim();
            if phrase.is_empty() {
                anyhow::bail!("{file}: a term has an empty phrase");
            }
            let words: Vec<_> = phrase.split_whitespace().map(regex::escape).collect();
            let pattern = format!(r"(?i)\b{}\b", words.join(r"\s+"));
            let category = match term.category {
                TermCategory::Blaming => FindingCategory::BlamingLanguage,
                TermCategory::Hindsight => FindingCategory::HindsightLanguage,
            };
            terms.push((Regex::new(&pattern)?, category, term.suggestion));
        }
        Ok(Self {
            terms,
            titled_name: Regex::new(r"\b(?:Mr|Mrs|Ms|Miss|Mx|Dr)\.?\s+[A-Z][\p{L}'-]+")?,
            capitalised_run: Regex::new(r"\b[A-Z][\p{Ll}'-]+(?:\s+[A-Z][\p{Ll}'-]+)+\b")?,
            case_number: Regex::new(
                r"(?i)\b(?:[A-Z]{1,6}[-#]?\d{4,}(?:-\d+)*|\d{6,}|case\s*(?:no\.?|number|#)\s*[A-Z0-9-]+)\b",
            )?,
        })
    }

    /// The shipped checker.
    pub fn shipped() -> anyhow::Result<Self> {
        Self::parse("language.toml", SHIPPED_TERMS)
    }

    /// Findings in `text`, in order of position.
    pub fn check(&self, text: &str) -> Vec<Finding> {
        let mut findings = Vec::new();
        let mut push = |start: usize, end: usize, category, suggestion: &str| {
            findings.push(Finding {
                start: text[..start].chars().count(),
                end: text[..end].chars().count(),
                text: text[start..end].to_owned(),
                category,
                suggestion: suggestion.to_owned(),
            });
        };
        for (regex, category, suggestion) in &self.terms {
            for m in regex.find_iter(text) {
                push(m.start(), m.end(), *category, suggestion);
            }
        }
        let by_role = "refer to people by role (mother, caseworker, physician), never by name";
        let mut names: Vec<(usize, usize)> = self
            .titled_name
            .find_iter(text)
            .map(|m| (m.start(), m.end()))
            .collect();
        for m in self.capitalised_run.find_iter(text) {
            let words: Vec<&str> = m.as_str().split_whitespace().collect();
            let unknown = words
                .iter()
                .filter(|w| !NOT_NAMES.contains(&w.trim_end_matches("'s").to_lowercase().as_str()))
                .count();
            // Two unfamiliar capitalised words in a row read like a full name.
            if unknown >= 2 && !names.iter().any(|(s, e)| m.start() < *e && *s < m.end()) {
                names.push((m.start(), m.end()));
            }
        }
        for (start, end) in names {
            push(start, end, FindingCategory::PossibleName, by_role);
        }
        for m in self.case_number.find_iter(text) {
            // Dates are not case numbers.
            if m.as_str().chars().all(|c| c.is_ascii_digit())
                && m.as_str().len() == 8
                && m.as_str().starts_with("20")
            {
                continue;
            }
            push(
                m.start(),
                m.end(),
                FindingCategory::PossibleCaseNumber,
                "leave case and record numbers out of review text",
            );
        }
        findings.sort_by_key(|f| (f.start, f.end));
        findings
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn categories(text: &str) -> Vec<(String, FindingCategory)> {
        LanguageChecker::shipped()
            .expect("shipped")
            .check(text)
            .into_iter()
            .map(|f| (f.text, f.category))
            .collect()
    }

    #[test]
    fn blaming_and_hindsight_language_is_found_with_its_span() {
        let text = "The caseworker failed to visit; it was a Mistake and she Should  have known.";
        let checker = LanguageChecker::shipped().expect("shipped");
        let found = checker.check(text);
        let kinds: Vec<_> = found
            .iter()
            .map(|f| (f.text.as_str(), f.category))
            .collect();
        assert_eq!(
            kinds,
            [
                ("failed to", FindingCategory::HindsightLanguage),
                ("Mistake", FindingCategory::BlamingLanguage),
                ("Should  have", FindingCategory::HindsightLanguage),
            ]
        );
        assert_eq!(
            text.chars()
                .skip(found[0].start)
                .take(found[0].end - found[0].start)
                .collect::<String>(),
            "failed to"
        );
        assert!(!found[0].suggestion.is_empty());
    }

    #[test]
    fn neutral_text_is_left_alone() {
        let text = "The caseworker visited the home in March. The mother described the infant's sleep \
                    arrangements and the Dane County Department of Human Services offered a pack and play. \
                    The supervisor and the caseworker discussed the safety plan on 2024-12-02.";
        assert_eq!(categories(text), []);
    }

    #[test]
    fn names_and_case_numbers_are_flagged() {
        let found = categories(
            "Mr. Smith spoke with Jordan Applewhite about case no. 2024-77 and record CPS-889912.",
        );
        let kinds: Vec<_> = found.iter().map(|(_, c)| *c).collect();
        assert_eq!(
            kinds,
            [
                FindingCategory::PossibleName,
                FindingCategory::PossibleName,
                FindingCategory::PossibleCaseNumber,
                FindingCategory::PossibleCaseNumber,
            ],
            "{found:?}"
        );
    }

    #[test]
    fn words_inside_other_words_do_not_match() {
        assert_eq!(
            categories("The terror of the night; a mistaken-identity film; terrors."),
            []
        );
    }

    #[test]
    fn a_malformed_term_file_is_named() {
        let e = LanguageChecker::parse(
            "t.toml",
            "[[terms]]\nphrase = \"x\"\ncategory = \"rude\"\nsuggestion = \"y\"\n",
        )
        .expect_err("bad");
        assert!(e.to_string().starts_with("t.toml:3:"), "{e}");
    }
}
