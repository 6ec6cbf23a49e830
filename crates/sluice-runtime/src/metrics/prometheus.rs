//! The Prometheus text format (version 0.0.4) of the worker's metrics, in the names existing
//! dashboards query. Nobody scrapes Kafka Connect natively: every dashboard was written
//! against a JMX-to-Prometheus rule set, so Sluice renders the names those rules produce.
//!
//! - [`Naming::Strimzi`] (default): Strimzi's `kafka-connect-metrics.yaml` under
//!   jmx_exporter 1.x: group name minus `-metrics` after `kafka_connect_`, the worker groups
//!   as `worker`; `*-total` counters, the rest gauges; strings as `=1` series with the value
//!   as a label; attributes the rules drop (the `*-percentage` task fractions) are dropped.
//! - [`Naming::Confluent`]: Confluent's `jmx-monitoring-stacks` rules (and Grafana's
//!   kafka-mixin): the full group name, untyped, `connector="aggregate"` on worker totals,
//!   only the connector's strings kept; `_total` kept as jmx_exporter 0.x did.
//!   [`Naming::ConfluentV1`] strips `_total` as jmx_exporter 1.x does.
//!
//! Sluice's own series (`sluice_*`) read the same in every family.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::Metric;

/// `metrics.prometheus.naming`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Naming {
    Strimzi,
    Confluent,
    ConfluentV1,
}

impl Naming {
    pub const ALLOWED: &'static str = "strimzi, confluent, confluent-v1";

    /// Parses the setting; the error names the value and what is allowed.
    pub fn parse(value: Option<&str>) -> Result<Naming, String> {
        match value.map(|v| v.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("strimzi") => Ok(Naming::Strimzi),
            Some("confluent") => Ok(Naming::Confluent),
            Some("confluent-v1") => Ok(Naming::ConfluentV1),
            Some(other) => Err(format!(
                "Invalid value {other} for configuration {}: must be one of {}",
                super::PROMETHEUS_NAMING,
                Naming::ALLOWED
            )),
        }
    }
}

/// The Prometheus content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Counter,
    Gauge,
    Untyped,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Untyped => "untyped",
        }
    }
}

/// One output series.
struct Series {
    name: String,
    kind: Kind,
    labels: Vec<(String, String)>,
    value: f64,
}

