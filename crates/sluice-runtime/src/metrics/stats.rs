//! Kafka's sampled statistics (`org.apache.kafka.common.metrics.stats`), computed the way
//! Kafka computes them, so a dashboard reads the same numbers from Sluice as from Java:
//! `metrics.num.samples` samples of `metrics.sample.window.ms` each; a sample older than
//! all of them together is reset before a read; rates divide by the elapsed window, never
//! less than `(samples - 1) × window`; averages, maxima and minima of an empty window are
//! NaN; boolean frequencies of an empty window are 0.
//!
//! Times are milliseconds on a monotonic clock the caller supplies, so the rules are tested
//! with explicit times.

/// `metrics.sample.window.ms` and `metrics.num.samples`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SampleConfig {
    pub window_ms: u64,
    pub samples: usize,
}

impl Default for SampleConfig {
    fn default() -> Self {
        SampleConfig {
            window_ms: 30_000,
            samples: 2,
        }
    }
}

/// One sample: every statistic a sensor needs, so one record updates them all.
#[derive(Clone, Copy, Debug)]
struct Sample {
    start_ms: u64,
    count: u64,
    sum: f64,
    max: f64,
    min: f64,
    /// Records of the value 1.0 (boolean frequencies).
    ones: u64,
}

impl Sample {
    fn new(now: u64) -> Self {
        Sample {
            start_ms: now,
            count: 0,
            sum: 0.0,
            max: f64::NEG_INFINITY,
            min: f64::INFINITY,
            ones: 0,
        }
    }
}

/// A sensor's samples (`SampledStat`): one per window, reused round-robin.
#[derive(Clone, Debug, Default)]
pub struct Windowed {
    samples: Vec<Sample>,
    current: usize,
}

impl Windowed {
    /// Records `value` at `now` (`SampledStat.record`).
    pub fn record(&mut self, config: SampleConfig, value: f64, now: u64) {
        let n = config.samples.max(1);
        if self.samples.is_empty() {
            self.samples.push(Sample::new(now));
            self.current = 0;
        }
        let complete = self
            .samples
            .get(self.current)
            .is_some_and(|s| now.saturating_sub(s.start_ms) >= config.window_ms);
        if complete {
            self.current = (self.current + 1) % n;
            if self.current >= self.samples.len() {
                self.samples.push(Sample::new(now));
                self.current = self.samples.len() - 1;
            } else {
                self.samples[self.current] = Sample::new(now);
            }
        }
        if let Some(s) = self.samples.get_mut(self.current) {
            s.count += 1;
            s.sum += value;
            s.max = s.max.max(value);
            s.min = s.min.min(value);
            if value == 1.0 {
                s.ones += 1;
            }
        }
    }

    /// Resets samples older than every window together (`purgeObsoleteSamples`).
    fn purge(&mut self, config: SampleConfig, now: u64) {
        let expire = config
            .window_ms
            .saturating_mul(config.samples.max(1) as u64);
        for s in &mut self.samples {
            if now.saturating_sub(s.start_ms) >= expire {
                *s = Sample::new(now);
            }
        }
    }

    fn live(&mut self, config: SampleConfig, now: u64) -> &[Sample] {
        self.purge(config, now);
        &self.samples
    }

    /// Events per second (or summed values per second) over the window (`Rate` over a
    /// `SampledTotal` or `WindowedCount`).
    pub fn rate(&mut self, config: SampleConfig, now: u64) -> f64 {
        if self.samples.is_empty() {
            // `oldest()` makes the first sample when the rate is first read.
            self.samples.push(Sample::new(now));
        }
        let total: f64 = self.live(config, now).iter().map(|s| s.sum).sum();
        let oldest = self.samples.iter().map(|s| s.start_ms).min().unwrap_or(now);
        let mut elapsed = now.saturating_sub(oldest);
        let full = elapsed / config.window_ms.max(1);
        let min_full = config.samples.max(1) as u64 - 1;
        if full < min_full {
            elapsed += (min_full - full) * config.window_ms;
        }
        if elapsed == 0 {
            return 0.0;
        }
        total / (elapsed as f64 / 1000.0)
    }

    /// Mean of the recorded values in the window; NaN when there are none (`Avg`).
    pub fn avg(&mut self, config: SampleConfig, now: u64) -> f64 {
        let (sum, count) = self
            .live(config, now)
            .iter()
            .fold((0.0, 0u64), |(s, c), x| (s + x.sum, c + x.count));
        if count == 0 {
            f64::NAN
        } else {
            sum / count as f64
        }
    }

