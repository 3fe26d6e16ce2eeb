//! The facts as the questions read them: one fixed-size row per review in a
//! contiguous array, levels in a dense matrix, names as numbers. A question is
//! one sequential pass over this, never a walk through scattered allocations.

use std::collections::{HashMap, HashSet};

use super::facts::{CultureWaveFact, Dicts, LearningFacts, ReviewFact, derived_key};

/// Levels kept per review (item numbers below this); grows when needed.
const FIRST_STRIDE: usize = 32;

/// One review, fixed size.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Compact {
    /// Jurisdiction number.
    pub jurisdiction: u32,
    /// Quarter as year * 4 + quarter - 1.
    pub quarter: i32,
    /// Quarter number (the dictionary's).
    pub quarter_id: u32,
    /// Incident type value.
    pub incident_type: i32,
    /// Cause value.
    pub cause: i32,
    /// Sex value.
    pub sex: i32,
    /// Tribal status value.
    pub tribal: i32,
    /// Age band position.
    pub age_band: u32,
    /// Stage value.
    pub stage: i32,
    /// Race values as bits.
    pub races: u64,
    /// Theme values as bits.
    pub themes: u64,
    /// Whether the review still exists.
    pub alive: bool,
    /// Its cell key.
    pub key: u32,
}

/// A recommendation, fixed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactRecommendation {
    /// Row of its review.
    pub row: u32,
    /// Category value.
    pub category: i32,
    /// Strength value.
    pub strength: i32,
    /// Status value.
    pub status: i32,
    /// Due month as year * 100 + month (0 when none).
    pub due: i32,
    /// Effectiveness value (0 until checked).
    pub effectiveness: i32,
    /// Its cell key.
    pub key: u32,
}

/// A safety notice at one recipient, fixed size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactRecipient {
    /// Row of its head in [`Learning::heads`].
    pub row: u32,
    /// Due month as year * 100 + month (0 when none).
    pub due: i32,
    /// Response kind value (0 until answered).
    pub response: i32,
    /// Whole days to respond.
    pub days: i32,
    /// Its cell key.
    pub key: u32,
}

/// The learning loop's units. Each has a head of the review row's shape with
/// only its jurisdiction, quarter and cell key set, so that the scope and the
/// period and jurisdiction filters test it as they test a review; the other
/// filters do not apply to these units and are refused before they reach it.
#[derive(Debug, Clone, Default)]
pub struct Learning {
    /// One head per unit: considerations first, then notice recipients.
    pub heads: Vec<Compact>,
    /// Considerations, as actions (their `row` is their head).
    pub considerations: Vec<CompactRecommendation>,
    /// Safety notices by recipient.
    pub recipients: Vec<CompactRecipient>,
}

impl Learning {
    /// The units of `facts`, their names numbered by `dicts`.
    pub fn of(facts: &LearningFacts, dicts: &mut Dicts) -> Self {
        let mut out = Self::default();
        let mut head = |jurisdiction: &str, quarter: &str, key: u32| {
            out.heads.push(Compact {
                jurisdiction: dicts.jurisdictions.id(jurisdiction),
                quarter: quarter_number(quarter),
                quarter_id: dicts.quarters.id(quarter),
                alive: true,
                key,
                ..Compact::default()
            });
            (out.heads.len() - 1) as u32
        };
        let mut considerations = Vec::with_capacity(facts.considerations.len());
        for c in &facts.considerations {
            let a = &c.action;
            considerations.push(CompactRecommendation {
                row: head(&c.jurisdiction, &c.quarter, a.cell_key),
                category: a.category,
                strength: a.strength,
                status: a.status,
                due: month_number(&a.due_month),
                effectiveness: a.effectiveness,
                key: a.cell_key,
            });
        }
        let mut recipients = Vec::with_capacity(facts.recipients.len());
        for r in &facts.recipients {
            recipients.push(CompactRecipient {
                row: head(&r.jurisdiction, &r.quarter, r.cell_key),
                due: month_number(&r.due_month),
                response: r.response,
                days: r.days,
                key: r.cell_key,
            });
        }
        out.considerations = considerations;
        out.recipients = recipients;
        out
    }
}

