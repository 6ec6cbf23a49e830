//! Source offset storage: the bytes Kafka Connect writes (see [`codec`]) kept in a store.
//!
//! Standalone mode keeps them in `offset.storage.file.filename` in Java's own format (a
//! serialized `HashMap<byte[], byte[]>`, see [`java_map`]), so a worker can take over the
//! offsets file of a Java worker and the other way round. Every save writes a temporary file,
//! fsyncs it and renames it over the old one: a kill -9 leaves either the old or the new file.
//! Distributed mode keeps the same bytes in `offset.storage.topic` (`Backend::Kafka`): a save
//! returns once the broker acknowledged every entry, a `None` value is written as a tombstone.

pub mod codec;
pub mod java_map;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use sluice_api::connector::OffsetStorageReader;
use sluice_api::record::OffsetMap;

/// Offset store errors.
#[derive(Debug, thiserror::Error)]
pub enum OffsetStoreError {
    #[error("Could not read the offsets file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("The offsets file {path} is not a Kafka Connect offsets file: {reason}")]
    Format { path: PathBuf, reason: String },
    #[error("Could not write the offsets file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("Could not read or write the offsets topic {topic}: {source}")]
    Topic {
        topic: String,
        #[source]
        source: Box<sluice_kafka::KafkaError>,
    },
}

/// Where offsets are kept besides memory.
#[derive(Debug)]
enum Backend {
    Memory,
    /// Standalone: `offset.storage.file.filename`, Java's format.
    File(PathBuf),
    /// Distributed: `offset.storage.topic`, read to its end at start and before tasks start.
    Kafka(sluice_kafka::log::KafkaBasedLog),
}

type Entries = HashMap<Vec<u8>, Option<Vec<u8>>>;

/// Key/value offsets kept in memory and, for standalone mode, in a file.
#[derive(Debug)]
pub struct OffsetStore {
    backend: Backend,
    data: Mutex<Entries>,
    /// Serializes saves so an older snapshot never overwrites a newer one.
    save_lock: tokio::sync::Mutex<()>,
}

impl OffsetStore {
    /// A store that lives in memory only.
    pub fn memory() -> Self {
        OffsetStore {
            backend: Backend::Memory,
            data: Mutex::new(HashMap::new()),
            save_lock: tokio::sync::Mutex::new(()),
        }
    }

    /// Opens (or starts) the offsets file.
    pub fn open_file(path: &Path) -> Result<Self, OffsetStoreError> {
        let data = match std::fs::read(path) {
            Ok(bytes) => java_map::decode(&bytes)
                .map_err(|e| OffsetStoreError::Format {
                    path: path.to_path_buf(),
                    reason: e.to_string(),
                })?
                .into_iter()
                .collect(),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => HashMap::new(),
            Err(e) => {
                return Err(OffsetStoreError::Read {
                    path: path.to_path_buf(),
                    source: e,
                })
            }
        };
        Ok(OffsetStore {
            backend: Backend::File(path.to_path_buf()),
            data: Mutex::new(data),
            save_lock: tokio::sync::Mutex::new(()),
        })
    }

    /// Opens the offsets topic and reads it to its end.
    pub async fn open_topic(
        log: sluice_kafka::log::KafkaBasedLog,
    ) -> Result<Self, OffsetStoreError> {
        let store = OffsetStore {
            backend: Backend::Kafka(log),
            data: Mutex::new(HashMap::new()),
            save_lock: tokio::sync::Mutex::new(()),
        };
        store.refresh().await?;
        Ok(store)
    }

