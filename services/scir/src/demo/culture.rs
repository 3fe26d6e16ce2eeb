//! The demo's safety culture surveys: two waves in each demo jurisdiction, an
//! office with three teams, codes issued and answered through the answer page
//! as a browser sends them, then the results and the trend between the waves.
//!
//! The answers are invented: each composite has a share of agreement of its
//! own (speaking up and supervision high, workload low), the second wave a
//! little higher than the first, the teams apart by a few points, one answer
//! in twenty "prefer not to answer". The east team is small: in the second
//! wave only three of it answer, so its results (and its office's, which
//! would reveal it) are withheld. Both waves are closed once answered: the
//! first is whole enough for insights to count, the second is not (its whole
//! less the shown teams would be the east team), and the printout ends with
//! the state's culture beside its reviews as insights counts it.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::Context;
use scir_kit::auth::Role;
use scir_proto::culture::v1 as pb;

use crate::cli::output::Table;
use crate::connect::Caller;
use crate::journey::Driver;

const INSTRUMENT: &str = "surveyInstruments/scir-culture-shape/versions/1.0";
const WAVES: [&str; 2] = ["Demo survey, wave 1", "Demo survey, wave 2"];
/// Teams: (id, title, codes issued, answers sent in each wave, points above
/// the base).
const TEAMS: [(&str, &str, i32, [usize; 2], f64); 3] = [
    ("team-north", "North team", 14, [12, 12], 0.05),
    ("team-south", "South team", 12, [9, 9], -0.05),
    ("team-east", "East team", 6, [5, 3], 0.0),
];
/// Share agreeing per composite in the first wave (invented).
const BASE: [(&str, f64); 6] = [
    ("OPEN", 0.62),
    ("BLAME", 0.45),
    ("LEARN", 0.50),
    ("LOAD", 0.30),
    ("SUP", 0.66),
    ("PART", 0.48),
];

struct Lcg(u64);

