//! `sluice ctl` contexts: which cluster to talk to and how, kept in a JSON file laid out as
//! kcctl's `~/.kcctl` (`currentContext` plus one object per context name), with a `truststore`
//! (a PEM file of CA certificates) that kcctl lacks.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context as _};
use serde_json::{Map, Value};

/// The cluster kcctl assumes without a configuration.
pub const DEFAULT_CLUSTER: &str = "http://localhost:8083";

/// One context.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Context {
    pub cluster: String,
    pub username: Option<String>,
    pub password: Option<String>,
    /// PEM file of the CA certificates to trust for HTTPS.
    pub truststore: Option<PathBuf>,
}

impl Context {
    fn from_json(name: &str, v: &Value) -> anyhow::Result<Context> {
        let obj = v
            .as_object()
            .ok_or_else(|| anyhow!("context {name}: expected a JSON object"))?;
        let s = |k: &str| obj.get(k).and_then(Value::as_str).map(str::to_string);
        Ok(Context {
            cluster: s("cluster").unwrap_or_else(|| DEFAULT_CLUSTER.to_string()),
            username: s("username"),
            password: s("password"),
            truststore: s("truststore").map(PathBuf::from),
        })
    }

    fn to_json(&self) -> Value {
        let mut m = Map::new();
        m.insert("cluster".into(), Value::String(self.cluster.clone()));
        if let Some(u) = &self.username {
            m.insert("username".into(), Value::String(u.clone()));
        }
        if let Some(p) = &self.password {
            m.insert("password".into(), Value::String(p.clone()));
        }
        if let Some(t) = &self.truststore {
            m.insert("truststore".into(), Value::String(t.display().to_string()));
        }
        Value::Object(m)
    }
}

/// The configuration file.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Contexts {
    pub current: Option<String>,
    pub contexts: BTreeMap<String, Context>,
}

/// `--config`, else `$SLUICE_CTL_CONFIG`, else `~/.sluicectl`.
pub fn path(explicit: Option<&Path>) -> PathBuf {
    if let Some(p) = explicit {
        return p.to_path_buf();
    }
    if let Some(p) = std::env::var_os("SLUICE_CTL_CONFIG").filter(|p| !p.is_empty()) {
        return PathBuf::from(p);
    }
    let home = std::env::var_os("HOME").map_or_else(|| PathBuf::from("."), PathBuf::from);
    home.join(".sluicectl")
}

impl Contexts {
    /// Reads the file; a missing file is an empty configuration.
    pub fn load(path: &Path) -> anyhow::Result<Contexts> {
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Contexts::default()),
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        };
        let v: Value = serde_json::from_str(&text)
            .with_context(|| format!("{} is not valid JSON", path.display()))?;
        let obj = v
            .as_object()
            .ok_or_else(|| anyhow!("{}: expected a JSON object", path.display()))?;
        let mut out = Contexts::default();
        for (k, v) in obj {
            if k == "currentContext" {
                out.current = v.as_str().map(str::to_string);
            } else {
                out.contexts.insert(k.clone(), Context::from_json(k, v)?);
            }
        }
        Ok(out)
    }

    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        let mut m = Map::new();
        if let Some(c) = &self.current {
            m.insert("currentContext".into(), Value::String(c.clone()));
        }
        for (k, c) in &self.contexts {
            m.insert(k.clone(), c.to_json());
        }
        let text = serde_json::to_string_pretty(&Value::Object(m))?;
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_private(path, &(text + "\n")).with_context(|| format!("writing {}", path.display()))
    }

    /// The context to use: `name`, else the current one, else the default cluster.
    pub fn select(&self, name: Option<&str>) -> anyhow::Result<Context> {
        match name.or(self.current.as_deref()) {
            Some(n) => match self.contexts.get(n) {
                Some(c) => Ok(c.clone()),
                None => bail!(
                    "no context named {n}; known contexts: {}",
                    self.names().join(", ")
                ),
            },
            None => Ok(Context {
                cluster: DEFAULT_CLUSTER.to_string(),
                ..Context::default()
            }),
        }
    }

    pub fn names(&self) -> Vec<String> {
        self.contexts.keys().cloned().collect()
    }
}

/// Writes a file only its owner can read (it may hold a password).
fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    use std::io::Write as _;
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)?;
        f.write_all(text.as_bytes())
    }
    #[cfg(not(unix))]
    {
        std::fs::write(path, text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kcctl_layout_and_writes_it_back() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("ctl.json");
        std::fs::write(
            &p,
            r#"{"currentContext":"local","local":{"cluster":"http://localhost:8083","bootstrapServers":"x:9092","username":"u","password":"p"}}"#,
        )
        .unwrap();
        let c = Contexts::load(&p).unwrap();
        assert_eq!(c.current.as_deref(), Some("local"));
        let local = c.select(None).unwrap();
        assert_eq!(local.username.as_deref(), Some("u"));
        c.save(&p).unwrap();
        assert_eq!(Contexts::load(&p).unwrap(), c);
        assert!(c.select(Some("other")).is_err());
        assert_eq!(
            Contexts::default().select(None).unwrap().cluster,
            DEFAULT_CLUSTER
        );
    }
}
