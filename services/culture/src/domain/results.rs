//! A wave's results per unit: answers tallied as positive, neutral or
//! negative per item, rolled up the unit tree, composites as the mean of their
//! items' shares (as SOPS reports them), and the disclosure rule: a unit with
//! fewer than `n` respondents is withheld, and so is a parent whose result,
//! less its shown children's, would describe between 1 and `n - 1` people.

use std::collections::HashMap;

use scir_proto::culture::v1 as pb;

use super::instruments::{Leaning, leaning};

/// A unit of a wave, as results need it.
#[derive(Debug, Clone)]
pub struct UnitNode {
    /// Its id.
    pub id: String,
    /// Its parent's id, or empty.
    pub parent: String,
    /// Codes issued for it.
    pub invited: i32,
}

/// Positive, neutral and negative answers per item.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Respondents.
    pub respondents: i32,
    /// `[positive, neutral, negative]` per item, in the instrument's order.
    pub items: Vec<[i32; 3]>,
}

impl Tally {
    fn new(items: usize) -> Self {
        Self {
            respondents: 0,
            items: vec![[0; 3]; items],
        }
    }

    /// Adds one response's answers (one value per item, 0 for no answer).
    pub fn add(&mut self, answers: &[i32], instrument: &pb::SurveyInstrument) {
        self.respondents += 1;
        for ((slot, item), value) in self.items.iter_mut().zip(&instrument.items).zip(answers) {
            match leaning(*value, item.reversed) {
                Some(Leaning::Positive) => slot[0] += 1,
                Some(Leaning::Neutral) => slot[1] += 1,
                Some(Leaning::Negative) => slot[2] += 1,
                None => {}
            }
        }
    }

    fn absorb(&mut self, other: &Tally) {
        self.respondents += other.respondents;
        for (a, b) in self.items.iter_mut().zip(&other.items) {
            for k in 0..3 {
                a[k] += b[k];
            }
        }
    }
}

fn score(code: &str, counts: [i32; 3]) -> pb::Score {
    let answered = counts.iter().sum::<i32>();
    let share = |k: usize| {
        if answered == 0 {
            0.0
        } else {
            f64::from(counts[k]) / f64::from(answered)
        }
    };
    pb::Score {
        code: code.to_owned(),
        positive: share(0),
        neutral: share(1),
        negative: share(2),
        answered,
    }
}

/// Each unit's tally with its descendants', the codes issued for it and its
/// descendants, and whether it is withheld (`n` the threshold).
struct Rolled {
    total: Vec<Tally>,
    invited: Vec<i32>,
    withheld: Vec<pb::Withheld>,
}

fn roll_up(units: &[UnitNode], own: &HashMap<String, Tally>, width: usize, n: i32) -> Rolled {
    let index: HashMap<&str, usize> = units
        .iter()
        .enumerate()
        .map(|(i, u)| (u.id.as_str(), i))
        .collect();
    let mut total: Vec<Tally> = units
        .iter()
        .map(|u| own.get(&u.id).cloned().unwrap_or_else(|| Tally::new(width)))
        .collect();
    let mut invited: Vec<i32> = units.iter().map(|u| u.invited).collect();
    // Children after parents, so the reverse order rolls each child up before
    // its parent is rolled into its own parent.
    for i in (0..units.len()).rev() {
        if let Some(&p) = index.get(units[i].parent.as_str()) {
            let child = total[i].clone();
            total[p].absorb(&child);
            invited[p] += invited[i];
        }
    }
    // What each unit's shown descendants cover: a shown child covers its
    // whole, a withheld one what its own shown descendants cover. A unit's
    // result less all of that is what subtraction could reveal, whatever
    // depth the shown units are at.
    let mut withheld = vec![pb::Withheld::Unspecified; units.len()];
    let mut covered = vec![0; units.len()];
    for i in (0..units.len()).rev() {
        let respondents = total[i].respondents;
        if respondents < n {
            withheld[i] = pb::Withheld::TooFew;
        } else {
            let residual = respondents - covered[i];
            if residual > 0 && residual < n {
                withheld[i] = pb::Withheld::Subtraction;
            }
        }
        if let Some(&p) = index.get(units[i].parent.as_str()) {
            covered[p] += if withheld[i] == pb::Withheld::Unspecified {
                respondents
            } else {
                covered[i]
            };
        }
    }
    Rolled {
        total,
        invited,
        withheld,
    }
}

