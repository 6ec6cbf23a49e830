//! `process_*` series (the names Prometheus client libraries use) read from `/proc/self`:
//! what dashboards' JVM panels stand for in a native process. Elsewhere than Linux, or when
//! `/proc` cannot be read, the series are left out.

use std::fmt::Write as _;

/// Linux reports CPU times in USER_HZ ticks, 100 per second on every architecture's ABI.
const TICKS_PER_SECOND: f64 = 100.0;

/// What `/proc/self` tells.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ProcessStats {
    pub cpu_seconds: f64,
    pub resident_bytes: u64,
    pub virtual_bytes: u64,
    pub threads: u64,
    pub start_time_seconds: f64,
    pub open_fds: Option<u64>,
    pub max_fds: Option<u64>,
}

/// Parses `/proc/self/stat` (fields after the command name, which may hold spaces and
/// parentheses), `/proc/self/status` and the boot time from `/proc/stat`.
pub fn parse(stat: &str, status: &str, proc_stat: &str) -> Option<ProcessStats> {
    let after = &stat[stat.rfind(')')? + 1..];
    // Field 3 (state) is the first after the name.
    let f: Vec<&str> = after.split_whitespace().collect();
    let field = |n: usize| f.get(n - 3).and_then(|v| v.parse::<u64>().ok());
    let utime = field(14)?;
    let stime = field(15)?;
    let threads = field(20)?;
    let start_ticks = field(22)?;
    let vsize = field(23)?;
    let kb = |key: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse::<u64>().ok())
    };
    let rss_kb = kb("VmRSS:")?;
    let btime = proc_stat
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .and_then(|v| v.trim().parse::<u64>().ok())?;
    Some(ProcessStats {
        cpu_seconds: (utime + stime) as f64 / TICKS_PER_SECOND,
        resident_bytes: rss_kb * 1024,
        virtual_bytes: vsize,
        threads,
        start_time_seconds: btime as f64 + start_ticks as f64 / TICKS_PER_SECOND,
        open_fds: None,
        max_fds: None,
    })
}

/// The soft `Max open files` limit from `/proc/self/limits`.
fn max_fds(limits: &str) -> Option<u64> {
    limits
        .lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
}

/// This process's stats, if `/proc` can be read.
pub fn read() -> Option<ProcessStats> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let proc_stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut s = parse(&stat, &status, &proc_stat)?;
    s.open_fds = std::fs::read_dir("/proc/self/fd")
        .ok()
        .map(|d| d.count() as u64);
    s.max_fds = std::fs::read_to_string("/proc/self/limits")
        .ok()
        .and_then(|l| max_fds(&l));
    Some(s)
}

/// The Prometheus text of `s`.
pub fn render(s: &ProcessStats) -> String {
    let mut out = String::new();
    let mut one = |name: &str, kind: &str, help: &str, v: String| {
        let _ = writeln!(out, "# HELP {name} {help}");
        let _ = writeln!(out, "# TYPE {name} {kind}");
        let _ = writeln!(out, "{name} {v}");
    };
    one(
        "process_cpu_seconds_total",
        "counter",
        "Total user and system CPU time spent in seconds.",
        format!("{}", s.cpu_seconds),
    );
    if let Some(n) = s.open_fds {
        one(
            "process_open_fds",
            "gauge",
            "Number of open file descriptors.",
            n.to_string(),
        );
    }
    if let Some(n) = s.max_fds {
        one(
            "process_max_fds",
            "gauge",
            "Maximum number of open file descriptors.",
            n.to_string(),
        );
    }
    one(
        "process_resident_memory_bytes",
        "gauge",
        "Resident memory size in bytes.",
        s.resident_bytes.to_string(),
    );
    one(
        "process_start_time_seconds",
        "gauge",
        "Start time of the process since unix epoch in seconds.",
        format!("{}", s.start_time_seconds),
    );
    one(
        "process_threads",
        "gauge",
        "Number of OS threads in the process.",
        s.threads.to_string(),
    );
    one(
        "process_virtual_memory_bytes",
        "gauge",
        "Virtual memory size in bytes.",
        s.virtual_bytes.to_string(),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_even_with_odd_command_names() {
        let stat = "4242 (my (odd) cmd) S 1 4242 4242 0 -1 4194560 1000 0 0 0 250 50 0 0 20 0 17 0 123456 987654321 2560 18446744073709551615";
        let status = "Name:\tsluice\nVmRSS:\t   10240 kB\nThreads:\t17\n";
        let proc_stat = "cpu  1 2 3\nbtime 1700000000\n";
        let s = parse(stat, status, proc_stat).unwrap();
        assert_eq!(s.cpu_seconds, 3.0);
        assert_eq!(s.threads, 17);
        assert_eq!(s.resident_bytes, 10_485_760);
        assert_eq!(s.virtual_bytes, 987_654_321);
        assert_eq!(s.start_time_seconds, 1_700_001_234.56);
        assert_eq!(
            max_fds("Limit Soft Hard Units\nMax open files            1024                 524288               files\n"),
            Some(1024)
        );
    }

    #[test]
    fn reads_this_process() {
        let s = read().expect("/proc is readable on Linux");
        assert!(s.resident_bytes > 0 && s.threads >= 1);
        assert!(s.open_fds.is_some_and(|n| n > 0));
        let text = render(&s);
        assert!(text.contains("\nprocess_resident_memory_bytes "));
        assert!(text.contains("# TYPE process_cpu_seconds_total counter\n"));
    }
}
