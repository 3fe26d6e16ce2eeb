//! `scir api-reference`: the API reference and data dictionary, generated from
//! the protobuf contract's own comments and the services' method tables (who
//! may call what). `docs/api/reference.md` is this output; a test keeps it
//! current.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use prost_reflect::{EnumDescriptor, FileDescriptor, Kind, MessageDescriptor, ServiceDescriptor};
use scir_kit::auth::MethodRule;
use scir_kit::contract::comment;
use scir_kit::http_json::HttpApi;

/// The services in the order the reference lists them, with their method tables.
const SERVICES: [(&str, &[MethodRule]); 7] = [
    ("scir.intake.v1.IntakeService", scir_intake::policy::RULES),
    ("scir.review.v1.ReviewService", scir_review::policy::RULES),
    (
        "scir.scoring.v1.ScoringService",
        scir_scoring::policy::RULES,
    ),
    (
        "scir.insights.v1.InsightsService",
        scir_insights::policy::RULES,
    ),
    (
        "scir.learning.v1.LearningService",
        scir_learning::policy::RULES,
    ),
    (
        "scir.culture.v1.CultureService",
        scir_culture::policy::RULES,
    ),
    (scir_kit::webhooks::SERVICE_NAME, scir_kit::webhooks::RULES),
];

/// Markdown table cells may not hold a bare `|`.
fn cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn kind_name(kind: &Kind) -> String {
    match kind {
        Kind::Message(m) => format!("`{}`", m.full_name()),
        Kind::Enum(e) => format!("`{}`", e.full_name()),
        other => format!("{other:?}").to_lowercase(),
    }
}

