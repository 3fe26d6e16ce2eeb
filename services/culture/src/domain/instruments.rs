//! Survey instruments as versioned data: composites of items on five-point
//! scales, some reversed, loaded from TOML files with every problem located by
//! file, line and column.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use scir_kit::datafiles;
use scir_proto::culture::v1 as pb;
use serde::Deserialize;

/// The shipped instrument.
pub const SHIPPED: (&str, &str) = (
    "instruments/scir-culture-shape-1.0.toml",
    include_str!("../../instruments/scir-culture-shape-1.0.toml"),
);

/// Points on every scale: 1 (strongly disagree, never) to 5.
pub const POINTS: i32 = 5;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstrument {
    id: String,
    version: String,
    title: String,
    official: bool,
    composites: Vec<RawComposite>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawComposite {
    code: String,
    title: String,
    items: Vec<RawItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    code: String,
    text: String,
    scale: String,
    #[serde(default)]
    reversed: bool,
}

/// A loaded instrument version.
#[derive(Debug, Clone)]
pub struct Instrument {
    /// The message form.
    pub message: pb::SurveyInstrument,
}

/// How an answer counts: positive, neutral or negative.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Leaning {
    /// Agree or strongly agree, often or always (disagreement, reversed).
    Positive,
    /// The middle of the scale.
    Neutral,
    /// The other end.
    Negative,
}

/// An answer's leaning: `value` 1 to 5, on a `reversed` item or not; `None`
/// for 0, "prefer not to answer".
pub fn leaning(value: i32, reversed: bool) -> Option<Leaning> {
    let value = if reversed && value > 0 {
        POINTS + 1 - value
    } else {
        value
    };
    match value {
        4 | 5 => Some(Leaning::Positive),
        3 => Some(Leaning::Neutral),
        1 | 2 => Some(Leaning::Negative),
        _ => None,
    }
}

fn token(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
}

impl Instrument {
    /// Its resource name, `surveyInstruments/{id}/versions/{version}`.
    pub fn name(&self) -> &str {
        &self.message.name
    }

    /// Its items in order.
    pub fn items(&self) -> &[pb::SurveyItem] {
        &self.message.items
    }

    /// Parses an instrument file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> anyhow::Result<Self> {
        let at = |needle: &str| text.find(needle).unwrap_or(0);
        let raw: RawInstrument =
            toml::from_str(text).map_err(|e| datafiles::toml_error(file, text, &e))?;
        if !token(&raw.id) || !token(&raw.version) {
            return Err(datafiles::error_at(
                file,
                text,
                at("id"),
                "id and version must be 1 to 64 characters of A-Z a-z 0-9 - _ .",
            ));
        }
        let mut codes = HashSet::new();
        let mut items = Vec::new();
        let mut composites = Vec::new();
        for c in raw.composites {
            let here = at(&format!("\"{}\"", c.code));
            if !token(&c.code) || !codes.insert(c.code.clone()) {
                return Err(datafiles::error_at(
                    file,
                    text,
                    here,
                    format!("composite code `{}` is invalid or repeated", c.code),
                ));
            }
            if c.items.is_empty() {
                return Err(datafiles::error_at(
                    file,
                    text,
                    here,
                    format!("composite `{}` has no items", c.code),
                ));
            }
            let mut members = Vec::new();
            for item in c.items {
                let here = at(&format!("\"{}\"", item.code));
                if !token(&item.code) || !codes.insert(item.code.clone()) {
                    return Err(datafiles::error_at(
                        file,
                        text,
                        here,
                        format!("item code `{}` is invalid or repeated", item.code),
                    ));
                }
                let scale = match item.scale.as_str() {
                    "agreement" => pb::Scale::Agreement,
                    "frequency" => pb::Scale::Frequency,
                    other => {
                        return Err(datafiles::error_at(
                            file,
                            text,
                            at(&format!("\"{other}\"")),
                            format!(
                                "item `{}`: scale must be `agreement` or `frequency`, not `{other}`",
                                item.code
                            ),
                        ));
                    }
                };
                if item.text.trim().is_empty() || item.text.len() > 500 {
                    return Err(datafiles::error_at(
                        file,
                        text,
                        here,
                        format!("item `{}`: text must be 1 to 500 characters", item.code),
                    ));
                }
                members.push(item.code.clone());
                items.push(pb::SurveyItem {
                    code: item.code,
                    text: item.text.trim().to_owned(),
                    scale: scale as i32,
                    reversed: item.reversed,
                });
            }
            composites.push(pb::Composite {
                code: c.code,
                title: c.title,
                items: members,
            });
        }
        if items.is_empty() {
            return Err(datafiles::error_at(
                file,
                text,
                0,
                "an instrument needs at least one composite with items",
            ));
        }
        Ok(Self {
            message: pb::SurveyInstrument {
                name: format!("surveyInstruments/{}/versions/{}", raw.id, raw.version),
                title: raw.title,
                official: raw.official,
                items,
                composites,
            },
        })
    }
}