impl Lcg {
    fn unit(&mut self) -> f64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// One respondent's answers: positive with the composite's share, neutral
/// one time in five of the rest, reversed items written the other way.
fn answers(instrument: &pb::SurveyInstrument, lift: f64, rng: &mut Lcg) -> Vec<i32> {
    instrument
        .items
        .iter()
        .map(|item| {
            if rng.unit() < 0.05 {
                return 0;
            }
            let composite = instrument
                .composites
                .iter()
                .find(|c| c.items.contains(&item.code))
                .map_or("", |c| c.code.as_str());
            let share = BASE
                .iter()
                .find(|(c, _)| *c == composite)
                .map_or(0.5, |(_, s)| *s)
                + lift;
            let r = rng.unit();
            let leaning = if r < share {
                if rng.unit() < 0.4 { 5 } else { 4 }
            } else if r < share + (1.0 - share) / 5.0 {
                3
            } else if rng.unit() < 0.5 {
                2
            } else {
                1
            };
            if item.reversed { 6 - leaning } else { leaning }
        })
        .collect()
}

/// Sends a form to the answer page; waits and tries again while the page
/// says the address is over its limit.
async fn send(address: SocketAddr, form: &str) -> anyhow::Result<()> {
    for _ in 0..120 {
        match crate::survey_page::post(address, form).await? {
            200 => return Ok(()),
            429 => tokio::time::sleep(Duration::from_secs(1)).await,
            status => anyhow::bail!("the answer page refused a demo answer: {status}"),
        }
    }
    anyhow::bail!("the answer page stayed over its limit for two minutes")
}

/// The demo wave `title` of `admin`'s jurisdiction, opened and answered if
/// it is not there yet.
#[allow(clippy::too_many_arguments)]
async fn wave(
    admin: &Caller,
    jurisdiction: &str,
    title: &str,
    number: usize,
    lift: f64,
    page: SocketAddr,
    instrument: &pb::SurveyInstrument,
    rng: &mut Lcg,
) -> anyhow::Result<pb::SurveyWave> {
    let existing = admin
        .culture()
        .list_survey_waves(pb::ListSurveyWavesRequest {
            parent: format!("jurisdictions/{jurisdiction}"),
        })
        .await
        .context("ListSurveyWaves")?
        .into_inner()
        .survey_waves;
    if let Some(w) = existing.into_iter().find(|w| w.title == title) {
        return Ok(w);
    }
    let today = chrono::Utc::now().date_naive();
    let mut units = vec![pb::OrganisationalUnit {
        id: "office".into(),
        title: "Office".into(),
        ..Default::default()
    }];
    units.extend(TEAMS.iter().map(|(id, name, ..)| pb::OrganisationalUnit {
        id: (*id).into(),
        title: (*name).into(),
        parent: "office".into(),
        invited: 0,
    }));
    let created = admin
        .culture()
        .create_survey_wave(pb::CreateSurveyWaveRequest {
            parent: format!("jurisdictions/{jurisdiction}"),
            survey_wave: Some(pb::SurveyWave {
                title: title.into(),
                instrument: INSTRUMENT.into(),
                units,
                open_date: Some(scir_kit::validate::from_date(today)),
                close_date: Some(scir_kit::validate::from_date(today + chrono::Days::new(21))),
                ..Default::default()
            }),
        })
        .await
        .context("CreateSurveyWave")?
        .into_inner();
    for (id, _, invited, answered, offset) in TEAMS {
        let answered = answered[number];
        let codes = admin
            .culture()
            .issue_invitations(pb::IssueInvitationsRequest {
                wave: created.name.clone(),
                unit: id.into(),
                count: invited,
            })
            .await
            .context("IssueInvitations")?
            .into_inner()
            .codes;
        for code in codes.iter().take(answered) {
            let mut form = format!("code={code}");
            for (n, value) in answers(instrument, lift + offset, rng).iter().enumerate() {
                form.push_str(&format!("&q{}={value}", n + 1));
            }
            send(page, &form).await?;
        }
    }
    let closed = admin
        .culture()
        .close_survey_wave(pb::CloseSurveyWaveRequest {
            name: created.name.clone(),
        })
        .await
        .context("CloseSurveyWave")?
        .into_inner();
    Ok(closed)
}

fn percent(score: Option<&pb::Score>) -> String {
    score.map_or("-".to_owned(), |s| format!("{:.0}%", s.positive * 100.0))
}

/// Runs the surveys (once) and prints them.
pub async fn run(
    driver: &Driver,
    culture: &str,
    jurisdictions: &BTreeSet<String>,
) -> anyhow::Result<()> {
    println!("\n== Safety culture surveys (invented answers; docs/culture.md) ==");
    let page: SocketAddr = culture
        .trim_start_matches("http://")
        .parse()
        .with_context(|| format!("the answer page needs a plain http:// address, not {culture}"))?;
    for jurisdiction in jurisdictions {
        let admin = driver.caller("demo-culture-admin", &[Role::Admin], jurisdiction)?;
        let instruments = admin
            .culture()
            .list_survey_instruments(pb::ListSurveyInstrumentsRequest {})
            .await
            .context("ListSurveyInstruments")?
            .into_inner()
            .instruments;
        let instrument = instruments
            .into_iter()
            .find(|i| i.name == INSTRUMENT)
            .context("the shipped survey instrument")?;
        let mut rng = Lcg(jurisdiction.bytes().fold(17, |h: u64, b| {
            h.wrapping_mul(31).wrapping_add(u64::from(b))
        }));
        let mut results = Vec::new();
        for (w, title) in WAVES.iter().enumerate() {
            let wave = wave(
                &admin,
                jurisdiction,
                title,
                w,
                0.06 * w as f64,
                page,
                &instrument,
                &mut rng,
            )
            .await?;
            results.push(
                admin
                    .culture()
                    .get_survey_results(pb::GetSurveyResultsRequest { wave: wave.name })
                    .await
                    .context("GetSurveyResults")?
                    .into_inner(),
            );
        }
        let latest = &results[1];
        println!(
            "\n{jurisdiction}, {} (percent positive; units under {} respondents withheld):\n",
            WAVES[1], latest.min_respondents
        );
        let mut header = vec!["unit".to_owned(), "answered".to_owned()];
        header.extend(instrument.composites.iter().map(|c| c.code.clone()));
        let mut table = Table::new(header);
        for unit in &latest.units {
            let mut row = vec![unit.unit.clone()];
            if unit.withheld == pb::Withheld::Unspecified as i32 {
                row.push(format!(
                    "{}/{} ({:.0}%)",
                    unit.respondents,
                    unit.invited,
                    unit.response_rate * 100.0
                ));
                row.extend(
                    instrument
                        .composites
                        .iter()
                        .map(|c| percent(unit.composites.iter().find(|s| s.code == c.code))),
                );
            } else {
                let why = if unit.withheld == pb::Withheld::TooFew as i32 {
                    "withheld: too few"
                } else {
                    "withheld: would reveal a small team"
                };
                row.push(why.to_owned());
                row.extend(instrument.composites.iter().map(|_| "-".to_owned()));
            }
            table.row(row);
        }
        println!("{}", table.render());
        let trend: Vec<String> = instrument
            .composites
            .iter()
            .map(|c| {
                let of = |r: &pb::SurveyResults| {
                    r.units
                        .iter()
                        .find(|u| u.unit == TEAMS[0].0)
                        .and_then(|u| u.composites.iter().find(|s| s.code == c.code))
                        .map(|s| (s.positive * 100.0).round() as i64)
                };
                match (of(&results[0]), of(&results[1])) {
                    (Some(a), Some(b)) => format!("{} {a}->{b}", c.code),
                    _ => format!("{} -", c.code),
                }
            })
            .collect();
        println!(
            "\nTrend, {} (wave 1 -> wave 2): {}",
            TEAMS[0].1,
            trend.join(", ")
        );
    }
    beside_reviews(driver, "us-wi").await
}

/// Prints a jurisdiction's culture beside its reviews and its standing among
/// the members, as insights counts them from the closed waves; waits a while
/// for insights to count the waves.
async fn beside_reviews(driver: &Driver, jurisdiction: &str) -> anyhow::Result<()> {
    use scir_proto::insights::v1 as insights;
    let analyst = driver.caller("demo-analyst", &[Role::Analyst], jurisdiction)?;
    let ask = |question: insights::Question| insights::AskRequest {
        question: question as i32,
        ..Default::default()
    };
    let mut table = insights::Table::default();
    for _ in 0..60 {
        table = analyst
            .insights()
            .ask(ask(insights::Question::CultureBesideReviews))
            .await
            .context("Ask (culture beside the reviews)")?
            .into_inner();
        if table
            .rows
            .iter()
            .any(|r| r.keys.get(1).is_some_and(|k| k == "culture"))
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "
== Insights: {jurisdiction}'s culture beside its reviews (exact, own jurisdiction) ==\n"
    );
    println!("{}", crate::cli::insights::render(&table));
    let standing = analyst
        .insights()
        .ask(ask(insights::Question::CultureStanding))
        .await
        .context("Ask (culture standing)")?
        .into_inner();
    println!(
        "
== Insights: where {jurisdiction}'s culture stands among the members ==\n"
    );
    println!("{}", crate::cli::insights::render(&standing));
    Ok(())
}
