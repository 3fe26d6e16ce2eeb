//! Member jurisdictions and the rule sets that govern them, loaded together.

use std::collections::BTreeMap;
use std::path::Path;

use scir_proto::common::v1::JurisdictionType;
use serde::Deserialize;

use super::rules::{ConfigError, Named, RuleSet};

/// The rule sets shipped with SCIR, used when no rules directory is configured.
pub const SHIPPED_RULE_SETS: &[(&str, &str)] = &[
    (
        "rules/default.toml",
        include_str!("../../rules/default.toml"),
    ),
    ("rules/kansas.toml", include_str!("../../rules/kansas.toml")),
    (
        "rules/tennessee.toml",
        include_str!("../../rules/tennessee.toml"),
    ),
    (
        "rules/west-virginia.toml",
        include_str!("../../rules/west-virginia.toml"),
    ),
    (
        "rules/wisconsin.toml",
        include_str!("../../rules/wisconsin.toml"),
    ),
];

/// The shipped sample jurisdictions.
pub const SHIPPED_JURISDICTIONS: (&str, &str) = (
    "rules/jurisdictions.toml",
    include_str!("../../rules/jurisdictions.toml"),
);

/// The file in a rules directory that lists jurisdictions.
pub const JURISDICTIONS_FILE: &str = "jurisdictions.toml";