/// One count of a closed culture wave with its own cell key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keyed {
    /// The count.
    pub n: i64,
    /// Its key.
    pub key: u32,
}

/// A closed culture wave's counts for one composite.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CompactComposite {
    /// Composite number (the dictionary's).
    pub code: u32,
    /// Positive answers.
    pub positive: Keyed,
    /// Answers (positive, neutral and negative).
    pub answered: Keyed,
}

/// A closed culture wave.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompactWave {
    /// Row of its head in [`Culture::heads`].
    pub row: u32,
    /// Respondents.
    pub respondents: Keyed,
    /// Codes issued.
    pub invited: Keyed,
    /// Per composite.
    pub composites: Vec<CompactComposite>,
}

/// The closed culture waves. Each has a head of the review row's shape with
/// its jurisdiction, the quarter it closed and its cell key, so that scope
/// and the period filter test it as they test a review.
#[derive(Debug, Clone, Default)]
pub struct Culture {
    /// One head per wave.
    pub heads: Vec<Compact>,
    /// The waves, in the order of their heads.
    pub waves: Vec<CompactWave>,
}

impl Culture {
    /// The waves of `facts`, their names numbered by `dicts`. Each count
    /// has a key of its own, derived from the wave's: the same wave's
    /// positive answers and answers are different populations.
    pub fn of(facts: &[CultureWaveFact], dicts: &mut Dicts) -> Self {
        let mut out = Self::default();
        for w in facts {
            let keyed = |n: i32, salt: &str| Keyed {
                n: i64::from(n),
                key: derived_key(w.cell_key, salt),
            };
            let composites = w
                .composites
                .iter()
                .map(|(code, [p, n, m])| CompactComposite {
                    code: dicts.composites.id(code),
                    positive: keyed(*p, &format!("positive:{code}")),
                    answered: keyed(p + n + m, &format!("answered:{code}")),
                })
                .collect();
            out.waves.push(CompactWave {
                row: out.heads.len() as u32,
                respondents: keyed(w.respondents, "respondents"),
                invited: keyed(w.invited, "invited"),
                composites,
            });
            out.heads.push(Compact {
                jurisdiction: dicts.jurisdictions.id(&w.jurisdiction),
                quarter: quarter_number(&w.quarter),
                quarter_id: dicts.quarters.id(&w.quarter),
                alive: true,
                key: w.cell_key,
                ..Compact::default()
            });
        }
        out
    }
}

/// Every review's facts, fixed size and contiguous.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Rows.
    pub rows: Vec<Compact>,
    /// Item levels: `items[row * stride + item]`.
    pub items: Vec<u8>,
    /// Domain levels: `domains[row * stride + domain]`.
    pub domains: Vec<u8>,
    /// Numbers per row in `items` and `domains`.
    pub stride: usize,
    /// Recommendations.
    pub recommendations: Vec<CompactRecommendation>,
    /// The learning loop's units.
    pub learning: Learning,
    /// The closed culture waves.
    pub culture: Culture,
    positions: HashMap<String, usize>,
}

fn quarter_number(quarter: &str) -> i32 {
    let Some((year, q)) = quarter.split_once("-Q") else {
        return 0;
    };
    year.parse::<i32>().unwrap_or(0) * 4 + q.parse::<i32>().unwrap_or(1) - 1
}

/// A month `YYYY-MM` as year * 100 + month.
pub fn month_number(month: &str) -> i32 {
    let Some((year, m)) = month.split_once('-') else {
        return 0;
    };
    year.parse::<i32>().unwrap_or(0) * 100 + m.parse::<i32>().unwrap_or(0)
}

