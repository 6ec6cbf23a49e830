//! Logging: a tracing `EnvFilter` (from `RUST_LOG`, default `info`) behind a reload handle,
//! so `/admin/loggers` can change levels at run time. Logger names are Rust module paths
//! (`sluice_runtime::task::source`) plus `root`; levels use Kafka's names.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{SystemTime, UNIX_EPOCH};

use sluice_rest::{LoggerControl, LoggerEntry};
use tracing_subscriber::prelude::*;
use tracing_subscriber::{reload, EnvFilter, Registry};

struct Levels {
    root: LoggerEntry,
    explicit: BTreeMap<String, LoggerEntry>,
    /// `RUST_LOG` directives that are not plain `target=level` (kept verbatim).
    extra: Vec<String>,
}

/// The run-time log level control.
pub struct Logging {
    levels: Mutex<Levels>,
    handle: reload::Handle<EnvFilter, Registry>,
}

fn to_tracing(kafka: &str) -> &'static str {
    match kafka {
        "OFF" => "off",
        "FATAL" | "ERROR" => "error",
        "WARN" => "warn",
        "INFO" => "info",
        "DEBUG" => "debug",
        _ => "trace",
    }
}

fn to_kafka(tracing: &str) -> Option<&'static str> {
    Some(match tracing.trim().to_ascii_lowercase().as_str() {
        "off" => "OFF",
        "error" => "ERROR",
        "warn" => "WARN",
        "info" => "INFO",
        "debug" => "DEBUG",
        "trace" => "TRACE",
        _ => return None,
    })
}

fn entry(level: &str) -> LoggerEntry {
    LoggerEntry {
        level: level.to_string(),
        last_modified: None,
    }
}

fn parse(spec: &str) -> Levels {
    let mut levels = Levels {
        root: entry("INFO"),
        explicit: BTreeMap::new(),
        extra: Vec::new(),
    };
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('=') {
            None => match to_kafka(part) {
                Some(l) => levels.root = entry(l),
                None => levels.extra.push(part.to_string()),
            },
            Some((target, level)) if !target.contains('[') => match to_kafka(level) {
                Some(l) => {
                    levels.explicit.insert(target.to_string(), entry(l));
                }
                None => levels.extra.push(part.to_string()),
            },
            Some(_) => levels.extra.push(part.to_string()),
        }
    }
    levels
}

fn directives(l: &Levels) -> String {
    let mut parts = vec![to_tracing(&l.root.level).to_string()];
    parts.extend(l.extra.iter().cloned());
    parts.extend(
        l.explicit
            .iter()
            .map(|(t, e)| format!("{t}={}", to_tracing(&e.level))),
    );
    parts.join(",")
}

/// Standard error with every secret the worker has seen replaced by `[hidden]`
/// (`sluice_runtime::secrets`): the fmt layer writes each event in one call, so a secret is
/// never split across writes.
struct RedactingStderr;

impl std::io::Write for RedactingStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let text = String::from_utf8_lossy(buf);
        match sluice_runtime::secrets::redact(&text) {
            std::borrow::Cow::Borrowed(_) => std::io::stderr().write_all(buf)?,
            std::borrow::Cow::Owned(hidden) => std::io::stderr().write_all(hidden.as_bytes())?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Installs the global subscriber (stderr) and returns the level control.
pub fn init() -> Logging {
    let spec = std::env::var("RUST_LOG").unwrap_or_else(|_| "info".to_string());
    let levels = parse(&spec);
    let filter = EnvFilter::try_new(directives(&levels)).unwrap_or_else(|_| EnvFilter::new("info"));
    let (layer, handle) = reload::Layer::new(filter);
    tracing_subscriber::registry()
        .with(layer)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(|| RedactingStderr)
                // Colours only on a terminal (and never with NO_COLOR set): a log file or a
                // pipe gets plain text that grep and log shippers read as written.
                .with_ansi(
                    std::io::IsTerminal::is_terminal(&std::io::stderr())
                        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
                ),
        )
        .init();
    Logging {
        levels: Mutex::new(levels),
        handle,
    }
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

impl LoggerControl for Logging {
    fn loggers(&self) -> BTreeMap<String, LoggerEntry> {
        let l = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = l.explicit.clone();
        out.insert("root".to_string(), l.root.clone());
        out
    }

    fn logger(&self, name: &str) -> Option<LoggerEntry> {
        let l = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        if name == "root" {
            return Some(l.root.clone());
        }
        l.explicit.get(name).cloned()
    }

    fn set_level(&self, name: &str, level: &str) -> Result<Vec<String>, String> {
        let mut l = self.levels.lock().unwrap_or_else(|p| p.into_inner());
        let now = Some(now_ms());
        let set = LoggerEntry {
            level: level.to_string(),
            last_modified: now,
        };
        let child_prefix = format!("{name}::");
        let mut affected: Vec<String> = l
            .explicit
            .keys()
            .filter(|k| name == "root" || k.starts_with(&child_prefix))
            .cloned()
            .collect();
        for k in &affected {
            l.explicit.insert(k.clone(), set.clone());
        }
        if name == "root" {
            l.root = set;
        } else {
            l.explicit.insert(name.to_string(), set);
        }
        affected.push(name.to_string());
        affected.sort();
        affected.dedup();
        let filter = EnvFilter::try_new(directives(&l))
            .map_err(|e| format!("Could not apply the new log level: {e}"))?;
        self.handle
            .reload(filter)
            .map_err(|e| format!("Could not apply the new log level: {e}"))?;
        Ok(affected)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_log_to_kafka_levels_and_back() {
        let l = parse("warn,sluice_runtime=debug,h2[x]=off");
        assert_eq!(l.root.level, "WARN");
        assert_eq!(l.explicit["sluice_runtime"].level, "DEBUG");
        assert_eq!(l.extra, vec!["h2[x]=off"]);
        assert_eq!(directives(&l), "warn,h2[x]=off,sluice_runtime=debug");
    }
}