/// A member jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jurisdiction {
    /// Id, e.g. `us-wi`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// State, county or tribal.
    pub kind: JurisdictionType,
    /// Parent jurisdiction id.
    pub parent: Option<String>,
    /// Name of the governing rule set.
    pub rule_set: String,
    /// Whether it shares its name in partnership views.
    pub share_name: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJurisdictions {
    jurisdictions: Vec<toml::Spanned<RawJurisdiction>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJurisdiction {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: Named<JurisdictionType>,
    parent: Option<String>,
    rule_set: String,
    #[serde(default)]
    share_name: bool,
}

/// Jurisdictions and rule sets, checked against each other.
#[derive(Debug, Clone)]
pub struct Directory {
    jurisdictions: BTreeMap<String, Jurisdiction>,
    rule_sets: BTreeMap<String, RuleSet>,
}

impl Directory {
    /// The shipped rule sets and sample jurisdictions.
    pub fn shipped() -> Result<Self, ConfigError> {
        let rule_sets = SHIPPED_RULE_SETS
            .iter()
            .map(|(file, text)| RuleSet::parse(file, text))
            .collect::<Result<Vec<_>, _>>()?;
        Self::build(rule_sets, SHIPPED_JURISDICTIONS.0, SHIPPED_JURISDICTIONS.1)
    }

    /// Loads every `*.toml` rule set of `dir` and its `jurisdictions.toml`.
    pub fn load(dir: &Path) -> Result<Self, ConfigError> {
        let io = |path: &Path, e: std::io::Error| ConfigError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            message: e.to_string(),
        };
        let mut entries: Vec<_> = std::fs::read_dir(dir)
            .map_err(|e| io(dir, e))?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        entries.sort();
        let mut rule_sets = Vec::new();
        for path in entries.iter().filter(|p| !p.ends_with(JURISDICTIONS_FILE)) {
            let text = std::fs::read_to_string(path).map_err(|e| io(path, e))?;
            rule_sets.push(RuleSet::parse(&path.display().to_string(), &text)?);
        }
        let path = dir.join(JURISDICTIONS_FILE);
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        Self::build(rule_sets, &path.display().to_string(), &text)
    }

    fn build(rule_sets: Vec<RuleSet>, file: &str, text: &str) -> Result<Self, ConfigError> {
        let mut sets = BTreeMap::new();
        for set in rule_sets {
            if sets.contains_key(&set.name) {
                return Err(ConfigError {
                    file: file.to_owned(),
                    line: 0,
                    column: 0,
                    message: format!("two rule sets are named `{}`", set.name),
                });
            }
            sets.insert(set.name.clone(), set);
        }
        let raw: RawJurisdictions =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let mut jurisdictions = BTreeMap::new();
        let mut spans = BTreeMap::new();
        for spanned in raw.jurisdictions {
            let offset = spanned.span().start;
            let r = spanned.into_inner();
            let err = |m: String| ConfigError::at(file, text, offset, m);
            if r.id.is_empty()
                || !r
                    .id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            {
                return Err(err(format!(
                    "jurisdiction id `{}` must be lowercase letters, digits and dashes",
                    r.id
                )));
            }
            if !sets.contains_key(&r.rule_set) {
                return Err(err(format!(
                    "jurisdiction `{}`: unknown rule set `{}`",
                    r.id, r.rule_set
                )));
            }
            let j = Jurisdiction {
                id: r.id.clone(),
                name: r.name,
                kind: r.kind.0,
                parent: r.parent.filter(|p| !p.is_empty()),
                rule_set: r.rule_set,
                share_name: r.share_name,
            };
            spans.insert(r.id.clone(), offset);
            if jurisdictions.insert(r.id.clone(), j).is_some() {
                return Err(err(format!("duplicate jurisdiction id `{}`", r.id)));
            }
        }
        for j in jurisdictions.values() {
            if let Some(parent) = &j.parent {
                let offset = spans.get(&j.id).copied().unwrap_or(0);
                match jurisdictions.get(parent) {
                    None => {
                        return Err(ConfigError::at(
                            file,
                            text,
                            offset,
                            format!("jurisdiction `{}`: unknown parent `{parent}`", j.id),
                        ));
                    }
                    Some(p) if p.parent.is_some() => {
                        return Err(ConfigError::at(
                            file,
                            text,
                            offset,
                            format!(
                                "jurisdiction `{}`: parent `{parent}` has a parent itself",
                                j.id
                            ),
                        ));
                    }
                    Some(_) => {}
                }
            }
        }
        if jurisdictions.is_empty() {
            return Err(ConfigError::at(
                file,
                text,
                0,
                "no jurisdictions configured",
            ));
        }
        Ok(Self {
            jurisdictions,
            rule_sets: sets,
        })
    }

    /// A jurisdiction by id.
    pub fn jurisdiction(&self, id: &str) -> Option<&Jurisdiction> {
        self.jurisdictions.get(id)
    }

    /// Every jurisdiction, by id.
    pub fn jurisdictions(&self) -> impl Iterator<Item = &Jurisdiction> {
        self.jurisdictions.values()
    }

    /// A rule set by name.
    pub fn rule_set(&self, name: &str) -> Option<&RuleSet> {
        self.rule_sets.get(name)
    }

    /// Every rule set, by name.
    pub fn rule_sets(&self) -> impl Iterator<Item = &RuleSet> {
        self.rule_sets.values()
    }

    /// The rule set governing a jurisdiction.
    pub fn rule_set_for(&self, jurisdiction: &str) -> Option<&RuleSet> {
        self.jurisdiction(jurisdiction)
            .and_then(|j| self.rule_sets.get(&j.rule_set))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_directory_is_consistent() {
        let dir = Directory::shipped().expect("shipped config loads");
        assert!(dir.jurisdiction("us-wi").is_some());
        assert_eq!(
            dir.rule_set_for("us-wi-dane").map(|r| r.name.as_str()),
            Some("wisconsin")
        );
        assert_eq!(dir.rule_sets().count(), 5);
    }

    #[test]
    fn a_directory_on_disk_reports_the_bad_file() {
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::write(
            tmp.path().join("x.toml"),
            "name = \"x\"\nversion = \"1\"\ntitle = \"X\"\nlookback_months = 0\n[[rules]]\n",
        )
        .expect("write");
        std::fs::write(tmp.path().join(JURISDICTIONS_FILE), SHIPPED_JURISDICTIONS.1)
            .expect("write");
        let e = Directory::load(tmp.path()).expect_err("bad rule set");
        assert!(e.file.ends_with("x.toml"), "{e}");
        assert!(e.line >= 1, "{e}");
    }

    #[test]
    fn unknown_rule_sets_are_named() {
        let text =
            "[[jurisdictions]]\nid = \"a\"\nname = \"A\"\ntype = \"STATE\"\nrule_set = \"nope\"\n";
        let e = Directory::build(Vec::new(), "j.toml", text).expect_err("unknown rule set");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("unknown rule set `nope`"));
    }
}
