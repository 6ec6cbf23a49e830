//! `org.apache.kafka.connect.file.FileStreamSourceConnector` and its task.
//!
//! One record per line, value schema STRING, no key. Source partition
//! `{"filename": <file>}`, offset `{"position": <byte offset after the line>}`. The task
//! follows a file that grows and never emits a partial last line.

use std::sync::Arc;
use std::time::Duration;

use sluice_api::config::{ConfigDef, ConfigKey, ConfigType, Importance, RawConfig, Validator};
use sluice_api::connector::{
    Connector, ConnectorContext, ConnectorKind, ConnectorPlugin, SourceTask, SourceTaskContext,
    TaskFactory,
};
use sluice_api::data::{schemas, SchemaRef, Value};
use sluice_api::record::{OffsetMap, SourceRecord, Topic};
use sluice_api::{async_trait, offset_map, ConnectError, Result};
use tokio::io::AsyncReadExt;

pub const CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceConnector";
pub const TASK_CLASS: &str = "org.apache.kafka.connect.file.FileStreamSourceTask";
pub const FILE_CONFIG: &str = "file";
pub const TOPIC_CONFIG: &str = "topic";
pub const BATCH_SIZE_CONFIG: &str = "batch.size";
pub const DEFAULT_BATCH_SIZE: i32 = 2000;
pub const FILENAME_FIELD: &str = "filename";
pub const POSITION_FIELD: &str = "position";

/// Largest read: large reads keep per-line overhead low.
const READ_CHUNK: usize = 256 * 1024;
/// First read, and the read size again after the end of the file: the size doubles while
/// reads fill it, up to [`READ_CHUNK`]. A source idle at the end of its file then holds two
/// small buffers instead of two of 264 KiB (a worker runs hundreds of sources;
/// docs/performance.md, "Scale").
const MIN_READ: usize = 16 * 1024;
/// Room left at the front of each file read for the partial line the previous read ended with,
/// so that joining the two copies that line only (longer leftovers are joined by copying).
const HEADROOM: usize = 8 * 1024;
/// Records a poll allocates room for up front (`batch.size` may be set much larger).
const MAX_PREALLOCATED: usize = 4096;
/// Longest wait between checks for new data at the end of the file.
const MAX_IDLE_WAIT: Duration = Duration::from_millis(500);
const MIN_IDLE_WAIT: Duration = Duration::from_millis(10);

/// The connector's keys, as Kafka defines them.
pub fn config_def() -> ConfigDef {
    ConfigDef::new()
        .define(
            ConfigKey::new(FILE_CONFIG, ConfigType::String)
                .default_null()
                .importance(Importance::High)
                .doc("Source filename. If not specified, the standard input will be used"),
        )
        .define(
            ConfigKey::new(TOPIC_CONFIG, ConfigType::String)
                .validator(Validator::NonEmptyString)
                .importance(Importance::High)
                .doc("The topic to publish data to"),
        )
        .define(
            ConfigKey::new(BATCH_SIZE_CONFIG, ConfigType::Int)
                .default_value(DEFAULT_BATCH_SIZE.to_string())
                .importance(Importance::Low)
                .doc("The maximum number of records the source task can read from the file each time it is polled"),
        )
}

pub fn plugin() -> ConnectorPlugin {
    ConnectorPlugin {
        class: CLASS,
        task_class: TASK_CLASS,
        kind: ConnectorKind::Source,
        version: crate::VERSION,
        config_def,
        new_connector: || Box::new(FileStreamSourceConnector::default()),
        new_task: TaskFactory::Source(|| Box::new(FileStreamSourceTask::default())),
        shares_thread: true,
    }
}

/// The source partition of a file.
pub fn partition_of(filename: Option<&str>) -> OffsetMap {
    offset_map![(
        FILENAME_FIELD.into(),
        filename.map_or(Value::Null, Value::from),
    )]
}

#[derive(Default)]
pub struct FileStreamSourceConnector {
    props: RawConfig,
}

