//! The `scir` command against `scir up`: operator commands with their table and
//! JSON output and exit codes, and the demo.

use std::path::Path;
use std::process::{Command, Output};

use scir_e2e::processes::{Up, binary};

struct Scir<'a> {
    up: &'a Up,
}

impl Scir<'_> {
    fn command(&self, args: &[&str], token: Option<&str>) -> Output {
        let mut command = Command::new(binary("scir"));
        command
            .args(args)
            .env_remove("SCIR_TOKEN")
            .env("SCIR_DATA_DIR", self.up.data_dir.path())
            .env("SCIR_INTAKE_ADDR", &self.up.endpoints.intake)
            .env("SCIR_REVIEW_ADDR", &self.up.endpoints.review)
            .env("SCIR_SCORING_ADDR", &self.up.endpoints.scoring)
            .env("SCIR_INSIGHTS_ADDR", &self.up.endpoints.insights)
            .env("SCIR_LEARNING_ADDR", &self.up.endpoints.learning)
            .env("SCIR_CULTURE_ADDR", &self.up.endpoints.culture);
        if let Some(token) = token {
            command.env("SCIR_TOKEN", token);
        }
        command.output().expect("run scir")
    }

    fn token(&self, role: &str, jurisdiction: &str) -> String {
        let out = self.command(
            &["token", "--role", role, "--jurisdiction", jurisdiction],
            None,
        );
        assert!(out.status.success(), "{out:?}");
        String::from_utf8(out.stdout)
            .expect("utf-8")
            .trim()
            .to_owned()
    }
}

fn text(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn example() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../examples/incident.json")
}

