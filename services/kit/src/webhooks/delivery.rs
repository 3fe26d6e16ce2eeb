//! Delivering events: following the log, signing, sending, and recording how
//! each attempt went.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use prost::Message as _;
use prost_reflect::{DynamicMessage, ReflectMessage as _, Value};
use ring::hmac;
use scir_proto::common::v1::Event;

use super::store::{self, Endpoint, Failure};
use super::{Webhooks, sealing_context};
use crate::db::now_micros;
use crate::events::EventLog;
use crate::shutdown::ShutdownSignal;

/// Longest one attempt may take, connection and answer included.
pub(super) const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);

/// Events one endpoint is sent per round; the rest wait for the next.
const BATCH: i64 = 100;

/// How often due endpoints are looked for when no event wakes the task.
const POLL: Duration = Duration::from_millis(500);

/// Fields of event payloads that are removed before delivery: who did
/// something, and free text. Webhooks carry codes and resource names.
const REMOVED: &[&str] = &[
    "reported_by",
    "amended_by",
    "recorded_by",
    "rater",
    "subject",
    "reason",
    "rationale",
    "notes",
    "narrative",
    "text",
    "title",
    "description",
    "summary",
];

/// The Standard Webhooks signature of a delivery: `v1,` and the base64
/// HMAC-SHA256 of `{id}.{timestamp}.{body}`.
pub fn signature(key: &[u8], id: &str, timestamp: i64, body: &[u8]) -> String {
    let key = hmac::Key::new(hmac::HMAC_SHA256, key);
    let mut context = hmac::Context::with_key(&key);
    context.update(format!("{id}.{timestamp}.").as_bytes());
    context.update(body);
    format!(
        "v1,{}",
        base64::engine::general_purpose::STANDARD.encode(context.sign().as_ref())
    )
}

/// The body of a delivery: `{"type", "timestamp", "data"}` as Standard
/// Webhooks lays it out, `data` the event in the contract's JSON with
/// identities and free text removed from its payload.
pub(super) fn payload(event: &Event) -> Result<Bytes, String> {
    let pool = crate::contract::pool();
    let mut data = DynamicMessage::decode(
        pool.get_message_by_name("scir.common.v1.Event")
            .ok_or("no Event descriptor")?,
        event.encode_to_vec().as_slice(),
    )
    .map_err(|e| e.to_string())?;
    data.clear_field_by_name("traceparent");
    if let Some(any) = &event.payload {
        let name = any.type_url.rsplit('/').next().unwrap_or_default();
        let descriptor = pool
            .get_message_by_name(name)
            .ok_or_else(|| format!("unknown event type {name}"))?;
        let mut inner =
            DynamicMessage::decode(descriptor, any.value.as_slice()).map_err(|e| e.to_string())?;
        remove_free_text(&mut inner);
        let cleaned = prost_types::Any {
            type_url: any.type_url.clone(),
            value: inner.encode_to_vec(),
        };
        let any_descriptor = pool
            .get_message_by_name("google.protobuf.Any")
            .ok_or("no Any descriptor")?;
        let cleaned = DynamicMessage::decode(any_descriptor, cleaned.encode_to_vec().as_slice())
            .map_err(|e| e.to_string())?;
        data.set_field_by_name("payload", Value::Message(cleaned));
    }
    let timestamp = event
        .create_time
        .as_ref()
        .and_then(|t| {
            chrono::DateTime::from_timestamp(t.seconds, u32::try_from(t.nanos).unwrap_or(0))
        })
        .unwrap_or_default()
        .to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let body = serde_json::json!({
        "type": event.r#type,
        "timestamp": timestamp,
        "data": serde_json::to_value(&data).map_err(|e| e.to_string())?,
    });
    serde_json::to_vec(&body)
        .map(Bytes::from)
        .map_err(|e| e.to_string())
}

/// Clears every field named in [`REMOVED`], at any depth.
fn remove_free_text(message: &mut DynamicMessage) {
    let fields: Vec<_> = message.descriptor().fields().collect();
    for field in fields {
        if REMOVED.contains(&field.name()) {
            message.clear_field(&field);
            continue;
        }
        if !message.has_field(&field) {
            continue;
        }
        match message.get_field_mut(&field) {
            Value::Message(inner) => remove_free_text(inner),
            Value::List(items) => {
                for item in items {
                    if let Value::Message(inner) = item {
                        remove_free_text(inner);
                    }
                }
            }
            _ => {}
        }
    }
}

/// Follows the log and delivers to every due endpoint, until shutdown.
pub(super) async fn run(webhooks: Webhooks, log: EventLog, mut shutdown: ShutdownSignal) {
    let mut committed = log.committed();
    loop {
        match store::due(&webhooks.inner.db, now_micros()).await {
            Ok(endpoints) => {
                let mut rounds = tokio::task::JoinSet::new();
                for endpoint in endpoints {
                    let (webhooks, log) = (webhooks.clone(), log.clone());
                    rounds.spawn(async move { webhooks.round(&log, endpoint).await });
                }
                while rounds.join_next().await.is_some() {}
            }
            Err(e) => tracing::warn!(error = %e, "could not read the webhook endpoints"),
        }
        tokio::select! {
            _ = committed.changed() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = shutdown.fired() => return,
        }
    }
}