fn underscore(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if c.is_ascii_alphanumeric() || c == '_' || c == ':' {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out
}

/// Strimzi's numeric task attributes: the suffixes its rules keep (`-total` apart).
const STRIMZI_SUFFIXES: &[&str] = &[
    "-count",
    "-ms",
    "-ratio",
    "-seq-no",
    "-rate",
    "-max",
    "-avg",
    "-failures",
    "-requests",
    "-timestamp",
    "-logged",
    "-errors",
    "-retries",
    "-skipped",
];

/// The attribute suffixes Strimzi's rule for `<type>-metrics, client-id=…` groups (Kafka
/// clients and the group member's `connect-metrics`) keeps; `-rate` is not among them.
const CLIENT_SUFFIXES: &[&str] = &[
    "-total", "-avg", "-bytes", "-count", "-ratio", "-age", "-flight", "-threads", "-ago",
];

fn tag_labels(m: &Metric, client_label: &str) -> Vec<(String, String)> {
    m.tags
        .iter()
        .map(|(k, v)| {
            let k = if *k == "client-id" {
                client_label.to_string()
            } else {
                underscore(k)
            };
            (k, v.clone())
        })
        .collect()
}

fn sluice_series(m: &Metric, v: f64, client_label: &str) -> Option<Series> {
    let (name, kind) = match (m.group, m.name) {
        (super::SLUICE_SINK_TASK, "consumer-lag") => ("sluice_sink_task_consumer_lag", Kind::Gauge),
        (super::SLUICE_TASK, "tolerated-records-total") => {
            ("sluice_task_tolerated_records_total", Kind::Counter)
        }
        _ => return None,
    };
    Some(Series {
        name: name.to_string(),
        kind,
        labels: tag_labels(m, client_label),
        value: v,
    })
}

fn strimzi(m: &Metric) -> Option<Series> {
    use super::*;
    let labels = tag_labels(m, "clientid");
    let attr = underscore(m.name);
    let with = |name: String, kind: Kind, extra: Option<(&str, &str)>, value: f64| {
        let mut labels = labels.clone();
        if let Some((k, v)) = extra {
            labels.push((k.to_string(), v.to_string()));
        }
        Some(Series {
            name,
            kind,
            labels,
            value,
        })
    };
    match (&m.value, m.group) {
        (Value::Num(v), SLUICE_SINK_TASK | SLUICE_TASK) => sluice_series(m, *v, "clientid"),
        (Value::Text(s), CONNECTOR) => {
            if m.name == "status" {
                with(
                    "kafka_connect_connector_status".into(),
                    Kind::Gauge,
                    Some(("status", s)),
                    1.0,
                )
            } else {
                with(
                    format!("kafka_connect_connector_{attr}"),
                    Kind::Gauge,
                    Some((attr.as_str(), s)),
                    1.0,
                )
            }
        }
        (Value::Text(s), CONNECTOR_TASK) if m.name == "status" => with(
            "kafka_connect_connector_task_status".into(),
            Kind::Gauge,
            Some(("status", s)),
            1.0,
        ),
        (Value::Num(v), CONNECTOR_TASK | SOURCE_TASK | SINK_TASK | TASK_ERROR) => {
            let group = underscore(m.group.trim_end_matches("-metrics"));
            let name = format!("kafka_connect_{group}_{attr}");
            if m.name.ends_with("-total") {
                with(name, Kind::Counter, None, *v)
            } else if STRIMZI_SUFFIXES.iter().any(|s| m.name.ends_with(s)) {
                with(name, Kind::Gauge, None, *v)
            } else {
                None
            }
        }
        (Value::Num(v), WORKER) => {
            let kind = if m.name.ends_with("-total") {
                Kind::Counter
            } else {
                Kind::Gauge
            };
            with(format!("kafka_connect_worker_{attr}"), kind, None, *v)
        }
        (Value::Text(s), REBALANCE) => with(
            format!("kafka_connect_worker_rebalance_{attr}"),
            Kind::Untyped,
            Some((attr.as_str(), s)),
            1.0,
        ),
        (Value::Num(v), REBALANCE) => {
            let kind = if m.name.ends_with("-total") {
                Kind::Counter
            } else {
                Kind::Gauge
            };
            with(
                format!("kafka_connect_worker_rebalance_{attr}"),
                kind,
                None,
                *v,
            )
        }
        (Value::Num(v), COORDINATOR) => with(
            format!("kafka_connect_coordinator_{attr}"),
            Kind::Gauge,
            None,
            *v,
        ),
        (Value::Num(v), PRODUCER | CONSUMER | ADMIN_CLIENT | NETWORK) => {
            if !CLIENT_SUFFIXES.iter().any(|s| m.name.ends_with(s)) {
                return None;
            }
            // `kafka.producer<type=producer-metrics, …>` → `kafka_producer_…`;
            // `kafka.admin.client<type=admin-client-metrics, …>` → `kafka_admin_client_…`;
            // `kafka.connect<type=connect-metrics, …>` → `kafka_connect_…`.
            let prefix = underscore(m.group.trim_end_matches("-metrics"));
            let kind = if m.name.ends_with("-total") {
                Kind::Counter
            } else {
                Kind::Gauge
            };
            with(format!("kafka_{prefix}_{attr}"), kind, None, *v)
        }
        (Value::Num(v), APP_INFO) if m.name == "start-time-ms" => with(
            "kafka_connect_start_time_seconds".into(),
            Kind::Gauge,
            None,
            *v * 0.001,
        ),
        (Value::Text(s), APP_INFO) => with(
            format!("kafka_connect_{attr}"),
            Kind::Gauge,
            Some((attr.as_str(), s)),
            1.0,
        ),
        _ => None,
    }
}

fn confluent(m: &Metric, strip_total: bool) -> Option<Series> {
    use super::*;
    let mut labels = tag_labels(m, "client_id");
    let attr = underscore(m.name);
    let strip = |name: String| {
        if strip_total {
            name.strip_suffix("_total")
                .map_or(name.clone(), str::to_string)
        } else {
            name
        }
    };
    let series = |name: String, labels: Vec<(String, String)>, value: f64| {
        Some(Series {
            name: strip(name),
            kind: Kind::Untyped,
            labels,
            value,
        })
    };
    match (&m.value, m.group) {
        (Value::Num(v), SLUICE_SINK_TASK | SLUICE_TASK) => sluice_series(m, *v, "client_id"),
        (Value::Text(s), CONNECTOR) => {
            labels.push((attr.clone(), s.clone()));
            series("kafka_connect_connector_metrics".into(), labels, 1.0)
        }
        (Value::Num(v), WORKER) => {
            if m.tags.is_empty() {
                labels.push(("connector".into(), "aggregate".into()));
            }
            series(
                format!("kafka_connect_connect_worker_metrics_{attr}"),
                labels,
                *v,
            )
        }
        (
            Value::Num(v),
            CONNECTOR_TASK | SOURCE_TASK | SINK_TASK | TASK_ERROR | REBALANCE | COORDINATOR
            | NETWORK,
        ) => {
            let group = underscore(m.group);
            series(format!("kafka_connect_{group}_{attr}"), labels, *v)
        }
        (Value::Text(s), APP_INFO) => {
            labels.push((attr, s.clone()));
            let name = if strip_total {
                "kafka_connect_app"
            } else {
                "kafka_connect_app_info"
            };
            Some(Series {
                name: name.into(),
                kind: Kind::Untyped,
                labels,
                value: 1.0,
            })
        }
        (Value::Num(v), APP_INFO) => {
            labels.push((attr, format_value(*v)));
            let name = if strip_total {
                "kafka_connect_app"
            } else {
                "kafka_connect_app_info"
            };
            Some(Series {
                name: name.into(),
                kind: Kind::Untyped,
                labels,
                value: 1.0,
            })
        }
        _ => None,
    }
}

/// A sample value as Prometheus reads it.
fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v == f64::INFINITY {
        "+Inf".into()
    } else if v == f64::NEG_INFINITY {
        "-Inf".into()
    } else {
        format!("{v}")
    }
}