#[tokio::test]
async fn operator_commands_print_tables_json_and_exit_codes() {
    let up = Up::start().await;
    let scir = Scir { up: &up };
    let reporter = scir.token("reporter", "us-wi");
    let file = example();
    let file = file.to_str().expect("path");

    let out = scir.command(&["incident", "report", file], Some(&reporter));
    assert_eq!(code(&out), 0, "{out:?}");
    assert!(
        text(&out).contains("decision       PRACTICE_REVIEW"),
        "{}",
        text(&out)
    );

    // The same file again is the same incident; JSON is the canonical mapping.
    let out = scir.command(&["incident", "report", file, "--json"], Some(&reporter));
    assert_eq!(code(&out), 0);
    let incident: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let name = incident["name"].as_str().expect("name").to_owned();
    assert_eq!(
        incident["decision"]["outcome"],
        "ELIGIBILITY_OUTCOME_PRACTICE_REVIEW"
    );
    assert_eq!(incident["revision"], 1);

    let out = scir.command(&["incident", "show", &name, "--json"], Some(&reporter));
    assert_eq!(code(&out), 0);
    let shown: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(shown["name"], name.as_str());

    // The review opened from intake's event; it is overdue (the incident is old).
    let lead = scir.token("scr_lead", "us-wi");
    let mut overdue = String::new();
    for _ in 0..100 {
        let out = scir.command(
            &["review", "overdue", "--jurisdiction", "us-wi", "--json"],
            Some(&lead),
        );
        assert_eq!(code(&out), 0, "{out:?}");
        let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        if let Some(review) = list.as_array().and_then(|l| l.first()) {
            assert_eq!(review["incident"], name.as_str());
            overdue = review["name"].as_str().expect("name").to_owned();
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(!overdue.is_empty(), "the review never showed as overdue");
    let out = scir.command(
        &["review", "overdue", "--jurisdiction", "us-wi"],
        Some(&lead),
    );
    assert!(
        text(&out).contains(&overdue) && text(&out).contains("OPENED"),
        "{}",
        text(&out)
    );
    let out = scir.command(&["review", "show", &overdue], Some(&lead));
    assert_eq!(code(&out), 0);
    assert!(text(&out).contains("stage     OPENED"), "{}", text(&out));

    // Exit codes scripts rely on.
    let missing = "jurisdictions/us-wi/incidents/00000000-0000-7000-8000-000000000000";
    let out = scir.command(&["incident", "show", missing], Some(&reporter));
    assert_eq!(code(&out), 3, "not found: {out:?}");
    let out = scir.command(&["incident", "show", "nonsense"], Some(&reporter));
    assert_eq!(code(&out), 2, "invalid argument: {out:?}");
    let out = scir.command(&["incident", "show", &name], None);
    assert_eq!(code(&out), 2, "no token: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("SCIR_TOKEN"));
    let out = scir.command(&["incident", "show", &name], Some("not-a-token"));
    assert_eq!(code(&out), 4, "unauthenticated: {out:?}");
    let other = scir.token("reporter", "us-tn");
    let out = scir.command(&["incident", "show", &name], Some(&other));
    assert_eq!(code(&out), 4, "other jurisdiction: {out:?}");
    let dir = tempfile::tempdir().expect("dir");
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        r#"{"jurisdiction": "us-wi", "incidentType": "EXPLOSION"}"#,
    )
    .expect("write");
    let out = scir.command(
        &["incident", "report", bad.to_str().expect("path")],
        Some(&reporter),
    );
    assert_eq!(code(&out), 2, "bad file: {out:?}");
    assert!(String::from_utf8_lossy(&out.stderr).contains("EXPLOSION"));
    std::fs::write(
        &bad,
        r#"{"jurisdiction": "us-wi", "incidentType": "DEATH"}"#,
    )
    .expect("write");
    let out = scir.command(
        &["incident", "report", bad.to_str().expect("path")],
        Some(&reporter),
    );
    assert_eq!(code(&out), 2, "incomplete facts: {out:?}");
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("incident.placement: is required"),
        "field violations are listed: {out:?}"
    );
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("address");
    let mut command = Command::new(binary("scir"));
    let out = command
        .args([
            "incident",
            "show",
            &name,
            "--intake-addr",
            &closed.to_string(),
        ])
        .env("SCIR_TOKEN", &reporter)
        .output()
        .expect("run");
    assert_eq!(code(&out), 5, "unavailable: {out:?}");

    // The audit chains of every service hold.
    for service in [
        "intake", "review", "scoring", "insights", "learning", "culture",
    ] {
        let out = scir.command(&["audit", "verify", "--service", service, "--json"], None);
        assert_eq!(code(&out), 0, "{out:?}");
        let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
        assert_eq!(verdict["intact"], true, "{service}");
    }
    let out = scir.command(&["audit", "verify"], None);
    assert_eq!(code(&out), 2, "nothing to verify: {out:?}");
    let out = scir.command(&["audit", "verify", "--all"], None);
    assert_eq!(code(&out), 0, "{out:?}");
    assert_eq!(
        text(&out).matches("audit chain intact").count(),
        6,
        "{}",
        text(&out)
    );
    // Someone with the database in hand deletes a record: verify names it.
    let url = format!(
        "sqlite://{}",
        up.data_dir.path().join("intake.db").display()
    );
    let db = scir_kit::db::Database::open(&url, &scir_kit::db::DbOptions::default())
        .await
        .expect("intake database");
    sqlx::query("DROP TRIGGER audit_log_no_delete")
        .execute(db.pool())
        .await
        .expect("drop guard");
    sqlx::query("DELETE FROM audit_log WHERE seq = 2")
        .execute(db.pool())
        .await
        .expect("delete");
    db.close().await;
    let out = scir.command(&["audit", "verify", "--service", "intake", "--json"], None);
    assert_eq!(code(&out), 1, "a broken chain fails the check: {out:?}");
    let verdict: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(verdict["intact"], false);
    assert_eq!(verdict["brokenAt"], 2);
    assert_eq!(verdict["reason"], "a record is missing");
    let out = scir.command(&["audit", "verify", "--all", "--json"], None);
    assert_eq!(code(&out), 1, "{out:?}");
    let verdicts: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let broken: Vec<&str> = verdicts
        .as_array()
        .expect("a list")
        .iter()
        .filter(|v| v["intact"] == false)
        .map(|v| v["service"].as_str().expect("service"))
        .collect();
    assert_eq!(broken, ["intake"]);

    // Insights as a table and as JSON.
    let analyst = scir.token("analyst", "us-wi");
    let out = scir.command(&["insights", "ask", "theme-prevalence"], Some(&analyst));
    assert_eq!(code(&out), 0, "{out:?}");
    assert!(
        text(&out).contains("scope: jurisdiction:us-wi"),
        "{}",
        text(&out)
    );
    let out = scir.command(
        &["insights", "ask", "factor-prevalence", "--level", "7"],
        Some(&analyst),
    );
    assert_eq!(code(&out), 2, "level out of range is a usage error");
}

#[tokio::test]
async fn the_demo_fills_a_deployment_and_prints_the_insights() {
    let up = Up::start().await;
    let scir = Scir { up: &up };
    let args = ["demo", "--incidents", "120", "--seed", "5", "--quiet"];
    let first = scir.command(&args, None);
    assert_eq!(code(&first), 0, "{first:?}");
    let out = text(&first);
    for heading in [
        "Incidents reported: 120",
        "== SSIT domains rated as contributing",
        "== Themes of key observations",
        "== Recommendations by category and strength ==",
        "== Did it work? Implemented recommendations checked for effect, by strength ==",
        "synthetic demo data",
        "== The learning loop",
        "Safe sleep across Wisconsin's counties",
        "Considerations for future work",
        "Safety notice \"Safe sleep: share guidance with public health\"",
        "== Insights: us-wi's considerations by category and strength",
        "== Safety culture surveys (invented answers",
        "us-wi, Demo survey, wave 2",
        "withheld: too few",
        "Trend, North team (wave 1 -> wave 2): OPEN ",
        "== Insights: us-wi's culture beside its reviews",
        "culture  RESPONSE_RATE",
        "== Insights: where us-wi's culture stands among the members",
    ] {
        assert!(out.contains(heading), "`{heading}` missing from:\n{out}");
    }
    // The same seed again reports the same incidents: nothing is added.
    let again = scir.command(&args, None);
    assert_eq!(code(&again), 0, "{again:?}");
    let line = |o: &str| {
        o.lines()
            .filter(|l| l.starts_with("Incidents reported") || l.starts_with("Reviews opened"))
            .map(str::to_owned)
            .collect::<Vec<_>>()
    };
    assert_eq!(line(&out), line(&text(&again)));
    println!("{out}");

    // The learning loop from the command line: the demo's mappings, one shown
    // with its considerations; the notice listed, answered, and no longer
    // overdue for the member that answered.
    let lead = scir.token("scr_lead", "us-wi");
    let listed = scir.command(&["mapping", "list", "--jurisdiction", "us-wi"], Some(&lead));
    assert_eq!(code(&listed), 0, "{listed:?}");
    assert_eq!(
        text(&listed).matches("aggregateMappings/").count(),
        2,
        "{}",
        text(&listed)
    );
    let json = scir.command(
        &["mapping", "list", "--jurisdiction", "us-wi", "--json"],
        Some(&lead),
    );
    let mappings: serde_json::Value = serde_json::from_slice(&json.stdout).expect("json");
    let published = mappings
        .as_array()
        .expect("list")
        .iter()
        .find(|m| m["stage"] == "STAGE_PUBLISHED")
        .expect("a published mapping");
    let name = published["name"].as_str().expect("name");
    let shown = scir.command(&["mapping", "show", name], Some(&lead));
    assert_eq!(code(&shown), 0, "{shown:?}");
    for expected in ["public health nurse (health)", "PARTLY", "IMPLEMENTED"] {
        assert!(
            text(&shown).contains(expected),
            "`{expected}` in {}",
            text(&shown)
        );
    }
    let missing = scir.command(
        &[
            "mapping",
            "show",
            "jurisdictions/us-wi/aggregateMappings/00000000-0000-7000-8000-000000000000",
        ],
        Some(&lead),
    );
    assert_eq!(code(&missing), 3, "{missing:?}");
    let wv = scir.token("admin", "us-wv");
    let inbox = scir.command(
        &["notice", "list", "--jurisdiction", "us-wv", "--json"],
        Some(&wv),
    );
    let notices: serde_json::Value = serde_json::from_slice(&inbox.stdout).expect("json");
    let notice = notices[0]["name"]
        .as_str()
        .expect("a notice for us-wv")
        .to_owned();
    assert!(
        notices[0]["source"].is_null(),
        "a recipient sees no source: {notices}"
    );
    let bad = scir.command(
        &["notice", "respond", &notice, "--kind", "action-taken"],
        Some(&wv),
    );
    assert_eq!(code(&bad), 2, "action taken says what: {bad:?}");
    let answered = scir.command(
        &[
            "notice",
            "respond",
            &notice,
            "--kind",
            "not-applicable",
            "--detail",
            "No infant deaths in the period",
        ],
        Some(&wv),
    );
    assert_eq!(code(&answered), 0, "{answered:?}");
    let issuer = scir.token("admin", "us-wi");
    let list = scir.command(
        &["notice", "list", "--jurisdiction", "us-wi"],
        Some(&issuer),
    );
    assert!(text(&list).contains("3 of "), "{}", text(&list));
    let overdue = scir.command(
        &["notice", "overdue", "--jurisdiction", "us-wi"],
        Some(&issuer),
    );
    assert_eq!(code(&overdue), 0, "{overdue:?}");
    let denied = scir.command(&["notice", "list", "--jurisdiction", "us-wi"], Some(&wv));
    assert_eq!(code(&denied), 4, "{denied:?}");
}
