//! Who sees what: analysts their own jurisdiction, partners pooled data only.

use scir_kit::auth::Role;
use scir_proto::insights::v1::{self as pb, Breakdown, Question};
use scir_testkit::Backend;
use tonic::Code;

use super::harness::{Settings, ask, partnership, start};

#[tokio::test]
async fn scopes_are_enforced() {
    let server = start(Backend::Sqlite, &partnership(), Settings { k: 10 }).await;
    let theme = |filters: pb::Filters, pooled: bool| {
        ask(
            Question::ThemePrevalence,
            Breakdown::Unspecified,
            filters,
            pooled,
        )
    };
    let mut analyst = server.client(&[Role::Analyst], "us-wi");
    let other = pb::Filters {
        jurisdictions: vec!["us-tn".into()],
        ..Default::default()
    };
    assert_eq!(
        analyst
            .ask(theme(other, false))
            .await
            .expect_err("other jurisdiction")
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        analyst
            .ask(theme(pb::Filters::default(), true))
            .await
            .expect_err("pooled")
            .code(),
        Code::PermissionDenied
    );
    let view = pb::GetOperationalViewRequest {
        jurisdiction: "jurisdictions/us-tn".into(),
    };
    assert_eq!(
        analyst
            .get_operational_view(view.clone())
            .await
            .expect_err("other view")
            .code(),
        Code::PermissionDenied
    );
    let mut partner = server.client(&[Role::Partner], "us-tn");
    let forced = partner
        .ask(theme(pb::Filters::default(), false))
        .await
        .expect("partners get pooled answers")
        .into_inner();
    assert_eq!(forced.scope, "pooled");
    assert_eq!(
        partner
            .get_operational_view(view)
            .await
            .expect_err("partners")
            .code(),
        Code::PermissionDenied
    );
    let mut reviewer = server.client(&[Role::Reviewer], "us-wi");
    assert_eq!(
        reviewer
            .ask(theme(pb::Filters::default(), false))
            .await
            .expect_err("role")
            .code(),
        Code::PermissionDenied
    );
    let bad = pb::AskRequest {
        question: 0,
        ..Default::default()
    };
    assert_eq!(
        analyst.ask(bad).await.expect_err("no question").code(),
        Code::InvalidArgument
    );
    let mut map = ask(
        Question::SystemsMap,
        Breakdown::Unspecified,
        pb::Filters::default(),
        false,
    );
    map.code = "NOT_A_THEME".into();
    assert_eq!(
        analyst.ask(map.clone()).await.expect_err("theme").code(),
        Code::InvalidArgument
    );
    map.code = "SAFE_SLEEP".into();
    let table = analyst.ask(map).await.expect("map").into_inner();
    assert!(
        table.rows.iter().any(|r| r.keys[0] == "node")
            && table.rows.iter().any(|r| r.keys[0] == "edge")
    );
    server.stop().await;
}