fn write_service(
    out: &mut String,
    service: &ServiceDescriptor,
    rules: &[MethodRule],
    http: &HttpApi,
) {
    let file = service.parent_file();
    let _ = writeln!(out, "## `{}`\n", service.full_name());
    let about = comment(&file, service.path());
    if !about.is_empty() {
        let _ = writeln!(out, "{about}\n");
    }
    let _ = writeln!(
        out,
        "| method | HTTP/JSON | request | response | roles | what it does |\n|---|---|---|---|---|---|"
    );
    for method in service.methods() {
        let path = format!("/{}/{}", service.full_name(), method.name());
        let roles = rules
            .iter()
            .find(|r| r.method == path)
            .map(|r| {
                r.roles
                    .iter()
                    .map(|role| role.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "none".to_owned());
        let stream = if method.is_server_streaming() {
            "stream of "
        } else {
            ""
        };
        let route = http
            .routes()
            .iter()
            .find(|r| r.grpc_path() == path)
            .map(|r| format!("`{} {}`", r.verb(), r.path()))
            .unwrap_or_default();
        let _ = writeln!(
            out,
            "| `{}` | {} | `{}` | {stream}`{}` | {} | {} |",
            method.name(),
            cell(&route),
            method.input().name(),
            method.output().name(),
            cell(&roles),
            cell(&comment(&file, method.path())),
        );
    }
    out.push('\n');
}

fn write_message(out: &mut String, message: &MessageDescriptor) {
    if message.is_map_entry() {
        return;
    }
    let file = message.parent_file();
    let _ = writeln!(out, "### `{}`\n", message.full_name());
    let about = comment(&file, message.path());
    if !about.is_empty() {
        let _ = writeln!(out, "{about}\n");
    }
    if message.fields().len() > 0 {
        let _ = writeln!(
            out,
            "| field | number | type | meaning |\n|---|---|---|---|"
        );
        for field in message.fields() {
            let kind = kind_name(&field.kind());
            let kind = if field.is_map() {
                format!("map {kind}")
            } else if field.is_list() {
                format!("repeated {kind}")
            } else {
                kind
            };
            let _ = writeln!(
                out,
                "| `{}` | {} | {} | {} |",
                field.name(),
                field.number(),
                cell(&kind),
                cell(&comment(&file, field.path())),
            );
        }
        out.push('\n');
    }
    for nested in message.child_messages() {
        write_message(out, &nested);
    }
    for nested in message.child_enums() {
        write_enum(out, &nested);
    }
}

fn write_enum(out: &mut String, e: &EnumDescriptor) {
    let file = e.parent_file();
    let _ = writeln!(out, "### enum `{}`\n", e.full_name());
    let about = comment(&file, e.path());
    if !about.is_empty() {
        let _ = writeln!(out, "{about}\n");
    }
    let aliases = scir_kit::contract::enum_aliases(e.full_name());
    if aliases.is_empty() {
        let _ = writeln!(out, "| value | number | meaning |\n|---|---|---|");
    } else {
        let _ = writeln!(
            out,
            "| value | number | label | meaning |\n|---|---|---|---|"
        );
    }
    for value in e.values() {
        let label = aliases
            .iter()
            .find(|(_, number)| *number == value.number() && *number != 0)
            .map_or(value.name(), |(name, _)| name);
        let meaning = cell(&comment(&file, value.path()));
        if aliases.is_empty() {
            let _ = writeln!(
                out,
                "| `{}` | {} | {meaning} |",
                value.name(),
                value.number()
            );
        } else {
            let _ = writeln!(
                out,
                "| `{}` | {} | `{label}` | {meaning} |",
                value.name(),
                value.number(),
            );
        }
    }
    if !aliases.is_empty() {
        let names: Vec<_> = aliases
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect();
        let _ = writeln!(
            out,
            "\nThe label is the value's name in answers' keys, CSV files, rule sets and \
             summaries. Deprecated aliases, accepted on input for the rest of v1 and \
             never sent: {}.",
            names.join(", ")
        );
    }
    out.push('\n');
}

/// The reference, as Markdown.
pub fn render() -> anyhow::Result<String> {
    let pool = scir_kit::contract::pool();
    let http = http_api()?;
    let mut out = String::from(
        "# SCIR API reference\n\n\
         Generated from the protobuf contract in `proto/` and the services' method \
         tables by `scir api-reference`; do not edit by hand (a test keeps it \
         current). Every RPC needs `authorization: Bearer <JWT>`; **roles** are \
         the token roles that may call it, and a caller acts only in its own \
         jurisdiction (a state also in its counties). Every RPC is also served \
         as HTTP/JSON on the same port (the route beside it; path parameters \
         are the segments of the resource name; `openapi.json` has the rest). \
         Field meanings are the contract's own comments: this is also the data \
         dictionary.\n\n",
    );
    for (name, rules) in SERVICES {
        let service = pool
            .get_service_by_name(name)
            .ok_or_else(|| anyhow::anyhow!("{name} is not in the contract"))?;
        write_service(&mut out, &service, rules, &http);
    }
    // Messages and enums, file by file, in the contract's order.
    let mut files: BTreeMap<String, FileDescriptor> = BTreeMap::new();
    for file in pool.files() {
        if file.package_name().starts_with("scir.") {
            files.insert(file.name().to_owned(), file);
        }
    }
    for (name, file) in files {
        let _ = writeln!(out, "## Types of `{name}`\n");
        for message in file.messages() {
            write_message(&mut out, &message);
        }
        for e in file.enums() {
            write_enum(&mut out, &e);
        }
    }
    Ok(out)
}

/// The HTTP/JSON routes of all four services.
fn http_api() -> anyhow::Result<HttpApi> {
    let names: Vec<&str> = SERVICES.iter().map(|(name, _)| *name).collect();
    let rules: Vec<MethodRule> = SERVICES
        .iter()
        .flat_map(|(_, rules)| rules.iter().cloned())
        .collect();
    HttpApi::for_services(&names, &rules)
}

/// The OpenAPI 3.1 document of every service's HTTP/JSON routes (each port
/// serves its own part at `/openapi.json`).
pub fn openapi() -> anyhow::Result<String> {
    let api = http_api()?;
    Ok(String::from_utf8(api.openapi().to_vec())? + "\n")
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    /// `docs/api/reference.md` is what `scir api-reference` prints; run with
    /// `SCIR_BLESS=1` to rewrite it after changing the contract.
    #[test]
    fn the_committed_reference_is_current() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/api/reference.md");
        let generated = super::render().expect("reference");
        if std::env::var_os("SCIR_BLESS").is_some() {
            std::fs::create_dir_all(path.parent().expect("docs/api")).expect("dir");
            std::fs::write(&path, &generated).expect("write");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/api/reference.md is out of date: run `SCIR_BLESS=1 cargo test -p scir api_reference`"
        );
    }

    /// `docs/api/openapi.json` is what `scir openapi` prints.
    #[test]
    fn the_committed_openapi_document_is_current() {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../docs/api/openapi.json");
        let generated = super::openapi().expect("openapi");
        if std::env::var_os("SCIR_BLESS").is_some() {
            std::fs::write(&path, &generated).expect("write");
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/api/openapi.json is out of date: run `SCIR_BLESS=1 cargo test -p scir api_reference`"
        );
    }

    #[test]
    fn every_method_has_its_roles_and_every_service_is_described() {
        let text = super::render().expect("reference");
        assert!(!text.contains("| none |"), "a method without roles");
        for (name, _) in super::SERVICES {
            assert!(text.contains(&format!("## `{name}`")), "{name}");
        }
        assert!(text.contains("`ReportIncident`") && text.contains("reporter"));
    }
}