/// Every loaded instrument version.
#[derive(Debug, Clone)]
pub struct Catalogue {
    versions: BTreeMap<String, Instrument>,
}

impl Catalogue {
    /// Loads the shipped instrument, or every `*.toml` of `dir`.
    pub fn load(dir: Option<&Path>) -> anyhow::Result<Self> {
        let versions =
            datafiles::versions(dir, SHIPPED, Instrument::parse, |i| i.name().to_owned())?;
        Ok(Self { versions })
    }

    /// A version by resource name.
    pub fn get(&self, name: &str) -> Option<&Instrument> {
        self.versions.get(name)
    }

    /// Every version.
    pub fn list(&self) -> Vec<pb::SurveyInstrument> {
        self.versions.values().map(|i| i.message.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_instrument_loads_and_says_it_is_not_official() {
        let c = Catalogue::load(None).expect("shipped");
        let i = c
            .get("surveyInstruments/scir-culture-shape/versions/1.0")
            .expect("by name");
        assert!(!i.message.official);
        assert!(i.message.title.contains("not an official"));
        assert_eq!(i.items().len(), 18);
        assert!(i.items().iter().any(|i| i.reversed));
        assert_eq!(i.message.composites.len(), 6);
    }

    #[test]
    fn problems_are_located_by_line_and_column() {
        let bad = SHIPPED
            .1
            .replace("scale = \"frequency\"", "scale = \"sometimes\"");
        let e = Instrument::parse("x.toml", &bad)
            .expect_err("bad scale")
            .to_string();
        let line = bad
            .lines()
            .position(|l| l.contains("\"sometimes\""))
            .expect("line")
            + 1;
        assert!(e.starts_with(&format!("x.toml:{line}:9:")), "{e}");
        let twice = SHIPPED.1.replace("code = \"OPEN2\"", "code = \"OPEN1\"");
        let e = Instrument::parse("x.toml", &twice)
            .expect_err("repeated")
            .to_string();
        assert!(e.contains("OPEN1") && e.starts_with("x.toml:"), "{e}");
        let e = Instrument::parse("x.toml", "id = 3")
            .expect_err("type")
            .to_string();
        assert!(e.starts_with("x.toml:1:6:"), "{e}");
    }

    #[test]
    fn reversed_items_lean_the_other_way_and_zero_is_no_answer() {
        assert_eq!(leaning(5, false), Some(Leaning::Positive));
        assert_eq!(leaning(1, true), Some(Leaning::Positive));
        assert_eq!(leaning(2, true), Some(Leaning::Positive));
        assert_eq!(leaning(3, true), Some(Leaning::Neutral));
        assert_eq!(leaning(4, true), Some(Leaning::Negative));
        assert_eq!(leaning(0, true), None);
        assert_eq!(leaning(6, false), None);
    }
}