/// The whole wave's tally and codes issued, or why it is withheld: the wave
/// is treated as one more parent, of its top units, under the same rule, so
/// that the whole less a shown unit never describes fewer than `n`.
pub fn whole(
    units: &[UnitNode],
    own: &HashMap<String, Tally>,
    width: usize,
    n: i32,
) -> Result<(Tally, i32), pb::Withheld> {
    // Unit ids never contain `/`, so the wave's own node cannot clash.
    const WAVE: &str = "/";
    let nodes: Vec<UnitNode> = std::iter::once(UnitNode {
        id: WAVE.to_owned(),
        parent: String::new(),
        invited: 0,
    })
    .chain(units.iter().map(|u| UnitNode {
        parent: if u.parent.is_empty() {
            WAVE.to_owned()
        } else {
            u.parent.clone()
        },
        ..u.clone()
    }))
    .collect();
    let mut rolled = roll_up(&nodes, own, width, n);
    match rolled.withheld[0] {
        pb::Withheld::Unspecified => Ok((rolled.total.swap_remove(0), rolled.invited[0])),
        why => Err(why),
    }
}

/// The results of a wave's `units` (parents before children) from each unit's
/// own tally, withholding below `n`.
pub fn results(
    units: &[UnitNode],
    own: &HashMap<String, Tally>,
    instrument: &pb::SurveyInstrument,
    n: i32,
) -> Vec<pb::UnitResult> {
    let Rolled {
        total,
        invited,
        withheld,
    } = roll_up(units, own, instrument.items.len(), n);
    units
        .iter()
        .enumerate()
        .map(|(i, u)| {
            if withheld[i] != pb::Withheld::Unspecified {
                return pb::UnitResult {
                    unit: u.id.clone(),
                    withheld: withheld[i] as i32,
                    invited: invited[i],
                    ..Default::default()
                };
            }
            let t = &total[i];
            let items: Vec<pb::Score> = instrument
                .items
                .iter()
                .zip(&t.items)
                .map(|(item, counts)| score(&item.code, *counts))
                .collect();
            let composites = instrument
                .composites
                .iter()
                .map(|c| composite(c, &items))
                .collect();
            pb::UnitResult {
                unit: u.id.clone(),
                withheld: pb::Withheld::Unspecified as i32,
                respondents: t.respondents,
                invited: invited[i],
                response_rate: if invited[i] > 0 {
                    f64::from(t.respondents) / f64::from(invited[i])
                } else {
                    0.0
                },
                items,
                composites,
            }
        })
        .collect()
}

