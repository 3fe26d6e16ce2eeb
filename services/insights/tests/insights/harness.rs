//! A synthetic partnership as event logs, and an insights server consuming them.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use scir_insights::{Application, InsightsConfig};
use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_kit::credentials::ServiceTokenConfig;
use scir_kit::shutdown::Shutdown;
use scir_proto::common::v1::{Date, Event};
use scir_proto::insights::v1 as pb;
use scir_proto::insights::v1::insights_service_client::InsightsServiceClient;
use scir_proto::intake::v1 as intake;
use scir_proto::learning::v1 as learning;
use scir_proto::review::v1 as review;
use scir_proto::scoring::v1 as scoring;
use scir_testkit::event_source::{self, event};
use scir_testkit::{Backend, TestDatabase};
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// How long a test waits for the projections to apply the seeded events: a
/// bound for a stalled projection, not a speed target (thousands of events in
/// a debug build on two shared cores take tens of seconds).
const PROJECTION_WAIT: Duration = Duration::from_secs(120);

/// An insights client.
pub(crate) type Client = InsightsServiceClient<InterceptedService<Channel, ClientInterceptor>>;

/// Items of the synthetic instrument, with their domains.
pub(crate) const ITEMS: [(&str, &str); 6] = [
    ("FAM1", "FAM"),
    ("FAM2", "FAM"),
    ("ORG1", "ORG"),
    ("ORG2", "ORG"),
    ("SYS1", "SYS"),
    ("SYS2", "SYS"),
];
/// Themes used.
pub(crate) const THEMES: [review::Theme; 4] = [
    review::Theme::TeamworkAndCoordination,
    review::Theme::EconomicSupport,
    review::Theme::SafeSleep,
    review::Theme::WorkloadAndStaffing,
];
/// Causes used, the last one rare.
pub(crate) const CAUSES: [intake::CauseCategory; 4] = [
    intake::CauseCategory::Suid,
    intake::CauseCategory::Neglect,
    intake::CauseCategory::PhysicalAbuse,
    intake::CauseCategory::Drowning,
];

/// One synthetic review, as the test knows it.
#[derive(Debug, Clone)]
pub(crate) struct Fixture {
    /// Resource name.
    pub name: String,
    /// Jurisdiction.
    pub jurisdiction: &'static str,
    /// Cause.
    pub cause: intake::CauseCategory,
    /// Incident year and month.
    pub date: (i32, i32),
    /// Race categories.
    pub races: Vec<intake::RaceEthnicity>,
    /// Tribal status.
    pub tribal: intake::TribalStatus,
    /// Consensus level per item.
    pub levels: BTreeMap<&'static str, i32>,
    /// Themes.
    pub themes: Vec<review::Theme>,
    /// Recommendations: category, strength, status.
    pub recommendations: Vec<(
        review::RecommendationCategory,
        review::ActionStrength,
        review::RecommendationStatus,
    )>,
    /// Stage.
    pub stage: review::Stage,
}

struct Lcg(u64);

impl Lcg {
    fn next(&mut self, n: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % n
    }
}

/// A deterministic synthetic partnership: Wisconsin 60, Tennessee 45, a tribal
/// nation 25 (withholding its name), Kansas 12 (out of the pool).
pub(crate) fn partnership() -> Vec<Fixture> {
    generate(
        20261125,
        &[
            ("us-wi", 60),
            ("us-tn", 45),
            ("tribal-sample", 25),
            ("us-ks", 12),
        ],
    )
}

