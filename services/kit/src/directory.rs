//! The member jurisdictions: one file every service reads, so intake's
//! eligibility, every service's "a state acts in its counties" and insights'
//! withheld names all come from the same list.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use scir_proto::Labelled;
use scir_proto::common::v1::JurisdictionType;
use serde::Deserialize;

use crate::config::ConfigError;

/// The shipped sample jurisdictions, used when no file is configured.
pub const SHIPPED: (&str, &str) = (
    "services/kit/directory/jurisdictions.toml",
    include_str!("../directory/jurisdictions.toml"),
);

/// A member jurisdiction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Jurisdiction {
    /// Id, e.g. `us-wi`.
    pub id: String,
    /// Display name.
    pub name: String,
    /// State, county or tribal.
    pub kind: JurisdictionType,
    /// The state a county belongs to.
    pub parent: Option<String>,
    /// The eligibility rule set governing it (intake requires one).
    pub rule_set: Option<String>,
    /// Whether partnership answers show its name (otherwise `withheld`).
    pub share_name: bool,
    /// Whether its reviews count in partnership answers at all.
    pub pooled: bool,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDirectory {
    jurisdictions: Vec<toml::Spanned<RawJurisdiction>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawJurisdiction {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    parent: Option<String>,
    rule_set: Option<String>,
    #[serde(default)]
    share_name: bool,
    #[serde(default = "yes")]
    pooled: bool,
}

/// Every member jurisdiction, checked: ids well formed and unique, parents
/// known and themselves without a parent.
#[derive(Debug, Clone)]
pub struct Directory {
    file: String,
    jurisdictions: BTreeMap<String, Jurisdiction>,
    offsets: BTreeMap<String, (usize, usize)>,
}

impl Directory {
    /// The shipped sample jurisdictions.
    pub fn shipped() -> Self {
        Self::parse(SHIPPED.0, SHIPPED.1).expect("the shipped directory is valid")
    }

    /// Reads and checks a directory file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file: path.display().to_string(),
            line: 0,
            column: 0,
            message: e.to_string(),
        })?;
        Self::parse(&path.display().to_string(), &text)
    }

    /// Checks the text of a directory file named `file` (for messages).
    pub fn parse(file: &str, text: &str) -> Result<Self, ConfigError> {
        let raw: RawDirectory =
            toml::from_str(text).map_err(|e| ConfigError::from_toml(file, text, &e))?;
        let mut jurisdictions = BTreeMap::new();
        let mut offsets = BTreeMap::new();
        for spanned in raw.jurisdictions {
            let offset = spanned.span().start;
            let r = spanned.into_inner();
            let err = |m: String| ConfigError::at(file, text, offset, m);
            let well_formed = !r.id.is_empty()
                && r.id.len() <= 64
                && r.id
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
            if !well_formed || r.id == "withheld" {
                return Err(err(format!(
                    "jurisdiction id `{}` must be lowercase letters, digits and dashes (and not `withheld`)",
                    r.id
                )));
            }
            let kind = JurisdictionType::from_label(&r.kind)
                .filter(|k| *k != JurisdictionType::Unspecified)
                .ok_or_else(|| {
                    err(format!(
                        "jurisdiction `{}`: type `{}` is not STATE, COUNTY or TRIBAL",
                        r.id, r.kind
                    ))
                })?;
            let j = Jurisdiction {
                id: r.id.clone(),
                name: r.name,
                kind,
                parent: r.parent.filter(|p| !p.is_empty()),
                rule_set: r.rule_set.filter(|s| !s.is_empty()),
                share_name: r.share_name,
                pooled: r.pooled,
            };
            let before = &text[..offset.min(text.len())];
            let line = before.matches('\n').count() + 1;
            offsets.insert(r.id.clone(), (offset, line));
            if jurisdictions.insert(r.id.clone(), j).is_some() {
                return Err(err(format!("duplicate jurisdiction id `{}`", r.id)));
            }
        }
        for j in jurisdictions.values() {
            let Some(parent) = &j.parent else { continue };
            let offset = offsets.get(&j.id).map_or(0, |o| o.0);
            let problem = match jurisdictions.get(parent) {
                None => Some(format!(
                    "jurisdiction `{}`: unknown parent `{parent}`",
                    j.id
                )),
                Some(p) if p.parent.is_some() => Some(format!(
                    "jurisdiction `{}`: parent `{parent}` has a parent itself",
                    j.id
                )),
                Some(_) => None,
            };
            if let Some(message) = problem {
                return Err(ConfigError::at(file, text, offset, message));
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
            file: file.to_owned(),
            jurisdictions,
            offsets,
        })
    }

    /// The file it was read from.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// The line of a jurisdiction's entry in the file, for messages.
    pub fn line_of(&self, id: &str) -> usize {
        self.offsets.get(id).map_or(0, |o| o.1)
    }

    /// A jurisdiction by id.
    pub fn get(&self, id: &str) -> Option<&Jurisdiction> {
        self.jurisdictions.get(id)
    }

    /// Every jurisdiction, by id.
    pub fn iter(&self) -> impl Iterator<Item = &Jurisdiction> {
        self.jurisdictions.values()
    }

    /// The state a county belongs to.
    pub fn parent_of(&self, id: &str) -> Option<&str> {
        self.get(id).and_then(|j| j.parent.as_deref())
    }

    /// Whether a caller of jurisdiction `actor` acts in `resource`: its own, or
    /// one of its counties.
    pub fn acts_in(&self, actor: &str, resource: &str) -> bool {
        actor == resource || self.parent_of(resource) == Some(actor)
    }
}

