//! De-identified facts: what insights keeps of a review. Months and quarters,
//! never dates; age bands, never ages; codes, never text.

use std::collections::{BTreeMap, HashMap};

/// Age bands, youngest first.
pub const AGE_BANDS: [&str; 6] = ["under-1", "1-4", "5-9", "10-14", "15-17", "18+"];

/// The age band of an age in months.
pub fn age_band(months: i32) -> &'static str {
    match months {
        m if m < 12 => AGE_BANDS[0],
        m if m < 60 => AGE_BANDS[1],
        m if m < 120 => AGE_BANDS[2],
        m if m < 180 => AGE_BANDS[3],
        m if m < 216 => AGE_BANDS[4],
        _ => AGE_BANDS[5],
    }
}

/// `YYYY-Qn` of a year and month.
pub fn quarter(year: i32, month: i32) -> String {
    format!("{year}-Q{}", (month.clamp(1, 12) - 1) / 3 + 1)
}

/// Names given small numbers, so that answers count in dense arrays.
#[derive(Debug, Clone, Default)]
pub struct Dict {
    names: Vec<String>,
    ids: HashMap<String, u32>,
}

impl Dict {
    /// The number of `name`, given on first sight.
    pub fn id(&mut self, name: &str) -> u32 {
        if let Some(id) = self.ids.get(name) {
            return *id;
        }
        let id = self.names.len() as u32;
        self.names.push(name.to_owned());
        self.ids.insert(name.to_owned(), id);
        id
    }

    /// The number of `name`, if it has one.
    pub fn get(&self, name: &str) -> Option<u32> {
        self.ids.get(name).copied()
    }

    /// The name of a number.
    pub fn name(&self, id: u32) -> &str {
        self.names.get(id as usize).map_or("", String::as_str)
    }

    /// How many names there are.
    pub fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.names.is_empty()
    }
}

/// The dictionaries of an index.
#[derive(Debug, Clone, Default)]
pub struct Dicts {
    /// Item codes.
    pub items: Dict,
    /// Domain codes.
    pub domains: Dict,
    /// Jurisdiction ids.
    pub jurisdictions: Dict,
    /// Quarters.
    pub quarters: Dict,
    /// Culture composite codes.
    pub composites: Dict,
}

impl Dicts {
    /// Numbers a fact's names (in place).
    pub fn intern(&mut self, f: &mut ReviewFact) {
        f.ids = Ids {
            items: f
                .item_levels
                .iter()
                .map(|(c, l)| (self.items.id(c), *l))
                .collect(),
            domains: f
                .domain_levels
                .iter()
                .map(|(c, l)| (self.domains.id(c), *l))
                .collect(),
            jurisdiction: self.jurisdictions.id(&f.jurisdiction),
            quarter: self.quarters.id(&f.quarter),
            age_band: AGE_BANDS.iter().position(|b| *b == f.age_band).unwrap_or(0) as u32,
        };
    }
}

/// A fact's names as numbers of its index's dictionaries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ids {
    /// (item, level).
    pub items: Vec<(u32, i32)>,
    /// (domain, level).
    pub domains: Vec<(u32, i32)>,
    /// Jurisdiction.
    pub jurisdiction: u32,
    /// Quarter.
    pub quarter: u32,
    /// Age band (position in `AGE_BANDS`).
    pub age_band: u32,
}

/// An action as counted: a review's recommendation, or a mapping's
/// consideration (whose status values are learning's).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Action {
    /// Category value (review's recommendation categories).
    pub category: i32,
    /// Action strength value.
    pub strength: i32,
    /// Status value.
    pub status: i32,
    /// Due month, `YYYY-MM`.
    pub due_month: String,
    /// Effectiveness value, once checked (0 until then).
    pub effectiveness: i32,
    /// Its permanent random cell key (never shown).
    pub cell_key: u32,
}

