//! Form fields with their labels, the values last sent and the errors beside
//! them, and reading a posted form back into typed values.
//!
//! A field's name is the contract's field path (`title`, `nodes[0].id`), so a
//! service's field violation (`episode.title`) lands beside the input that
//! sent it.

use maud::{Markup, html};
use scir_kit::pages::PageRequest;
use scir_proto::Labelled;
use scir_proto::common::v1::Date;

use crate::views::words;

/// One choice of a select or a group of checkboxes: (value sent, words shown).
pub type Choice = (String, String);

/// The choices of an enum: every value but zero, shown in words.
pub fn choices<E>(prefix: &str) -> Vec<Choice>
where
    E: Labelled + TryFrom<i32>,
{
    (1..=64)
        .filter_map(|v| E::try_from(v).ok())
        .map(|e| (e.label().to_owned(), words(e.label(), prefix)))
        .collect()
}

/// An enum value in words, or a dash.
pub fn shown<E>(value: i32, prefix: &str) -> String
where
    E: Labelled + TryFrom<i32>,
{
    match E::try_from(value) {
        Ok(e) if value != 0 => words(e.label(), prefix),
        _ => "–".to_owned(),
    }
}

/// An enum value's label for a form (empty for zero).
pub fn label_of<E>(value: i32) -> String
where
    E: Labelled + TryFrom<i32>,
{
    match E::try_from(value) {
        Ok(e) if value != 0 => e.label().to_owned(),
        _ => String::new(),
    }
}

/// A date as a form holds it (`YYYY-MM-DD`, or empty).
pub fn date_value(d: Option<&Date>) -> String {
    d.map_or_else(String::new, |d| {
        format!("{:04}-{:02}-{:02}", d.year, d.month, d.day)
    })
}

/// The rows a table of the form has (`nodes[3].id` is row 3): those `pairs`
/// use, at least `min`, plus `spare` empty ones; never more than `max`.
pub fn rows(
    pairs: &[(String, String)],
    table: &str,
    min: usize,
    spare: usize,
    max: usize,
) -> usize {
    let used = pairs
        .iter()
        .filter_map(|(k, _)| {
            k.strip_prefix(table)?
                .strip_prefix('[')?
                .split_once(']')?
                .0
                .parse::<usize>()
                .ok()
        })
        .filter(|i| *i < max)
        .map(|i| i + 1)
        .max()
        .unwrap_or(0);
    (used + spare).max(min).min(max)
}

/// A form as drawn: the values to show and the errors beside the fields.
#[derive(Debug, Default)]
pub struct Form<'a> {
    values: &'a [(String, String)],
    errors: &'a [(String, String)],
}

impl<'a> Form<'a> {
    /// A form showing `values` (a posted form's pairs, or none) and `errors`
    /// as (field, why).
    pub fn new(values: &'a [(String, String)], errors: &'a [(String, String)]) -> Self {
        Self { values, errors }
    }

    /// The rows of a table this form shows (see [`rows`]).
    pub fn rows(&self, table: &str, min: usize, spare: usize, max: usize) -> usize {
        rows(self.values, table, min, spare, max)
    }

    fn value(&self, name: &str) -> &str {
        self.values
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    fn chosen(&self, name: &str, value: &str) -> bool {
        self.values.iter().any(|(k, v)| k == name && v == value)
    }

    fn error(&self, name: &str) -> Option<&str> {
        self.errors
            .iter()
            .find(|(f, _)| f == name)
            .map(|(_, e)| e.as_str())
    }

    fn described(&self, name: &str) -> Option<String> {
        self.error(name).map(|_| format!("{name}-error"))
    }

    fn label_and_error(&self, name: &str, label: &str, required: bool) -> Markup {
        html! {
            label for=(name) { (label) @if !required { " (optional)" } }
            @if let Some(e) = self.error(name) { p id={ (name) "-error" } class="error" { (e) } }
        }
    }

    /// A one-line text input.
    pub fn line(&self, name: &str, label: &str, required: bool) -> Markup {
        html! { div {
            (self.label_and_error(name, label, required))
            input id=(name) name=(name) type="text" autocomplete="off" value=(self.value(name))
                required[required] aria-describedby=[self.described(name)];
        } }
    }

    /// A text area.
    pub fn area(&self, name: &str, label: &str, required: bool) -> Markup {
        html! { div {
            (self.label_and_error(name, label, required))
            textarea id=(name) name=(name) rows="4" required[required]
                aria-describedby=[self.described(name)] { (self.value(name)) }
        } }
    }

    /// A date input (`YYYY-MM-DD`).
    pub fn date(&self, name: &str, label: &str, required: bool) -> Markup {
        html! { div {
            (self.label_and_error(name, label, required))
            input id=(name) name=(name) type="date" value=(self.value(name))
                required[required] aria-describedby=[self.described(name)];
        } }
    }

    /// A select of one choice; `required` false offers "not chosen".
    pub fn one(&self, name: &str, label: &str, choices: &[Choice], required: bool) -> Markup {
        html! { div {
            (self.label_and_error(name, label, required))
            select id=(name) name=(name) aria-describedby=[self.described(name)] {
                option value="" { "Choose…" }
                @for (value, text) in choices {
                    option value=(value) selected[self.chosen(name, value)] { (text) }
                }
            }
        } }
    }

    /// A text input in a table's cell, named by `label` for assistive
    /// technology (the column heading says it to the eye).
    pub fn cell(&self, name: &str, label: &str) -> Markup {
        html! {
            input id=(name) name=(name) type="text" autocomplete="off" value=(self.value(name))
                aria-label=(label) aria-describedby=[self.described(name)];
            @if let Some(e) = self.error(name) { p id={ (name) "-error" } class="error" { (e) } }
        }
    }

    /// A select in a table's cell.
    pub fn cell_choice(&self, name: &str, label: &str, choices: &[Choice]) -> Markup {
        html! {
            select id=(name) name=(name) aria-label=(label) aria-describedby=[self.described(name)] {
                option value="" { "–" }
                @for (value, text) in choices {
                    option value=(value) selected[self.chosen(name, value)] { (text) }
                }
            }
            @if let Some(e) = self.error(name) { p id={ (name) "-error" } class="error" { (e) } }
        }
    }

    /// A group of checkboxes, any number chosen.
    pub fn many(&self, name: &str, legend: &str, choices: &[Choice]) -> Markup {
        html! {
            fieldset id=(name) class="checks" aria-describedby=[self.described(name)] {
                legend { (legend) " (optional)" }
                @if let Some(e) = self.error(name) { p id={ (name) "-error" } class="error" { (e) } }
                @if choices.is_empty() { p { "None recorded yet." } }
                @for (i, (value, text)) in choices.iter().enumerate() {
                    @let id = format!("{name}-{i}");
                    div {
                        input type="checkbox" id=(id) name=(name) value=(value) checked[self.chosen(name, value)];
                        " " label for=(id) { (text) }
                    }
                }
            }
        }
    }
}

/// A posted form read into typed values; what cannot be read is collected as
/// field errors, named as the form's fields are.
#[derive(Debug)]
pub struct Posted<'a> {
    request: &'a PageRequest,
    /// What could not be read, as (field, why).
    pub errors: Vec<(String, String)>,
}

