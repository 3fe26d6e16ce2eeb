//! The culture service on both backends, over gRPC and its answer page: a wave
//! opened with bad input refused field by field, codes issued, answers sent
//! through the page as a browser sends them, a code refused the second time
//! exactly as a code that never existed, results withheld below the threshold
//! and where a parent less a child would reveal a small team, the raw tables
//! read to show that nothing ties a response to a code or a time, a unit's
//! trend across two waves, and floods of attempts per code and per address
//! turned away.

use std::net::SocketAddr;

use scir_kit::auth::Role;
use scir_kit::client::ClientInterceptor;
use scir_kit::shutdown::Shutdown;
use scir_proto::common::v1::Date;
use scir_proto::culture::v1 as pb;
use scir_proto::culture::v1::culture_service_client::CultureServiceClient;
use scir_testkit::{Backend, TestDatabase};
use sqlx::Row;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

type Client = CultureServiceClient<InterceptedService<Channel, ClientInterceptor>>;

const INSTRUMENT: &str = "surveyInstruments/scir-culture-shape/versions/1.0";
const ITEMS: usize = 18;

fn client(address: SocketAddr, roles: &[Role], jurisdiction: &str) -> Client {
    let token = scir_testkit::token_as("culture-test", roles, jurisdiction);
    let interceptor = ClientInterceptor::new(Some(&token)).expect("interceptor");
    CultureServiceClient::with_interceptor(scir_testkit::channel(address), interceptor)
}

/// One HTTP/1.1 exchange, as a browser without JavaScript makes it: status and
/// body.
async fn http(address: SocketAddr, method: &str, target: &str, form: &str) -> (u16, String) {
    http_via(address, method, target, form, None).await
}

/// [`http`] through a proxy that says it forwards for `forwarded`.
async fn http_via(
    address: SocketAddr,
    method: &str,
    target: &str,
    form: &str,
    forwarded: Option<&str>,
) -> (u16, String) {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    let forwarded = forwarded
        .map(|f| format!("X-Forwarded-For: {f}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: {address}\r\nConnection: close\r\n{forwarded}\
         Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{form}",
        form.len()
    );
    stream.write_all(request.as_bytes()).await.expect("write");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status");
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_owned())
        .unwrap_or_default();
    (status, body)
}

/// A form of `answers` (one per item) for `code`.
fn answers(code: &str, value: i32) -> String {
    let mut form = format!("code={code}");
    for n in 1..=ITEMS {
        form.push_str(&format!("&q{n}={value}"));
    }
    form
}

fn date(d: chrono::NaiveDate) -> Date {
    scir_kit::validate::from_date(d)
}

fn wave(units: Vec<(&str, &str)>) -> pb::SurveyWave {
    let today = chrono::Utc::now().date_naive();
    pb::SurveyWave {
        title: "Spring survey".into(),
        instrument: INSTRUMENT.into(),
        units: units
            .into_iter()
            .map(|(id, parent)| pb::OrganisationalUnit {
                id: id.into(),
                title: format!("The {id} unit"),
                parent: parent.into(),
                invited: 0,
            })
            .collect(),
        open_date: Some(date(today)),
        close_date: Some(date(today + chrono::Days::new(30))),
        ..Default::default()
    }
}

scir_testkit::on_both_backends!(a_wave_from_codes_to_results);