/// Everything insights knows of one review.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReviewFact {
    /// Owning jurisdiction.
    pub jurisdiction: String,
    /// Incident type value.
    pub incident_type: i32,
    /// Cause category value.
    pub cause: i32,
    /// Quarter of the incident, `YYYY-Qn`.
    pub quarter: String,
    /// Age band.
    pub age_band: String,
    /// Sex value.
    pub sex: i32,
    /// Race and ethnicity values.
    pub races: Vec<i32>,
    /// Tribal status value.
    pub tribal: i32,
    /// Stage value.
    pub stage: i32,
    /// Month of the earliest unmet deadline, `YYYY-MM`, or empty.
    pub next_due_month: String,
    /// Highest consensus level per item code (over the review's key observations).
    pub item_levels: BTreeMap<String, i32>,
    /// Highest consensus level per domain code.
    pub domain_levels: BTreeMap<String, i32>,
    /// Themes (values) of key observations and learning opportunities.
    pub themes: Vec<i32>,
    /// Recommendations.
    pub recommendations: Vec<Action>,
    /// Whole days spent in each stage left, by stage value.
    pub stage_days: BTreeMap<i32, i32>,
    /// Names as numbers (set by [`Dicts::intern`]).
    pub ids: Ids,
    /// Its permanent random cell key (never shown).
    pub cell_key: u32,
}

/// A consideration of an aggregate mapping, as counted: a unit of its own,
/// drawn from many reviews, so it carries none of a review's dimensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsiderationFact {
    /// The mapping's jurisdiction.
    pub jurisdiction: String,
    /// Quarter it was first recorded, `YYYY-Qn`.
    pub quarter: String,
    /// What it is and where it stands.
    pub action: Action,
}

/// A safety notice at one recipient jurisdiction, as counted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NoticeRecipientFact {
    /// The recipient jurisdiction.
    pub jurisdiction: String,
    /// Quarter the notice was issued, `YYYY-Qn`.
    pub quarter: String,
    /// Month responses are due, `YYYY-MM`, or empty.
    pub due_month: String,
    /// The response kind value; 0 until the recipient answers.
    pub response: i32,
    /// Whole days from issue to the response.
    pub days: i32,
    /// Its permanent random cell key (never shown).
    pub cell_key: u32,
}

/// Everything insights knows of the learning loop.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LearningFacts {
    /// Considerations.
    pub considerations: Vec<ConsiderationFact>,
    /// Safety notices by recipient.
    pub recipients: Vec<NoticeRecipientFact>,
}

/// A closed safety culture survey wave, as counted: the whole wave's
/// answers per composite, never a unit's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CultureWaveFact {
    /// The wave's jurisdiction.
    pub jurisdiction: String,
    /// Quarter the wave closed, `YYYY-Qn`.
    pub quarter: String,
    /// Respondents.
    pub respondents: i32,
    /// Codes issued.
    pub invited: i32,
    /// Per composite code: positive, neutral and negative answers to its items.
    pub composites: BTreeMap<String, [i32; 3]>,
    /// Its permanent random cell key (never shown); each of its counts has a
    /// key derived from it ([`derived_key`]).
    pub cell_key: u32,
}

/// An independent-looking key for one count of a record that carries
/// several (a wave's respondents, its positive answers to a composite...):
/// `salt` names the count. Same record and count, same key.
pub fn derived_key(key: u32, salt: &str) -> u32 {
    // FNV-1a over the salt, then a splitmix finaliser over both.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in salt.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    let mut z = (u64::from(key) << 32 | u64::from(key)) ^ h;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    (z ^ (z >> 31)) as u32
}

impl ReviewFact {
    /// The year of the incident.
    pub fn year(&self) -> &str {
        self.quarter.split('-').next().unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_and_quarters() {
        assert_eq!(age_band(0), "under-1");
        assert_eq!(age_band(11), "under-1");
        assert_eq!(age_band(12), "1-4");
        assert_eq!(age_band(215), "15-17");
        assert_eq!(age_band(216), "18+");
        assert_eq!(quarter(2025, 3), "2025-Q1");
        assert_eq!(quarter(2025, 4), "2025-Q2");
        assert_eq!(quarter(2025, 12), "2025-Q4");
    }
}
