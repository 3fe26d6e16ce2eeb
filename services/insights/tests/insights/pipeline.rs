//! The whole pipeline: intake, review, scoring and insights as real servers; no
//! identity or narrative from intake or review reaches insights' database.

use std::time::Duration;

use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_kit::credentials::ServiceTokenConfig;
use scir_kit::shutdown::Shutdown;
use scir_proto::insights::v1::insights_service_client::InsightsServiceClient;
use scir_proto::insights::v1::{self as pb, Breakdown, Question};
use scir_proto::intake::v1 as intake;
use scir_proto::intake::v1::intake_service_client::IntakeServiceClient;
use scir_proto::review::v1 as review;
use scir_proto::scoring::v1 as scoring;
use scir_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
use scir_testkit::fixtures::{RESTRICTED_MARKERS, restricted_identity, wisconsin_death};
use scir_testkit::journey;
use scir_testkit::{Backend, TestDatabase};

use super::harness::ask;

fn token(subject: &str, roles: &[Role]) -> ClientInterceptor {
    ClientInterceptor::new(Some(&scir_testkit::token_as(subject, roles, "us-wi")))
        .expect("interceptor")
}

const NARRATIVE: &str = "Narrative-that-stays-in-review";

#[tokio::test]
async fn no_identity_or_narrative_reaches_insights() {
    let backend = Backend::Sqlite;
    let dbs = [
        TestDatabase::new(backend).await,
        TestDatabase::new(backend).await,
        TestDatabase::new(backend).await,
        TestDatabase::new(backend).await,
    ];
    let shutdown = Shutdown::new();
    // Bound before either is built: each needs the other's address.
    let (review_common, review_addr) = scir_testkit::common_config_bound(&dbs[1].url);
    let (scoring_common, scoring_addr) = scir_testkit::common_config_bound(&dbs[2].url);
    let config = scir_intake::IntakeConfig {
        webhooks: Default::default(),
        common: scir_testkit::common_config(&dbs[0].url),
        rules_dir: None,
        sealing: scir_testkit::sealing_config(),
    };
    let intake_app = scir_intake::Application::build(&config, &shutdown)
        .await
        .expect("intake");
    let intake_addr = intake_app.address();
    let mut tasks = vec![tokio::spawn(intake_app.run())];
    let config = scir_review::ReviewConfig {
        webhooks: Default::default(),
        common: review_common,
        intake_addr: format!("http://{intake_addr}"),
        scoring_addr: Some(format!("http://{scoring_addr}")),
        language_file: None,
        service_token: ServiceTokenConfig { token_file: None },
        sealing: scir_testkit::sealing_config(),
    };
    tasks.push(tokio::spawn(
        scir_review::Application::build(&config, &shutdown)
            .await
            .expect("review")
            .run(),
    ));
    let config = scir_scoring::ScoringConfig {
        webhooks: Default::default(),
        sealing: scir_testkit::sealing_config(),
        common: scoring_common,
        review_addr: format!("http://{review_addr}"),
        instruments_dir: None,
        active_instrument: None,
        service_token: ServiceTokenConfig { token_file: None },
    };
    tasks.push(tokio::spawn(
        scir_scoring::Application::build(&config, &shutdown)
            .await
            .expect("scoring")
            .run(),
    ));
    let config = scir_insights::InsightsConfig {
        common: scir_testkit::common_config(&dbs[3].url),
        review_addr: format!("http://{review_addr}"),
        scoring_addr: format!("http://{scoring_addr}"),
        learning_addr: None,
        culture_addr: None,
        min_members: 5,
        k: 10,
        noise_max: scir_insights::config::DEFAULT_NOISE_MAX,
        noise_sd: scir_insights::config::DEFAULT_NOISE_SD,
        key_salt: "pipeline-salt".into(),
        service_token: ServiceTokenConfig { token_file: None },
    };
    let insights_app = scir_insights::Application::build(&config, &shutdown)
        .await
        .expect("insights");
    let insights_addr = insights_app.address();
    tasks.push(tokio::spawn(insights_app.run()));
    for (addr, name) in [
        (intake_addr, scir_intake::startup::SERVICE_NAME),
        (review_addr, scir_review::startup::SERVICE_NAME),
        (scoring_addr, scir_scoring::startup::SERVICE_NAME),
        (insights_addr, scir_insights::startup::SERVICE_NAME),
    ] {
        scir_testkit::wait_serving(addr, name).await;
    }

    // An incident with identities, a review with narrative, ratings and consensus.
    let mut facts = wisconsin_death();
    facts.restricted = Some(restricted_identity());
    let mut intake = IntakeServiceClient::with_interceptor(
        scir_testkit::channel(intake_addr),
        token("reporter-1", &[Role::Reporter]),
    );
    let incident = intake
        .report_incident(intake::ReportIncidentRequest {
            request_id: "p-1".into(),
            incident: Some(facts),
        })
        .await
        .expect("report")
        .into_inner();
    let mut lead = journey::review_client(review_addr, "lead-1", &[Role::ScrLead], "us-wi");
    let name = journey::review_of(&mut lead, "us-wi", &incident.name).await;
    let walk = journey::Walk {
        address: review_addr,
        jurisdiction: "us-wi",
        lead: "lead-1",
        raters: &["rater-1"],
        text: NARRATIVE,
        themes: vec![review::Theme::SafeSleep],
    };
    let ko = journey::to_ssit_scoring(&walk, &name).await;

    let catalogue =
        scir_scoring::domain::instruments::Catalogue::load(None, None).expect("instrument");
    let items = catalogue.active().items.clone();
    let mut scorer = ScoringServiceClient::with_interceptor(
        scir_testkit::channel(scoring_addr),
        token("rater-1", &[Role::Reviewer]),
    );
    let ratings = items
        .iter()
        .map(|c| scoring::ItemRating {
            item_code: c.clone(),
            level: 2,
            rationale: NARRATIVE.into(),
            evidence: vec![],
        })
        .collect();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let set = scoring::RatingSet {
            key_observation: ko.clone(),
            ratings: Vec::clone(&ratings),
            ..Default::default()
        };
        match scorer
            .submit_ratings(scoring::SubmitRatingsRequest {
                rating_set: Some(set),
            })
            .await
        {
            Ok(_) => break,
            Err(s)
                if s.code() == tonic::Code::NotFound
                    || s.code() == tonic::Code::FailedPrecondition =>
            {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "scoring learned of the key observation"
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    }
    let mut lead_scoring = ScoringServiceClient::with_interceptor(
        scir_testkit::channel(scoring_addr),
        token("lead-1", &[Role::ScrLead]),
    );
    let consensus = scoring::Consensus {
        key_observation: ko.clone(),
        items: items
            .iter()
            .map(|c| scoring::ConsensusItem {
                item_code: c.clone(),
                level: 3,
                rationale: NARRATIVE.into(),
            })
            .collect(),
        ..Default::default()
    };
    lead_scoring
        .record_consensus(scoring::RecordConsensusRequest {
            consensus: Some(consensus),
        })
        .await
        .expect("consensus");

    // Insights counts the review, with its theme and consensus levels.
    let mut analyst = InsightsServiceClient::with_interceptor(
        scir_testkit::channel(insights_addr),
        token("analyst-1", &[Role::Analyst]),
    );
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    loop {
        let table = analyst
            .ask(ask(
                Question::FactorPrevalence,
                Breakdown::Unspecified,
                pb::Filters::default(),
                false,
            ))
            .await
            .expect("ask")
            .into_inner();
        if table.rows.len() == items.len()
            && table
                .rows
                .iter()
                .all(|r| r.count.as_ref().and_then(|c| c.value) == Some(1))
        {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "insights counted the consensus: {table:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let themes = analyst
        .ask(ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            pb::Filters::default(),
            false,
        ))
        .await
        .expect("ask")
        .into_inner();
    assert_eq!(
        themes
            .rows
            .iter()
            .map(|r| r.keys[0].as_str())
            .collect::<Vec<_>>(),
        ["SAFE_SLEEP"]
    );

    shutdown.fire();
    for task in tasks {
        task.await.expect("task").expect("ran cleanly");
    }
    // Scan insights' database file byte by byte.
    let path = dbs[3].url.trim_start_matches("sqlite://").to_owned();
    let mut bytes = std::fs::read(&path).expect("database file");
    if let Ok(wal) = std::fs::read(format!("{path}-wal")) {
        bytes.extend(wal);
    }
    let text = String::from_utf8_lossy(&bytes);
    let forbidden = RESTRICTED_MARKERS.iter().copied().chain([
        NARRATIVE,
        "lead-1",
        "rater-1",
        "reporter-1",
        incident.name.as_str(),
        name.as_str(),
        "2025-03-10",
    ]);
    for marker in forbidden {
        assert!(
            !text.contains(marker),
            "`{marker}` reached insights' database"
        );
    }
    assert!(
        text.contains("SYS1") || text.contains("FAM1"),
        "the scan reads the facts"
    );
}
