//! What review asks of the scoring service: which key observations are not yet
//! scored by every assigned rater. Behind a trait so that the guard is the same
//! whether scoring runs remotely or, in tests, in process.

use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

use scir_kit::ApiError;
use scir_kit::client::Peer;
use scir_kit::error::PreconditionViolation;
use scir_proto::scoring::v1::KeyObservationStatus;

use crate::domain::stages::Unscored;

const SCORING: Peer = Peer { name: "scoring" };

/// Reports scoring progress.
#[tonic::async_trait]
pub trait ScoringStatus: Send + Sync + std::fmt::Debug {
    /// The key observations of `review` (resource names) not yet scored: rated
    /// by every assigned rater with a consensus recorded. `bearer` is the token
    /// of the caller on whose behalf review asks.
    async fn unscored(
        &self,
        bearer: &str,
        review: &str,
        key_observations: &[String],
    ) -> Result<Vec<Unscored>, ApiError>;
}

/// The scoring service over gRPC, asked with a deadline.
#[derive(Debug, Clone)]
pub struct ScoringClient {
    channel: tonic::transport::Channel,
}

impl ScoringClient {
    /// A client of scoring at `address`; connects lazily.
    pub fn new(address: &str, transport: &scir_kit::tls::Transport) -> anyhow::Result<Self> {
        Ok(Self {
            channel: transport.channel(address)?,
        })
    }
}

#[tonic::async_trait]
impl ScoringStatus for ScoringClient {
    async fn unscored(
        &self,
        bearer: &str,
        review: &str,
        key_observations: &[String],
    ) -> Result<Vec<Unscored>, ApiError> {
        use scir_proto::scoring::v1::GetScoringStatusRequest;
        use scir_proto::scoring::v1::scoring_service_client::ScoringServiceClient;
        let interceptor =
            scir_kit::client::ClientInterceptor::new(Some(bearer)).map_err(ApiError::internal)?;
        let mut client = ScoringServiceClient::with_interceptor(self.channel.clone(), interceptor);
        let request = SCORING.request(GetScoringStatusRequest {
            review: review.to_owned(),
        });
        let status = client
            .get_scoring_status(request)
            .await
            .map_err(|status| SCORING.error(&status, "review", review))?
            .into_inner();
        let reported: HashMap<&str, &KeyObservationStatus> = status
            .key_observations
            .iter()
            .map(|k| (k.key_observation.as_str(), k))
            .collect();
        Ok(key_observations
            .iter()
            .filter_map(|ko| match reported.get(ko.as_str()) {
                Some(k) if k.scored => None,
                Some(k) => Some(Unscored {
                    key_observation: ko.clone(),
                    awaiting: k
                        .raters
                        .iter()
                        .filter(|r| !k.submitted.contains(r))
                        .cloned()
                        .collect(),
                    needs_consensus: !k.consensus_recorded,
                }),
                // Not known to scoring yet (its event is still on the way).
                None => Some(Unscored {
                    key_observation: ko.clone(),
                    ..Default::default()
                }),
            })
            .collect())
    }
}

/// No scoring service is configured: the guard cannot confirm any score and
/// says so.
#[derive(Debug, Default)]
pub struct NoScoringService;

#[tonic::async_trait]
impl ScoringStatus for NoScoringService {
    async fn unscored(
        &self,
        _bearer: &str,
        review: &str,
        _key_observations: &[String],
    ) -> Result<Vec<Unscored>, ApiError> {
        Err(ApiError::FailedPrecondition(vec![PreconditionViolation {
            kind: "SSIT_SCORES".to_owned(),
            subject: review.to_owned(),
            description: "no scoring service is configured (SCIR_REVIEW_SCORING_ADDR) to confirm the SSIT scores"
                .to_owned(),
        }]))
    }
}

/// Scores recorded in process: a key observation counts as scored once
/// [`RecordedScores::record`] names it.
#[derive(Debug, Default)]
pub struct RecordedScores {
    scored: Mutex<HashSet<String>>,
}

impl RecordedScores {
    /// Records that every rater has scored `key_observation`.
    pub fn record(&self, key_observation: &str) {
        self.scored
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(key_observation.to_owned());
    }
}

#[tonic::async_trait]
impl ScoringStatus for RecordedScores {
    async fn unscored(
        &self,
        _bearer: &str,
        _review: &str,
        key_observations: &[String],
    ) -> Result<Vec<Unscored>, ApiError> {
        let scored = self.scored.lock().unwrap_or_else(|e| e.into_inner());
        Ok(key_observations
            .iter()
            .filter(|k| !scored.contains(*k))
            .map(|k| Unscored {
                key_observation: k.clone(),
                ..Default::default()
            })
            .collect())
    }
}