/// A composite: the mean of its answered items' shares.
fn composite(c: &pb::Composite, items: &[pb::Score]) -> pb::Score {
    let members: Vec<&pb::Score> = items
        .iter()
        .filter(|s| c.items.contains(&s.code) && s.answered > 0)
        .collect();
    let mean = |f: fn(&pb::Score) -> f64| {
        if members.is_empty() {
            0.0
        } else {
            members.iter().map(|s| f(s)).sum::<f64>() / members.len() as f64
        }
    };
    pb::Score {
        code: c.code.clone(),
        positive: mean(|s| s.positive),
        neutral: mean(|s| s.neutral),
        negative: mean(|s| s.negative),
        answered: members.iter().map(|s| s.answered).sum(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn instrument() -> pb::SurveyInstrument {
        let item = |code: &str, reversed| pb::SurveyItem {
            code: code.into(),
            text: code.into(),
            scale: pb::Scale::Agreement as i32,
            reversed,
        };
        pb::SurveyInstrument {
            items: vec![item("A1", false), item("A2", true)],
            composites: vec![pb::Composite {
                code: "A".into(),
                title: "A".into(),
                items: vec!["A1".into(), "A2".into()],
            }],
            ..Default::default()
        }
    }

    fn unit(id: &str, parent: &str, invited: i32) -> UnitNode {
        UnitNode {
            id: id.into(),
            parent: parent.into(),
            invited,
        }
    }

    fn tally(i: &pb::SurveyInstrument, answers: &[[i32; 2]]) -> Tally {
        let mut t = Tally::new(2);
        for a in answers {
            t.add(a, i);
        }
        t
    }

    #[test]
    fn shares_roll_up_and_reversed_items_count_disagreement_as_positive() {
        let i = instrument();
        let units = [unit("office", "", 0), unit("team", "office", 10)];
        let own = HashMap::from([(
            "team".to_owned(),
            tally(&i, &[[5, 1], [4, 2], [3, 5], [0, 0]]),
        )]);
        let r = results(&units, &own, &i, 2);
        let team = &r[1];
        assert_eq!(team.respondents, 4);
        assert_eq!(team.response_rate, 0.4);
        assert_eq!(team.items[0].answered, 3, "0 is no answer");
        assert!((team.items[0].positive - 2.0 / 3.0).abs() < 1e-9);
        assert!(
            (team.items[1].positive - 2.0 / 3.0).abs() < 1e-9,
            "reversed"
        );
        assert!((team.items[1].negative - 1.0 / 3.0).abs() < 1e-9);
        assert!((team.composites[0].positive - 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(r[0].respondents, 4, "the office holds its team");
        assert_eq!(r[0].invited, 10);
    }

    #[test]
    fn small_units_and_parents_that_would_reveal_them_are_withheld() {
        let i = instrument();
        let units = [
            unit("office", "", 0),
            unit("big", "office", 20),
            unit("small", "office", 5),
        ];
        let five = [[4, 2]; 5];
        let two = [[1, 5]; 2];
        let own = HashMap::from([
            ("big".to_owned(), tally(&i, &five)),
            ("small".to_owned(), tally(&i, &two)),
        ]);
        let r = results(&units, &own, &i, 5);
        assert_eq!(r[1].withheld, pb::Withheld::Unspecified as i32);
        assert_eq!(r[2].withheld, pb::Withheld::TooFew as i32);
        assert!(r[2].items.is_empty() && r[2].respondents == 0);
        // office (7) less big (5) is small's 2: withheld.
        assert_eq!(r[0].withheld, pb::Withheld::Subtraction as i32);
        // With enough in the small team, everyone is shown.
        let own = HashMap::from([
            ("big".to_owned(), tally(&i, &five)),
            ("small".to_owned(), tally(&i, &five)),
        ]);
        let r = results(&units, &own, &i, 5);
        assert!(
            r.iter()
                .all(|u| u.withheld == pb::Withheld::Unspecified as i32)
        );
        assert_eq!(r[0].respondents, 10);
    }

    #[test]
    fn a_withheld_parent_does_not_hide_a_grandchild_from_subtraction() {
        // A region with one office of two teams: the office is withheld
        // (office less team A is team B's 2), and so must the region be,
        // whose result is the office's.
        let i = instrument();
        let units = [
            unit("region", "", 0),
            unit("office", "region", 0),
            unit("a", "office", 10),
            unit("b", "office", 5),
        ];
        let own = HashMap::from([
            ("a".to_owned(), tally(&i, &[[4, 2]; 6])),
            ("b".to_owned(), tally(&i, &[[1, 5]; 2])),
        ]);
        let r = results(&units, &own, &i, 5);
        let withheld: Vec<i32> = r.iter().map(|u| u.withheld).collect();
        let (shown, too_few, subtraction) = (
            pb::Withheld::Unspecified as i32,
            pb::Withheld::TooFew as i32,
            pb::Withheld::Subtraction as i32,
        );
        assert_eq!(withheld, [subtraction, subtraction, shown, too_few]);
        assert_eq!(
            whole(&units, &own, 2, 5).map(|(t, _)| t.respondents),
            Err(pb::Withheld::Subtraction)
        );
    }

    #[test]
    fn the_whole_wave_is_withheld_when_it_would_reveal_a_small_top_unit() {
        let i = instrument();
        let units = [unit("big", "", 20), unit("small", "", 5)];
        let five = [[4, 2]; 5];
        let two = [[1, 5]; 2];
        let own = HashMap::from([
            ("big".to_owned(), tally(&i, &five)),
            ("small".to_owned(), tally(&i, &two)),
        ]);
        // The whole (7) less the shown big team (5) is the small team's 2.
        assert_eq!(whole(&units, &own, 2, 5), Err(pb::Withheld::Subtraction));
        assert_eq!(whole(&units, &own, 2, 8), Err(pb::Withheld::TooFew));
        let own = HashMap::from([
            ("big".to_owned(), tally(&i, &five)),
            ("small".to_owned(), tally(&i, &five)),
        ]);
        let (tally, invited) = whole(&units, &own, 2, 5).expect("shown");
        assert_eq!((tally.respondents, invited), (10, 25));
        assert_eq!(tally.items[0], [10, 0, 0], "every 4 is agreement");
        assert_eq!(
            tally.items[1],
            [10, 0, 0],
            "disagreeing with a reversed item is positive"
        );
    }
}