/// Where the directory comes from.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct DirectoryArgs {
    /// The member jurisdictions file (the same file for every service); the
    /// shipped sample jurisdictions when unset.
    #[arg(long = "jurisdictions-file", env = "SCIR_JURISDICTIONS_FILE")]
    pub jurisdictions_file: Option<PathBuf>,
}

impl DirectoryArgs {
    /// The configured directory, or the shipped one.
    pub fn load(&self) -> Result<Directory, ConfigError> {
        match &self.jurisdictions_file {
            Some(path) => Directory::load(path),
            None => Ok(Directory::shipped()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_directory_has_states_and_their_counties() {
        let d = Directory::shipped();
        assert_eq!(d.parent_of("us-wi-dane"), Some("us-wi"));
        assert!(d.acts_in("us-wi", "us-wi-dane"));
        assert!(d.acts_in("us-wi", "us-wi"));
        assert!(
            !d.acts_in("us-wi-dane", "us-wi"),
            "a county does not act in its state"
        );
        assert!(!d.acts_in("us-tn", "us-wi-dane"));
        assert!(!d.acts_in("us-wi", "no-such-place"));
        assert!(!d.get("us-wi-milwaukee").expect("listed").share_name);
    }

    #[test]
    fn problems_are_located() {
        let text = "[[jurisdictions]]\nid = \"a\"\nname = \"A\"\ntype = \"STATE\"\n\n[[jurisdictions]]\nid = \"b\"\nname = \"B\"\ntype = \"COUNTY\"\nparent = \"nope\"\n";
        let e = Directory::parse("j.toml", text).expect_err("unknown parent");
        assert_eq!((e.file.as_str(), e.line), ("j.toml", 6), "{e}");
        assert!(e.message.contains("unknown parent `nope`"), "{e}");
        let e = Directory::parse(
            "j.toml",
            "[[jurisdictions]]\nid = \"withheld\"\nname = \"W\"\ntype = \"STATE\"\n",
        )
        .expect_err("reserved id");
        assert!(e.message.contains("withheld"), "{e}");
        let e = Directory::parse(
            "j.toml",
            "[[jurisdictions]]\nid = \"a\"\nname = \"A\"\ntype = \"STATE\"\nshare_nmae = true\n",
        )
        .expect_err("misspelt field");
        assert_eq!(e.line, 5, "{e}");
    }
}
