//! What the benchmarks that drive a running deployment share: how long they
//! run, against which services, as whom, how they print, and how their
//! latencies are summarised.

use std::time::{Duration, Instant};

use scir_kit::server::parse_duration;

use crate::connect::{Endpoints, Signer};

/// Options of every benchmark that drives a running deployment.
#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// Time before measuring.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub warmup: Duration,
    /// Time measured.
    #[arg(long, value_parser = parse_duration, default_value = "10s")]
    pub duration: Duration,
    /// Data directory of `scir up`, whose development secret signs the tokens.
    #[arg(long, env = "SCIR_DATA_DIR", default_value = "scir-data")]
    pub data_dir: std::path::PathBuf,
    /// Print the result as JSON.
    #[arg(long)]
    pub json: bool,
    /// Where the services listen.
    #[command(flatten)]
    pub endpoints: Endpoints,
}

impl RunArgs {
    /// When measuring starts and ends, for a run started at `start`.
    pub fn window(&self, start: Instant) -> (Instant, Instant) {
        let from = start + self.warmup;
        (from, from + self.duration)
    }

    /// Signs tokens with the development secret of `data_dir`.
    pub fn signer(&self) -> anyhow::Result<Signer> {
        crate::dev_auth::signer(&self.data_dir)
    }
}

/// The `p` quantile (nearest rank) of latencies in microseconds, sorted
/// ascending, in milliseconds; 0 when there are none.
pub fn quantile_ms(sorted_micros: &[u64], p: f64) -> f64 {
    if sorted_micros.is_empty() {
        return 0.0;
    }
    let rank = ((sorted_micros.len() as f64 * p).ceil() as usize).clamp(1, sorted_micros.len());
    sorted_micros[rank - 1] as f64 / 1000.0
}

/// `elapsed` in whole microseconds, for [`quantile_ms`].
pub fn micros(elapsed: Duration) -> u64 {
    u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_are_nearest_rank() {
        let sorted: Vec<u64> = (1..=100).map(|n| n * 1000).collect();
        assert_eq!(quantile_ms(&sorted, 0.5), 50.0);
        assert_eq!(quantile_ms(&sorted, 0.99), 99.0);
        assert_eq!(quantile_ms(&sorted, 1.0), 100.0);
        assert_eq!(quantile_ms(&[], 0.5), 0.0);
    }
}
