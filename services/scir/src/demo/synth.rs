//! A synthetic partnership: incidents and their reviews, generated from a seed.
//!
//! Nothing here is real data. The mixes (incident types, causes, ages, prior
//! contact) and the prevalence of each systemic factor are invented so that the
//! aggregate picture has the shape reviews commonly report: coordination with
//! external agencies and teamwork frequent, economic and concrete needs far more
//! frequent in sudden unexpected infant deaths, safe sleep almost only there,
//! workload and turnover common throughout. They are documented as synthetic
//! in docs/demo.md and must never be read as findings.

use chrono::{Datelike, Days, NaiveDate};
use scir_proto::common::v1::{Answer, Date};
use scir_proto::intake::v1 as intake;
use scir_proto::review::v1::{self as review, Stage};

use crate::journey::{Case, ObservationPlan};

/// A small deterministic generator (SplitMix64): the same seed gives the same
/// partnership on every machine.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed ^ 0x5C1B_5EED_0000_0001)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// True with probability `p`.
    pub fn chance(&mut self, p: f64) -> bool {
        self.unit() < p
    }

    /// Uniform in `low..=high`.
    pub fn between(&mut self, low: i64, high: i64) -> i64 {
        let span = u64::try_from(high - low + 1).unwrap_or(1).max(1);
        low + i64::try_from(self.next_u64() % span).unwrap_or(0)
    }

    /// One of `choices`, by weight.
    pub fn pick<T: Copy>(&mut self, choices: &[(T, f64)]) -> T {
        let total: f64 = choices.iter().map(|(_, w)| w).sum();
        let mut x = self.unit() * total;
        for (value, weight) in choices {
            if x < *weight {
                return *value;
            }
            x -= weight;
        }
        choices[choices.len() - 1].0
    }
}

/// A member jurisdiction of the synthetic partnership and its share of incidents.
const JURISDICTIONS: &[(&str, f64)] = &[
    ("us-wi", 0.16),
    ("us-wi-dane", 0.10),
    ("us-wi-milwaukee", 0.14),
    ("us-tn", 0.20),
    ("us-wv", 0.10),
    ("us-ks", 0.18),
    ("tribal-sample", 0.12),
];

/// First and last day incidents fall on: three years.
const FIRST_DAY: (i32, u32, u32) = (2023, 7, 1);
const DAYS: i64 = 3 * 365;

/// How often each SSIT item of the shipped instrument is present (agreed at
/// "contributed" or above) in a review, before the cause adjusts it.
const BASE_PREVALENCE: &[(&str, f64)] = &[
    ("FAM1", 0.28),
    ("FAM2", 0.34),
    ("FAM3", 0.30),
    ("FAM4", 0.20),
    ("FAM5", 0.06),
    ("PRA1", 0.48),
    ("PRA2", 0.36),
    ("PRA3", 0.40),
    ("PRA4", 0.14),
    ("PRA5", 0.24),
    ("ORG1", 0.46),
    ("ORG2", 0.34),
    ("ORG3", 0.24),
    ("ORG4", 0.30),
    ("ORG5", 0.22),
    ("ORG6", 0.36),
    ("SYS1", 0.52),
    ("SYS2", 0.64),
    ("SYS3", 0.50),
    ("SYS4", 0.34),
    ("SYS5", 0.12),
];

/// Prevalence of an item given the incident, for the shipped instrument's codes
/// (any other code: 0.25).
fn prevalence(code: &str, facts: &intake::IncidentFacts, tribal: bool) -> f64 {
    use intake::CauseCategory as C;
    let base = BASE_PREVALENCE
        .iter()
        .find(|(c, _)| *c == code)
        .map_or(0.25, |(_, p)| *p);
    let cause = C::try_from(facts.cause_category).unwrap_or(C::Unspecified);
    let adjusted = match (code, cause) {
        ("FAM1", C::Suid) => 0.68,
        ("FAM5", C::Suid) => 0.86,
        ("FAM2", C::Suid | C::Neglect | C::Ingestion) => 0.55,
        ("FAM4", C::PhysicalAbuse | C::Homicide) => 0.48,
        ("FAM3", C::SelfHarm) => 0.72,
        ("PRA2", C::PhysicalAbuse | C::Neglect) => 0.52,
        ("SYS4", C::SelfHarm) => 0.62,
        ("SYS2", C::Drowning | C::MotorVehicle | C::Fire) => 0.40,
        _ => base,
    };
    if tribal && matches!(code, "PRA4" | "SYS2") {
        return (adjusted + 0.3).min(0.9);
    }
    adjusted
}

