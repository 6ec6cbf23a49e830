//! `org.apache.kafka.connect.file.FileStreamSinkConnector` and its task: each record value is
//! written with Java's `toString()` followed by a newline, appended to the file (or stdout).

use std::collections::HashMap;
use std::io::Write as _;
use std::sync::Arc;

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SinkTask, SinkTaskContext,
    TaskFactory,
};
use sluice_api::data::Value;
use sluice_api::record::{SinkRecord, TopicPartition};
use sluice_api::{async_trait, ConnectError, Result};
use tokio::io::AsyncWriteExt;

pub const CLASS: &str = "org.apache.kafka.connect.file.FileStreamSinkConnector";
pub const TASK_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSinkTask";
pub const FILE_CONFIG: &str = "file";

/// The connector's own keys (the runtime adds `topics`/`topics.regex`).
pub fn config_def() -> ConfigDef {
    ConfigDef::new().define(
        ConfigKey::new(FILE_CONFIG, ConfigType::String)
            .default_null()
            .importance(Importance::High)
            .doc("Destination filename. If not specified, the standard output will be used"),
    )
}

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Sink,
        version: crate::VERSION,
        config_def,
        new_connector: || Box::new(FileStreamSinkConnector::default()),
        new_task: TaskFactory::Sink(|| Box::new(FileStreamSinkTask::default())),
        shares_thread: true,
    }
}

#[derive(Default)]
pub struct FileStreamSinkConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for FileStreamSinkConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        config_def()
            .parse(config)
            .map_err(|e| ConnectError::config(e.to_string()))?;
        self.props = config
            .get(FILE_CONFIG)
            .map(|f| RawConfig::from([(FILE_CONFIG.to_string(), f.clone())]))
            .unwrap_or_default();
        Ok(())
    }

    /// `tasks.max` identical tasks writing to the same file, as Kafka does.
    async fn task_configs(&mut self, max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok(vec![self.props.clone(); max_tasks.max(1)])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }

    fn alter_offsets(
        &self,
        _config: &RawConfig,
        _offsets: &[(
            sluice_api::record::OffsetMap,
            Option<sluice_api::record::OffsetMap>,
        )],
    ) -> Result<bool> {
        // Nothing is kept outside the consumer group offsets.
        Ok(true)
    }
}

/// Where the lines go.
enum Out {
    /// Written in place, as Kafka's task does: a task runs on a thread of its own (see the
    /// runtime's `task::spawn`), so a slow disk holds up this task only. Handing each put to
    /// the blocking pool (`tokio::fs`) cost a thread hand-off and a copy of the batch per put,
    /// which showed in sink profiles as context switches.
    File(std::fs::File),
    Stdout(tokio::io::Stdout),
}

/// Appends record values to a file.
#[derive(Default)]
pub struct FileStreamSinkTask {
    filename: Option<String>,
    out: Option<Out>,
    line: Vec<u8>,
}

impl FileStreamSinkTask {
    fn describe(&self) -> String {
        self.filename
            .clone()
            .unwrap_or_else(|| "stdout".to_string())
    }
}

/// Flushes what the output buffers (a file written in place buffers nothing).
async fn flush(out: &mut Out) -> std::io::Result<()> {
    match out {
        Out::File(file) => file.flush(),
        Out::Stdout(stdout) => stdout.flush().await,
    }
}

/// Writes `value` as Java's `String.valueOf(value)` into `out`.
fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::String(s) => out.extend_from_slice(s.as_bytes()),
        other => out.extend_from_slice(other.to_string().as_bytes()),
    }
}

#[async_trait]
impl SinkTask for FileStreamSinkTask {
    async fn start(&mut self, context: Arc<dyn SinkTaskContext>) -> Result<()> {
        self.filename = context.configs().get(FILE_CONFIG).cloned();
        let out = match &self.filename {
            None => Out::Stdout(tokio::io::stdout()),
            Some(name) => {
                let path = name.clone();
                let opened = tokio::task::spawn_blocking(move || {
                    std::fs::OpenOptions::new()
                        .create(true)
                        .append(true)
                        .open(path)
                })
                .await
                .map_err(|e| {
                    ConnectError::fatal(format!("Opening file {name} was interrupted: {e}"))
                })?;
                let file = opened.map_err(|e| {
                    ConnectError::fatal(format!(
                        "Couldn't find or create file '{name}' for FileStreamSinkTask: {e}"
                    ))
                    .with_source(e)
                })?;
                Out::File(file)
            }
        };
        self.out = Some(out);
        Ok(())
    }

    async fn put(&mut self, records: &[SinkRecord]) -> Result<()> {
        self.line.clear();
        for r in records {
            write_value(&mut self.line, &r.record.value);
            self.line.push(b'\n');
        }
        let target = self.describe();
        let out = self
            .out
            .as_mut()
            .ok_or_else(|| ConnectError::illegal_state("FileStreamSinkTask is not started"))?;
        // Each put is one write of whole lines, so a crash does not leave a partial line.
        let written = match out {
            Out::File(file) => file.write_all(&self.line),
            Out::Stdout(stdout) => stdout.write_all(&self.line).await,
        };
        written.map_err(|e| {
            ConnectError::fatal(format!("Error writing to {target}: {e}")).with_source(e)
        })
    }

    async fn flush(&mut self, _offsets: &HashMap<TopicPartition, i64>) -> Result<()> {
        let target = self.describe();
        if let Some(out) = self.out.as_mut() {
            flush(out).await.map_err(|e| {
                ConnectError::fatal(format!("Error flushing {target}: {e}")).with_source(e)
            })?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(mut out) = self.out.take() {
            flush(&mut out).await.map_err(|e| {
                ConnectError::fatal(format!("Error flushing {}: {e}", self.describe()))
                    .with_source(e)
            })?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::{schemas, SchemaBuilder, Struct};
    use sluice_api::record::ConnectRecord;
    struct Ctx(RawConfig);
    impl SinkTaskContext for Ctx {
        fn configs(&self) -> &RawConfig {
            &self.0
        }
        fn offset(&self, _o: &HashMap<TopicPartition, i64>) {}
        fn timeout(&self, _m: u64) {}
        fn assignment(&self) -> Vec<TopicPartition> {
            Vec::new()
        }
        fn pause(&self, _p: &[TopicPartition]) {}
        fn resume(&self, _p: &[TopicPartition]) {}
        fn request_commit(&self) {}
        fn report_errant(&self, _r: &SinkRecord, _e: sluice_api::ConnectError) {}
    }

    fn rec(value: Value) -> SinkRecord {
        SinkRecord {
            record: ConnectRecord {
                value,
                ..ConnectRecord::default()
            },
            ..SinkRecord::default()
        }
    }

    #[tokio::test]
    async fn appends_java_strings() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.txt");
        std::fs::write(&path, "existing\n").unwrap();
        let mut t = FileStreamSinkTask::default();
        let cfg = RawConfig::from([("file".to_string(), path.display().to_string())]);
        t.start(Arc::new(Ctx(cfg))).await.unwrap();
        let schema = SchemaBuilder::structure()
            .field("a", schemas::int32())
            .unwrap()
            .build();
        let mut s = Struct::new(schema);
        s.put("a", Value::Int32(1)).unwrap();
        t.put(&[
            rec(Value::from("中文 line")),
            rec(Value::Null),
            rec(Value::Int64(42)),
            rec(Value::Struct(s)),
        ])
        .await
        .unwrap();
        t.flush(&HashMap::new()).await.unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "existing\n中文 line\nnull\n42\nStruct{a=1}\n"
        );
        t.stop().await.unwrap();
    }
}