async fn a_wave_from_codes_to_results(backend: Backend) {
    let db = TestDatabase::new(backend).await;
    let shutdown = Shutdown::new();
    let config = scir_culture::CultureConfig {
        common: scir_testkit::common_config(&db.url),
        instruments_dir: None,
        min_respondents: 5,
        page_requests_per_minute: 60,
        trusted_proxies: Vec::new(),
    };
    let app = scir_culture::Application::build(&config, &shutdown)
        .await
        .expect("culture builds");
    let address = app.address();
    let task = tokio::spawn(app.run());
    scir_testkit::wait_serving(address, scir_culture::startup::SERVICE_NAME).await;
    let mut admin = client(address, &[Role::Admin], "us-wi");

    // Bad input, field by field; nothing stored.
    let mut bad = wave(vec![
        ("office", ""),
        ("Team A", "office"),
        ("b", "c"),
        ("c", ""),
    ]);
    bad.instrument = "surveyInstruments/none/versions/1".into();
    bad.close_date = Some(date(
        chrono::NaiveDate::from_ymd_opt(2020, 1, 1).expect("date"),
    ));
    let refused = admin
        .create_survey_wave(pb::CreateSurveyWaveRequest {
            parent: "jurisdictions/us-wi".into(),
            survey_wave: Some(bad),
        })
        .await
        .expect_err("bad wave");
    assert_eq!(
        scir_testkit::violated_fields(&refused),
        [
            "survey_wave.instrument",
            "survey_wave.units[1].id",
            "survey_wave.units[2].parent",
            "survey_wave.close_date",
        ]
    );
    let listed = admin
        .list_survey_waves(pb::ListSurveyWavesRequest {
            parent: "jurisdictions/us-wi".into(),
        })
        .await
        .expect("list")
        .into_inner();
    assert!(listed.survey_waves.is_empty(), "nothing stored");

    // A wave of an office and two teams.
    let created = admin
        .create_survey_wave(pb::CreateSurveyWaveRequest {
            parent: "jurisdictions/us-wi".into(),
            survey_wave: Some(wave(vec![
                ("office", ""),
                ("team-a", "office"),
                ("team-b", "office"),
            ])),
        })
        .await
        .expect("wave")
        .into_inner();
    assert_eq!(created.state, pb::WaveState::Open as i32);
    assert_eq!(created.min_respondents, 5);
    let issue = async |admin: &mut Client, unit: &str, count: i32| {
        admin
            .issue_invitations(pb::IssueInvitationsRequest {
                wave: created.name.clone(),
                unit: unit.into(),
                count,
            })
            .await
            .map(tonic::Response::into_inner)
    };
    let a = issue(&mut admin, "team-a", 8).await.expect("team a codes");
    let b = issue(&mut admin, "team-b", 3).await.expect("team b codes");
    assert_eq!(a.codes.len(), 8);
    assert_eq!(a.links[0], format!("/survey?code={}", a.codes[0]));
    let refused = issue(&mut admin, "nowhere", 0)
        .await
        .expect_err("bad issue");
    assert_eq!(scir_testkit::violated_fields(&refused), ["count", "unit"]);

    // Others cannot see the wave or issue its codes.
    let mut other = client(address, &[Role::Admin], "us-tn");
    let denied = other
        .get_survey_wave(pb::GetSurveyWaveRequest {
            name: created.name.clone(),
        })
        .await
        .expect_err("other state");
    assert_eq!(denied.code(), Code::PermissionDenied);
    let mut analyst = client(address, &[Role::Analyst], "us-wi");
    let denied = issue(&mut analyst, "team-a", 1).await.expect_err("analyst");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // The page: a code entry without a code, the form with one.
    let (status, page) = http(address, "GET", "/survey", "").await;
    assert_eq!(status, 200);
    assert!(
        page.contains("<label for=\"code\">Invitation code</label>"),
        "{page}"
    );
    let (status, page) = http(address, "GET", &a.links[0], "").await;
    assert_eq!(status, 200);
    assert_eq!(page.matches("<fieldset>").count(), ITEMS);
    assert_eq!(page.matches("Prefer not to answer</label>").count(), ITEMS);
    assert!(page.contains("people speak up when they see something"));
    assert!(!page.contains("<script"), "no script");

    // Six answers in team A (positive), two in team B (negative).
    for code in &a.codes[..6] {
        let (status, page) = http(address, "POST", "/survey", &answers(code, 4)).await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("your answers were recorded"), "{page}");
    }
    for code in &b.codes[..2] {
        let (status, _) = http(address, "POST", "/survey", &answers(code, 1)).await;
        assert_eq!(status, 200);
    }
    // An out-of-range answer changes nothing and the code still works.
    let (status, _) = http(address, "POST", "/survey", &answers(&a.codes[6], 9)).await;
    assert_eq!(status, 400);
    let (status, _) = http(address, "GET", &a.links[6], "").await;
    assert_eq!(status, 200, "the code still works");

    // A used code reads exactly as one that never existed.
    let (used_status, used) = http(address, "POST", "/survey", &answers(&a.codes[0], 4)).await;
    let (never_status, never) = http(
        address,
        "POST",
        "/survey",
        &answers("0000-0000-0000-0000", 4),
    )
    .await;
    assert_eq!((used_status, &used), (never_status, &never));
    assert_eq!(used_status, 404);
    let (status, again) = http(address, "GET", &a.links[0], "").await;
    assert_eq!((status, &again), (404, &never));

    // Results: team A shown, team B too few, the office (8) less team A (6)
    // would be team B's 2: withheld.
    let results = admin
        .get_survey_results(pb::GetSurveyResultsRequest {
            wave: created.name.clone(),
        })
        .await
        .expect("results")
        .into_inner();
    let unit = |id: &str| {
        results
            .units
            .iter()
            .find(|u| u.unit == id)
            .expect("unit")
            .clone()
    };
    let team_a = unit("team-a");
    assert_eq!(team_a.withheld, pb::Withheld::Unspecified as i32);
    assert_eq!(team_a.respondents, 6);
    assert_eq!(team_a.response_rate, 0.75);
    let open1 = &team_a.items[0];
    assert_eq!(
        (open1.code.as_str(), open1.positive, open1.answered),
        ("OPEN1", 1.0, 6)
    );
    let open2 = &team_a.items[1];
    assert_eq!(
        open2.negative, 1.0,
        "agreeing with a reversed item is negative"
    );
    assert_eq!(team_a.composites.len(), 6);
    assert_eq!(unit("team-b").withheld, pb::Withheld::TooFew as i32);
    assert!(unit("team-b").items.is_empty());
    assert_eq!(unit("office").withheld, pb::Withheld::Subtraction as i32);
    assert_eq!(unit("office").respondents, 0);
    let csv = admin
        .export_survey_results(pb::GetSurveyResultsRequest {
            wave: created.name.clone(),
        })
        .await
        .expect("csv")
        .into_inner()
        .text;
    assert!(
        csv.contains("team-a,item,OPEN1,1.0000,0.0000,0.0000,6,6,8,"),
        "{csv}"
    );
    assert!(csv.contains("team-b,,,,,,,,3,too few respondents"), "{csv}");
    assert!(
        csv.contains("office,,,,,,,,11,would reveal a small unit"),
        "{csv}"
    );
    let chart = admin
        .render_survey_chart(pb::GetSurveyResultsRequest {
            wave: created.name.clone(),
        })
        .await
        .expect("chart")
        .into_inner()
        .svg;
    assert!(chart.starts_with("<svg") && chart.contains("Speaking up"));
    assert!(chart.contains("withheld: too few respondents"));

    // The raw tables: codes and responses share no key, no response carries
    // a time, used codes are gone, and the audit log holds no submission.
    let raw = scir_kit::db::Database::open(&db.url, &Default::default())
        .await
        .expect("raw");
    let mut conn = raw.pool().acquire().await.expect("conn");
    let columns = |table: &str| {
        let sql = match backend {
            Backend::Sqlite => {
                format!("SELECT name FROM pragma_table_info('{table}') ORDER BY cid")
            }
            Backend::Postgres => format!(
                "SELECT column_name::text AS name FROM information_schema.columns \
                 WHERE table_name = '{table}' ORDER BY ordinal_position"
            ),
        };
        sqlx::AssertSqlSafe(sql)
    };
    let names = |rows: Vec<sqlx::any::AnyRow>| -> Vec<String> {
        rows.iter().map(|r| r.get::<String, _>("name")).collect()
    };
    let response_columns = names(
        sqlx::query(columns("culture_responses"))
            .fetch_all(&mut *conn)
            .await
            .expect("columns"),
    );
    assert_eq!(
        response_columns,
        ["response_id", "wave_id", "unit_id", "answers"]
    );
    let code_columns = names(
        sqlx::query(columns("culture_codes"))
            .fetch_all(&mut *conn)
            .await
            .expect("columns"),
    );
    assert_eq!(code_columns, ["code_hash", "wave_id", "unit_id"]);
    let left: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM culture_codes")
        .fetch_one(&mut *conn)
        .await
        .expect("codes");
    assert_eq!(left, 11 - 8, "used codes are deleted");
    let stored: Vec<(String, String)> =
        sqlx::query_as("SELECT response_id, answers FROM culture_responses")
            .fetch_all(&mut *conn)
            .await
            .expect("responses");
    assert_eq!(stored.len(), 8);
    for (id, _) in &stored {
        assert_eq!(id.len(), 32, "a random id, not a sequence");
    }
    let audits: Vec<String> = sqlx::query_scalar("SELECT method FROM audit_log")
        .fetch_all(&mut *conn)
        .await
        .expect("audit");
    assert!(
        audits.iter().all(|m| !m.to_lowercase().contains("survey?")),
        "{audits:?}"
    );
    let everything = format!("{stored:?}");
    for code in &a.codes[..6] {
        let normal = code.replace('-', "");
        assert!(!everything.contains(&normal));
    }
    drop(conn);
    raw.close().await;

    // A closed wave takes no answers and issues no codes.
    admin
        .close_survey_wave(pb::CloseSurveyWaveRequest {
            name: created.name.clone(),
        })
        .await
        .expect("close");
    let refused = issue(&mut admin, "team-a", 1).await.expect_err("closed");
    assert_eq!(refused.code(), Code::FailedPrecondition);

    // A second wave, and each unit across both.
    let second = admin
        .create_survey_wave(pb::CreateSurveyWaveRequest {
            parent: "jurisdictions/us-wi".into(),
            survey_wave: Some(wave(vec![("office", ""), ("team-a", "office")])),
        })
        .await
        .expect("second wave")
        .into_inner();
    let codes = admin
        .issue_invitations(pb::IssueInvitationsRequest {
            wave: second.name.clone(),
            unit: "team-a".into(),
            count: 5,
        })
        .await
        .expect("codes")
        .into_inner()
        .codes;
    for code in &codes {
        let (status, _) = http(address, "POST", "/survey", &answers(code, 2)).await;
        assert_eq!(status, 200);
    }
    let trend = admin
        .get_survey_trend(pb::GetSurveyTrendRequest {
            parent: "jurisdictions/us-wi".into(),
            unit: "team-a".into(),
        })
        .await
        .expect("trend")
        .into_inner();
    assert_eq!(trend.units.len(), 1);
    let points = &trend.units[0].points;
    assert_eq!(
        points.iter().map(|p| p.wave.as_str()).collect::<Vec<_>>(),
        [created.name.as_str(), second.name.as_str()],
        "oldest first"
    );
    let positive = |p: &pb::TrendPoint| {
        let r = p.result.as_ref().expect("result");
        (r.respondents, r.items[0].positive)
    };
    assert_eq!(positive(&points[0]), (6, 1.0));
    assert_eq!(positive(&points[1]), (5, 0.0));
    let all = admin
        .get_survey_trend(pb::GetSurveyTrendRequest {
            parent: "jurisdictions/us-wi".into(),
            unit: String::new(),
        })
        .await
        .expect("every unit")
        .into_inner();
    let units: Vec<&str> = all.units.iter().map(|u| u.unit.as_str()).collect();
    assert_eq!(units, ["office", "team-a", "team-b"]);
    let office = &all.units[0].points;
    assert_eq!(
        office[0].result.as_ref().expect("result").withheld,
        pb::Withheld::Subtraction as i32
    );
    assert_eq!(
        office[1].result.as_ref().expect("result").withheld,
        pb::Withheld::Unspecified as i32,
        "the second office is its one team"
    );
    let denied = other
        .get_survey_trend(pb::GetSurveyTrendRequest {
            parent: "jurisdictions/us-wi".into(),
            unit: String::new(),
        })
        .await
        .expect_err("other state");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Each closed wave is announced with the whole wave's counts only, and
    // only when they cannot be subtracted to a small unit: the first wave's
    // whole (8) less team A (6) is team B's 2.
    admin
        .close_survey_wave(pb::CloseSurveyWaveRequest {
            name: second.name.clone(),
        })
        .await
        .expect("close the second");
    let events: Vec<scir_proto::common::v1::Event> = {
        use tokio_stream::StreamExt;
        let mut service = client(address, &[Role::Service], "*");
        service
            .watch_events(scir_proto::common::v1::WatchEventsRequest {
                after_cursor: 0,
                types: vec![],
                stop_at_end: true,
            })
            .await
            .expect("watch")
            .into_inner()
            .collect::<Result<Vec<_>, _>>()
            .await
            .expect("events")
    };
    let closed: Vec<pb::SurveyWaveClosed> = events
        .iter()
        .map(|e| {
            scir_kit::events::decode::<pb::SurveyWaveClosed>(e)
                .expect("a closed wave")
                .expect("decodes")
        })
        .collect();
    assert_eq!(closed.len(), 2);
    assert_eq!(closed[0].name, created.name);
    assert_eq!(closed[0].withheld, pb::Withheld::Subtraction as i32);
    assert!(closed[0].items.is_empty() && closed[0].respondents == 0);
    assert_eq!((closed[1].respondents, closed[1].invited), (5, 5));
    assert_eq!(closed[1].items.len(), ITEMS);
    assert!(
        closed[1]
            .items
            .iter()
            .all(|i| i.positive + i.neutral + i.negative == 5),
        "every respondent answered every item"
    );
    assert!(!closed[1].composites.is_empty());
    for e in &events {
        let bytes = &e.payload.as_ref().expect("payload").value;
        for unit in ["office", "team-a", "The team-a unit", "Spring survey"] {
            assert!(
                !bytes.windows(unit.len()).any(|w| w == unit.as_bytes()),
                "{unit} in an event"
            );
        }
    }
    let denied = analyst
        .watch_events(scir_proto::common::v1::WatchEventsRequest::default())
        .await
        .expect_err("an analyst reads no event log");
    assert_eq!(denied.code(), Code::PermissionDenied);

    // Guessing one code, or flooding from one address, is turned away.
    let guess = answers("ZZZZ-ZZZZ-ZZZZ-ZZZZ", 3);
    let mut statuses = Vec::new();
    for _ in 0..11 {
        statuses.push(http(address, "POST", "/survey", &guess).await.0);
    }
    assert_eq!(statuses[..10], [404; 10]);
    assert_eq!(
        statuses[10], 429,
        "the eleventh try of one code in a minute"
    );
    let mut flood = 0;
    for _ in 0..60 {
        if http(address, "GET", "/survey", "").await.0 == 429 {
            flood += 1;
        }
    }
    assert!(flood > 0, "an address over its limit is turned away");

    shutdown.fire();
    task.await.expect("task").expect("culture stopped cleanly");
}