#[async_trait]
impl Connector for FileStreamSourceConnector {
    async fn start(&mut self, config: &RawConfig, _ctx: Arc<dyn ConnectorContext>) -> Result<()> {
        let parsed = config_def()
            .parse(config)
            .map_err(|e| ConnectError::config(e.to_string()))?;
        let mut props = RawConfig::new();
        if let Some(f) = parsed.string(FILE_CONFIG) {
            props.insert(FILE_CONFIG.into(), f.to_string());
        }
        if let Some(t) = parsed.string(TOPIC_CONFIG) {
            props.insert(TOPIC_CONFIG.into(), t.to_string());
        }
        props.insert(
            BATCH_SIZE_CONFIG.into(),
            parsed
                .int(BATCH_SIZE_CONFIG)
                .unwrap_or(DEFAULT_BATCH_SIZE)
                .to_string(),
        );
        self.props = props;
        Ok(())
    }

    /// Always one task, whatever `tasks.max` says: a file is read by one reader.
    async fn task_configs(&mut self, _max_tasks: usize) -> Result<Vec<RawConfig>> {
        Ok(vec![self.props.clone()])
    }

    async fn stop(&mut self) -> Result<()> {
        Ok(())
    }

    fn alter_offsets(
        &self,
        _config: &RawConfig,
        offsets: &[(OffsetMap, Option<OffsetMap>)],
    ) -> Result<bool> {
        for (partition, offset) in offsets {
            let Some(offset) = offset else { continue };
            if !partition.iter().any(|(k, _)| k == FILENAME_FIELD) {
                return Err(ConnectError::config(format!(
                    "Partition objects should contain the key '{FILENAME_FIELD}'"
                )));
            }
            match offset.iter().find(|(k, _)| k == POSITION_FIELD) {
                Some((_, v)) => match v.as_i64() {
                    Some(p) if p >= 0 => {}
                    Some(_) => {
                        return Err(ConnectError::config(
                            "The value for the 'position' key in the offset should be a non-negative value",
                        ))
                    }
                    None => {
                        return Err(ConnectError::config(
                            "The value for the 'position' key in the offset is expected to be a Long value",
                        ))
                    }
                },
                None => {
                    return Err(ConnectError::config(format!(
                        "Offset objects should either be null or contain the key '{POSITION_FIELD}'"
                    )))
                }
            }
        }
        // Offsets live only in the framework's store: nothing external to change.
        Ok(true)
    }
}

/// What a finished file read hands back: the file, the chunk buffer with the bytes read, and
/// how many.
type ReadDone = (std::fs::File, Vec<u8>, std::io::Result<usize>);

/// Reads up to `size` bytes of `file` into `chunk`, after [`HEADROOM`] bytes.
fn read_chunk(
    file: &mut std::fs::File,
    mut chunk: Vec<u8>,
    size: usize,
) -> (Vec<u8>, std::io::Result<usize>) {
    chunk.clear();
    chunk.reserve(HEADROOM + size);
    chunk.resize(HEADROOM, 0);
    // Reads into the spare capacity after the headroom, without initialising it first.
    let read = std::io::Read::read_to_end(
        &mut std::io::Read::take(&mut *file, size as u64),
        &mut chunk,
    );
    (chunk, read)
}

/// Whether a regular file has nothing past its read position (an `fstat` and an `lseek`: an
/// idle source's look at its file touches no buffer). `false` when that cannot be told (not a
/// regular file, an error): the file is then read to find out.
fn nothing_new(file: &mut std::fs::File) -> bool {
    use std::io::Seek;
    let Ok(meta) = file.metadata() else {
        return false;
    };
    meta.is_file() && file.stream_position().is_ok_and(|at| meta.len() <= at)
}

/// Where lines come from.
enum Input {
    /// A file is read on the blocking pool, in large chunks (`tokio::fs` reads into a buffer
    /// of its own and copies from it: one more copy of the whole file, and it showed in
    /// profiles).
    Idle(std::fs::File),
    /// A file read in flight, owning the file and the chunk buffer until it completes. It is
    /// kept here so that a poll dropped mid-read (the runtime stops a task that way) loses
    /// nothing: the next read waits for it first. A poll that returns lines starts the next
    /// read before returning (read-ahead): it runs while the runtime sends the batch, and
    /// the next poll finds it done instead of parking the task on it (a wake-up from the
    /// blocking pool per chunk, which showed as context switches in profiles).
    Reading(tokio::task::JoinHandle<ReadDone>),
    Stdin(tokio::io::Stdin),
}

