//! Reading worker and connector files, reporting every problem with the file it is in.

use std::path::Path;

use sluice_api::config::RawConfig;

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
