//! Rule sets over gRPC, and a malformed rule set stopping start-up.

use scir_intake::{Application, IntakeConfig};
use scir_kit::shutdown::Shutdown;
use scir_proto::intake::v1 as pb;
use scir_testkit::{Backend, TestDatabase};
use tonic::Code;

use super::harness::TestIntake;

#[tokio::test]
async fn rule_sets_are_listed_and_described() {
    let intake = TestIntake::start(Backend::Sqlite).await;
    let mut client = intake.reporter();
    let page = client
        .list_rule_sets(pb::ListRuleSetsRequest {
            page_size: 2,
            page_token: String::new(),
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(
        page.rule_sets
            .iter()
            .map(|r| r.name.as_str())
            .collect::<Vec<_>>(),
        ["ruleSets/default", "ruleSets/kansas"]
    );
    let rest = client
        .list_rule_sets(pb::ListRuleSetsRequest {
            page_size: 10,
            page_token: page.next_page_token,
        })
        .await
        .expect("list")
        .into_inner();
    assert_eq!(rest.rule_sets.len(), 3);
    assert!(rest.next_page_token.is_empty());

    let wi = client
        .get_rule_set(pb::GetRuleSetRequest {
            name: "ruleSets/wisconsin".into(),
        })
        .await
        .expect("get")
        .into_inner();
    assert_eq!(wi.version, "2025.1");
    assert_eq!(wi.lookback_months, 12);
    assert_eq!(wi.digest.len(), 64);
    assert!(wi.rules.iter().any(|r| r.id == "scr-recent-contact"
        && r.outcome == pb::EligibilityOutcome::PracticeReview as i32));
    assert!(
        wi.deadlines
            .iter()
            .any(|d| d.basis == "2 working days after learned_date")
    );
    assert!(!wi.holidays.is_empty());

    let missing = client
        .get_rule_set(pb::GetRuleSetRequest {
            name: "ruleSets/nowhere".into(),
        })
        .await
        .expect_err("missing");
    assert_eq!(missing.code(), Code::NotFound);
    let bad = client
        .get_rule_set(pb::GetRuleSetRequest {
            name: "wisconsin".into(),
        })
        .await
        .expect_err("bad name");
    assert_eq!(bad.code(), Code::InvalidArgument);
    intake.stop().await;
}

#[tokio::test]
async fn a_malformed_rule_set_stops_start_up_naming_file_and_line() {
    let dir = tempfile::tempdir().expect("dir");
    let shipped = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("rules");
    for entry in std::fs::read_dir(&shipped).expect("rules") {
        let path = entry.expect("entry").path();
        std::fs::copy(&path, dir.path().join(path.file_name().expect("name"))).expect("copy");
    }
    let broken = std::fs::read_to_string(dir.path().join("kansas.toml"))
        .expect("read")
        .replace("unit = \"working_days\"", "unit = \"fortnights\"");
    std::fs::write(dir.path().join("kansas.toml"), &broken).expect("write");
    let line = broken
        .lines()
        .position(|l| l.contains("fortnights"))
        .expect("edited")
        + 1;

    let database = TestDatabase::new(Backend::Sqlite).await;
    let config = IntakeConfig {
        webhooks: Default::default(),
        common: scir_testkit::common_config(&database.url),
        rules_dir: Some(dir.path().to_owned()),
        sealing: scir_testkit::sealing_config(),
    };
    let error = Application::build(&config, &Shutdown::new())
        .await
        .expect_err("start-up refused");
    let message = format!("{error:#}");
    assert!(
        message.contains(&format!("kansas.toml:{line}:")),
        "{message}"
    );
    assert!(message.contains("fortnights"), "{message}");
}