/// Pairs of items that tend to appear together: when the first is present,
/// the second is added with this probability.
const COMPANIONS: &[(&str, &str, f64)] = &[
    ("ORG6", "ORG1", 0.6),
    ("ORG1", "ORG2", 0.35),
    ("FAM2", "FAM3", 0.45),
    ("FAM4", "PRA2", 0.4),
    ("SYS3", "SYS2", 0.6),
    ("ORG4", "SYS3", 0.45),
    ("FAM1", "SYS4", 0.4),
];

fn shuffle<T>(rng: &mut Rng, items: &mut [T]) {
    for i in (1..items.len()).rev() {
        let j = usize::try_from(rng.between(0, i64::try_from(i).unwrap_or(0))).unwrap_or(0);
        items.swap(i, j);
    }
}

/// The theme an item's presence suggests, for the shipped instrument.
fn theme(code: &str) -> Option<review::Theme> {
    use review::Theme as T;
    Some(match code {
        "FAM1" => T::EconomicSupport,
        "FAM2" => T::SubstanceUse,
        "FAM3" => T::MentalHealth,
        "FAM4" => T::DomesticViolence,
        "FAM5" => T::SafeSleep,
        "PRA1" | "PRA2" => T::SafetyAssessmentAndPlanning,
        "PRA3" => T::FamilyEngagement,
        "PRA4" => T::CulturalResponsiveness,
        "ORG1" | "ORG6" => T::WorkloadAndStaffing,
        "ORG2" => T::Supervision,
        "ORG3" => T::PolicyAndGuidance,
        "ORG5" => T::Training,
        "SYS1" | "SYS2" => T::TeamworkAndCoordination,
        "SYS3" => T::InformationSharing,
        "SYS4" => T::ServiceAccess,
        _ => return None,
    })
}

fn factor(code: &str) -> review::ContributoryFactor {
    use review::ContributoryFactor as F;
    match code {
        c if c.starts_with("FAM") => F::Family,
        "PRA1" | "PRA2" | "PRA5" => F::Staff,
        "PRA3" | "PRA4" => F::Role,
        "ORG1" | "ORG6" => F::ConditionsOfWork,
        "ORG2" | "SYS1" => F::Team,
        c if c.starts_with("ORG") => F::Organisation,
        _ => F::InterAgency,
    }
}

/// What a key observation built around an item says (neutral, systems-focused
/// wording; no hindsight or blame).
fn observation_text(code: &str) -> (&'static str, &'static str) {
    match code {
        "FAM1" => (
            "Concrete needs sat outside the safety assessment",
            "The assessment tools did not ask about housing, income or a safe place to sleep, so the family's concrete needs were not part of the safety decision.",
        ),
        "FAM2" => (
            "Substance use treatment and child welfare plans ran separately",
            "Treatment providers and the agency each held part of the picture; neither plan referred to the other.",
        ),
        "FAM3" => (
            "Caregiver mental health services were hard to reach",
            "Waiting lists and eligibility rules meant the referral did not turn into a first appointment within the case's time frame.",
        ),
        "FAM4" => (
            "Domestic violence screening depended on who was in the room",
            "Interviews were held with both caregivers present, so the screening questions could not be asked safely.",
        ),
        "FAM5" => (
            "Safe sleep guidance reached the family only in writing",
            "The agency's guidance was a leaflet; there was no process for a crib or a conversation with every caregiver.",
        ),
        "PRA1" => (
            "The assessment relied on the information the report contained",
            "Screening decisions used the call alone; records from earlier contacts were in another system.",
        ),
        "PRA2" => (
            "Safety plans named tasks without anyone to follow them up",
            "The plan format had no field for who would check each task, and the case moved between units.",
        ),
        "PRA3" => (
            "Fathers and other household members were not engaged",
            "Contact routines were built around the primary caregiver's appointments.",
        ),
        "PRA4" => (
            "The family's culture and community were not part of planning",
            "Tribal and community supports were not contacted; the process had no step for it.",
        ),
        "PRA5" => (
            "Changes in the family's situation did not prompt a new assessment",
            "The case plan had no trigger for re-assessment between scheduled reviews.",
        ),
        "ORG1" => (
            "Caseloads left little time for home visits",
            "Workers carried caseloads well above the agency's standard during the period.",
        ),
        "ORG2" => (
            "Supervision time went to administrative tasks",
            "Supervisors covered vacancies, so case consultation was brief and irregular.",
        ),
        "ORG3" => (
            "Policy on screened-out reports was unclear",
            "Two policies gave different answers on when a second report reopens a screened-out one.",
        ),
        "ORG4" => (
            "The information system showed one contact at a time",
            "Earlier reports were visible only by searching each one; the screen showed no history.",
        ),
        "ORG5" => (
            "New workers had not yet had infant-safety training",
            "Training was offered twice a year; new staff carried cases before it.",
        ),
        "ORG6" => (
            "Turnover broke the continuity of the case",
            "The case had three workers in six months; hand-overs were by file only.",
        ),
        "SYS1" => (
            "Units worked the same family without a shared plan",
            "Intake and ongoing services held separate plans and met only at transfer.",
        ),
        "SYS2" => (
            "Coordination with partner agencies depended on individual effort",
            "There was no shared process with health, schools or law enforcement; contact happened when a worker knew whom to call.",
        ),
        "SYS3" => (
            "Partners held information the agency did not see",
            "Health and school records showed concerns that never reached the agency's record.",
        ),
        "SYS4" => (
            "Services the family needed had waiting lists",
            "Referrals were made, but the services had no capacity within the case's time frame.",
        ),
        "SYS5" => (
            "Court timelines and case decisions did not line up",
            "Hearings were postponed; the case plan waited for them.",
        ),
        _ => (
            "A systemic factor shaped the decisions",
            "Reviewers found a condition of work or of the system behind the decisions.",
        ),
    }
}

