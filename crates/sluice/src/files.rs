//! Reading worker and connector files, reporting every problem with the file it is in.

use std::path::Path;

use sluice_api::config::RawConfig;
use sluice_runtime::config::providers::Providers;

/// Reads a `.properties` file, or a `.json` connector file (KIP-980: `{"name":…,"config":{…}}`
/// or a flat object).
pub fn read_config(path: &Path) -> Result<RawConfig, String> {
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    if !is_json {
        return sluice_properties::load(path)
            .map(|p| p.to_map())
            .map_err(|e| e.to_string());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("Could not read {}: {e}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{}: not valid JSON: {e}", path.display()))?;
    let (name, obj) = match &json {
        serde_json::Value::Object(o) => match (o.get("name"), o.get("config")) {
            (Some(serde_json::Value::String(n)), Some(serde_json::Value::Object(c))) => {
                (Some(n.clone()), c.clone())
            }
            _ => (None, o.clone()),
        },
        _ => {
            return Err(format!(
                "{}: a connector JSON file must hold an object",
                path.display()
            ))
        }
    };
    let mut out = RawConfig::new();
    for (k, v) in obj {
        let v = match v {
            serde_json::Value::String(s) => s,
            serde_json::Value::Null => continue,
            other => other.to_string(),
        };
        out.insert(k, v);
    }
    if let Some(n) = name {
        out.entry("name".into()).or_insert(n);
    }
    Ok(out)
}

/// A worker file as both modes load it: read, `--listeners` applied, the JAAS file named in
/// `KAFKA_OPTS` (`-Djava.security.auth.login.config=`) taken when the file names none, and
/// `${provider:path:key}` references resolved with the file's own `config.providers` (Kafka's
/// WorkerConfig). Problems are added to `problems`; the raw config is returned as far as it
/// could be resolved, with the providers (connector configs resolve through them later).
pub fn load_worker(
    worker_file: &Path,
    listeners_override: Option<&str>,
    problems: &mut Vec<String>,
) -> Result<(RawConfig, Providers), String> {
    use sluice_runtime::config::worker;
    let mut raw = read_config(worker_file)?;
    if let Some(l) = listeners_override {
        raw.insert(worker::LISTENERS.to_string(), l.to_string());
    }
    if !raw.contains_key(worker::JAAS_LOGIN_CONFIG) {
        if let Some(file) = std::env::var("KAFKA_OPTS")
            .ok()
            .and_then(|o| worker::jaas_file_from_jvm_opts(&o))
        {
            tracing::info!(file = %file, "Using the JAAS login configuration named by -Djava.security.auth.login.config in KAFKA_OPTS.");
            raw.insert(worker::JAAS_LOGIN_CONFIG.to_string(), file);
        }
    }
    let providers = match Providers::from_worker(&raw) {
        Ok(p) => p,
        Err(errs) => {
            for e in errs {
                problems.push(format!("{}: {e}", worker_file.display()));
            }
            Providers::default()
        }
    };
    let resolved = match providers.resolve(&raw) {
        Ok(r) => r,
        Err(errs) => {
            for e in errs {
                problems.push(format!("{}: {e}", worker_file.display()));
            }
            raw
        }
    };
    Ok((resolved, providers))
}