/// A quarter `YYYY-Qn` as year * 4 + n - 1.
pub fn quarter_key(quarter: &str) -> i32 {
    quarter_number(quarter)
}

impl Snapshot {
    /// An empty snapshot.
    pub fn new() -> Self {
        Self {
            stride: FIRST_STRIDE,
            ..Default::default()
        }
    }

    fn widen(&mut self, needed: usize) {
        let mut stride = self.stride.max(FIRST_STRIDE);
        while stride < needed {
            stride *= 2;
        }
        if stride == self.stride {
            return;
        }
        let rows = self.rows.len();
        for levels in [&mut self.items, &mut self.domains] {
            let mut wider = vec![0u8; rows * stride];
            for r in 0..rows {
                let old = &levels[r * self.stride..(r + 1) * self.stride];
                wider[r * stride..r * stride + self.stride].copy_from_slice(old);
            }
            *levels = wider;
        }
        self.stride = stride;
    }

    /// Inserts or replaces the reviews `facts` holds for `keys`; keys without
    /// facts are marked gone.
    pub fn update(&mut self, keys: &[String], facts: &HashMap<String, ReviewFact>, dicts: &Dicts) {
        self.widen(dicts.items.len().max(dicts.domains.len()));
        let mut touched = HashSet::new();
        for key in keys {
            let row = match self.positions.get(key) {
                Some(row) => *row,
                None => {
                    let row = self.rows.len();
                    self.rows.push(Compact::default());
                    self.items.extend(std::iter::repeat_n(0, self.stride));
                    self.domains.extend(std::iter::repeat_n(0, self.stride));
                    self.positions.insert(key.clone(), row);
                    row
                }
            };
            touched.insert(row as u32);
            let levels = row * self.stride..(row + 1) * self.stride;
            self.items[levels.clone()].fill(0);
            self.domains[levels].fill(0);
            let Some(f) = facts.get(key) else {
                self.rows[row].alive = false;
                continue;
            };
            self.rows[row] = Compact {
                jurisdiction: f.ids.jurisdiction,
                quarter: quarter_number(&f.quarter),
                quarter_id: f.ids.quarter,
                incident_type: f.incident_type,
                cause: f.cause,
                sex: f.sex,
                tribal: f.tribal,
                age_band: f.ids.age_band,
                stage: f.stage,
                races: f
                    .races
                    .iter()
                    .filter(|r| (0..64).contains(*r))
                    .fold(0, |m, r| m | 1 << r),
                themes: f
                    .themes
                    .iter()
                    .filter(|t| (0..64).contains(*t))
                    .fold(0, |m, t| m | 1 << t),
                alive: true,
                key: f.cell_key,
            };
            for (item, level) in &f.ids.items {
                self.items[row * self.stride + *item as usize] = (*level).clamp(0, 255) as u8;
            }
            for (domain, level) in &f.ids.domains {
                self.domains[row * self.stride + *domain as usize] = (*level).clamp(0, 255) as u8;
            }
        }
        self.recommendations.retain(|r| !touched.contains(&r.row));
        for key in keys {
            let (Some(row), Some(f)) = (self.positions.get(key), facts.get(key)) else {
                continue;
            };
            self.recommendations
                .extend(f.recommendations.iter().map(|r| CompactRecommendation {
                    row: *row as u32,
                    category: r.category,
                    strength: r.strength,
                    status: r.status,
                    due: month_number(&r.due_month),
                    effectiveness: r.effectiveness,
                    key: r.cell_key,
                }));
        }
    }

    /// The item levels of a row.
    pub fn items_of(&self, row: usize) -> &[u8] {
        &self.items[row * self.stride..(row + 1) * self.stride]
    }

    /// The domain levels of a row.
    pub fn domains_of(&self, row: usize) -> &[u8] {
        &self.domains[row * self.stride..(row + 1) * self.stride]
    }
}