/// Reads lines from a file or stdin.
pub struct FileStreamSourceTask {
    filename: Option<String>,
    /// Shared by every record (a reference count per record, not a copy).
    topic: Topic,
    batch_size: usize,
    schema: SchemaRef,
    input: Option<Input>,
    /// Bytes read; `buffer[start..]` are not emitted yet.
    buffer: Vec<u8>,
    /// How many bytes at the front of `buffer` were emitted already (they are dropped when
    /// the next read replaces the buffer, not moved out one poll at a time).
    start: usize,
    /// The buffer a file read fills, after [`HEADROOM`] bytes; it becomes `buffer` when the
    /// read completes, and the old buffer becomes the next chunk, so their memory is reused.
    chunk: Vec<u8>,
    /// How much the next file read asks for (see [`MIN_READ`]).
    read_size: usize,
    /// Byte offset in the file of `buffer[start]`.
    position: u64,
    /// The source partition, shared by every record.
    partition: Arc<OffsetMap>,
    idle_wait: Duration,
    /// A `\r` ended the previous line: skip a `\n` that may follow in the next read.
    skip_lf: bool,
    offsets: Option<SourceTaskContext>,
}

impl Default for FileStreamSourceTask {
    fn default() -> Self {
        FileStreamSourceTask {
            filename: None,
            topic: Topic::default(),
            batch_size: DEFAULT_BATCH_SIZE as usize,
            schema: schemas::string(),
            input: None,
            buffer: Vec::new(),
            start: 0,
            chunk: Vec::new(),
            read_size: MIN_READ,
            position: 0,
            partition: Arc::new(partition_of(None)),
            idle_wait: MIN_IDLE_WAIT,
            skip_lf: false,
            offsets: None,
        }
    }
}

impl FileStreamSourceTask {
    fn describe(&self) -> String {
        self.filename.clone().unwrap_or_else(|| "stdin".to_string())
    }

