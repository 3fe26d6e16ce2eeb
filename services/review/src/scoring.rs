//! What review asks of the scoring service: which key observations are not yet
//! scored by every assigned rater. Behind a trait so that the guard is the same
//! whether scoring runs remotely or, in tests, in process.

use std::collections::HashSet;
use std::sync::Mutex;

use scir_kit::ApiError;
use scir_kit::error::PreconditionViolation;

/// Reports scoring progress.
#[tonic::async_trait]
pub trait ScoringStatus: Send + Sync + std::fmt::Debug {
    /// The key observations of `review` (resource names) not yet scored by
    /// every assigned rater.
    async fn unscored(
        &self,
        review: &str,
        key_observations: &[String],
    ) -> Result<Vec<String>, ApiError>;
}

/// No scoring service is configured: the guard cannot confirm any score and
/// says so.
#[derive(Debug, Default)]
pub struct NoScoringService;

#[tonic::async_trait]
impl ScoringStatus for NoScoringService {
    async fn unscored(
        &self,
        review: &str,
        _key_observations: &[String],
    ) -> Result<Vec<String>, ApiError> {
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
        _review: &str,
        key_observations: &[String],
    ) -> Result<Vec<String>, ApiError> {
        let scored = self.scored.lock().unwrap_or_else(|e| e.into_inner());
        Ok(key_observations
            .iter()
            .filter(|k| !scored.contains(*k))
            .cloned()
            .collect())
    }
}