fn need_text(theme: Option<review::Theme>) -> (&'static str, &'static str) {
    use review::Theme as T;
    match theme {
        Some(T::EconomicSupport) => (
            "Stable housing and help with basic needs",
            "A referral list was given; no concrete support was arranged.",
        ),
        Some(T::SafeSleep) => (
            "A safe place for the baby to sleep and guidance for every caregiver",
            "A leaflet was left at the first visit.",
        ),
        Some(T::SubstanceUse) => (
            "Treatment coordinated with the safety plan",
            "Treatment started; the plans were not connected.",
        ),
        Some(T::MentalHealth) => (
            "Timely mental health care for the caregiver",
            "A referral was made and waited on a list.",
        ),
        Some(T::DomesticViolence) => (
            "A safe way to talk about violence at home",
            "Screening took place with both caregivers present.",
        ),
        Some(T::TeamworkAndCoordination | T::InformationSharing) => (
            "Professionals who shared what they knew",
            "Each agency acted on its own information.",
        ),
        _ => (
            "Support matched to what the family said it needed",
            "Standard services were offered.",
        ),
    }
}

fn recommendation_for(code: &str) -> (review::RecommendationCategory, &'static str, &'static str) {
    use review::RecommendationCategory as R;
    match code {
        "SYS2" | "SYS3" | "SYS5" => (
            R::PartnershipWithOtherSystems,
            "Set up a shared protocol with health, schools and law enforcement for families with an open report",
            "Partnerships manager",
        ),
        "FAM2" | "FAM3" | "FAM4" => (
            R::PartnershipWithOtherSystems,
            "Agree joint planning with treatment and victim-services providers for shared families",
            "Partnerships manager",
        ),
        "PRA3" | "PRA4" => (
            R::UpdateGuidanceOrTraining,
            "Build contact with every household member and the family's community into the visit guidance",
            "Practice development lead",
        ),
        "PRA5" => (
            R::AlternativeWaysOfWorking,
            "Add a re-assessment trigger when a family's circumstances change",
            "Ongoing services manager",
        ),
        "SYS1" => (
            R::AlternativeWaysOfWorking,
            "Hold joint case consultations at every transfer between units",
            "Ongoing services manager",
        ),
        "SYS4" | "FAM1" => (
            R::AddressCommonBarriers,
            "Fund flexible concrete support (housing, cribs, utilities) that workers can arrange the same day",
            "Prevention programme manager",
        ),
        "FAM5" => (
            R::UpdateGuidanceOrTraining,
            "Make a safe sleep conversation and crib check part of every visit to a family with an infant",
            "Practice development lead",
        ),
        "ORG1" | "ORG6" => (
            R::WorkforceSupport,
            "Cap caseloads at the agency standard and fund a float pool for vacancies",
            "Deputy director",
        ),
        "ORG2" => (
            R::WorkforceSupport,
            "Protect weekly case consultation time for supervisors",
            "Deputy director",
        ),
        "ORG3" => (
            R::ClarifyUnclearPolicies,
            "Write one policy on repeat reports about a screened-out family",
            "Policy unit",
        ),
        "ORG4" => (
            R::AddressCommonBarriers,
            "Show a family's contact history on the screening screen",
            "Information systems lead",
        ),
        "ORG5" | "PRA1" | "PRA2" => (
            R::UpdateGuidanceOrTraining,
            "Give new workers infant-safety and safety-planning training before they carry cases",
            "Training unit",
        ),
        _ => (
            R::SharedLearning,
            "Share this review's learning in practice forums across the jurisdiction",
            "Quality improvement lead",
        ),
    }
}

