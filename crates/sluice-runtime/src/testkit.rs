//! Test-only connector plugins (cargo feature `testkit`). The `sluice` binary registers them
//! when started with `SLUICE_TEST_PLUGINS=1`, so process-level tests can use them; they are
//! never registered otherwise.
//!
//! - `org.sluice.testkit.BlockingSourceConnector` (`BlockingSource`): `start()` never returns.
//! - `org.sluice.testkit.TestSourceConnector` (`TestSource`): produces nothing; appends a line
//!   to `starts.file` (if set) on every connector start (`connector`) and task start
//!   (`task-<id>`); tasks whose id is listed in `fail.tasks` fail at start; with
//!   `stop.hangs=true` the connector's `stop()` never returns, with `task.stop.hangs=true` its
//!   tasks' `stop()` never returns. With `tasks.file` set, the task
//!   count is the number in that file (1 when missing or not a number; at most `tasks.max`),
//!   each task config carries the file's content as `tasks.file.content`, and the connector
//!   watches the file and calls `request_task_reconfiguration()` whenever its content changes.
//!   With `emit.topic` set, each task sends `emit.count` records (values `0`, `1`, …) to that
//!   topic, to partition `emit.partition` when set (a partition the topic lacks makes the
//!   producer fail those records).

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sluice_api::config::{parse_list, ConfigDef, ConfigKey, ConfigType, Importance, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SourceTask, SourceTaskContext,
    TaskFactory,
};
use sluice_api::record::SourceRecord;
use sluice_api::{ConnectError, Result};

const STARTS_FILE: &str = "starts.file";
const FAIL_TASKS: &str = "fail.tasks";
const TASK_ID: &str = "task.id";
const STOP_HANGS: &str = "stop.hangs";
const TASK_STOP_HANGS: &str = "task.stop.hangs";
const TASKS_FILE: &str = "tasks.file";
const TASKS_FILE_CONTENT: &str = "tasks.file.content";
const EMIT_TOPIC: &str = "emit.topic";
const EMIT_PARTITION: &str = "emit.partition";
const EMIT_COUNT: &str = "emit.count";
/// How often the connector looks at `tasks.file` (its own business, like a connector watching
/// an external system; tests wait for the outcome, not for this).
const TASKS_FILE_POLL: Duration = Duration::from_millis(100);

/// The test plugins.
pub fn plugins() -> Vec<ConnectorPlugin> {
    vec![
        ConnectorPlugin {
            class: "org.sluice.testkit.BlockingSourceConnector",
            task_class: "org.sluice.testkit.IdleSourceTask",
            kind: ConnectorKind::Source,
            version: "test",
            config_def: ConfigDef::new,
            new_connector: || Box::new(Blocking),
            new_task: TaskFactory::Source(|| Box::<IdleTask>::default()),
            shares_thread: false,
        },
        ConnectorPlugin {
            class: "org.sluice.testkit.TestSourceConnector",
            task_class: "org.sluice.testkit.IdleSourceTask",
            kind: ConnectorKind::Source,
            version: "test",
            config_def: test_source_def,
            new_connector: || Box::new(TestSource::default()),
            new_task: TaskFactory::Source(|| Box::<IdleTask>::default()),
            shares_thread: false,
        },
    ]
}

fn test_source_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(STARTS_FILE, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .doc("File that gets a line per connector and task start."),
        )
        .define(
            ConfigKey::new(FAIL_TASKS, ConfigType::List)
                .default_value("")
                .importance(Importance::Low)
                .doc("Ids of tasks that fail at start."),
        )
        .define(
            ConfigKey::new(STOP_HANGS, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Low)
                .doc("Whether the connector's stop() never returns."),
        )
        .define(
            ConfigKey::new(TASK_STOP_HANGS, ConfigType::Boolean)
                .default_value("false")
                .importance(Importance::Low)
                .doc("Whether the tasks' stop() never returns."),
        )
        .define(
            ConfigKey::new(TASKS_FILE, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .doc("File holding the number of tasks; a change makes the connector request a task reconfiguration."),
        )
        .define(
            ConfigKey::new(EMIT_TOPIC, ConfigType::String)
                .default_null()
                .importance(Importance::Low)
                .doc("Topic each task sends emit.count records to."),
        )
        .define(
            ConfigKey::new(EMIT_PARTITION, ConfigType::Int)
                .default_null()
                .importance(Importance::Low)
                .doc("Partition of those records (the partitioner's choice when unset)."),
        )
        .define(
            ConfigKey::new(EMIT_COUNT, ConfigType::Int)
                .default_value("1")
                .importance(Importance::Low)
                .doc("How many records each task sends to emit.topic."),
        )
        .define(
            ConfigKey::new("secret.password", ConfigType::Password)
                .default_null()
                .importance(Importance::Low)
                .doc("A password, to check masking."),
        )
}

fn note_start(file: Option<&String>, what: &str) {
    if let Some(f) = file {
        use std::io::Write;
        if let Ok(mut out) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(f)
        {
            // One write per line: `writeln!` may write the text and the newline separately,
            // and two tasks starting at once then interleave ("task-0task-1\n\n").
            let _ = out.write_all(format!("{what}\n").as_bytes());
        }
    }
}

