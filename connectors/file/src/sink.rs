//! `org.apache.kafka.connect.file.FileStreamSinkConnector` and its task: each record value is
//! written with Java's `toString()` followed by a newline, appended to the file (or stdout).

use std::collections::HashMap;
use std::sync::Arc;

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SinkTask, SinkTaskContext,
    TaskFactory,
};
use sluice_api::data::Value;
use sluice_api::record::{SinkRecord, TopicPartition};
use sluice_api::{async_trait, ConnectError, Result};
use tokio::io::{AsyncWrite, AsyncWriteExt};

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

/// Appends record values to a file.
#[derive(Default)]
pub struct FileStreamSinkTask {
    filename: Option<String>,
    out: Option<Box<dyn AsyncWrite + Send + Unpin>>,
    line: Vec<u8>,
}

impl FileStreamSinkTask {
    fn describe(&self) -> String {
        self.filename
            .clone()
            .unwrap_or_else(|| "stdout".to_string())
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
        let out: Box<dyn AsyncWrite + Send + Unpin> = match &self.filename {
            None => Box::new(tokio::io::stdout()),
            Some(name) => {
                let file = tokio::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(name)
                    .await
                    .map_err(|e| {
                        ConnectError::fatal(format!(
                            "Couldn't find or create file '{name}' for FileStreamSinkTask: {e}"
                        ))
                        .with_source(e)
                    })?;
                // Unbuffered, and tokio may not split a put into several writes (its default
                // splits at 2 MiB): each put is one write(2) of whole lines, so a crash does
                // not leave a partial line in the file.
                let mut file = file;
                file.set_max_buf_size(usize::MAX);
                Box::new(file)
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
        out.write_all(&self.line).await.map_err(|e| {
            ConnectError::fatal(format!("Error writing to {target}: {e}")).with_source(e)
        })
    }

    async fn flush(&mut self, _offsets: &HashMap<TopicPartition, i64>) -> Result<()> {
        let target = self.describe();
        if let Some(out) = self.out.as_mut() {
            out.flush().await.map_err(|e| {
                ConnectError::fatal(format!("Error flushing {target}: {e}")).with_source(e)
            })?;
        }
        Ok(())
    }

    async fn stop(&mut self) -> Result<()> {
        if let Some(mut out) = self.out.take() {
            out.flush().await.map_err(|e| {
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