fn to_date(day: NaiveDate) -> Date {
    Date {
        year: day.year(),
        month: i32::try_from(day.month()).unwrap_or(1),
        day: i32::try_from(day.day()).unwrap_or(1),
    }
}

fn first_day() -> NaiveDate {
    NaiveDate::from_ymd_opt(FIRST_DAY.0, FIRST_DAY.1, FIRST_DAY.2).unwrap_or_default()
}

/// The facts of incident `index`.
fn facts(rng: &mut Rng) -> (intake::IncidentFacts, NaiveDate) {
    use intake::CauseCategory as C;
    use intake::IncidentType as T;
    let jurisdiction = rng.pick(JURISDICTIONS);
    let tribal = jurisdiction == "tribal-sample";
    let day = first_day() + Days::new(u64::try_from(rng.between(0, DAYS - 1)).unwrap_or(0));
    let kind = rng.pick(&[
        (T::Death, 0.44),
        (T::NearDeath, 0.30),
        (T::SeriousInjury, 0.16),
        (T::EgregiousAbuseOrNeglect, 0.05),
        (T::SuicideOrAttemptInCare, 0.03),
        (T::Other, 0.02),
    ]);
    let cause = match kind {
        T::Death => rng.pick(&[
            (C::Suid, 0.36),
            (C::PhysicalAbuse, 0.15),
            (C::Neglect, 0.12),
            (C::Drowning, 0.08),
            (C::Firearm, 0.06),
            (C::Ingestion, 0.06),
            (C::MotorVehicle, 0.05),
            (C::Homicide, 0.04),
            (C::Medical, 0.04),
            (C::Undetermined, 0.04),
        ]),
        T::NearDeath => rng.pick(&[
            (C::PhysicalAbuse, 0.32),
            (C::Ingestion, 0.26),
            (C::Neglect, 0.20),
            (C::Drowning, 0.10),
            (C::SelfHarm, 0.06),
            (C::Medical, 0.06),
        ]),
        T::SeriousInjury => rng.pick(&[
            (C::PhysicalAbuse, 0.55),
            (C::Neglect, 0.25),
            (C::Fire, 0.05),
            (C::MotorVehicle, 0.08),
            (C::Other, 0.07),
        ]),
        T::SuicideOrAttemptInCare => C::SelfHarm,
        T::EgregiousAbuseOrNeglect => rng.pick(&[
            (C::PhysicalAbuse, 0.5),
            (C::Neglect, 0.4),
            (C::SexualAbuse, 0.1),
        ]),
        _ => C::Other,
    };
    let age_months = match cause {
        C::Suid => rng.between(0, 11),
        C::SelfHarm => rng.between(144, 215),
        C::PhysicalAbuse | C::Ingestion | C::Drowning => {
            if rng.chance(0.7) {
                rng.between(0, 47)
            } else {
                rng.between(48, 143)
            }
        }
        _ => {
            if rng.chance(0.5) {
                rng.between(0, 35)
            } else {
                rng.between(36, 215)
            }
        }
    };
    let race = if tribal {
        vec![intake::RaceEthnicity::AmericanIndianAlaskaNative as i32]
    } else {
        let first = rng.pick(&[
            (intake::RaceEthnicity::White, 0.46),
            (intake::RaceEthnicity::Black, 0.30),
            (intake::RaceEthnicity::HispanicLatino, 0.16),
            (intake::RaceEthnicity::AmericanIndianAlaskaNative, 0.03),
            (intake::RaceEthnicity::Asian, 0.02),
            (intake::RaceEthnicity::Unknown, 0.03),
        ]);
        let mut race = vec![first as i32];
        if rng.chance(0.08) && first != intake::RaceEthnicity::HispanicLatino {
            race.push(intake::RaceEthnicity::HispanicLatino as i32);
        }
        race
    };
    let tribal_status = if tribal {
        intake::TribalStatus::MemberOrEligible
    } else {
        rng.pick(&[
            (intake::TribalStatus::NotTribal, 0.93),
            (intake::TribalStatus::MemberOrEligible, 0.03),
            (intake::TribalStatus::Unknown, 0.04),
        ])
    };
    let out_of_home = cause != C::Suid && rng.chance(0.14);
    let placement = if out_of_home {
        intake::Placement {
            setting: intake::PlacementSetting::OutOfHome as i32,
            out_of_home_type: rng.pick(&[
                (intake::OutOfHomeType::FosterFamily, 0.5),
                (intake::OutOfHomeType::Kinship, 0.35),
                (intake::OutOfHomeType::GroupHome, 0.1),
                (intake::OutOfHomeType::ResidentialCare, 0.05),
            ]) as i32,
            court_ordered: Answer::Yes as i32,
        }
    } else {
        intake::Placement {
            setting: intake::PlacementSetting::InHome as i32,
            ..Default::default()
        }
    };
    let suspected = rng.pick(&[
        (Answer::Yes, 0.74),
        (Answer::No, 0.16),
        (Answer::Unknown, 0.10),
    ]);
    let maltreatment_types = if suspected == Answer::Yes {
        let kind = match cause {
            C::PhysicalAbuse | C::Homicide => intake::MaltreatmentType::PhysicalAbuse,
            C::SexualAbuse => intake::MaltreatmentType::SexualAbuse,
            _ => intake::MaltreatmentType::Neglect,
        };
        vec![kind as i32]
    } else {
        vec![]
    };
    let prior = if out_of_home {
        Answer::Yes
    } else {
        rng.pick(&[
            (Answer::Yes, 0.70),
            (Answer::No, 0.25),
            (Answer::Unknown, 0.05),
        ])
    };
    let contacts = if prior == Answer::Yes {
        (0..rng.between(1, 3))
            .map(|_| {
                let before = u64::try_from(rng.between(20, 360)).unwrap_or(30);
                intake::PriorContact {
                    kind: rng.pick(&[
                        (intake::ContactKind::Report, 0.45),
                        (intake::ContactKind::Investigation, 0.30),
                        (intake::ContactKind::Services, 0.15),
                        (intake::ContactKind::OpenCase, 0.10),
                    ]) as i32,
                    date: Some(to_date(day - Days::new(before))),
                    outcome: rng.pick(&[
                        (intake::ContactOutcome::ScreenedOut, 0.35),
                        (intake::ContactOutcome::Unsubstantiated, 0.25),
                        (intake::ContactOutcome::Substantiated, 0.15),
                        (intake::ContactOutcome::ServicesProvided, 0.15),
                        (intake::ContactOutcome::Closed, 0.10),
                    ]) as i32,
                }
            })
            .collect()
    } else {
        vec![]
    };
    let learned = day + Days::new(u64::try_from(rng.between(0, 3)).unwrap_or(0));
    let facts = intake::IncidentFacts {
        jurisdiction: jurisdiction.to_owned(),
        reporting_agency: "Synthetic demo agency".to_owned(),
        incident_type: kind as i32,
        cause_category: cause as i32,
        incident_date: Some(to_date(day)),
        learned_date: Some(to_date(learned)),
        reported_to_state_date: None,
        child_age_months: Some(i32::try_from(age_months).unwrap_or(0)),
        sex: rng.pick(&[
            (intake::Sex::Female, 0.47),
            (intake::Sex::Male, 0.52),
            (intake::Sex::Unknown, 0.01),
        ]) as i32,
        race_ethnicity: race,
        tribal_status: tribal_status as i32,
        tribal_affiliation: String::new(),
        placement: Some(placement),
        maltreatment_suspected: suspected as i32,
        maltreatment_types,
        had_prior_contact: prior as i32,
        prior_contacts: contacts,
        in_custody: if out_of_home { Answer::Yes } else { Answer::No } as i32,
        substantiated: rng.pick(&[
            (Answer::Yes, 0.35),
            (Answer::No, 0.15),
            (Answer::Unknown, 0.5),
        ]) as i32,
        leadership_designated: rng.chance(0.03),
        law_enforcement_agency: String::new(),
        restricted: None,
    };
    (facts, day)
}