struct Blocking;

#[async_trait]
impl Connector for Blocking {
    async fn start(&mut self, _: &RawConfig, _: Arc<dyn ConnectorContext>) -> Result<()> {
        futures::future::pending::<()>().await;
        Ok(())
    }
    async fn task_configs(&mut self, _: usize) -> Result<Vec<RawConfig>> {
        Ok(Vec::new())
    }
    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }
}

#[derive(Default)]
struct TestSource {
    config: RawConfig,
    /// Stops the `tasks.file` watcher when the connector stops or is dropped.
    watcher: Option<tokio_util::sync::DropGuard>,
}

fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

/// Calls `request_task_reconfiguration` each time the file's content changes.
async fn watch_tasks_file(
    path: String,
    mut last: Option<String>,
    context: Arc<dyn ConnectorContext>,
    cancel: tokio_util::sync::CancellationToken,
) {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return,
            _ = tokio::time::sleep(TASKS_FILE_POLL) => {}
        }
        let now = tokio::fs::read_to_string(&path)
            .await
            .ok()
            .map(|s| s.trim().to_string());
        if now != last {
            last = now;
            context.request_task_reconfiguration();
        }
    }
}

#[async_trait]
impl Connector for TestSource {
    async fn start(
        &mut self,
        config: &RawConfig,
        context: Arc<dyn ConnectorContext>,
    ) -> Result<()> {
        self.config = config.clone();
        note_start(config.get(STARTS_FILE), "connector");
        if let Some(path) = config.get(TASKS_FILE) {
            let cancel = tokio_util::sync::CancellationToken::new();
            tokio::spawn(watch_tasks_file(
                path.clone(),
                read_trimmed(path),
                context,
                cancel.clone(),
            ));
            self.watcher = Some(cancel.drop_guard());
        }
        Ok(())
    }
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        let content = self.config.get(TASKS_FILE).map(|f| read_trimmed(f));
        let count = match &content {
            None => max_tasks,
            Some(c) => c
                .as_deref()
                .and_then(|c| c.parse::<usize>().ok())
                .unwrap_or(1)
                .min(max_tasks),
        };
        Ok((0..count)
            .map(|i| {
                let mut c = self.config.clone();
                c.insert(TASK_ID.into(), i.to_string());
                if let Some(content) = &content {
                    c.insert(
                        TASKS_FILE_CONTENT.into(),
                        content.clone().unwrap_or_default(),
                    );
                }
                c
            })
            .collect())
    }
    async fn stop(&mut self) -> Result<()> {
        self.watcher = None;
        if self
            .config
            .get(STOP_HANGS)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"))
        {
            futures::future::pending::<()>().await;
        }
        Ok(())
    }
}

#[derive(Default)]
struct IdleTask {
    stop_hangs: bool,
    /// Records still to send: topic, partition, how many, how many sent.
    emit: Option<(String, Option<i32>, u64, u64)>,
}

#[async_trait]
impl SourceTask for IdleTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let id = context.configs.get(TASK_ID).cloned().unwrap_or_default();
        self.stop_hangs = context
            .configs
            .get(TASK_STOP_HANGS)
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        note_start(context.configs.get(STARTS_FILE), &format!("task-{id}"));
        if let Some(topic) = context.configs.get(EMIT_TOPIC) {
            let number = |key: &str| context.configs.get(key).and_then(|v| v.trim().parse().ok());
            self.emit = Some((
                topic.clone(),
                number(EMIT_PARTITION).map(|p: i64| p as i32),
                number(EMIT_COUNT).unwrap_or(1).max(0) as u64,
                0,
            ));
        }
        let failing = parse_list(context.configs.get(FAIL_TASKS).map_or("", |s| s));
        if failing.contains(&id) {
            return Err(ConnectError::fatal(format!(
                "Test task {id} fails at start as configured ({FAIL_TASKS})"
            )));
        }
        Ok(())
    }
    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        if let Some((topic, partition, count, sent)) = self.emit.as_mut() {
            if *sent < *count {
                let source_partition = Arc::new(sluice_api::offset_map![(
                    "emit".into(),
                    sluice_api::data::Value::from(topic.as_str())
                )]);
                let records = (*sent..*count)
                    .map(|i| {
                        let offset = sluice_api::offset_map![(
                            "sent".into(),
                            sluice_api::data::Value::Int64(i as i64 + 1)
                        )];
                        let mut r = SourceRecord::new(
                            source_partition.clone(),
                            offset,
                            topic.as_str(),
                            None,
                            sluice_api::data::Value::from(i.to_string()),
                        );
                        r.record.kafka_partition = *partition;
                        r
                    })
                    .collect();
                *sent = *count;
                return Ok(records);
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        Ok(Vec::new())
    }
    async fn stop(&mut self) -> Result<()> {
        if self.stop_hangs {
            futures::future::pending::<()>().await;
        }
        Ok(())
    }
}
