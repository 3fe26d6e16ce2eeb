//! Rating instruments as versioned data: domains of items and a scale of levels,
//! loaded from TOML files, with every problem reported by file and line.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use scir_proto::scoring::v1 as pb;
use serde::Deserialize;
use sha2::{Digest, Sha256};

/// The shipped instrument.
pub const SHIPPED: (&str, &str) = (
    "instruments/scir-ssit-shape-1.0.toml",
    include_str!("../../instruments/scir-ssit-shape-1.0.toml"),
);

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawInstrument {
    id: String,
    version: String,
    title: String,
    #[serde(default)]
    description: String,
    official: bool,
    levels: Vec<RawLevel>,
    domains: Vec<RawDomain>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawLevel {
    value: i32,
    label: String,
    meaning: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDomain {
    code: String,
    title: String,
    items: Vec<RawItem>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawItem {
    code: String,
    title: String,
    #[serde(default)]
    guidance: String,
}

/// A loaded instrument version.
#[derive(Debug, Clone)]
pub struct Instrument {
    /// The message form (with `active` false).
    pub message: pb::Instrument,
    /// Item codes, in order.
    pub items: Vec<String>,
    /// Number of levels; levels are `0..levels`.
    pub levels: usize,
}

/// Longest rationale for a level, in characters.
pub const MAX_RATIONALE: usize = 2000;

/// One item's level and why, as a rater's ratings and the consensus give them.
#[derive(Debug, Clone, Copy)]
pub struct ItemLevel<'a> {
    /// The item's code.
    pub item_code: &'a str,
    /// The level given.
    pub level: i32,
    /// Why.
    pub rationale: &'a str,
}

impl Instrument {
    /// Checks levels given for this instrument's items, sent in the repeated
    /// field `list`: each item of the instrument exactly once, each level on
    /// the scale, each with a rationale; `also` checks what else the entry at
    /// an index carries. Every fault goes to `check`, entry by entry.
    pub fn check_levels<'a>(
        &self,
        list: &str,
        levels: impl IntoIterator<Item = ItemLevel<'a>>,
        check: &mut scir_kit::validate::Check<'_>,
        mut also: impl FnMut(usize, &mut scir_kit::validate::Check<'_>),
    ) {
        let mut seen = HashSet::new();
        for (i, given) in levels.into_iter().enumerate() {
            let path = format!("{list}[{i}]");
            if !self.items.iter().any(|c| c == given.item_code) {
                check.bad(
                    &format!("{path}.item_code"),
                    format!("is not an item of {}", self.name()),
                );
            } else if !seen.insert(given.item_code) {
                check.bad(&format!("{path}.item_code"), "is given twice");
            }
            if given.level < 0 || given.level as usize >= self.levels {
                check.bad(
                    &format!("{path}.level"),
                    format!("must be between 0 and {}", self.levels - 1),
                );
            }
            check.text(
                &format!("{path}.rationale"),
                given.rationale,
                MAX_RATIONALE,
                true,
            );
            also(i, check);
        }
        let missing: Vec<_> = self
            .items
            .iter()
            .filter(|c| !seen.contains(c.as_str()))
            .map(String::as_str)
            .collect();
        if !missing.is_empty() {
            check.bad(
                list,
                format!("every item needs a level; missing: {}", missing.join(", ")),
            );
        }
    }

    /// Resource name `instruments/{id}/versions/{version}`.
    pub fn name(&self) -> &str {
        &self.message.name
    }

    /// The code of the domain an item belongs to.
    pub fn domain_of(&self, item: &str) -> Option<&str> {
        self.message
            .domains
            .iter()
            .find(|d| d.items.iter().any(|i| i.code == item))
            .map(|d| d.code.as_str())
    }

    /// Parses an instrument file; `file` names it in errors.
    pub fn parse(file: &str, text: &str) -> anyhow::Result<Self> {
        let located = |offset: usize, message: String| {
            scir_kit::datafiles::error_at(file, text, offset, message)
        };
        let raw: RawInstrument =
            toml::from_str(text).map_err(|e| scir_kit::datafiles::toml_error(file, text, &e))?;
        let token = |s: &str| {
            !s.is_empty()
                && s.len() <= 64
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        if !token(&raw.id) || !token(&raw.version) {
            return Err(located(
                0,
                "id and version must be 1 to 64 characters of A-Z a-z 0-9 - _ .".to_owned(),
            ));
        }
        if raw.levels.len() < 2
            || raw
                .levels
                .iter()
                .enumerate()
                .any(|(i, l)| l.value != i as i32)
        {
            return Err(located(
                0,
                "levels must be at least two, valued 0, 1, 2, ... in order".to_owned(),
            ));
        }
        let mut codes = HashSet::new();
        let mut items = Vec::new();
        let mut domains = Vec::new();
        for d in raw.domains {
            if d.items.is_empty() {
                return Err(located(0, format!("domain `{}` has no items", d.code)));
            }
            let mut out = Vec::new();
            for item in d.items {
                if !token(&item.code) || !codes.insert(item.code.clone()) {
                    let at = text.find(&format!("\"{}\"", item.code)).unwrap_or(0);
                    return Err(located(
                        at,
                        format!("item code `{}` is invalid or repeated", item.code),
                    ));
                }
                items.push(item.code.clone());
                out.push(pb::InstrumentItem {
                    code: item.code,
                    title: item.title,
                    guidance: item.guidance,
                });
            }
            domains.push(pb::Domain {
                code: d.code,
                title: d.title,
                items: out,
            });
        }
        if items.is_empty() {
            return Err(located(
                0,
                "an instrument needs at least one domain with items".to_owned(),
            ));
        }
        let levels = raw.levels.len();
        Ok(Self {
            message: pb::Instrument {
                name: format!("instruments/{}/versions/{}", raw.id, raw.version),
                id: raw.id,
                version: raw.version,
                title: raw.title,
                description: raw.description.trim().to_owned(),
                official: raw.official,
                domains,
                levels: raw
                    .levels
                    .into_iter()
                    .map(|l| pb::Level {
                        value: l.value,
                        label: l.label,
                        meaning: l.meaning,
                    })
                    .collect(),
                active: false,
                digest: hex::encode(Sha256::digest(text.as_bytes())),
            },
            items,
            levels,
        })
    }
}

/// Every loaded instrument version and the one new ratings use.
#[derive(Debug, Clone)]
pub struct Catalogue {
    versions: BTreeMap<String, Instrument>,
    active: String,
}

impl Catalogue {
    /// Loads the shipped instrument, or every `*.toml` of `dir`; `active` names the
    /// version new ratings use (`{id}@{version}`), else the last by name.
    pub fn load(dir: Option<&Path>, active: Option<&str>) -> anyhow::Result<Self> {
        let versions = scir_kit::datafiles::versions(dir, SHIPPED, Instrument::parse, |i| {
            i.name().to_owned()
        })?;
        let active = match active {
            Some(spec) => {
                let (id, version) = spec.split_once('@').ok_or_else(|| {
                    anyhow::anyhow!("the active instrument must be id@version, got `{spec}`")
                })?;
                let name = format!("instruments/{id}/versions/{version}");
                if !versions.contains_key(&name) {
                    anyhow::bail!("the active instrument {name} is not loaded");
                }
                name
            }
            None => versions
                .keys()
                .last()
                .cloned()
                .ok_or_else(|| anyhow::anyhow!("no instruments loaded"))?,
        };
        Ok(Self { versions, active })
    }

    /// The version new ratings use.
    pub fn active(&self) -> &Instrument {
        &self.versions[&self.active]
    }

    /// A version by resource name.
    pub fn get(&self, name: &str) -> Option<&Instrument> {
        self.versions.get(name)
    }

    /// Every version, with `active` set on the active one.
    pub fn list(&self) -> Vec<pb::Instrument> {
        self.versions
            .values()
            .map(|i| pb::Instrument {
                active: i.name() == self.active,
                ..i.message.clone()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_are_checked_item_by_item_and_every_item_is_needed() {
        let catalogue = Catalogue::load(None, None).expect("shipped");
        let instrument = catalogue.active();
        let all: Vec<ItemLevel<'_>> = instrument
            .items
            .iter()
            .map(|code| ItemLevel {
                item_code: code,
                level: 1,
                rationale: "why",
            })
            .collect();
        let mut check = scir_kit::validate::Check::new("x.");
        instrument.check_levels("items", all.iter().copied(), &mut check, |_, _| {});
        assert!(check.is_empty());

        let mut wrong = all.clone();
        wrong[1].item_code = wrong[0].item_code; // twice, and item 1 missing
        wrong[2].level = 4;
        wrong[3].rationale = "";
        wrong[4].item_code = "NOPE";
        let mut check = scir_kit::validate::Check::new("x.");
        instrument.check_levels("items", wrong, &mut check, |_, _| {});
        let fields: Vec<String> = check
            .into_violations()
            .into_iter()
            .map(|v| v.field)
            .collect();
        assert_eq!(
            fields,
            [
                "x.items[1].item_code",
                "x.items[2].level",
                "x.items[3].rationale",
                "x.items[4].item_code",
                "x.items"
            ]
        );
    }

    #[test]
    fn the_shipped_instrument_has_the_ssit_shape_and_says_it_is_not_official() {
        let catalogue = Catalogue::load(None, None).expect("shipped");
        let active = catalogue.active();
        assert_eq!(active.message.domains.len(), 4);
        assert_eq!(active.items.len(), 21);
        assert_eq!(active.levels, 4);
        assert!(!active.message.official);
        assert!(active.message.description.contains("not the official SSIT"));
    }

    #[test]
    fn problems_are_located() {
        let bad = SHIPPED.1.replace("code = \"ORG3\"", "code = \"ORG2\"");
        let e = Instrument::parse("x.toml", &bad)
            .expect_err("repeated code")
            .to_string();
        assert!(e.starts_with("x.toml:") && e.contains("ORG2"), "{e}");
        let bad = SHIPPED.1.replace("official = false", "official = maybe");
        let e = Instrument::parse("x.toml", &bad)
            .expect_err("bad value")
            .to_string();
        let line = bad.lines().position(|l| l.contains("maybe")).expect("line") + 1;
        assert!(e.starts_with(&format!("x.toml:{line}:")), "{e}");
    }
}
