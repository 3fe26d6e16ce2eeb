//! Structured fuzzing of every RPC: request messages generated from the
//! contracts' descriptors with hostile field values (empty, huge, control
//! characters, SQL, wrong resource names, extreme and negative numbers, unknown
//! enum values, long repeated fields, nesting), sent to the real servers of
//! `scir up` by a caller holding every role. No call may end INTERNAL or
//! UNKNOWN (a panic or an unhandled error), and every server stays SERVING.
//!
//! The seed is fixed so failures reproduce; `SCIR_FUZZ_CASES` (default 12 per
//! RPC) and `SCIR_FUZZ_SEED` run longer or other campaigns.

use std::time::Duration;

use prost_reflect::{DynamicMessage, FieldDescriptor, Kind, MessageDescriptor, Value};
use scir::demo::synth::Rng;
use scir::{dev_auth, up};
use scir_kit::auth::Role;
use tonic::Code;

const STRINGS: &[&str] = &[
    "",
    " ",
    "us-wi",
    "us-tn",
    "jurisdictions/us-wi",
    "jurisdictions/us-tn",
    "jurisdictions/us-wi/incidents/00000000-0000-7000-8000-000000000000",
    "jurisdictions/us-wi/reviews/00000000-0000-7000-8000-000000000000",
    "jurisdictions/us-wi/reviews/00000000-0000-7000-8000-000000000000/keyObservations/00000000-0000-7000-8000-000000000001",
    "instruments/scir-ssit-shape/versions/1.0",
    "ruleSets/wisconsin",
    "../../etc/passwd",
    "x'; DROP TABLE incidents;--",
    "%s%n%x",
    "\u{0}\u{1}\u{7f}",
    "Zyxwa 😀 ñ \u{202e}",
    "SYS2",
    "SAFE_SLEEP",
    "2025Q1",
    "*",
    "name,stage",
];

struct Gen<'a> {
    rng: &'a mut Rng,
}

impl Gen<'_> {
    fn string(&mut self) -> String {
        match self.rng.between(0, 9) {
            0 => "A".repeat(usize::try_from(self.rng.between(1000, 70_000)).unwrap_or(1000)),
            1 => (0..self.rng.between(1, 40))
                .map(|_| {
                    char::from_u32(u32::try_from(self.rng.between(0, 0x2FFF)).unwrap_or(0))
                        .unwrap_or('?')
                })
                .collect(),
            _ => STRINGS
                [usize::try_from(self.rng.between(0, STRINGS.len() as i64 - 1)).unwrap_or(0)]
            .to_owned(),
        }
    }

    fn int(&mut self) -> i64 {
        match self.rng.between(0, 7) {
            0 => i64::from(i32::MAX),
            1 => i64::from(i32::MIN),
            2 => -1,
            3 => 0,
            4 => 1,
            5 => 1_000_000,
            _ => self.rng.between(-50, 3000),
        }
    }

    fn value(&mut self, field: &FieldDescriptor, depth: usize) -> Option<Value> {
        Some(match field.kind() {
            Kind::String => Value::String(self.string()),
            Kind::Bytes => Value::Bytes(self.string().into_bytes().into()),
            Kind::Bool => Value::Bool(self.rng.chance(0.5)),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => Value::I32(
                i32::try_from(self.int().clamp(i64::from(i32::MIN), i64::from(i32::MAX)))
                    .unwrap_or(0),
            ),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => Value::I64(self.int()),
            Kind::Uint32 | Kind::Fixed32 => {
                Value::U32(u32::try_from(self.int().max(0)).unwrap_or(0))
            }
            Kind::Uint64 | Kind::Fixed64 => {
                Value::U64(u64::try_from(self.int().max(0)).unwrap_or(0))
            }
            Kind::Float => Value::F32(self.int() as f32),
            Kind::Double => Value::F64(self.int() as f64 / 7.0),
            Kind::Enum(e) => {
                let values: Vec<i32> = e.values().map(|v| v.number()).collect();
                if self.rng.chance(0.15) {
                    Value::EnumNumber(i32::try_from(self.rng.between(-3, 500)).unwrap_or(0))
                } else {
                    Value::EnumNumber(
                        values[usize::try_from(self.rng.between(0, values.len() as i64 - 1))
                            .unwrap_or(0)],
                    )
                }
            }
            Kind::Message(m) => {
                if depth > 3 {
                    return None;
                }
                Value::Message(self.message(&m, depth + 1))
            }
        })
    }

    fn message(&mut self, descriptor: &MessageDescriptor, depth: usize) -> DynamicMessage {
        let mut message = DynamicMessage::new(descriptor.clone());
        for field in descriptor.fields() {
            if self.rng.chance(0.35) {
                continue;
            }
            if field.is_list() {
                let n = if self.rng.chance(0.1) {
                    300
                } else {
                    self.rng.between(0, 4)
                };
                let items: Vec<Value> = (0..n).filter_map(|_| self.value(&field, depth)).collect();
                message.set_field(&field, Value::List(items));
            } else if field.is_map() {
                continue;
            } else if let Some(value) = self.value(&field, depth) {
                message.set_field(&field, value);
            }
        }
        message
    }
}

