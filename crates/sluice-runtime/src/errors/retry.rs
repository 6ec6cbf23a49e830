//! Retries of retriable failures with Kafka's backoff (`RetryWithToleranceOperator`):
//! 300 ms before the second attempt, doubling each time; once that exceeds
//! `errors.retry.delay.max.ms` a random delay below it; never past `errors.retry.timeout`
//! after the first attempt (0: no retries, -1: no deadline).

use std::hash::{BuildHasher, Hasher};
use std::time::Duration;

use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{ErrorSettings, Failure};

/// `RetryWithToleranceOperator.RETRIES_DELAY_MIN_MS`.
pub const RETRIES_DELAY_MIN: Duration = Duration::from_millis(300);

/// The task stopped while waiting to retry.
#[derive(Debug, PartialEq, Eq)]
pub struct Cancelled;

/// A random number in `[0, bound)` (0 when `bound` is 0); no dependency needed for jitter.
fn random_below(bound: u64) -> u64 {
    if bound == 0 {
        return 0;
    }
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(bound);
    h.finish() % bound
}

/// The delay before the next attempt after `attempt` attempts (1-based), given the time left
/// before the deadline (`None`: no deadline). `jitter(max)` picks a value in `[0, max)`.
pub fn backoff(
    attempt: u32,
    max_delay: Duration,
    remaining: Option<Duration>,
    jitter: impl FnOnce(u64) -> u64,
) -> Duration {
    let max_ms = max_delay.as_millis() as u64;
    let base = RETRIES_DELAY_MIN.as_millis() as u64;
    let delay_ms = attempt
        .checked_sub(1)
        .and_then(|shift| {
            if shift >= 64 - 9 {
                None
            } else {
                Some(base << shift)
            }
        })
        .filter(|d| *d <= max_ms)
        .unwrap_or_else(|| jitter(max_ms));
    let delay = Duration::from_millis(delay_ms);
    match remaining {
        Some(r) => delay.min(r),
        None => delay,
    }
}

/// Runs `op` until it succeeds, fails with an error that is not retriable, or retrying is no
/// longer allowed; the last failure is returned then.
pub async fn retry<T>(
    settings: &ErrorSettings,
    cancel: &CancellationToken,
    mut op: impl FnMut() -> Result<T, Failure>,
) -> Result<Result<T, Failure>, Cancelled> {
    let start = Instant::now();
    let deadline = settings.retry_timeout.map(|t| start + t);
    let mut attempt: u32 = 0;
    loop {
        attempt = attempt.saturating_add(1);
        let failure = match op() {
            Ok(v) => return Ok(Ok(v)),
            Err(f) if !f.is_retriable() => return Ok(Err(f)),
            Err(f) => f,
        };
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
            return Ok(Err(failure));
        }
        let remaining = deadline.map(|d| d - now);
        let wait = backoff(attempt, settings.max_delay, remaining, random_below);
        tracing::debug!(
            stage = failure.stage.name(),
            class = %failure.class,
            attempt,
            wait_ms = wait.as_millis() as u64,
            error = %failure.error,
            "Retriable error; retrying after backoff."
        );
        tokio::select! {
            _ = cancel.cancelled() => return Err(Cancelled),
            _ = tokio::time::sleep(wait) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::Stage;
    use super::*;
    use sluice_api::ConnectError;

    fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn backoff_doubles_from_300ms_then_jitters_below_the_max() {
        let max = ms(60_000);
        let no_jitter = |_| panic!("no jitter expected");
        assert_eq!(backoff(1, max, None, no_jitter), ms(300));
        assert_eq!(backoff(2, max, None, no_jitter), ms(600));
        assert_eq!(backoff(8, max, None, no_jitter), ms(38_400));
        // 300 << 8 = 76 800 > 60 000: a random value in [0, 60 000).
        assert_eq!(backoff(9, max, None, |m| m - 1), ms(59_999));
        assert_eq!(backoff(200, max, None, |_| 5), ms(5));
    }

    #[test]
    fn backoff_never_passes_the_deadline() {
        assert_eq!(backoff(3, ms(60_000), Some(ms(700)), |_| 0), ms(700));
        assert_eq!(backoff(1, ms(60_000), Some(ms(0)), |_| 0), ms(0));
    }

    #[test]
    fn jitter_stays_in_bounds() {
        for _ in 0..100 {
            assert!(random_below(10) < 10);
        }
        assert_eq!(random_below(0), 0);
    }

    fn retriable() -> Failure {
        Failure::new(
            Stage::ValueConverter,
            "C",
            ConnectError::retriable("not yet"),
        )
    }

    fn settings(timeout_ms: i64) -> ErrorSettings {
        ErrorSettings {
            retry_timeout: (timeout_ms >= 0).then(|| ms(timeout_ms as u64)),
            max_delay: ms(1_000),
            ..ErrorSettings::default()
        }
    }

    #[tokio::test(start_paused = true)]
    async fn retries_with_backoff_until_success() {
        let start = Instant::now();
        let mut calls = 0;
        let r = retry(&settings(10_000), &CancellationToken::new(), || {
            calls += 1;
            if calls < 4 {
                Err(retriable())
            } else {
                Ok(calls)
            }
        })
        .await;
        assert_eq!(r.unwrap().unwrap(), 4);
        // 300 + 600 + (1 200 > 1 000: jitter below 1 000).
        let waited = start.elapsed();
        assert!(waited >= ms(900) && waited < ms(1_900), "{waited:?}");
    }

    #[tokio::test(start_paused = true)]
    async fn zero_timeout_means_one_attempt() {
        let mut calls = 0;
        let r = retry(&settings(0), &CancellationToken::new(), || {
            calls += 1;
            Err::<(), _>(retriable())
        })
        .await;
        assert!(r.unwrap().is_err());
        assert_eq!(calls, 1);
    }

    #[tokio::test(start_paused = true)]
    async fn gives_up_at_the_retry_timeout() {
        let start = Instant::now();
        let r = retry(&settings(1_000), &CancellationToken::new(), || {
            Err::<(), _>(retriable())
        })
        .await;
        assert!(r.unwrap().is_err());
        // 300, 600, then only the 100 ms left.
        assert_eq!(start.elapsed(), ms(1_000));
    }

    #[tokio::test(start_paused = true)]
    async fn minus_one_retries_until_cancelled_and_other_errors_are_not_retried() {
        let cancel = CancellationToken::new();
        let c2 = cancel.clone();
        let mut calls = 0;
        let r = retry(&settings(-1), &cancel, || {
            calls += 1;
            if calls == 50 {
                c2.cancel();
            }
            Err::<(), _>(retriable())
        })
        .await;
        assert_eq!(r.unwrap_err(), Cancelled);
        assert_eq!(calls, 50);

        let mut calls = 0;
        let r = retry(&settings(-1), &CancellationToken::new(), || {
            calls += 1;
            Err::<(), _>(Failure::new(
                Stage::Transformation,
                "T",
                ConnectError::data("bad"),
            ))
        })
        .await;
        assert!(r.unwrap().is_err());
        assert_eq!(calls, 1);
    }
}
