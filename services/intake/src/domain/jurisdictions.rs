//! Member jurisdictions and the rule sets that govern them, loaded together.

use std::collections::BTreeMap;
use std::path::Path;

use scir_kit::directory::Directory as Members;

use super::rules::{ConfigError, RuleSet};

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

/// A file a rules directory no longer holds: the member jurisdictions are one
/// file for every service (`SCIR_JURISDICTIONS_FILE`).
pub const JURISDICTIONS_FILE: &str = "jurisdictions.toml";

pub use scir_kit::directory::Jurisdiction;

/// Jurisdictions and rule sets, checked against each other.
#[derive(Debug, Clone)]
pub struct Directory {
    members: Members,
    rule_sets: BTreeMap<String, RuleSet>,
}

fn shipped_rule_sets() -> Result<Vec<RuleSet>, ConfigError> {
    SHIPPED_RULE_SETS
        .iter()
        .map(|(file, text)| RuleSet::parse(file, text))
        .collect()
}

/// Every `*.toml` rule set of `dir`.
fn load_rule_sets(dir: &Path) -> Result<Vec<RuleSet>, ConfigError> {
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
    for path in entries {
        if path.ends_with(JURISDICTIONS_FILE) {
            // Refused rather than ignored: it would be a second list to keep in step.
            return Err(ConfigError {
                file: path.display().to_string(),
                line: 0,
                column: 0,
                message: "member jurisdictions are no longer read from the rules directory: \
                          move this file and point SCIR_JURISDICTIONS_FILE at it"
                    .to_owned(),
            });
        }
        let text = std::fs::read_to_string(&path).map_err(|e| io(&path, e))?;
        rule_sets.push(RuleSet::parse(&path.display().to_string(), &text)?);
    }
    Ok(rule_sets)
}

impl Directory {
    /// The shipped rule sets and sample jurisdictions.
    pub fn shipped() -> Result<Self, ConfigError> {
        Self::build(shipped_rule_sets()?, Members::shipped())
    }

    /// The rule sets of `rules_dir` (the shipped ones when `None`) for `members`.
    pub fn load(rules_dir: Option<&Path>, members: Members) -> Result<Self, ConfigError> {
        let rule_sets = match rules_dir {
            Some(dir) => load_rule_sets(dir)?,
            None => shipped_rule_sets()?,
        };
        Self::build(rule_sets, members)
    }

    fn build(rule_sets: Vec<RuleSet>, members: Members) -> Result<Self, ConfigError> {
        let mut sets = BTreeMap::new();
        for set in rule_sets {
            if sets.contains_key(&set.name) {
                return Err(ConfigError {
                    file: members.file().to_owned(),
                    line: 0,
                    column: 0,
                    message: format!("two rule sets are named `{}`", set.name),
                });
            }
            sets.insert(set.name.clone(), set);
        }
        for m in members.iter() {
            let err = |message: String| ConfigError {
                file: members.file().to_owned(),
                line: members.line_of(&m.id),
                column: 1,
                message,
            };
            match &m.rule_set {
                None => return Err(err(format!("jurisdiction `{}`: no rule set", m.id))),
                Some(name) if !sets.contains_key(name) => {
                    return Err(err(format!(
                        "jurisdiction `{}`: unknown rule set `{name}`",
                        m.id
                    )));
                }
                Some(_) => {}
            }
        }
        Ok(Self {
            members,
            rule_sets: sets,
        })
    }

    /// The member jurisdictions every service shares.
    pub fn members(&self) -> &Members {
        &self.members
    }

    /// A jurisdiction by id.
    pub fn jurisdiction(&self, id: &str) -> Option<&Jurisdiction> {
        self.members.get(id)
    }

    /// Every jurisdiction, by id.
    pub fn jurisdictions(&self) -> impl Iterator<Item = &Jurisdiction> {
        self.members.iter()
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
            .and_then(|j| j.rule_set.as_ref())
            .and_then(|name| self.rule_sets.get(name))
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
    fn a_rules_directory_on_disk_reports_the_bad_file() {
        let tmp = tempfile::tempdir().expect("tmp");
        std::fs::write(
            tmp.path().join("x.toml"),
            "name = \"x\"\nversion = \"1\"\ntitle = \"X\"\nlookback_months = 0\n[[rules]]\n",
        )
        .expect("write");
        let e = Directory::load(Some(tmp.path()), Members::shipped()).expect_err("bad rule set");
        assert!(e.file.ends_with("x.toml"), "{e}");
        assert!(e.line >= 1, "{e}");
    }

    #[test]
    fn a_second_list_of_jurisdictions_is_refused() {
        let tmp = tempfile::tempdir().expect("tmp");
        for (file, text) in SHIPPED_RULE_SETS {
            let name = file.rsplit('/').next().expect("name");
            std::fs::write(tmp.path().join(name), text).expect("write");
        }
        std::fs::write(
            tmp.path().join(JURISDICTIONS_FILE),
            scir_kit::directory::SHIPPED.1,
        )
        .expect("write");
        let e = Directory::load(Some(tmp.path()), Members::shipped()).expect_err("two lists");
        assert!(e.message.contains("SCIR_JURISDICTIONS_FILE"), "{e}");
    }

    #[test]
    fn unknown_rule_sets_are_named() {
        let text =
            "[[jurisdictions]]\nid = \"a\"\nname = \"A\"\ntype = \"STATE\"\nrule_set = \"nope\"\n";
        let members = Members::parse("j.toml", text).expect("members");
        let e = Directory::build(Vec::new(), members).expect_err("unknown rule set");
        assert_eq!(e.line, 1);
        assert!(e.message.contains("unknown rule set `nope`"));
    }
}