    /// Opens the file at the committed position. `Ok(false)` if it does not exist yet.
    async fn open(&mut self) -> Result<bool> {
        let Some(name) = self.filename.clone() else {
            self.input = Some(Input::Stdin(tokio::io::stdin()));
            return Ok(true);
        };
        let opened = {
            let path = name.clone();
            tokio::task::spawn_blocking(move || std::fs::File::open(path))
                .await
                .map_err(|e| {
                    ConnectError::fatal(format!("Opening file {name} was interrupted: {e}"))
                })?
        };
        let mut file = match opened {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::warn!(file = %name, "Couldn't find file for FileStreamSourceTask, waiting for it to be created.");
                return Ok(false);
            }
            Err(e) => {
                return Err(ConnectError::fatal(format!(
                    "Error while trying to open file {name}: {e}"
                ))
                .with_source(e))
            }
        };
        let committed = self
            .offsets
            .as_ref()
            .and_then(|ctx| ctx.offsets.offset(&partition_of(Some(&name))))
            .and_then(|o| {
                o.iter()
                    .find(|(k, _)| k == POSITION_FIELD)
                    .and_then(|(_, v)| v.as_i64())
            });
        if let Some(pos) = committed {
            let pos = u64::try_from(pos).map_err(|_| {
                ConnectError::data(format!(
                    "Offset position is the incorrect type: {pos} is negative"
                ))
            })?;
            tracing::debug!(file = %name, position = pos, "Found previous offset, seeking.");
            std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(pos)).map_err(|e| {
                ConnectError::fatal(format!(
                    "Error while trying to seek to offset {pos} in {name}: {e}"
                ))
                .with_source(e)
            })?;
            self.position = pos;
        } else {
            self.position = 0;
        }
        self.input = Some(Input::Idle(file));
        Ok(true)
    }

    /// Starts reading the next chunk of a file on the blocking pool, unless a read is in
    /// flight already (or the input is stdin).
    fn start_read(&mut self) {
        if !matches!(self.input, Some(Input::Idle(_))) {
            return;
        }
        let Some(Input::Idle(mut file)) = self.input.take() else {
            return;
        };
        let chunk = std::mem::take(&mut self.chunk);
        let size = self.read_size;
        self.input = Some(Input::Reading(tokio::task::spawn_blocking(move || {
            let (chunk, read) = read_chunk(&mut file, chunk, size);
            (file, chunk, read)
        })));
    }

    /// Reads the next chunk of a file here, on the task's thread, if it is idle: for a file
    /// that was at its end at the last look. Such a read returns at once (nothing, or what
    /// was appended since, from the page cache), and an idle source then holds no
    /// blocking-pool thread (a worker runs hundreds of them; a pool thread lives on for ten
    /// seconds after each use, and the idle look comes every half second). `None` when the
    /// input is not an idle file.
    fn read_in_place(&mut self) -> Option<std::io::Result<usize>> {
        let Some(Input::Idle(file)) = self.input.as_mut() else {
            return None;
        };
        if nothing_new(file) {
            self.release_buffers();
            return Some(Ok(0));
        }
        let chunk = std::mem::take(&mut self.chunk);
        let (chunk, read) = read_chunk(file, chunk, self.read_size);
        self.join(chunk);
        self.adapt(&read);
        Some(read)
    }

    /// An idle source at the end of its file holds no buffer: both are given back (unless
    /// `buffer` holds a partial line), and the next read that finds bytes allocates again.
    fn release_buffers(&mut self) {
        if self.start >= self.buffer.len() {
            self.buffer = Vec::new();
            self.start = 0;
        }
        self.chunk = Vec::new();
        self.read_size = MIN_READ;
    }

    /// Appends the next chunk of input to the buffer; `Ok(0)` at the end of the input for now.
    /// Cancel safe: the buffer grows only when a read completes, and a file read in flight is
    /// kept (see [`Input::Reading`]).
    async fn read_more(&mut self) -> std::io::Result<usize> {
        if let Some(Input::Stdin(stdin)) = self.input.as_mut() {
            // tokio keeps an interrupted read's bytes for the next call.
            self.buffer.drain(..self.start);
            self.start = 0;
            if self.buffer.capacity() - self.buffer.len() < READ_CHUNK / 4 {
                self.buffer.reserve(READ_CHUNK);
            }
            return stdin.read_buf(&mut self.buffer).await;
        }
        loop {
            // A read in flight now is a read-ahead, started by an earlier poll: the file may
            // have grown since it ran.
            let ahead = matches!(self.input, Some(Input::Reading(_)));
            if !ahead && self.idle_wait > MIN_IDLE_WAIT {
                if let Some(read) = self.read_in_place() {
                    return read;
                }
            }
            self.start_read();
            let Some(Input::Reading(pending)) = self.input.as_mut() else {
                return Ok(0);
            };
            let done = pending.await;
            let (file, chunk, read) = match done {
                Ok(done) => done,
                Err(e) => {
                    self.input = None;
                    return Err(std::io::Error::other(format!(
                        "the read was interrupted: {e}"
                    )));
                }
            };
            self.input = Some(Input::Idle(file));
            self.join(chunk);
            self.adapt(&read);
            match read {
                // A read-ahead that found the end of the file: read again now, so bytes
                // appended since are not left for a later poll.
                Ok(0) if ahead => continue,
                other => return other,
            }
        }
    }

    /// Sizes the next read after this one: twice as large when it was filled, the smallest
    /// at the end of the file, where large buffers are given back (the two buffers take
    /// turns, so both are small after two reads at the end).
    fn adapt(&mut self, read: &std::io::Result<usize>) {
        match read {
            Ok(n) if *n >= self.read_size => {
                self.read_size = (self.read_size * 2).min(READ_CHUNK);
            }
            Ok(0) => {
                self.read_size = MIN_READ;
                if self.chunk.capacity() > HEADROOM + MIN_READ {
                    self.chunk = Vec::new();
                }
            }
            _ => {}
        }
    }

    /// Makes a completed read (`chunk`: [`HEADROOM`] bytes, then what was read) the buffer,
    /// after the bytes not emitted yet. Those are a partial line at most, usually, and go into
    /// the headroom: the bytes read are not copied.
    fn join(&mut self, mut chunk: Vec<u8>) {
        let leftover = &self.buffer[self.start..];
        if leftover.len() <= HEADROOM {
            let at = HEADROOM - leftover.len();
            if let Some(room) = chunk.get_mut(at..HEADROOM) {
                room.copy_from_slice(leftover);
                self.start = at;
                self.chunk = std::mem::replace(&mut self.buffer, chunk);
                return;
            }
        }
        self.buffer.drain(..self.start);
        self.start = 0;
        self.buffer
            .extend_from_slice(chunk.get(HEADROOM..).unwrap_or_default());
        self.chunk = chunk;
    }

    /// Moves complete lines from `buffer[start..]` into `records`; returns how many bytes were
    /// used.
    fn extract_lines(&mut self, records: &mut Vec<SourceRecord>) -> usize {
        let mut start = 0usize;
        let buf = &self.buffer[self.start..];
        if self.skip_lf && !buf.is_empty() {
            if buf[0] == b'\n' {
                start = 1;
            }
            self.skip_lf = false;
        }
        let mut i = start;
        while records.len() < self.batch_size {
            let Some(rel) = memchr::memchr2(b'\n', b'\r', &buf[i..]) else {
                break;
            };
            let end = i + rel;
            let mut next = end + 1;
            if buf[end] == b'\r' {
                if next < buf.len() {
                    if buf[next] == b'\n' {
                        next += 1;
                    }
                } else {
                    self.skip_lf = true;
                }
            }
            // Valid UTF-8 (the common case) goes through the fast validator; only invalid
            // lines take the slower lossy path (5% of a source run in profiles).
            let line = match std::str::from_utf8(&buf[i..end]) {
                Ok(s) => s.to_owned(),
                Err(_) => String::from_utf8_lossy(&buf[i..end]).into_owned(),
            };
            let position = self.position + next as u64;
            records.push(SourceRecord::new(
                self.partition.clone(),
                offset_map![(POSITION_FIELD.into(), Value::Int64(position as i64))],
                self.topic.clone(),
                Some(self.schema.clone()),
                Value::String(line),
            ));
            i = next;
        }
        i
    }
}