/// Behind a trusted proxy each client has its own limit; a client that writes
/// `X-Forwarded-For` itself gains nothing.
#[tokio::test]
async fn clients_behind_a_trusted_proxy_have_their_own_limits() {
    let statuses = async |trusted: Vec<scir_kit::pages::Cidr>| {
        let db = TestDatabase::new(Backend::Sqlite).await;
        let shutdown = Shutdown::new();
        let config = scir_culture::CultureConfig {
            common: scir_testkit::common_config(&db.url),
            instruments_dir: None,
            min_respondents: 5,
            page_requests_per_minute: 5,
            trusted_proxies: trusted,
        };
        let app = scir_culture::Application::build(&config, &shutdown)
            .await
            .expect("culture builds");
        let address = app.address();
        let task = tokio::spawn(app.run());
        scir_testkit::wait_serving(address, scir_culture::startup::SERVICE_NAME).await;
        let mut out = Vec::new();
        for _ in 0..6 {
            out.push(
                http_via(address, "GET", "/survey", "", Some("198.51.100.1"))
                    .await
                    .0,
            );
        }
        out.push(
            http_via(address, "GET", "/survey", "", Some("198.51.100.2"))
                .await
                .0,
        );
        shutdown.fire();
        task.await.expect("task").expect("stopped");
        out
    };
    let behind = statuses(vec!["127.0.0.1/32".parse().expect("cidr")]).await;
    assert_eq!(
        behind,
        [200, 200, 200, 200, 200, 429, 200],
        "one limit per client"
    );
    let direct = statuses(Vec::new()).await;
    assert_eq!(
        direct,
        [200, 200, 200, 200, 200, 429, 429],
        "an untrusted header changes nothing"
    );
}
