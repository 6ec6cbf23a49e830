//! Standalone mode keeps connectors created or changed over REST in a JSON file next to the
//! offsets file (`<offset.storage.file.filename>.connectors.json`), so they survive a restart
//! (Kafka's standalone worker forgets them). Written crash-safely: temp file, fsync, rename.
//!
//! Format: `{"connectors": {"<name>": {"config": {...}, "state": "STARTED|PAUSED|STOPPED"}}}`.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value as Json};
use sluice_api::config::RawConfig;

use crate::task::TargetState;

/// Problems with the connectors file.
#[derive(Debug, thiserror::Error)]
pub enum PersistError {
    #[error("Could not read the connectors file {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("The connectors file {path} is not valid: {reason}. Fix or remove it.")]
    Format { path: PathBuf, reason: String },
    #[error("Could not write the connectors file {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The connectors file that belongs to an offsets file.
pub fn path_for_offsets(offsets: &Path) -> PathBuf {
    let mut p = offsets.as_os_str().to_owned();
    p.push(".connectors.json");
    PathBuf::from(p)
}

/// Reads the connectors file; a missing file is an empty list.
pub fn load(path: &Path) -> Result<Vec<(String, RawConfig, TargetState)>, PersistError> {
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(source) => {
            return Err(PersistError::Read {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    let format = |reason: String| PersistError::Format {
        path: path.to_path_buf(),
        reason,
    };
    let doc: Json = serde_json::from_slice(&bytes).map_err(|e| format(e.to_string()))?;
    let Some(connectors) = doc.get("connectors").and_then(Json::as_object) else {
        return Err(format("no \"connectors\" object".into()));
    };
    let mut out = Vec::new();
    for (name, c) in connectors {
        let config: RawConfig = c
            .get("config")
            .and_then(Json::as_object)
            .ok_or_else(|| format(format!("connector {name} has no \"config\" object")))?
            .iter()
            .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_string())))
            .collect();
        let state = match c.get("state").and_then(Json::as_str) {
            Some("PAUSED") => TargetState::Paused,
            Some("STOPPED") => TargetState::Stopped,
            _ => TargetState::Started,
        };
        out.push((name.clone(), config, state));
    }
    Ok(out)
}

/// Replaces the connectors file with `connectors`.
pub async fn save(
    path: &Path,
    connectors: &[(String, RawConfig, TargetState)],
) -> Result<(), PersistError> {
    let mut all = Map::new();
    for (name, config, state) in connectors {
        let mut c = Map::new();
        c.insert(
            "config".into(),
            Json::Object(
                config
                    .iter()
                    .map(|(k, v)| (k.clone(), Json::from(v.as_str())))
                    .collect(),
            ),
        );
        c.insert("state".into(), Json::from(state.name()));
        all.insert(name.clone(), Json::Object(c));
    }
    let mut doc = Map::new();
    doc.insert("connectors".into(), Json::Object(all));
    let bytes = serde_json::to_vec_pretty(&Json::Object(doc)).unwrap_or_default();
    let path = path.to_path_buf();
    let p2 = path.clone();
    tokio::task::spawn_blocking(move || write_atomically(&p2, &bytes))
        .await
        .map_err(|e| PersistError::Write {
            path,
            source: std::io::Error::other(e.to_string()),
        })?
}

fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), PersistError> {
    use std::io::Write;
    let err = |source| PersistError::Write {
        path: path.to_path_buf(),
        source,
    };
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(".tmp");
    let tmp = PathBuf::from(tmp);
    // Connector configs hold passwords and JAAS configs: only the worker's user may read them.
    // A leftover temp file would keep its old mode, so it goes first.
    let _ = std::fs::remove_file(&tmp);
    let mut f = {
        let mut o = std::fs::OpenOptions::new();
        o.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut o, 0o600);
        o.open(&tmp).map_err(err)?
    };
    f.write_all(bytes).map_err(err)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[cfg(unix)]
    #[tokio::test]
    async fn the_file_is_readable_by_its_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.json");
        std::fs::write(&path, "{}").unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let mut config = RawConfig::new();
        config.insert(
            "connection.password".into(),
            "${file:/s.properties:pw}".into(),
        );
        save(&path, &[("a".into(), config, TargetState::Started)])
            .await
            .unwrap();
        let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.contains("${file:/s.properties:pw}"), "{text}");
    }

    #[tokio::test]
    async fn round_trip_and_missing_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = path_for_offsets(&dir.path().join("connect.offsets"));
        assert!(load(&path).unwrap().is_empty());
        let mut config = RawConfig::new();
        config.insert("connector.class".into(), "FileStreamSource".into());
        let all = vec![("a".to_string(), config, TargetState::Stopped)];
        save(&path, &all).await.unwrap();
        assert_eq!(load(&path).unwrap(), all);
        std::fs::write(&path, b"{").unwrap();
        assert!(load(&path)
            .unwrap_err()
            .to_string()
            .contains("Fix or remove it"));
    }
}