#[async_trait]
impl SourceTask for FileStreamSourceTask {
    async fn start(&mut self, context: SourceTaskContext) -> Result<()> {
        let parsed = config_def()
            .parse(&context.configs)
            .map_err(|e| ConnectError::config(e.to_string()))?;
        self.filename = parsed.string(FILE_CONFIG).map(str::to_string);
        self.partition = Arc::new(partition_of(self.filename.as_deref()));
        self.topic = parsed.string(TOPIC_CONFIG).unwrap_or_default().into();
        self.batch_size = parsed
            .int(BATCH_SIZE_CONFIG)
            .map_or(DEFAULT_BATCH_SIZE as usize, |b| b.max(1) as usize);
        self.offsets = Some(context);
        Ok(())
    }

    async fn poll(&mut self) -> Result<Vec<SourceRecord>> {
        let mut records = Vec::new();
        self.poll_into(&mut records).await?;
        Ok(records)
    }

    async fn poll_into(&mut self, records: &mut Vec<SourceRecord>) -> Result<()> {
        // `records` is empty at every await: lines are extracted only after the last one.
        loop {
            if self.input.is_none() && !self.open().await? {
                tokio::time::sleep(Duration::from_secs(1)).await;
                return Ok(());
            }
            // Sized once the first line is found (the runtime reuses the batch): growing a
            // vector of records copies every record moved so far.
            if records.capacity() == 0 && self.buffer[self.start..].contains(&b'\n') {
                records.reserve_exact(self.batch_size.min(MAX_PREALLOCATED));
            }
            // Lines already buffered from an earlier read come first.
            let used = self.extract_lines(records);
            self.start += used;
            self.position += used as u64;
            if !records.is_empty() {
                self.idle_wait = MIN_IDLE_WAIT;
                self.start_read();
                return Ok(());
            }
            // Cancel safety: the runtime may drop this future at any await; see `read_more`.
            let n = match self.read_more().await {
                Ok(n) => n,
                Err(e) => {
                    return Err(ConnectError::fatal(format!(
                        "Error while reading from {}: {e}",
                        self.describe()
                    ))
                    .with_source(e));
                }
            };
            if n == 0 {
                // End of file for now: wait for it to grow.
                tokio::time::sleep(self.idle_wait).await;
                self.idle_wait = (self.idle_wait * 2).min(MAX_IDLE_WAIT);
                return Ok(());
            }
        }
    }