/// A deterministic synthetic partnership of `sizes` reviews per jurisdiction.
pub(crate) fn generate(seed: u64, sizes: &[(&'static str, usize)]) -> Vec<Fixture> {
    let mut rng = Lcg(seed);
    let mut out = Vec::new();
    for &(jurisdiction, n) in sizes {
        for i in 0..n {
            let cause = match rng.next(20) {
                0 => CAUSES[3],
                1..=8 => CAUSES[0],
                9..=15 => CAUSES[1],
                _ => CAUSES[2],
            };
            let races = match rng.next(6) {
                0 => vec![
                    intake::RaceEthnicity::AmericanIndianAlaskaNative,
                    intake::RaceEthnicity::White,
                ],
                1 | 2 => vec![intake::RaceEthnicity::Black],
                3 => vec![intake::RaceEthnicity::HispanicLatino],
                _ => vec![intake::RaceEthnicity::White],
            };
            let tribal = if jurisdiction == "tribal-sample" || rng.next(10) == 0 {
                intake::TribalStatus::MemberOrEligible
            } else {
                intake::TribalStatus::NotTribal
            };
            let mut levels = BTreeMap::new();
            for (item, _) in ITEMS {
                let bias = if item == "SYS1" { 2 } else { 0 };
                levels.insert(item, (rng.next(4) as i32 + bias).min(3));
            }
            let mut themes: Vec<review::Theme> = THEMES
                .iter()
                .copied()
                .filter(|_| rng.next(3) == 0)
                .collect();
            if cause == intake::CauseCategory::Suid && !themes.contains(&review::Theme::SafeSleep) {
                themes.push(review::Theme::SafeSleep);
            }
            let recommendations = (0..rng.next(3))
                .map(|_| {
                    let category = [
                        review::RecommendationCategory::PartnershipWithOtherSystems,
                        review::RecommendationCategory::UpdateGuidanceOrTraining,
                    ][rng.next(2) as usize];
                    let strength = [
                        review::ActionStrength::Stronger,
                        review::ActionStrength::Weaker,
                    ][rng.next(2) as usize];
                    let status = [
                        review::RecommendationStatus::Proposed,
                        review::RecommendationStatus::Implemented,
                    ][rng.next(2) as usize];
                    (category, strength, status)
                })
                .collect();
            let stage =
                [review::Stage::Recommendations, review::Stage::Finalised][rng.next(2) as usize];
            out.push(Fixture {
                name: format!("jurisdictions/{jurisdiction}/reviews/synthetic-{i}"),
                jurisdiction,
                cause,
                date: (2024 + rng.next(2) as i32, 1 + rng.next(12) as i32),
                races,
                tribal,
                levels,
                themes,
                recommendations,
                stage,
            });
        }
    }
    out
}

/// A consideration of a synthetic aggregate mapping, as the test knows it.
#[derive(Debug, Clone)]
pub(crate) struct ConsiderationFixture {
    /// The mapping's jurisdiction.
    pub jurisdiction: &'static str,
    /// Category.
    pub category: review::RecommendationCategory,
    /// Strength.
    pub strength: review::ActionStrength,
    /// Status.
    pub status: learning::ConsiderationStatus,
    /// Effectiveness (unspecified until checked).
    pub effectiveness: learning::Effectiveness,
    /// Whether it is due in January 2025 (else in 2099).
    pub due_past: bool,
}

/// A synthetic safety notice at one recipient.
#[derive(Debug, Clone)]
pub(crate) struct RecipientFixture {
    /// The notice's name.
    pub notice: String,
    /// The recipient.
    pub recipient: &'static str,
    /// Its answer and the days it took, if it answered.
    pub answer: Option<(learning::ResponseKind, i32)>,
    /// Whether responses were due in February 2025 (else in 2099).
    pub due_past: bool,
}

/// The learning loop of a synthetic partnership.
#[derive(Debug, Clone, Default)]
pub(crate) struct LearningFixtures {
    /// Considerations.
    pub considerations: Vec<ConsiderationFixture>,
    /// Notices by recipient.
    pub recipients: Vec<RecipientFixture>,
}

/// A UUID numbered `i`: learning's resource ids are UUIDs.
fn uuid(i: usize) -> String {
    format!("0192e0a4-0000-7000-8000-{i:012}")
}

/// The learning loop of the partnership `fixtures` make, deterministic:
/// per jurisdiction one consideration for every three of its reviews, and
/// three notices to each other jurisdiction, most of them answered.
pub(crate) fn learning_of(fixtures: &[Fixture]) -> LearningFixtures {
    let mut rng = Lcg(fixtures.len() as u64 * 7919 + 3);
    let mut sizes: BTreeMap<&'static str, usize> = BTreeMap::new();
    for f in fixtures {
        *sizes.entry(f.jurisdiction).or_default() += 1;
    }
    let mut out = LearningFixtures::default();
    for (&jurisdiction, &n) in &sizes {
        for _ in 0..n.div_ceil(3) {
            let category = [
                review::RecommendationCategory::AddressCommonBarriers,
                review::RecommendationCategory::WorkforceSupport,
                review::RecommendationCategory::PartnershipWithOtherSystems,
            ][rng.next(3) as usize];
            let strength = [
                review::ActionStrength::Stronger,
                review::ActionStrength::Intermediate,
                review::ActionStrength::Weaker,
            ][rng.next(3) as usize];
            let status = [
                learning::ConsiderationStatus::Proposed,
                learning::ConsiderationStatus::InProgress,
                learning::ConsiderationStatus::Implemented,
                learning::ConsiderationStatus::Implemented,
                learning::ConsiderationStatus::NotPursued,
            ][rng.next(5) as usize];
            let effectiveness = match (status, rng.next(4)) {
                (learning::ConsiderationStatus::Implemented, 0) => {
                    learning::Effectiveness::Unspecified
                }
                (learning::ConsiderationStatus::Implemented, 1) => {
                    learning::Effectiveness::TooEarly
                }
                (learning::ConsiderationStatus::Implemented, _)
                    if strength == review::ActionStrength::Weaker =>
                {
                    learning::Effectiveness::NotEffective
                }
                (learning::ConsiderationStatus::Implemented, _) => {
                    learning::Effectiveness::Effective
                }
                _ => learning::Effectiveness::Unspecified,
            };
            out.considerations.push(ConsiderationFixture {
                jurisdiction,
                category,
                strength,
                status,
                effectiveness,
                due_past: rng.next(2) == 0,
            });
        }
        for i in 0..3 {
            let notice = format!("jurisdictions/{jurisdiction}/safetyNotices/{}", uuid(i));
            let due_past = i != 2;
            for &recipient in sizes.keys().filter(|r| **r != jurisdiction) {
                let answer = match rng.next(5) {
                    0 => None,
                    k => Some((
                        [
                            learning::ResponseKind::Acknowledged,
                            learning::ResponseKind::ActionTaken,
                            learning::ResponseKind::NotApplicable,
                            learning::ResponseKind::ActionTaken,
                        ][k as usize - 1],
                        rng.next(90) as i32,
                    )),
                };
                out.recipients.push(RecipientFixture {
                    notice: notice.clone(),
                    recipient,
                    answer,
                    due_past,
                });
            }
        }
    }
    out
}

/// Learning's event log of a partnership's learning loop. Each consideration
/// is recorded as proposed first and changed to its status after, so the
/// projection's update path is what the counts come from.
pub(crate) fn learning_events(l: &LearningFixtures) -> Vec<Event> {
    let mut log = Vec::new();
    let mut push = |subject: &str, jurisdiction: &str, type_name: &str, payload: Vec<u8>| {
        let mut e = event(
            log.len() as i64 + 1,
            type_name,
            subject,
            jurisdiction,
            (2025, 6),
            &(),
        );
        e.payload.as_mut().expect("payload").value = payload;
        log.push(e);
    };
    use prost::Message;
    let date = |past: bool, month: i32| Date {
        year: if past { 2025 } else { 2099 },
        month,
        day: 10,
    };
    for (i, c) in l.considerations.iter().enumerate() {
        let name = format!(
            "jurisdictions/{}/aggregateMappings/{}/considerations/{}",
            c.jurisdiction,
            uuid(i % 2),
            uuid(i)
        );
        let mut changed = learning::ConsiderationChanged {
            name: name.clone(),
            category: c.category as i32,
            strength: c.strength as i32,
            status: learning::ConsiderationStatus::Proposed as i32,
            effectiveness: 0,
            due_date: Some(date(c.due_past, 1)),
        };
        let type_name = "scir.learning.v1.ConsiderationChanged";
        push(&name, c.jurisdiction, type_name, changed.encode_to_vec());
        changed.status = c.status as i32;
        changed.effectiveness = c.effectiveness as i32;
        push(&name, c.jurisdiction, type_name, changed.encode_to_vec());
    }
    let mut notices: BTreeMap<&str, Vec<&RecipientFixture>> = BTreeMap::new();
    for r in &l.recipients {
        notices.entry(r.notice.as_str()).or_default().push(r);
    }
    for (notice, recipients) in &notices {
        let issuer = notice.split('/').nth(1).expect("issuer");
        let issued = learning::SafetyNoticeIssued {
            name: (*notice).to_owned(),
            theme: review::Theme::SafeSleep as i32,
            recipients: recipients.len() as i32,
            response_due: Some(date(recipients[0].due_past, 2)),
            recipient_jurisdictions: recipients.iter().map(|r| r.recipient.to_owned()).collect(),
        };
        push(
            notice,
            issuer,
            "scir.learning.v1.SafetyNoticeIssued",
            issued.encode_to_vec(),
        );
        for r in recipients {
            let Some((kind, days)) = r.answer else {
                continue;
            };
            let answered = learning::SafetyNoticeAnswered {
                name: (*notice).to_owned(),
                jurisdiction: r.recipient.to_owned(),
                kind: kind as i32,
                days_to_respond: days,
            };
            push(
                notice,
                issuer,
                "scir.learning.v1.SafetyNoticeAnswered",
                answered.encode_to_vec(),
            );
        }
    }
    log
}

/// The culture composites of the fixtures' instrument: code and items.
pub(crate) const COMPOSITES: [(&str, &[&str]); 3] = [
    ("COM", &["COM1", "COM2"]),
    ("LRN", &["LRN1"]),
    ("SUP", &["SUP1", "SUP2"]),
];

/// Members that survey their culture (Kansas keeps out of the pool in the
/// harness's directory; the others pool).
pub(crate) const CULTURE_MEMBERS: [&str; 8] = [
    "tribal-sample",
    "us-ks",
    "us-mn",
    "us-oh",
    "us-tn",
    "us-wi",
    "us-wi-dane",
    "us-wv",
];

/// A closed wave as culture announces it.
#[derive(Debug, Clone)]
pub(crate) struct WaveFixture {
    /// The wave's name.
    pub name: String,
    /// Its jurisdiction.
    pub jurisdiction: &'static str,
    /// The year it closed.
    pub year: i32,
    /// Respondents.
    pub respondents: i32,
    /// Codes issued.
    pub invited: i32,
    /// Per item (in `COMPOSITES` order): positive, neutral, negative answers.
    pub items: BTreeMap<&'static str, [i32; 3]>,
    /// Whether culture withheld its counts (it must not be counted).
    pub withheld: bool,
}

impl WaveFixture {
    /// Positive answers and answers to a composite.
    pub(crate) fn composite(&self, code: &str) -> (i64, i64) {
        let items = COMPOSITES
            .iter()
            .find(|(c, _)| *c == code)
            .expect("composite")
            .1;
        items.iter().fold((0, 0), |(p, a), item| {
            let [pos, neu, neg] = self.items[item];
            (p + i64::from(pos), a + i64::from(pos + neu + neg))
        })
    }
}

/// This year, as the service's clock has it.
pub(crate) fn this_year() -> i32 {
    chrono::Datelike::year(&chrono::Utc::now())
}

/// The partnership's closed waves, deterministic: in 2024 every member (and
/// Wisconsin twice, and once more withheld), in 2025 four members (fewer
/// than a comparison takes), and this year every member (a year not over).
pub(crate) fn culture_waves() -> Vec<WaveFixture> {
    let mut rng = Lcg(4242);
    let mut out = Vec::new();
    let mut wave = |jurisdiction: &'static str, year: i32, withheld: bool, rng: &mut Lcg| {
        let respondents = 40 + rng.next(60) as i32;
        // Each member leans its own way, so the members differ.
        let lean = rng.next(5) as i32;
        let items = COMPOSITES
            .iter()
            .flat_map(|(_, items)| items.iter())
            .map(|item| {
                let skipped = rng.next(3) as i32;
                let answered = respondents - skipped;
                let positive = (answered * (3 + lean) / 9 + rng.next(4) as i32).min(answered);
                let neutral = (answered - positive) / 2;
                (*item, [positive, neutral, answered - positive - neutral])
            })
            .collect();
        out.push(WaveFixture {
            name: format!(
                "jurisdictions/{jurisdiction}/surveyWaves/{}",
                uuid(out.len())
            ),
            jurisdiction,
            year,
            respondents,
            invited: respondents + 5 + rng.next(30) as i32,
            items,
            withheld,
        });
    };
    for j in CULTURE_MEMBERS {
        wave(j, 2024, false, &mut rng);
    }
    wave("us-wi", 2024, false, &mut rng);
    wave("us-wi", 2024, true, &mut rng);
    for j in ["us-tn", "us-wi", "us-wv", "us-ks"] {
        wave(j, 2025, false, &mut rng);
    }
    for j in CULTURE_MEMBERS {
        wave(j, this_year(), false, &mut rng);
    }
    out
}

/// Culture's event log of `waves`.
pub(crate) fn culture_events(waves: &[WaveFixture]) -> Vec<Event> {
    use scir_proto::culture::v1 as culture;
    waves
        .iter()
        .enumerate()
        .map(|(i, w)| {
            let mut closed = culture::SurveyWaveClosed {
                name: w.name.clone(),
                instrument: "surveyInstruments/scir-culture/versions/1".into(),
                ..Default::default()
            };
            if w.withheld {
                closed.withheld = culture::Withheld::Subtraction as i32;
            } else {
                closed.respondents = w.respondents;
                closed.invited = w.invited;
                closed.items = w
                    .items
                    .iter()
                    .map(|(code, [p, n, m])| culture::ItemTally {
                        code: (*code).to_owned(),
                        positive: *p,
                        neutral: *n,
                        negative: *m,
                    })
                    .collect();
                closed.composites = COMPOSITES
                    .iter()
                    .map(|(code, items)| culture::Composite {
                        code: (*code).to_owned(),
                        title: (*code).to_owned(),
                        items: items.iter().map(|i| (*i).to_owned()).collect(),
                    })
                    .collect();
            }
            event(
                i as i64 + 1,
                "scir.culture.v1.SurveyWaveClosed",
                &w.name,
                w.jurisdiction,
                (w.year, 11),
                &closed,
            )
        })
        .collect()
}

/// The event logs of a partnership: review's and scoring's.
pub(crate) fn events(fixtures: &[Fixture]) -> (Vec<Event>, Vec<Event>) {
    let (mut review_log, mut scoring_log) = (Vec::new(), Vec::new());
    let mut cursor = 0;
    let mut push =
        |log: &mut Vec<Event>, type_name: &str, f: &Fixture, message: &dyn Fn() -> Vec<u8>| {
            cursor += 1;
            let mut e = event(cursor, type_name, &f.name, f.jurisdiction, (2025, 6), &());
            e.payload.as_mut().expect("payload").value = message();
            log.push(e);
        };
    use prost::Message;
    for f in fixtures.iter() {
        let facts = review::ReviewFacts {
            incident_type: intake::IncidentType::Death as i32,
            cause_category: f.cause as i32,
            incident_date: Some(Date {
                year: f.date.0,
                month: f.date.1,
                day: 3,
            }),
            child_age_months: 5,
            sex: intake::Sex::Female as i32,
            race_ethnicity: f.races.iter().map(|r| *r as i32).collect(),
            tribal_status: f.tribal as i32,
            placement_setting: intake::PlacementSetting::InHome as i32,
            out_of_home_type: 0,
        };
        let opened = review::ReviewOpened {
            review: f.name.clone(),
            incident: format!("{}-incident", f.name),
            jurisdiction: f.jurisdiction.into(),
            open_source: 1,
            facts: Some(facts),
            next_due_month: "2024-01".into(),
        };
        push(&mut review_log, "scir.review.v1.ReviewOpened", f, &|| {
            opened.encode_to_vec()
        });
        let ko = format!("{}/keyObservations/k1", f.name);
        let themes = review::KeyObservationChanged {
            review: f.name.clone(),
            key_observation: ko.clone(),
            deleted: false,
            contributory_factors: vec![],
            themes: f.themes.iter().map(|t| *t as i32).collect(),
        };
        push(
            &mut review_log,
            "scir.review.v1.KeyObservationChanged",
            f,
            &|| themes.encode_to_vec(),
        );
        for (i, (category, strength, status)) in f.recommendations.iter().enumerate() {
            let rec = review::RecommendationChanged {
                review: f.name.clone(),
                recommendation: format!("{}/recommendations/r{i}", f.name),
                deleted: false,
                category: *category as i32,
                strength: *strength as i32,
                status: *status as i32,
                due_date: Some(Date {
                    year: 2025,
                    month: 1,
                    day: 1,
                }),
                done_date: None,
                // Implemented ones were checked: effective when stronger.
                effectiveness: match (*status, *strength) {
                    (
                        review::RecommendationStatus::Implemented,
                        review::ActionStrength::Stronger,
                    ) => review::Effectiveness::Effective as i32,
                    (review::RecommendationStatus::Implemented, _) => {
                        review::Effectiveness::NotEffective as i32
                    }
                    _ => 0,
                },
            };
            push(
                &mut review_log,
                "scir.review.v1.RecommendationChanged",
                f,
                &|| rec.encode_to_vec(),
            );
        }
        let stage = review::ReviewStageChanged {
            review: f.name.clone(),
            jurisdiction: f.jurisdiction.into(),
            from: review::Stage::Recommendations as i32 - 1,
            to: f.stage as i32,
            change_time: None,
            key_observations: vec![],
            mapping_skipped: false,
            days_in_stage: 10 + (f.date.1 % 7),
        };
        push(
            &mut review_log,
            "scir.review.v1.ReviewStageChanged",
            f,
            &|| stage.encode_to_vec(),
        );
        let consensus = scoring::ConsensusRecorded {
            review: f.name.clone(),
            key_observation: ko.clone(),
            jurisdiction: f.jurisdiction.into(),
            instrument: "instruments/synthetic/versions/1".into(),
            levels: ITEMS
                .iter()
                .map(|(item, domain)| scoring::ItemLevel {
                    item_code: (*item).into(),
                    level: f.levels[item],
                    domain_code: (*domain).into(),
                })
                .collect(),
        };
        push(
            &mut scoring_log,
            "scir.scoring.v1.ConsensusRecorded",
            f,
            &|| consensus.encode_to_vec(),
        );
    }
    (review_log, scoring_log)
}

/// An insights server fed by fixed event logs.
pub(crate) struct Running {
    /// Its address.
    pub address: SocketAddr,
    /// Its database.
    pub db: TestDatabase,
    /// Its use cases, to measure in-process.
    pub insights: scir_insights::service::Insights,
    shutdown: Shutdown,
    task: tokio::task::JoinHandle<anyhow::Result<()>>,
    source: tokio::task::JoinHandle<()>,
}

/// Settings of a test server.
pub(crate) struct Settings {
    /// k.
    pub k: i64,
}

/// Starts insights on `db` consuming the partnership's logs, and waits until
/// every event is applied and indexed.
pub(crate) async fn start_on(
    db: TestDatabase,
    fixtures: &[Fixture],
    settings: Settings,
) -> Running {
    let (review_log, scoring_log) = events(fixtures);
    let (last_review, last_scoring) = (
        review_log.last().map_or(0, |e| e.cursor),
        scoring_log.last().map_or(0, |e| e.cursor),
    );
    let learning_log = learning_events(&learning_of(fixtures));
    let last_learning = learning_log.last().map_or(0, |e| e.cursor);
    let culture_log = culture_events(&culture_waves());
    let last_culture = culture_log.last().map_or(0, |e| e.cursor);
    let (source_address, source) =
        event_source::serve(review_log, scoring_log, learning_log, culture_log).await;
    // The shipped members, with Kansas keeping its reviews out of the pool.
    let members = tempfile::NamedTempFile::new().expect("directory file");
    std::fs::write(
        members.path(),
        scir_kit::directory::SHIPPED.1.replace(
            "rule_set = \"kansas\"\n",
            "rule_set = \"kansas\"\npooled = false\n",
        ),
    )
    .expect("write directory");
    let mut common = scir_testkit::common_config(&db.url);
    common.directory.jurisdictions_file = Some(members.path().to_owned());
    let config = InsightsConfig {
        common,
        review_addr: format!("http://{source_address}"),
        scoring_addr: format!("http://{source_address}"),
        learning_addr: Some(format!("http://{source_address}")),
        culture_addr: Some(format!("http://{source_address}")),
        min_members: 5,
        k: settings.k,
        noise_max: scir_insights::config::DEFAULT_NOISE_MAX,
        noise_sd: scir_insights::config::DEFAULT_NOISE_SD,
        key_salt: "test-salt".into(),
        service_token: ServiceTokenConfig { token_file: None },
    };
    let shutdown = Shutdown::new();
    let app = Application::build(&config, &shutdown)
        .await
        .expect("insights builds");
    let address = app.address();
    let consumers = app.consumers();
    let index = app.index();
    let database = app.database().clone();
    let insights = app.insights();
    let task = tokio::spawn(app.run());
    scir_testkit::wait_serving(address, scir_insights::startup::SERVICE_NAME).await;
    assert!(
        consumers[0].wait_for(last_review, PROJECTION_WAIT).await,
        "review events applied"
    );
    assert!(
        consumers[1].wait_for(last_scoring, PROJECTION_WAIT).await,
        "scoring events applied"
    );
    assert!(
        consumers[2].wait_for(last_learning, PROJECTION_WAIT).await,
        "learning events applied"
    );
    assert!(
        consumers[3].wait_for(last_culture, PROJECTION_WAIT).await,
        "culture events applied"
    );
    index.catch_up(&database).await.expect("index current");
    Running {
        address,
        db,
        insights,
        shutdown,
        task,
        source,
    }
}

/// Starts insights on a fresh database of `backend`.
pub(crate) async fn start(backend: Backend, fixtures: &[Fixture], settings: Settings) -> Running {
    start_on(TestDatabase::new(backend).await, fixtures, settings).await
}

impl Running {
    /// A client holding `roles` in `jurisdiction`.
    pub(crate) fn client(&self, roles: &[Role], jurisdiction: &str) -> Client {
        let token = scir_testkit::token(roles, jurisdiction);
        InsightsServiceClient::with_interceptor(
            scir_testkit::channel(self.address),
            ClientInterceptor::new(Some(&token)).expect("interceptor"),
        )
    }

    /// Stops the server and the event source; returns the database.
    pub(crate) async fn stop(self) -> TestDatabase {
        self.shutdown.fire();
        self.task
            .await
            .expect("task")
            .expect("insights ran cleanly");
        self.source.abort();
        self.db
    }
}

/// An `Ask` request.
pub(crate) fn ask(
    question: pb::Question,
    breakdown: pb::Breakdown,
    filters: pb::Filters,
    pooled: bool,
) -> pb::AskRequest {
    pb::AskRequest {
        question: question as i32,
        filters: Some(filters),
        breakdown: breakdown as i32,
        level: 2,
        code: String::new(),
        pooled,
    }
}

/// The value of a count, `None` when hidden.
pub(crate) fn value(c: &Option<pb::Count>) -> Option<i64> {
    c.as_ref().and_then(|c| c.value)
}