    /// Largest recorded value in the window; NaN when there is none (`Max`).
    pub fn max(&mut self, config: SampleConfig, now: u64) -> f64 {
        let live = self.live(config, now);
        if live.iter().all(|s| s.count == 0) {
            return f64::NAN;
        }
        live.iter()
            .filter(|s| s.count > 0)
            .map(|s| s.max)
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// Smallest recorded value in the window; NaN when there is none (`Min`).
    pub fn min(&mut self, config: SampleConfig, now: u64) -> f64 {
        let live = self.live(config, now);
        if live.iter().all(|s| s.count == 0) {
            return f64::NAN;
        }
        live.iter()
            .filter(|s| s.count > 0)
            .map(|s| s.min)
            .fold(f64::INFINITY, f64::min)
    }

    /// Share (0.0–1.0) of the window's boolean records that were `true`; 0.0 when there are
    /// none (`Frequencies.forBooleanValues`).
    pub fn true_fraction(&mut self, config: SampleConfig, now: u64) -> f64 {
        let (ones, count) = self
            .live(config, now)
            .iter()
            .fold((0u64, 0u64), |(o, c), x| (o + x.ones, c + x.count));
        if count == 0 {
            0.0
        } else {
            ones as f64 / count as f64
        }
    }

    /// Share of the window's boolean records that were `false`; 0.0 when there are none.
    pub fn false_fraction(&mut self, config: SampleConfig, now: u64) -> f64 {
        let (ones, count) = self
            .live(config, now)
            .iter()
            .fold((0u64, 0u64), |(o, c), x| (o + x.ones, c + x.count));
        if count == 0 {
            0.0
        } else {
            (count - ones) as f64 / count as f64
        }
    }
}

/// Time spent in each state since the first one (`StateTracker`): the share of time running
/// or paused, not windowed.
#[derive(Clone, Copy, Debug, Default)]
pub struct StateTimes {
    /// When the first state was entered.
    start_ms: Option<u64>,
    current: Option<TrackedState>,
    since_ms: u64,
    running_ms: u64,
    paused_ms: u64,
}

/// The states whose share of time is reported.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TrackedState {
    Running,
    Paused,
    Other,
}

impl StateTimes {
    pub fn enter(&mut self, state: TrackedState, now: u64) {
        self.close(now);
        if self.start_ms.is_none() {
            self.start_ms = Some(now);
        }
        self.current = Some(state);
        self.since_ms = now;
    }

    fn close(&mut self, now: u64) {
        let spent = now.saturating_sub(self.since_ms);
        match self.current {
            Some(TrackedState::Running) => self.running_ms += spent,
            Some(TrackedState::Paused) => self.paused_ms += spent,
            _ => {}
        }
        self.since_ms = now;
    }

    /// Share of the time since the first state spent in `state`; 0.0 before any state.
    pub fn ratio(&self, state: TrackedState, now: u64) -> f64 {
        let Some(start) = self.start_ms else {
            return 0.0;
        };
        let total = now.saturating_sub(start);
        if total == 0 {
            return if self.current == Some(state) {
                1.0
            } else {
                0.0
            };
        }
        let current = if self.current == Some(state) {
            now.saturating_sub(self.since_ms)
        } else {
            0
        };
        let spent = match state {
            TrackedState::Running => self.running_ms,
            TrackedState::Paused => self.paused_ms,
            TrackedState::Other => 0,
        } + current;
        spent as f64 / total as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: SampleConfig = SampleConfig {
        window_ms: 30_000,
        samples: 2,
    };

    #[test]
    fn an_empty_window_is_nan_for_avg_max_min_and_zero_for_rates_and_frequencies() {
        let mut w = Windowed::default();
        assert!(w.avg(C, 0).is_nan());
        assert!(w.max(C, 0).is_nan());
        assert!(w.min(C, 0).is_nan());
        assert_eq!(w.rate(C, 0), 0.0);
        assert_eq!(w.true_fraction(C, 0), 0.0);
        assert_eq!(w.false_fraction(C, 0), 0.0);
    }

    #[test]
    fn a_rate_divides_by_at_least_one_full_window_less_than_the_sample_count() {
        let mut w = Windowed::default();
        w.record(C, 300.0, 1_000);
        // 1 s elapsed, but (2 - 1) full windows are assumed: 300 / 31 s.
        assert!((w.rate(C, 2_000) - 300.0 / 31.0).abs() < 1e-9);
        // Two full windows later both samples are obsolete: nothing in the window.
        assert_eq!(w.rate(C, 1_000 + 60_000), 0.0);
    }

    #[test]
    fn samples_roll_over_and_expire() {
        let mut w = Windowed::default();
        w.record(C, 10.0, 0);
        w.record(C, 2.0, 10_000);
        assert_eq!(w.max(C, 20_000), 10.0);
        assert_eq!(w.avg(C, 20_000), 6.0);
        // The second window starts.
        w.record(C, 4.0, 30_000);
        assert_eq!(w.max(C, 40_000), 10.0);
        assert_eq!(w.min(C, 40_000), 2.0);
        // The first sample is 60 s old: purged.
        assert_eq!(w.max(C, 60_000), 4.0);
        assert_eq!(w.avg(C, 60_000), 4.0);
        // Everything expired.
        assert!(w.max(C, 100_000).is_nan());
    }

    #[test]
    fn boolean_frequencies_are_fractions() {
        let mut w = Windowed::default();
        for ok in [true, true, true, false] {
            w.record(C, if ok { 1.0 } else { 0.0 }, 5);
        }
        assert_eq!(w.true_fraction(C, 10), 0.75);
        assert_eq!(w.false_fraction(C, 10), 0.25);
    }

    #[test]
    fn state_ratios_share_the_time_since_the_first_state() {
        let mut s = StateTimes::default();
        assert_eq!(s.ratio(TrackedState::Running, 5), 0.0);
        s.enter(TrackedState::Other, 0);
        s.enter(TrackedState::Running, 100);
        s.enter(TrackedState::Paused, 300);
        assert_eq!(s.ratio(TrackedState::Running, 400), 0.5);
        assert_eq!(s.ratio(TrackedState::Paused, 400), 0.25);
    }
}