    async fn stop(&mut self) -> Result<()> {
        self.input = None;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::connector::OffsetStorageReader;
    use std::io::Write;

    struct Offsets(Option<i64>);
    impl OffsetStorageReader for Offsets {
        fn offset(&self, _partition: &OffsetMap) -> Option<OffsetMap> {
            self.0
                .map(|p| offset_map![(POSITION_FIELD.into(), Value::Int64(p))])
        }
    }

    async fn task(
        path: &std::path::Path,
        committed: Option<i64>,
        batch: &str,
    ) -> FileStreamSourceTask {
        let mut t = FileStreamSourceTask::default();
        let mut configs = RawConfig::new();
        configs.insert("file".into(), path.display().to_string());
        configs.insert("topic".into(), "t".into());
        configs.insert("batch.size".into(), batch.into());
        t.start(SourceTaskContext {
            configs,
            offsets: Arc::new(Offsets(committed)),
        })
        .await
        .unwrap();
        t
    }

    /// A task reading `content` from a fresh file: the directory (removed when dropped), the
    /// file's path and the task.
    async fn task_over(
        content: &str,
        committed: Option<i64>,
        batch: &str,
    ) -> (tempfile::TempDir, std::path::PathBuf, FileStreamSourceTask) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.txt");
        std::fs::write(&path, content).unwrap();
        let t = task(&path, committed, batch).await;
        (dir, path, t)
    }

    /// Appends `bytes` to the file at `path`, as a writer tailing into it would.
    fn append(path: &std::path::Path, bytes: &[u8]) {
        let mut f = std::fs::OpenOptions::new().append(true).open(path).unwrap();
        f.write_all(bytes).unwrap();
    }

    fn lines(records: &[SourceRecord]) -> Vec<(String, i64)> {
        records
            .iter()
            .map(|r| {
                (
                    r.record.value.as_str().unwrap().to_string(),
                    r.source_offset[0].1.as_i64().unwrap(),
                )
            })
            .collect()
    }

    #[tokio::test]
    async fn reads_lines_with_byte_positions_and_holds_partial_line() {
        let (_dir, path, mut t) = task_over("hello\r\n中文\nend\rpartial", None, "2000").await;
        let got = lines(&t.poll().await.unwrap());
        assert_eq!(
            got,
            vec![("hello".into(), 7), ("中文".into(), 14), ("end".into(), 18),]
        );
        // The partial line stays until its newline arrives.
        assert!(t.poll().await.unwrap().is_empty());
        append(&path, b" line\n");
        let got = lines(&t.poll().await.unwrap());
        assert_eq!(got, vec![("partial line".into(), 31)]);
    }

    #[tokio::test]
    async fn a_dropped_poll_loses_and_adds_nothing() {
        let (_dir, path, mut t) = task_over("", None, "2000").await;
        // Polls at end of file, dropped at once (as the runtime does on shutdown).
        for _ in 0..10 {
            let _ = tokio::time::timeout(std::time::Duration::from_millis(1), t.poll()).await;
        }
        std::fs::write(&path, "a\nb\n").unwrap();
        let mut got = Vec::new();
        while got.len() < 2 {
            got.extend(lines(&t.poll().await.unwrap()));
        }
        assert_eq!(got, vec![("a".into(), 2), ("b".into(), 4)]);
    }

    #[tokio::test]
    async fn resumes_from_committed_position() {
        let (_dir, _path, mut t) = task_over("a\nb\nc\n", Some(2), "2000").await;
        assert_eq!(
            lines(&t.poll().await.unwrap()),
            vec![("b".into(), 4), ("c".into(), 6)]
        );
    }

    #[tokio::test]
    async fn batch_size_limits_a_poll() {
        let (_dir, _path, mut t) = task_over("1\n2\n3\n", None, "2").await;
        assert_eq!(t.poll().await.unwrap().len(), 2);
        assert_eq!(lines(&t.poll().await.unwrap()), vec![("3".into(), 6)]);
    }

    /// Lines across many reads, joined through the headroom (short partial lines) and by
    /// copying (partial lines longer than the headroom), with small batches so that polls end
    /// mid-buffer: every line comes out once, whole, with its position.
    #[tokio::test]
    async fn lines_across_reads_come_out_whole_and_in_order() {
        let mut want = Vec::new();
        let mut content = String::new();
        for i in 0..400usize {
            // Mostly short lines, every 7th longer than the headroom, one over a whole read.
            let len = match i {
                200 => READ_CHUNK + 1000,
                i if i % 7 == 0 => HEADROOM + 1 + i * 31,
                i => 50 + i * 13 % 900,
            };
            let line: String =
                std::iter::repeat_n(char::from(b'a' + (i % 26) as u8), len).collect();
            content.push_str(&line);
            content.push('\n');
            want.push((line, content.len() as i64));
        }
        let (_dir, _path, mut t) = task_over(&content, None, "3").await;
        let mut got = Vec::new();
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while got.len() < want.len() {
            assert!(
                std::time::Instant::now() < deadline,
                "only {} lines",
                got.len()
            );
            let batch = lines(&t.poll().await.unwrap());
            assert!(batch.len() <= 3);
            got.extend(batch);
        }
        assert_eq!(got.len(), want.len());
        for (i, (g, w)) in got.iter().zip(&want).enumerate() {
            assert_eq!(g, w, "line {i}");
        }
        assert!(t.poll().await.unwrap().is_empty());
    }

