//! SCIR's developer commands, the one list that developers and CI use
//! (`cargo xtask help`). Each command runs the tools the project already
//! has; CI (`.ci/run`) installs what they need and runs `cargo xtask ci`.

use std::process::{Command, ExitCode};

/// A command: its name, what it does, and the steps it runs.
struct Task {
    name: &'static str,
    about: &'static str,
    steps: &'static [&'static [&'static str]],
}

const FMT: &[&str] = &["cargo", "fmt", "--all", "--", "--check"];
const K8S: &[&str] = &["bash", ".ci/k8s.sh"];
const PROTO: &[&str] = &["bash", ".ci/proto.sh"];
const LINT: &[&str] = &[
    "cargo",
    "clippy",
    "--workspace",
    "--all-targets",
    "--locked",
    "--",
    "-D",
    "warnings",
];
// The README's test command.
const TEST: &[&str] = &[
    "cargo",
    "nextest",
    "run",
    "--workspace",
    "--locked",
    "--no-fail-fast",
];
const COMPOSE: &[&str] = &["bash", ".ci/compose.sh"];

const TASKS: &[Task] = &[
    Task {
        name: "fmt",
        about: "check formatting (cargo fmt)",
        steps: &[FMT],
    },
    Task {
        name: "k8s",
        about: "render the Kubernetes overlays with kubectl kustomize and validate them",
        steps: &[K8S],
    },
    Task {
        name: "proto",
        about: "lint the protobuf contract and check it for breaking changes (buf)",
        steps: &[PROTO],
    },
    Task {
        name: "lint",
        about: "clippy over every target, warnings as errors",
        steps: &[LINT],
    },
    Task {
        name: "test",
        about: "every test (needs SCIR_TEST_DATABASE_URL for PostgreSQL, see README)",
        steps: &[TEST],
    },
    Task {
        name: "compose",
        about: "build the images, start the compose stack, run the journey with a restart",
        steps: &[COMPOSE],
    },
    Task {
        name: "docs",
        about: "regenerate the committed API reference and OpenAPI document",
        steps: &[
            &["cargo", "build", "--package", "scir"],
            &[
                "env",
                "SCIR_BLESS=1",
                "cargo",
                "nextest",
                "run",
                "--package",
                "scir",
                "api_reference",
            ],
        ],
    },
    Task {
        name: "up",
        about: "run the whole system on this machine (scir up, SQLite)",
        steps: &[&["cargo", "run", "--package", "scir", "--", "up"]],
    },
    Task {
        name: "ci",
        about: "what CI runs after installing the tools: fmt, k8s, proto, lint, test, compose",
        steps: &[FMT, K8S, PROTO, LINT, TEST, COMPOSE],
    },
];

fn main() -> ExitCode {
    let name = std::env::args().nth(1).unwrap_or_else(|| "help".to_owned());
    let Some(task) = TASKS.iter().find(|t| t.name == name) else {
        let known = name == "help" || name == "--help" || name == "-h";
        eprintln!("usage: cargo xtask <command>\n");
        for t in TASKS {
            eprintln!("  {:<8} {}", t.name, t.about);
        }
        return if known {
            ExitCode::SUCCESS
        } else {
            eprintln!("\nno command `{name}`");
            ExitCode::from(2)
        };
    };
    // Commands run from the workspace root, wherever cargo was started.
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask sits in the workspace root");
    for step in task.steps {
        eprintln!("\n== {}", step.join(" "));
        let status = Command::new(step[0])
            .args(&step[1..])
            .current_dir(root)
            .status();
        match status {
            Ok(s) if s.success() => {}
            Ok(s) => {
                eprintln!("`{}` failed ({s})", step.join(" "));
                return ExitCode::FAILURE;
            }
            Err(e) => {
                eprintln!("`{}` could not start: {e}", step[0]);
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