#[tokio::test]
async fn no_generated_request_makes_any_service_fail_or_stop() {
    let cases: usize = std::env::var("SCIR_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let seed: u64 = std::env::var("SCIR_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2026);
    let dir = tempfile::tempdir().expect("data dir");
    let (running, shutdown, task) = up::spawn(dir.path().to_owned()).await.expect("scir up");
    let services = [
        ("scir.intake.v1.IntakeService", running.intake),
        ("scir.review.v1.ReviewService", running.review),
        ("scir.scoring.v1.ScoringService", running.scoring),
        ("scir.insights.v1.InsightsService", running.insights),
        ("scir.learning.v1.LearningService", running.learning),
        ("scir.culture.v1.CultureService", running.culture),
    ];
    for (name, address) in services {
        scir_testkit::wait_serving(address, name).await;
    }
    let secret = dev_auth::read_secret(dir.path()).expect("secret");
    // Every role a person may hold at once; `service` comes only alone.
    let person_roles: Vec<Role> = Role::ALL
        .into_iter()
        .filter(|r| *r != Role::Service)
        .collect();
    let token = dev_auth::mint(
        &secret,
        "fuzz-user",
        "us-wi",
        &person_roles,
        Duration::from_secs(3600),
    )
    .expect("token");

    let pool = scir_kit::contract::pool().clone();
    let mut rng = Rng::new(seed);
    let mut calls = 0;
    let mut failures = Vec::new();
    let mut codes = std::collections::BTreeMap::new();
    for (service_name, address) in services {
        let service = pool.get_service_by_name(service_name).expect("service");
        for method in service.methods() {
            let path = format!("/{service_name}/{}", method.name());
            for case in 0..cases {
                let message = Gen { rng: &mut rng }.message(&method.input(), 0);
                let body = prost::Message::encode_to_vec(&message);
                let status = scir_testkit::raw::call(
                    address,
                    &path,
                    body,
                    method.is_server_streaming(),
                    &token,
                )
                .await;
                let code = status.code();
                calls += 1;
                *codes.entry(format!("{code:?}")).or_insert(0) += 1;
                // A transport failure (an answer over the peer's limits, a
                // reset stream) is a failure too.
                let transport = status.message().contains("h2 protocol error")
                    || status.message().contains("transport error");
                if transport
                    || matches!(
                        code,
                        Code::Internal | Code::Unknown | Code::DataLoss | Code::Unimplemented
                    )
                {
                    failures.push(format!(
                        "{path} case {case}: {code:?} {:?} for {}",
                        status.message(),
                        truncate(&format!("{message:?}"))
                    ));
                }
            }
        }
    }
    for (name, address) in services {
        scir_testkit::wait_serving(address, name).await;
    }
    eprintln!("{calls} generated calls, by status: {codes:?}");
    assert!(
        failures.is_empty(),
        "{} of {calls} calls failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    shutdown.fire();
    task.await.expect("task").expect("scir up");
}

fn truncate(text: &str) -> String {
    text.chars().take(600).collect()
}