    /// Reads grow while they fill up, to [`READ_CHUNK`], and an idle source at the end of its
    /// file keeps only small buffers.
    #[tokio::test]
    async fn reads_grow_on_a_large_file_and_shrink_at_its_end() {
        let line = "x".repeat(999);
        let content: String = (0..2_000).map(|_| format!("{line}\n")).collect();
        let (_dir, path, mut t) = task_over(&content, None, "100000").await;
        let mut got = 0usize;
        let mut largest = 0usize;
        let deadline = std::time::Instant::now() + Duration::from_secs(60);
        while got < 2_000 {
            assert!(std::time::Instant::now() < deadline, "only {got} lines");
            got += t.poll().await.unwrap().len();
            largest = largest.max(t.read_size);
        }
        assert_eq!(got, 2_000);
        assert_eq!(largest, READ_CHUNK, "reads grew to the largest size");
        // Looks at the end of the file: both buffers (and a read-ahead's) have taken their turn.
        for _ in 0..3 {
            assert!(t.poll().await.unwrap().is_empty());
        }
        assert_eq!(t.read_size, MIN_READ);
        assert!(
            t.buffer.capacity() <= HEADROOM + MIN_READ,
            "{}",
            t.buffer.capacity()
        );
        assert!(
            t.chunk.capacity() <= HEADROOM + MIN_READ,
            "{}",
            t.chunk.capacity()
        );
        // Once it looks at its file in place (the idle wait has grown), it holds no buffer.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while t.buffer.capacity() + t.chunk.capacity() > 0 {
            assert!(
                std::time::Instant::now() < deadline,
                "buffers kept while idle"
            );
            assert!(t.poll().await.unwrap().is_empty());
        }
        // A line appended later still arrives, with its position.
        append(&path, b"tail\n");
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let batch = lines(&t.poll().await.unwrap());
            if !batch.is_empty() {
                assert_eq!(batch, vec![("tail".into(), content.len() as i64 + 5)]);
                break;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the appended line never came"
            );
        }
    }

    #[tokio::test]
    async fn crlf_split_across_reads() {
        let (_dir, path, mut t) = task_over("a\r", None, "2000").await;
        assert_eq!(lines(&t.poll().await.unwrap()), vec![("a".into(), 2)]);
        append(&path, b"\nb\n");
        assert_eq!(lines(&t.poll().await.unwrap()), vec![("b".into(), 5)]);
    }

    #[tokio::test]
    async fn a_read_ahead_that_found_the_end_does_not_hide_lines_appended_since() {
        let (_dir, path, mut t) = task_over("a\n", None, "2000").await;
        assert_eq!(lines(&t.poll().await.unwrap()), vec![("a".into(), 2)]);
        // The poll started the next read; let it find the end of the file.
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        while !matches!(&t.input, Some(Input::Reading(h)) if h.is_finished()) {
            assert!(
                std::time::Instant::now() < deadline,
                "the read-ahead never finished"
            );
            tokio::task::yield_now().await;
        }
        append(&path, b"b\n");
        assert_eq!(lines(&t.poll().await.unwrap()), vec![("b".into(), 4)]);
    }

    #[tokio::test]
    async fn missing_file_waits_and_directory_fails() {
        let dir = tempfile::tempdir().unwrap();
        let mut t = task(&dir.path().join("later.txt"), None, "10").await;
        assert!(t.poll().await.unwrap().is_empty());
        let mut t = task(dir.path(), None, "10").await;
        let err = t.poll().await.unwrap_err();
        assert!(
            err.to_string().contains("Error while reading from"),
            "{err}"
        );
    }

    #[test]
    fn config_errors_name_the_key() {
        let mut raw = RawConfig::new();
        raw.insert("batch.size".into(), "x".into());
        let e = config_def().parse(&raw).unwrap_err().to_string();
        assert!(
            e.contains("Missing required configuration \"topic\""),
            "{e}"
        );
        assert!(
            e.contains("Invalid value x for configuration batch.size"),
            "{e}"
        );
    }
}
