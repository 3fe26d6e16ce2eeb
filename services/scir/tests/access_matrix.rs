//! The access matrix of every RPC of every service, generated from the
//! contracts and the authorisation tables: every role, and every kind of bad
//! token, against the real servers of `scir up`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use http::uri::PathAndQuery;
use prost::Message;
use scir::{dev_auth, up};
use scir_kit::auth::{MethodRule, Role};
use scir_kit::client::ClientInterceptor;
use tonic::Code;

/// Every RPC in the compiled contracts: full path and whether it streams.
fn contract_methods() -> Vec<(String, bool)> {
    let set = prost_types::FileDescriptorSet::decode(scir_proto::FILE_DESCRIPTOR_SET)
        .expect("descriptor set");
    let mut out = Vec::new();
    for file in set.file {
        let package = file.package.clone().unwrap_or_default();
        for service in &file.service {
            for method in &service.method {
                out.push((
                    format!("/{package}.{}/{}", service.name(), method.name()),
                    method.server_streaming(),
                ));
            }
        }
    }
    out
}

fn rules() -> Vec<MethodRule> {
    [
        scir_intake::policy::RULES,
        scir_review::policy::RULES,
        scir_scoring::policy::RULES,
        scir_insights::policy::RULES,
        scir_learning::policy::RULES,
        scir_culture::policy::RULES,
        scir_kit::webhooks::RULES,
    ]
    .concat()
}

/// Calls `path` with an empty message and returns the status code (OK when the
/// call passed authorisation and succeeded).
async fn call(address: SocketAddr, path: &str, streaming: bool, token: Option<&str>) -> Code {
    let channel = scir_testkit::channel(address);
    let interceptor = ClientInterceptor::new(token).expect("interceptor");
    let mut grpc = tonic::client::Grpc::new(tonic::service::interceptor::InterceptedService::new(
        channel,
        interceptor,
    ));
    grpc.ready().await.expect("ready");
    let codec = tonic_prost::ProstCodec::<(), ()>::default();
    let path = PathAndQuery::try_from(path.to_owned()).expect("path");
    let mut request = tonic::Request::new(());
    request.set_timeout(Duration::from_secs(10));
    let result = if streaming {
        grpc.server_streaming(request, path, codec)
            .await
            .map(|_| ())
    } else {
        grpc.unary(request, path, codec).await.map(|_| ())
    };
    result.map(|_| Code::Ok).unwrap_or_else(|s| s.code())
}

#[tokio::test]
async fn every_rpc_every_role_every_bad_token() {
    // Every RPC of the contracts is in an authorisation table, and nothing else is.
    let methods = contract_methods();
    let rules = rules();
    let mut in_table: Vec<&str> = rules.iter().map(|r| r.method).collect();
    in_table.sort();
    let mut in_contract: Vec<&str> = methods.iter().map(|(m, _)| m.as_str()).collect();
    in_contract.sort();
    assert_eq!(
        in_table, in_contract,
        "the authorisation tables cover exactly the contracts"
    );

    let dir = tempfile::tempdir().expect("data dir");
    let (running, shutdown, task) = up::spawn(dir.path().to_owned()).await.expect("scir up");
    // Webhooks are served by intake, review and scoring alike; intake's stand for all.
    let address_of = |path: &str| {
        if path.starts_with("/scir.intake.") || path.starts_with("/scir.webhooks.") {
            running.intake
        } else if path.starts_with("/scir.review.") {
            running.review
        } else if path.starts_with("/scir.scoring.") {
            running.scoring
        } else if path.starts_with("/scir.learning.") {
            running.learning
        } else if path.starts_with("/scir.culture.") {
            running.culture
        } else {
            running.insights
        }
    };
    for (service, address) in [
        (scir_intake::startup::SERVICE_NAME, running.intake),
        (scir_review::startup::SERVICE_NAME, running.review),
        (scir_scoring::startup::SERVICE_NAME, running.scoring),
        (scir_insights::startup::SERVICE_NAME, running.insights),
        (scir_learning::startup::SERVICE_NAME, running.learning),
        (scir_culture::startup::SERVICE_NAME, running.culture),
    ] {
        scir_testkit::wait_serving(address, service).await;
    }

    let secret = dev_auth::read_secret(dir.path()).expect("secret");
    let mint = |roles: &[Role], secret: &str, audience: &str, ttl: u64| {
        scir_kit::auth::mint_hs256(
            secret,
            dev_auth::DEV_ISSUER,
            audience,
            "matrix-user",
            "us-wi",
            roles,
            Duration::from_secs(ttl),
        )
        .expect("token")
    };
    let expired = {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("clock")
            .as_secs();
        let claims = scir_kit::auth::Claims {
            sub: "matrix-user".into(),
            iss: dev_auth::DEV_ISSUER.into(),
            aud: dev_auth::DEV_AUDIENCE.into(),
            iat: now - 7200,
            nbf: None,
            exp: now - 3600,
            jurisdiction: "us-wi".into(),
            roles: Role::ALL.iter().map(|r| r.as_str().to_owned()).collect(),
        };
        scir_kit::auth::encode_hs256(&secret, &claims).expect("expired token")
    };
    let bad_tokens = [
        ("no token", None),
        ("garbage", Some("not.a.token".to_owned())),
        ("expired", Some(expired)),
        (
            "wrong signature",
            Some(mint(
                &Role::ALL,
                "a-different-secret-of-enough-length-0000",
                dev_auth::DEV_AUDIENCE,
                600,
            )),
        ),
        (
            "wrong audience",
            Some(mint(&Role::ALL, &secret, "another-audience", 600)),
        ),
    ];

    let mut failures = Vec::new();
    let mut checked = BTreeMap::<&str, usize>::new();
    for (path, streaming) in &methods {
        let rule = rules.iter().find(|r| r.method == path).expect("rule");
        let address = address_of(path);
        for role in Role::ALL {
            let token = mint(&[role], &secret, dev_auth::DEV_AUDIENCE, 600);
            let code = call(address, path, *streaming, Some(&token)).await;
            let allowed = rule.roles.contains(&role);
            let denied = matches!(code, Code::PermissionDenied | Code::Unauthenticated);
            if allowed == denied || (!allowed && code != Code::PermissionDenied) {
                failures.push(format!("{path} as {role}: {code:?} (allowed: {allowed})"));
            }
            *checked.entry("role").or_default() += 1;
        }
        for (what, token) in &bad_tokens {
            let code = call(address, path, *streaming, token.as_deref()).await;
            if code != Code::Unauthenticated {
                failures.push(format!("{path} with {what}: {code:?}"));
            }
            *checked.entry("token").or_default() += 1;
        }
    }
    assert!(
        failures.is_empty(),
        "{} of the matrix disagree with the tables:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert_eq!(checked["role"], methods.len() * Role::ALL.len());
    shutdown.fire();
    task.await.expect("task").expect("scir up stopped cleanly");
}