/// How far a review has come by the end of the window: older reviews are
/// final, recent ones still in progress.
fn stage_reached(rng: &mut Rng, day: NaiveDate) -> Stage {
    let age = DAYS - (day - first_day()).num_days();
    if age > 300 {
        return if rng.chance(0.95) {
            Stage::Finalised
        } else {
            Stage::Recommendations
        };
    }
    rng.pick(&[
        (Stage::CaseRecordReview, 0.12),
        (Stage::Debriefing, 0.14),
        (Stage::SsitScoring, 0.16),
        (Stage::SystemsMapping, 0.10),
        (Stage::LearningOpportunities, 0.12),
        (Stage::Recommendations, 0.12),
        (Stage::Finalised, 0.24),
    ])
}

/// The partnership's cases, `count` of them, rated on `items` (an instrument's
/// item codes in order) on levels 0-3.
pub fn partnership(seed: u64, count: usize, items: &[String]) -> Vec<Case> {
    let mut rng = Rng::new(seed);
    (0..count).map(|i| case(&mut rng, seed, i, items)).collect()
}

fn case(rng: &mut Rng, seed: u64, index: usize, items: &[String]) -> Case {
    let (facts, day) = facts(rng);
    let jurisdiction = facts.jurisdiction.clone();
    let tribal = jurisdiction == "tribal-sample";
    let team = rng.between(1, 4);
    let raters: Vec<String> = (0..rng.between(2, 3))
        .map(|r| format!("demo-rater-{jurisdiction}-{}", (team + r) % 6 + 1))
        .collect();
    let mut present: Vec<&String> = items
        .iter()
        .filter(|code| rng.chance(prevalence(code, &facts, tribal)))
        .collect();
    // Factors that travel together in reviews: one makes the other likelier.
    for (with, also, p) in COMPANIONS {
        if present.iter().any(|c| c == with)
            && let Some(code) = items.iter().find(|c| c == also)
            && !present.contains(&code)
            && rng.chance(*p)
        {
            present.push(code);
        }
    }
    shuffle(rng, &mut present);
    // One to three key observations; every present item belongs to one.
    let observations_count = present.len().div_ceil(3).clamp(1, 3);
    let mut groups: Vec<Vec<&String>> = vec![Vec::new(); observations_count];
    for (i, code) in present.iter().enumerate() {
        groups[i % observations_count].push(code);
    }
    let observations = groups
        .iter()
        .map(|group| {
            let lead_code = group.first().map_or("", |c| c.as_str());
            let (title, description) = observation_text(lead_code);
            let mut themes: Vec<i32> = Vec::new();
            let mut factors: Vec<i32> = Vec::new();
            for code in group {
                if let Some(t) = theme(code)
                    && !themes.contains(&(t as i32))
                    && themes.len() < 5
                {
                    themes.push(t as i32);
                }
                let f = factor(code) as i32;
                if !factors.contains(&f) {
                    factors.push(f);
                }
            }
            let consensus: Vec<(String, i32)> = items
                .iter()
                .map(|code| {
                    let level = if group.contains(&code) {
                        if rng.chance(0.4) { 3 } else { 2 }
                    } else if rng.chance(0.2) {
                        1
                    } else {
                        0
                    };
                    (code.clone(), level)
                })
                .collect();
            let ratings = raters
                .iter()
                .map(|_| {
                    consensus
                        .iter()
                        .map(|(code, level)| {
                            let noise = if rng.chance(0.22) {
                                if rng.chance(0.5) { 1 } else { -1 }
                            } else {
                                0
                            };
                            (code.clone(), (level + noise).clamp(0, 3))
                        })
                        .collect()
                })
                .collect();
            ObservationPlan {
                observation: review::KeyObservation {
                    title: title.to_owned(),
                    description: description.to_owned(),
                    themes,
                    contributory_factors: factors,
                    ..Default::default()
                },
                ratings,
                consensus,
            }
        })
        .collect::<Vec<_>>();
    let first_theme = observations
        .first()
        .and_then(|o| o.observation.themes.first())
        .and_then(|t| review::Theme::try_from(*t).ok());
    let episode_day = facts
        .prior_contacts
        .first()
        .and_then(|c| c.date)
        .unwrap_or_else(|| to_date(day - Days::new(30)));
    let episodes = vec![review::Episode {
        start_date: Some(episode_day),
        end_date: Some(episode_day),
        title: "Contact before the incident".to_owned(),
        what_happened: "The agency received information about the family and made a decision with what the record and the call showed at the time.".to_owned(),
        assessment: rng.pick(&[
            (review::Assessment::Mixed, 0.5),
            (review::Assessment::Good, 0.25),
            (review::Assessment::Problematic, 0.25),
        ]) as i32,
        source_documents: vec!["Intake record".to_owned(), "Case notes".to_owned()],
        ..Default::default()
    }];
    let debrief_day = (day + Days::new(u64::try_from(rng.between(40, 90)).unwrap_or(60)))
        .min(first_day() + Days::new(u64::try_from(DAYS).unwrap_or(0) + 60));
    let debriefings = vec![review::Debriefing {
        date: Some(to_date(debrief_day)),
        participant_roles: vec!["caseworker".to_owned(), "supervisor".to_owned()],
        decision_context:
            "Decisions were made with the caseload, tools and information available that week."
                .to_owned(),
        notes: "Synthetic demo debriefing.".to_owned(),
        ..Default::default()
    }];
    let maps = if rng.chance(0.75) && present.len() >= 2 {
        let nodes: Vec<review::MapNode> = present
            .iter()
            .take(5)
            .map(|code| review::MapNode {
                id: code.to_lowercase(),
                label: observation_text(code).0.to_owned(),
                factor: factor(code) as i32,
            })
            .collect();
        let edges = nodes
            .windows(2)
            .map(|pair| review::MapEdge {
                from: pair[1].id.clone(),
                to: pair[0].id.clone(),
                label: "shapes".to_owned(),
            })
            .collect();
        vec![review::SystemsMap {
            nodes,
            edges,
            considerations: vec!["What would make the safer decision the easier one?".to_owned()],
            ..Default::default()
        }]
    } else {
        vec![]
    };
    let (need, action) = need_text(first_theme);
    let learning = vec![review::LearningOpportunity {
        family_need: need.to_owned(),
        action_taken: action.to_owned(),
        status: rng.pick(&[
            (review::NeedStatus::Unmet, 0.5),
            (review::NeedStatus::PartlyMet, 0.35),
            (review::NeedStatus::Met, 0.15),
        ]) as i32,
        practice_function: rng.pick(&[
            (review::PracticeFunction::Assessment, 0.3),
            (review::PracticeFunction::Teaming, 0.25),
            (review::PracticeFunction::Engagement, 0.15),
            (review::PracticeFunction::Planning, 0.15),
            (review::PracticeFunction::Intervention, 0.1),
            (review::PracticeFunction::TrackingAndAdjustment, 0.05),
        ]) as i32,
        themes: first_theme.map(|t| vec![t as i32]).unwrap_or_default(),
        ..Default::default()
    }];
    let age = DAYS - (day - first_day()).num_days();
    let recommendations = present
        .iter()
        .take(usize::try_from(rng.between(1, 3)).unwrap_or(1))
        .map(|code| {
            let (category, description, owner) = recommendation_for(code);
            let due = day + Days::new(u64::try_from(rng.between(240, 540)).unwrap_or(365));
            let status = if age > 600 {
                rng.pick(&[
                    (review::RecommendationStatus::Implemented, 0.55),
                    (review::RecommendationStatus::InProgress, 0.30),
                    (review::RecommendationStatus::Declined, 0.05),
                    (review::RecommendationStatus::Accepted, 0.10),
                ])
            } else {
                rng.pick(&[
                    (review::RecommendationStatus::Proposed, 0.25),
                    (review::RecommendationStatus::Accepted, 0.35),
                    (review::RecommendationStatus::InProgress, 0.30),
                    (review::RecommendationStatus::Implemented, 0.10),
                ])
            };
            let done = (status == review::RecommendationStatus::Implemented).then(|| {
                to_date(due.min(first_day() + Days::new(u64::try_from(DAYS).unwrap_or(0))))
            });
            let strength = rng.pick(&[
                (review::ActionStrength::Weaker, 0.40),
                (review::ActionStrength::Intermediate, 0.38),
                (review::ActionStrength::Stronger, 0.22),
            ]);
            // Implemented recommendations were checked for effect 90 days
            // on, stronger actions working more often. Drawn apart from
            // `rng`, so the rest of the partnership is the same as before.
            let mut effect_rng = Rng::new(seed ^ (index as u64) << 8 ^ code.len() as u64);
            let checked = done
                .as_ref()
                .and_then(scir_kit::validate::to_date)
                .map(|d| d + Days::new(90))
                .filter(|d| *d <= chrono::Utc::now().date_naive());
            let effectiveness = checked.map(|_| {
                let worked = match strength {
                    review::ActionStrength::Stronger => 0.7,
                    review::ActionStrength::Intermediate => 0.5,
                    _ => 0.3,
                };
                effect_rng.pick(&[
                    (review::Effectiveness::Effective, worked),
                    (review::Effectiveness::Partly, 0.3),
                    (review::Effectiveness::NotEffective, 1.0 - worked),
                ])
            });
            review::Recommendation {
                description: description.to_owned(),
                category: category as i32,
                owner: owner.to_owned(),
                due_date: Some(to_date(due)),
                status: status as i32,
                done_date: done,
                strength: strength as i32,
                factors: vec![factor(code) as i32],
                check_date: checked.map(to_date),
                effectiveness: effectiveness.map_or(0, |e| e as i32),
                evidence: if effectiveness.is_some() {
                    "Measured in the counties that took the action".into()
                } else {
                    String::new()
                },
                ..Default::default()
            }
        })
        .collect();
    Case {
        request_id: format!("demo-{seed}-{index}"),
        until: stage_reached(rng, day),
        facts,
        reporter: format!("demo-reporter-{jurisdiction}"),
        lead: format!("demo-lead-{jurisdiction}-{team}"),
        raters,
        episodes,
        debriefings,
        observations,
        maps,
        learning,
        recommendations,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes() -> Vec<String> {
        BASE_PREVALENCE
            .iter()
            .map(|(c, _)| (*c).to_owned())
            .collect()
    }

    #[test]
    fn the_same_seed_gives_the_same_partnership() {
        let a = partnership(7, 50, &codes());
        let b = partnership(7, 50, &codes());
        let c = partnership(8, 50, &codes());
        let key = |cases: &[Case]| {
            cases
                .iter()
                .map(|c| format!("{:?}{:?}", c.facts, c.observations))
                .collect::<Vec<_>>()
        };
        assert_eq!(key(&a), key(&b));
        assert_ne!(key(&a), key(&c));
    }

    #[test]
    fn the_shape_follows_the_documented_prevalence() {
        let cases = partnership(1, 2000, &codes());
        let share = |cause: Option<intake::CauseCategory>, code: &str| {
            let selected: Vec<&Case> = cases
                .iter()
                .filter(|c| cause.is_none_or(|k| c.facts.cause_category == k as i32))
                .collect();
            let with = selected
                .iter()
                .filter(|c| {
                    c.observations
                        .iter()
                        .any(|o| o.consensus.iter().any(|(k, l)| k == code && *l >= 2))
                })
                .count();
            with as f64 / selected.len() as f64
        };
        let suid = Some(intake::CauseCategory::Suid);
        assert!(
            share(suid, "FAM1") > 0.55,
            "economic needs frequent in SUID"
        );
        assert!(share(None, "FAM1") < 0.45);
        assert!(share(suid, "FAM5") > 0.75, "safe sleep in SUID");
        assert!(
            share(None, "SYS2") > 0.5,
            "coordination with external agencies common"
        );
        for case in &cases {
            assert!(!case.raters.is_empty() && case.raters.len() <= 3);
            assert!(!case.facts.race_ethnicity.is_empty());
            for o in &case.observations {
                assert_eq!(o.ratings.len(), case.raters.len());
            }
        }
    }

    #[test]
    fn dates_stay_inside_the_window() {
        for case in partnership(3, 500, &codes()) {
            let d = case.facts.incident_date.expect("date");
            assert!((2023..=2026).contains(&d.year));
            for contact in &case.facts.prior_contacts {
                let c = contact.date.expect("date");
                assert!((c.year, c.month, c.day) < (d.year, d.month, d.day));
            }
        }
    }
}