impl Webhooks {
    /// Sends `endpoint` the events after its cursor, in order, stopping at the
    /// first that fails.
    async fn round(&self, log: &EventLog, endpoint: Endpoint) {
        let inner = &self.inner;
        let events = match log.read(endpoint.delivered_cursor, BATCH).await {
            Ok(events) => events,
            Err(e) => {
                tracing::warn!(error = %e, "could not read events for webhooks");
                return;
            }
        };
        let key = match inner
            .sealer
            .open(&endpoint.secret, &sealing_context(&endpoint.id))
        {
            Ok(key) => Arc::new(key),
            Err(e) => {
                tracing::error!(webhook = %endpoint.name(), error = %e, "webhook secret does not open");
                return;
            }
        };
        let mut cursor = endpoint.delivered_cursor;
        for event in events {
            let wanted = endpoint.wants(&event.r#type)
                && inner
                    .directory
                    .acts_in(&endpoint.jurisdiction, &event.jurisdiction);
            if wanted && let Err(error) = self.attempt(&endpoint, &key, &event).await {
                // What went before is delivered; this one waits for its retry.
                let progressed = cursor != endpoint.delivered_cursor;
                if progressed
                    && let Err(e) =
                        store::advance(&inner.db, &endpoint.id, endpoint.delivered_cursor, cursor)
                            .await
                {
                    tracing::warn!(error = %e, "could not record webhook deliveries");
                }
                self.failed(&endpoint, &event, &error, progressed).await;
                return;
            }
            cursor = event.cursor;
        }
        if cursor != endpoint.delivered_cursor
            && let Err(e) =
                store::advance(&inner.db, &endpoint.id, endpoint.delivered_cursor, cursor).await
        {
            tracing::warn!(error = %e, "could not record webhook deliveries");
        }
    }

    async fn attempt(&self, endpoint: &Endpoint, key: &[u8], event: &Event) -> Result<(), String> {
        let body = payload(event)?;
        let timestamp = now_micros() / 1_000_000;
        let headers = [
            (
                http::header::HeaderName::from_static("webhook-id"),
                event.event_id.clone(),
            ),
            (
                http::header::HeaderName::from_static("webhook-timestamp"),
                timestamp.to_string(),
            ),
            (
                http::header::HeaderName::from_static("webhook-signature"),
                signature(key, &event.event_id, timestamp, &body),
            ),
            (http::header::CONTENT_TYPE, "application/json".to_owned()),
        ];
        // The client bounds the attempt by ATTEMPT_TIMEOUT.
        let answer = self
            .inner
            .client
            .send(http::Method::POST, &endpoint.url, &headers, body)
            .await?;
        if answer.status().is_success() {
            Ok(())
        } else {
            Err(format!("HTTP {}", answer.status()))
        }
    }

    /// Records a failed attempt; `progressed` when events before it went
    /// through in this round (the run of failures starts again).
    async fn failed(&self, endpoint: &Endpoint, event: &Event, error: &str, progressed: bool) {
        let config = &self.inner.config;
        let failures = if progressed {
            1
        } else {
            u32::try_from(endpoint.consecutive_failures).unwrap_or(0) + 1
        };
        let wait = config.backoff(failures);
        let disable = (failures >= config.max_failures)
            .then(|| format!("{failures} attempts in a row failed; the last: {error}"));
        tracing::warn!(webhook = %endpoint.name(), cursor = event.cursor, error, failures, "webhook delivery failed");
        let failure = Failure {
            id: &endpoint.id,
            cursor: event.cursor,
            event_id: &event.event_id,
            event_type: &event.r#type,
            error,
            next_attempt_time: now_micros() + i64::try_from(wait.as_micros()).unwrap_or(i64::MAX),
            disable,
        };
        if let Err(e) = store::failed(&self.inner.db, &failure).await {
            tracing::warn!(error = %e, "could not record a failed webhook delivery");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signature_matches_the_standard_webhooks_example() {
        // The example in the Standard Webhooks specification.
        let key = base64::engine::general_purpose::STANDARD
            .decode("MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
            .expect("key");
        let body = br#"{"test": 2432232314}"#;
        assert_eq!(
            signature(&key, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body),
            "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="
        );
    }

    #[test]
    fn payloads_keep_codes_and_names_and_lose_identities_and_text() {
        use scir_proto::intake::v1 as intake;
        let reported = intake::IncidentReported {
            incident: Some(intake::Incident {
                name: "jurisdictions/us-wi/incidents/i1".into(),
                reported_by: "worker-4711".into(),
                amendments: vec![intake::Amendment {
                    reason: "the caregiver's name was misspelled".into(),
                    ..Default::default()
                }],
                facts: Some(intake::IncidentFacts {
                    jurisdiction: "us-wi".into(),
                    incident_type: intake::IncidentType::Death as i32,
                    ..Default::default()
                }),
                ..Default::default()
            }),
        };
        let event = Event {
            cursor: 7,
            event_id: "e-7".into(),
            r#type: "scir.intake.v1.IncidentReported".into(),
            subject: "jurisdictions/us-wi/incidents/i1".into(),
            jurisdiction: "us-wi".into(),
            create_time: Some(prost_types::Timestamp {
                seconds: 1_700_000_000,
                nanos: 0,
            }),
            traceparent: "00-abc-def-01".into(),
            payload: Some(crate::events::payload(&reported)),
        };
        let body = payload(&event).expect("payload");
        let text = String::from_utf8_lossy(&body);
        let json: serde_json::Value = serde_json::from_slice(&body).expect("json");
        assert_eq!(json["type"], "scir.intake.v1.IncidentReported");
        assert_eq!(json["data"]["cursor"], "7");
        assert_eq!(json["data"]["subject"], "jurisdictions/us-wi/incidents/i1");
        let incident = &json["data"]["payload"]["incident"];
        assert_eq!(incident["facts"]["incidentType"], "INCIDENT_TYPE_DEATH");
        assert_eq!(incident["name"], "jurisdictions/us-wi/incidents/i1");
        for gone in ["worker-4711", "misspelled", "00-abc-def-01"] {
            assert!(!text.contains(gone), "{gone} in {text}");
        }
    }
}