fn escape_label(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// Renders `metrics` in `naming`, metric families sorted by name, each with its `# TYPE`.
pub fn render(metrics: &[Metric], naming: Naming) -> String {
    let mut families: BTreeMap<String, (Kind, Vec<String>)> = BTreeMap::new();
    for m in metrics {
        let series = match naming {
            Naming::Strimzi => strimzi(m),
            Naming::Confluent => confluent(m, false),
            Naming::ConfluentV1 => confluent(m, true),
        };
        let Some(s) = series else { continue };
        let mut line = s.name.clone();
        if !s.labels.is_empty() {
            line.push('{');
            for (i, (k, v)) in s.labels.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                let _ = write!(line, "{k}=\"{}\"", escape_label(v));
            }
            line.push('}');
        }
        let _ = write!(line, " {}", format_value(s.value));
        families
            .entry(s.name)
            .or_insert_with(|| (s.kind, Vec::new()))
            .1
            .push(line);
    }
    let mut out = String::new();
    for (name, (kind, lines)) in families {
        let _ = writeln!(out, "# TYPE {name} {}", kind.name());
        for l in lines {
            out.push_str(&l);
            out.push('\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::*;
    use super::*;

    fn t(connector: &str, task: u32) -> Vec<(&'static str, String)> {
        vec![("connector", connector.into()), ("task", task.to_string())]
    }

    /// A small worker: one source connector with one task, one sink task, worker totals,
    /// distributed-mode rebalance and coordinator series, app-info.
    fn sample() -> Vec<Metric> {
        let c = || vec![("connector", "src".to_string())];
        let client = || vec![("client-id", "connect-1".to_string())];
        vec![
            Metric::text(CONNECTOR, "status", c(), "running"),
            Metric::text(CONNECTOR, "connector-type", c(), "source"),
            Metric::text(
                CONNECTOR,
                "connector-class",
                c(),
                "org.apache.kafka.connect.file.FileStreamSourceConnector",
            ),
            Metric::text(CONNECTOR, "connector-version", c(), "3.9.0"),
            Metric::text(CONNECTOR_TASK, "status", t("src", 0), "running"),
            Metric::num(CONNECTOR_TASK, "running-ratio", t("src", 0), 1.0),
            Metric::num(
                CONNECTOR_TASK,
                "offset-commit-success-percentage",
                t("src", 0),
                0.5,
            ),
            Metric::num(
                CONNECTOR_TASK,
                "offset-commit-avg-time-ms",
                t("src", 0),
                f64::NAN,
            ),
            Metric::num(SOURCE_TASK, "source-record-poll-total", t("src", 0), 42.0),
            Metric::num(SOURCE_TASK, "source-record-poll-rate", t("src", 0), 1.5),
            Metric::num(
                SOURCE_TASK,
                "source-record-active-count-max",
                t("src", 0),
                7.0,
            ),
            Metric::num(SINK_TASK, "sink-record-read-total", t("snk", 0), 42.0),
            Metric::num(SINK_TASK, "partition-count", t("snk", 0), 1.0),
            Metric::num(TASK_ERROR, "total-record-failures", t("snk", 0), 0.0),
            Metric::num(
                SLUICE_SINK_TASK,
                "consumer-lag",
                vec![
                    ("connector", "snk".into()),
                    ("task", "0".into()),
                    ("topic", "t\"1".into()),
                    ("partition", "0".into()),
                ],
                3.0,
            ),
            Metric::num(SLUICE_TASK, "tolerated-records-total", t("snk", 0), 2.0),
            Metric::num(WORKER, "connector-running-task-count", c(), 1.0),
            Metric::num(WORKER, "connector-count", vec![], 1.0),
            Metric::num(WORKER, "task-startup-failure-total", vec![], 0.0),
            Metric::num(WORKER, "task-startup-success-percentage", vec![], 1.0),
            Metric::text(REBALANCE, "leader-name", vec![], "http://w1:8083/"),
            Metric::num(REBALANCE, "completed-rebalances-total", vec![], 2.0),
            Metric::num(
                REBALANCE,
                "time-since-last-rebalance-ms",
                vec![],
                f64::INFINITY,
            ),
            Metric::num(COORDINATOR, "assigned-tasks", client(), 2.0),
            Metric::text(APP_INFO, "version", client(), "3.9.0"),
            Metric::num(APP_INFO, "start-time-ms", client(), 1_700_000_000_000.0),
        ]
    }

    #[test]
    fn strimzi_golden() {
        let expected = r#"# TYPE kafka_connect_connector_connector_class gauge
kafka_connect_connector_connector_class{connector="src",connector_class="org.apache.kafka.connect.file.FileStreamSourceConnector"} 1
# TYPE kafka_connect_connector_connector_type gauge
kafka_connect_connector_connector_type{connector="src",connector_type="source"} 1
# TYPE kafka_connect_connector_connector_version gauge
kafka_connect_connector_connector_version{connector="src",connector_version="3.9.0"} 1
# TYPE kafka_connect_connector_status gauge
kafka_connect_connector_status{connector="src",status="running"} 1
# TYPE kafka_connect_connector_task_offset_commit_avg_time_ms gauge
kafka_connect_connector_task_offset_commit_avg_time_ms{connector="src",task="0"} NaN
# TYPE kafka_connect_connector_task_running_ratio gauge
kafka_connect_connector_task_running_ratio{connector="src",task="0"} 1
# TYPE kafka_connect_connector_task_status gauge
kafka_connect_connector_task_status{connector="src",task="0",status="running"} 1
# TYPE kafka_connect_coordinator_assigned_tasks gauge
kafka_connect_coordinator_assigned_tasks{clientid="connect-1"} 2
# TYPE kafka_connect_sink_task_partition_count gauge
kafka_connect_sink_task_partition_count{connector="snk",task="0"} 1
# TYPE kafka_connect_sink_task_sink_record_read_total counter
kafka_connect_sink_task_sink_record_read_total{connector="snk",task="0"} 42
# TYPE kafka_connect_source_task_source_record_active_count_max gauge
kafka_connect_source_task_source_record_active_count_max{connector="src",task="0"} 7
# TYPE kafka_connect_source_task_source_record_poll_rate gauge
kafka_connect_source_task_source_record_poll_rate{connector="src",task="0"} 1.5
# TYPE kafka_connect_source_task_source_record_poll_total counter
kafka_connect_source_task_source_record_poll_total{connector="src",task="0"} 42
# TYPE kafka_connect_start_time_seconds gauge
kafka_connect_start_time_seconds{clientid="connect-1"} 1700000000
# TYPE kafka_connect_task_error_total_record_failures gauge
kafka_connect_task_error_total_record_failures{connector="snk",task="0"} 0
# TYPE kafka_connect_version gauge
kafka_connect_version{clientid="connect-1",version="3.9.0"} 1
# TYPE kafka_connect_worker_connector_count gauge
kafka_connect_worker_connector_count 1
# TYPE kafka_connect_worker_connector_running_task_count gauge
kafka_connect_worker_connector_running_task_count{connector="src"} 1
# TYPE kafka_connect_worker_rebalance_completed_rebalances_total counter
kafka_connect_worker_rebalance_completed_rebalances_total 2
# TYPE kafka_connect_worker_rebalance_leader_name untyped
kafka_connect_worker_rebalance_leader_name{leader_name="http://w1:8083/"} 1
# TYPE kafka_connect_worker_rebalance_time_since_last_rebalance_ms gauge
kafka_connect_worker_rebalance_time_since_last_rebalance_ms +Inf
# TYPE kafka_connect_worker_task_startup_failure_total counter
kafka_connect_worker_task_startup_failure_total 0
# TYPE kafka_connect_worker_task_startup_success_percentage gauge
kafka_connect_worker_task_startup_success_percentage 1
# TYPE sluice_sink_task_consumer_lag gauge
sluice_sink_task_consumer_lag{connector="snk",task="0",topic="t\"1",partition="0"} 3
# TYPE sluice_task_tolerated_records_total counter
sluice_task_tolerated_records_total{connector="snk",task="0"} 2
"#;
        assert_eq!(render(&sample(), Naming::Strimzi), expected);
    }

    #[test]
    fn confluent_golden() {
        let expected = r#"# TYPE kafka_connect_app_info untyped
kafka_connect_app_info{client_id="connect-1",version="3.9.0"} 1
kafka_connect_app_info{client_id="connect-1",start_time_ms="1700000000000"} 1
# TYPE kafka_connect_connect_coordinator_metrics_assigned_tasks untyped
kafka_connect_connect_coordinator_metrics_assigned_tasks{client_id="connect-1"} 2
# TYPE kafka_connect_connect_worker_metrics_connector_count untyped
kafka_connect_connect_worker_metrics_connector_count{connector="aggregate"} 1
# TYPE kafka_connect_connect_worker_metrics_connector_running_task_count untyped
kafka_connect_connect_worker_metrics_connector_running_task_count{connector="src"} 1
# TYPE kafka_connect_connect_worker_metrics_task_startup_failure_total untyped
kafka_connect_connect_worker_metrics_task_startup_failure_total{connector="aggregate"} 0
# TYPE kafka_connect_connect_worker_metrics_task_startup_success_percentage untyped
kafka_connect_connect_worker_metrics_task_startup_success_percentage{connector="aggregate"} 1
# TYPE kafka_connect_connect_worker_rebalance_metrics_completed_rebalances_total untyped
kafka_connect_connect_worker_rebalance_metrics_completed_rebalances_total 2
# TYPE kafka_connect_connect_worker_rebalance_metrics_time_since_last_rebalance_ms untyped
kafka_connect_connect_worker_rebalance_metrics_time_since_last_rebalance_ms +Inf
# TYPE kafka_connect_connector_metrics untyped
kafka_connect_connector_metrics{connector="src",status="running"} 1
kafka_connect_connector_metrics{connector="src",connector_type="source"} 1
kafka_connect_connector_metrics{connector="src",connector_class="org.apache.kafka.connect.file.FileStreamSourceConnector"} 1
kafka_connect_connector_metrics{connector="src",connector_version="3.9.0"} 1
# TYPE kafka_connect_connector_task_metrics_offset_commit_avg_time_ms untyped
kafka_connect_connector_task_metrics_offset_commit_avg_time_ms{connector="src",task="0"} NaN
# TYPE kafka_connect_connector_task_metrics_offset_commit_success_percentage untyped
kafka_connect_connector_task_metrics_offset_commit_success_percentage{connector="src",task="0"} 0.5
# TYPE kafka_connect_connector_task_metrics_running_ratio untyped
kafka_connect_connector_task_metrics_running_ratio{connector="src",task="0"} 1
# TYPE kafka_connect_sink_task_metrics_partition_count untyped
kafka_connect_sink_task_metrics_partition_count{connector="snk",task="0"} 1
# TYPE kafka_connect_sink_task_metrics_sink_record_read_total untyped
kafka_connect_sink_task_metrics_sink_record_read_total{connector="snk",task="0"} 42
# TYPE kafka_connect_source_task_metrics_source_record_active_count_max untyped
kafka_connect_source_task_metrics_source_record_active_count_max{connector="src",task="0"} 7
# TYPE kafka_connect_source_task_metrics_source_record_poll_rate untyped
kafka_connect_source_task_metrics_source_record_poll_rate{connector="src",task="0"} 1.5
# TYPE kafka_connect_source_task_metrics_source_record_poll_total untyped
kafka_connect_source_task_metrics_source_record_poll_total{connector="src",task="0"} 42
# TYPE kafka_connect_task_error_metrics_total_record_failures untyped
kafka_connect_task_error_metrics_total_record_failures{connector="snk",task="0"} 0
# TYPE sluice_sink_task_consumer_lag gauge
sluice_sink_task_consumer_lag{connector="snk",task="0",topic="t\"1",partition="0"} 3
# TYPE sluice_task_tolerated_records_total counter
sluice_task_tolerated_records_total{connector="snk",task="0"} 2
"#;
        assert_eq!(render(&sample(), Naming::Confluent), expected);
    }

    #[test]
    fn confluent_v1_strips_total_like_jmx_exporter_1() {
        let out = render(&sample(), Naming::ConfluentV1);
        assert!(out.contains("\nkafka_connect_source_task_metrics_source_record_poll{connector=\"src\",task=\"0\"} 42\n"));
        assert!(out
            .contains("\nkafka_connect_connect_worker_rebalance_metrics_completed_rebalances 2\n"));
        assert!(out.contains("\nkafka_connect_app{client_id=\"connect-1\",version=\"3.9.0\"} 1\n"));
        // Sluice's own names do not change.
        assert!(out.contains("\nsluice_task_tolerated_records_total{"));
    }

    #[test]
    fn naming_parses_and_names_what_is_allowed() {
        assert_eq!(Naming::parse(None), Ok(Naming::Strimzi));
        assert_eq!(Naming::parse(Some(" Confluent ")), Ok(Naming::Confluent));
        let e = Naming::parse(Some("jmx")).unwrap_err();
        assert_eq!(
            e,
            "Invalid value jmx for configuration metrics.prometheus.naming: must be one of strimzi, confluent, confluent-v1"
        );
    }
}

#[cfg(test)]
mod network_tests {
    use super::super::*;
    use super::*;

    fn sample() -> Vec<Metric> {
        let p = || vec![("client-id", "connector-producer-src-0".to_string())];
        let m = || vec![("client-id", "connect-1".to_string())];
        vec![
            Metric::num(PRODUCER, "outgoing-byte-total", p(), 1200.0),
            Metric::num(PRODUCER, "outgoing-byte-rate", p(), 40.0),
            Metric::num(PRODUCER, "connection-count", p(), 1.0),
            Metric::num(
                ADMIN_CLIENT,
                "connection-count",
                vec![("client-id", "connector-adminclient-src-0".to_string())],
                1.0,
            ),
            Metric::num(
                ADMIN_CLIENT,
                "request-total",
                vec![("client-id", "connector-adminclient-src-0".to_string())],
                4.0,
            ),
            Metric::num(
                CONSUMER,
                "incoming-byte-total",
                vec![("client-id", "connector-consumer-snk-0".to_string())],
                900.0,
            ),
            Metric::num(NETWORK, "incoming-byte-rate", m(), 12.5),
            Metric::num(NETWORK, "request-total", m(), 30.0),
            Metric::num(NETWORK, "io-ratio", m(), 0.001),
            Metric::num(NETWORK, "connection-count", m(), 1.0),
        ]
    }

    #[test]
    fn strimzi_client_and_member_series_follow_its_client_rule() {
        let out = render(&sample(), Naming::Strimzi);
        for line in [
            "kafka_producer_outgoing_byte_total{clientid=\"connector-producer-src-0\"} 1200\n",
            "kafka_producer_connection_count{clientid=\"connector-producer-src-0\"} 1\n",
            "kafka_consumer_incoming_byte_total{clientid=\"connector-consumer-snk-0\"} 900\n",
            "kafka_admin_client_connection_count{clientid=\"connector-adminclient-src-0\"} 1\n",
            "kafka_admin_client_request_total{clientid=\"connector-adminclient-src-0\"} 4\n",
            "# TYPE kafka_admin_client_request_total counter\n",
            "kafka_connect_request_total{clientid=\"connect-1\"} 30\n",
            "kafka_connect_io_ratio{clientid=\"connect-1\"} 0.001\n",
            "kafka_connect_connection_count{clientid=\"connect-1\"} 1\n",
            "# TYPE kafka_producer_outgoing_byte_total counter\n",
            "# TYPE kafka_producer_connection_count gauge\n",
        ] {
            assert!(out.contains(line), "{line} not in\n{out}");
        }
        // Strimzi's client rule keeps no `-rate` attribute.
        assert!(!out.contains("_rate{"), "{out}");
    }

    #[test]
    fn confluent_names_the_member_series_after_their_group() {
        let out = render(&sample(), Naming::Confluent);
        for line in [
            "kafka_connect_connect_metrics_incoming_byte_rate{client_id=\"connect-1\"} 12.5\n",
            "kafka_connect_connect_metrics_request_total{client_id=\"connect-1\"} 30\n",
            "kafka_connect_connect_metrics_io_ratio{client_id=\"connect-1\"} 0.001\n",
            "kafka_connect_connect_metrics_connection_count{client_id=\"connect-1\"} 1\n",
        ] {
            assert!(out.contains(line), "{line} not in\n{out}");
        }
        let v1 = render(&sample(), Naming::ConfluentV1);
        assert!(v1.contains("kafka_connect_connect_metrics_request{client_id=\"connect-1\"} 30\n"));
        // The Kafka clients' own series are not part of Confluent's Connect rules.
        assert!(!out.contains("kafka_producer"), "{out}");
        assert!(!out.contains("admin_client"), "{out}");
    }
}