impl<'a> Posted<'a> {
    /// Reads `request`'s form.
    pub fn new(request: &'a PageRequest) -> Self {
        Self {
            request,
            errors: Vec::new(),
        }
    }

    /// The rows of a table the form sent.
    pub fn rows(&self, table: &str, max: usize) -> usize {
        rows(&self.request.form, table, 0, 0, max)
    }

    /// A field's text, trimmed.
    pub fn text(&self, name: &str) -> String {
        self.request
            .form_value(name)
            .unwrap_or_default()
            .trim()
            .to_owned()
    }

    /// Every value a field sent (checkboxes).
    pub fn all(&self, name: &str) -> Vec<String> {
        self.request
            .form
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }

    /// A text area's non-empty lines.
    pub fn lines(&self, name: &str) -> Vec<String> {
        self.text(name)
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect()
    }

    /// A date (`YYYY-MM-DD`), or none when empty; anything else is an error.
    pub fn date(&mut self, name: &str) -> Option<Date> {
        let text = self.text(name);
        if text.is_empty() {
            return None;
        }
        let parts: Vec<&str> = text.split('-').collect();
        let parsed = match parts.as_slice() {
            [y, m, d] if y.len() == 4 && m.len() == 2 && d.len() == 2 => {
                match (y.parse(), m.parse(), d.parse()) {
                    (Ok(year), Ok(month), Ok(day)) => Some(Date { year, month, day }),
                    _ => None,
                }
            }
            _ => None,
        };
        if parsed.is_none() {
            self.errors
                .push((name.to_owned(), "Enter a date as YYYY-MM-DD.".to_owned()));
        }
        parsed
    }

    /// An enum chosen by its label; zero when nothing was chosen, an error
    /// when the value is not one of the enum's.
    pub fn one<E>(&mut self, name: &str) -> i32
    where
        E: Labelled + Into<i32>,
    {
        let text = self.text(name);
        if text.is_empty() {
            return 0;
        }
        match E::from_label(&text) {
            Some(e) => e.into(),
            None => {
                self.errors.push((
                    name.to_owned(),
                    "Choose one of the listed values.".to_owned(),
                ));
                0
            }
        }
    }

    /// Enums chosen by their labels.
    pub fn many<E>(&mut self, name: &str) -> Vec<i32>
    where
        E: Labelled + Into<i32>,
    {
        let mut out = Vec::new();
        for text in self.all(name) {
            match E::from_label(&text) {
                Some(e) => out.push(e.into()),
                None => {
                    self.errors.push((
                        name.to_owned(),
                        "Choose among the listed values.".to_owned(),
                    ));
                    break;
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use scir_proto::review::v1::ContributoryFactor;

    #[test]
    fn enum_choices_leave_out_zero_and_read_in_words() {
        let c = choices::<ContributoryFactor>("");
        assert_eq!(c.len(), 7);
        assert_eq!(
            c[3],
            ("CONDITIONS_OF_WORK".into(), "Conditions of work".into())
        );
    }

    #[test]
    fn a_table_has_the_rows_its_values_use_and_spares_within_bounds() {
        let pairs = vec![("nodes[4].id".to_owned(), "a".to_owned())];
        assert_eq!(rows(&pairs, "nodes", 8, 2, 200), 8);
        assert_eq!(rows(&pairs, "nodes", 0, 0, 200), 5);
        let far = vec![("nodes[100000].id".to_owned(), "a".to_owned())];
        assert_eq!(
            rows(&far, "nodes", 8, 2, 200),
            8,
            "an index past the bound counts nothing"
        );
        assert_eq!(rows(&pairs, "edges", 0, 0, 1000), 0);
    }

    #[test]
    fn the_form_escapes_what_it_shows_back() {
        let values = vec![("title".to_owned(), "<script>x</script>".to_owned())];
        let errors = vec![("title".to_owned(), "<b>bad</b>".to_owned())];
        let html = Form::new(&values, &errors)
            .line("title", "Title", true)
            .into_string();
        assert!(!html.contains("<script>"), "{html}");
        assert!(!html.contains("<b>"), "{html}");
        assert!(html.contains("aria-describedby=\"title-error\""), "{html}");
    }
}