    /// Reads what other workers wrote since the last read (Kafka backend; no-op otherwise).
    pub async fn refresh(&self) -> Result<(), OffsetStoreError> {
        let Backend::Kafka(log) = &self.backend else {
            return Ok(());
        };
        let records = log
            .read_to_end(std::time::Duration::from_secs(60))
            .await
            .map_err(|source| OffsetStoreError::Topic {
                topic: log.topic().to_string(),
                source: Box::new(source),
            })?;
        let mut data = self.lock();
        for r in records {
            if let Some(k) = r.key {
                data.insert(k, r.value);
            }
        }
        Ok(())
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Entries> {
        // A poisoned lock only means another thread panicked mid-update of a plain map.
        self.data.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The stored value for exact key bytes.
    pub fn get(&self, key: &[u8]) -> Option<Vec<u8>> {
        self.lock().get(key).cloned().flatten()
    }

    /// Every (partition, offset) stored for `connector`; a reset partition has `None`.
    pub fn connector_offsets(&self, connector: &str) -> Vec<(OffsetMap, Option<OffsetMap>)> {
        let data = self.lock();
        let mut out: Vec<(OffsetMap, Option<OffsetMap>)> = data
            .iter()
            .filter_map(|(k, v)| {
                let (c, partition) = codec::decode_key(k)?;
                (c == connector).then(|| (partition, v.as_deref().and_then(codec::decode_offset)))
            })
            .collect();
        out.sort_by(|a, b| format!("{:?}", a.0).cmp(&format!("{:?}", b.0)));
        out
    }

    /// Applies `entries` (a `None` value resets the partition) and saves them durably.
    pub async fn set(
        &self,
        entries: Vec<(Vec<u8>, Option<Vec<u8>>)>,
    ) -> Result<(), OffsetStoreError> {
        let _guard = self.save_lock.lock().await;
        if let Backend::Kafka(log) = &self.backend {
            // Every entry acknowledged by the broker before the offsets count as committed.
            for (k, v) in &entries {
                log.send(k, v.as_deref())
                    .await
                    .map_err(|source| OffsetStoreError::Topic {
                        topic: log.topic().to_string(),
                        source: Box::new(source),
                    })?;
            }
            let mut data = self.lock();
            for (k, v) in entries {
                data.insert(k, v);
            }
            return Ok(());
        }
        let snapshot: Vec<(Vec<u8>, Option<Vec<u8>>)> = {
            let mut data = self.lock();
            for (k, v) in entries {
                data.insert(k, v);
            }
            data.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
        };
        let Backend::File(path) = &self.backend else {
            return Ok(());
        };
        let path = path.clone();
        tokio::task::spawn_blocking(move || save(&path, &snapshot))
            .await
            .map_err(|e| OffsetStoreError::Write {
                path: match &self.backend {
                    Backend::File(p) => p.clone(),
                    _ => PathBuf::new(),
                },
                source: std::io::Error::other(e.to_string()),
            })?
    }
}

fn save(path: &Path, entries: &[(Vec<u8>, Option<Vec<u8>>)]) -> Result<(), OffsetStoreError> {
    use std::io::Write;
    let err = |source| OffsetStoreError::Write {
        path: path.to_path_buf(),
        source,
    };
    let bytes = java_map::encode(entries);
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    let mut f = std::fs::File::create(&tmp).map_err(err)?;
    f.write_all(&bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(err)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = std::fs::File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// A connector's view of the store (`OffsetStorageReader`).
#[derive(Clone, Debug)]
pub struct ConnectorOffsets {
    pub connector: String,
    pub store: Arc<OffsetStore>,
}

impl OffsetStorageReader for ConnectorOffsets {
    fn offset(&self, partition: &OffsetMap) -> Option<OffsetMap> {
        let key = codec::encode_key(&self.connector, partition).ok()?;
        if let Some(v) = self.store.get(&key) {
            return codec::decode_offset(&v);
        }
        // Keys written by other writers may differ in map order: compare parsed keys.
        self.store
            .connector_offsets(&self.connector)
            .into_iter()
            .find(|(p, _)| same_map(p, partition))
            .and_then(|(_, o)| o)
    }
}

fn same_map(a: &OffsetMap, b: &OffsetMap) -> bool {
    a.len() == b.len()
        && a.iter().all(|(k, v)| {
            b.iter().any(|(k2, v2)| {
                k == k2 && (v == v2 || (v.as_i64().is_some() && v.as_i64() == v2.as_i64()))
            })
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use sluice_api::data::Value;

    #[tokio::test]
    async fn survives_reopen_and_reads_logically() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("connect.offsets");
        let store = OffsetStore::open_file(&path).unwrap();
        let p = sluice_api::offset_map![("filename".into(), Value::from("/x"))];
        let key = codec::encode_key("c", &p).unwrap();
        store
            .set(vec![(key, Some(br#"{"position":5}"#.to_vec()))])
            .await
            .unwrap();
        let reopened = Arc::new(OffsetStore::open_file(&path).unwrap());
        let reader = ConnectorOffsets {
            connector: "c".into(),
            store: reopened.clone(),
        };
        assert_eq!(
            reader.offset(&p),
            Some(sluice_api::offset_map![(
                "position".into(),
                Value::Int64(5)
            )])
        );
        assert_eq!(reopened.connector_offsets("c").len(), 1);
        assert!(reopened.connector_offsets("other").is_empty());
    }

    #[test]
    fn garbage_file_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad.offsets");
        std::fs::write(&path, b"not java").unwrap();
        let e = OffsetStore::open_file(&path).unwrap_err().to_string();
        assert!(e.contains("is not a Kafka Connect offsets file"), "{e}");
    }
}
