//! Output of `sluice ctl`: aligned tables, pretty JSON, and YAML (a small emitter over JSON
//! values: strings that YAML would read as something else are double-quoted, which is valid
//! YAML because JSON strings are).

use serde_json::Value;

/// `-o`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Yaml,
}

/// Columns left-aligned, separated by three spaces, no trailing blanks.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let line = |cells: Vec<&str>| {
        let mut s = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                s.push_str("   ");
            }
            s.push_str(c);
            let pad = widths[i].saturating_sub(c.chars().count());
            s.extend(std::iter::repeat_n(' ', pad));
        }
        s.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for r in rows {
        out.push_str(&line(r.iter().map(String::as_str).collect()));
    }
    out
}

pub fn json(v: &Value) -> String {
    serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()) + "\n"
}

fn yaml_scalar(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => {
            let plain = !s.is_empty()
                && s.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._/-".contains(c))
                && !s.starts_with(['-', '.'])
                && s.parse::<f64>().is_err()
                && !matches!(
                    s.to_ascii_lowercase().as_str(),
                    "true" | "false" | "yes" | "no" | "on" | "off" | "null" | "y" | "n" | "~"
                );
            if plain {
                s.clone()
            } else {
                Value::String(s.clone()).to_string()
            }
        }
        Value::Array(_) | Value::Object(_) => unreachable_scalar(v),
    }
}

fn unreachable_scalar(v: &Value) -> String {
    // Only called for empty collections (see `yaml_into`).
    match v {
        Value::Array(_) => "[]".into(),
        _ => "{}".into(),
    }
}

fn is_empty_collection(v: &Value) -> bool {
    match v {
        Value::Array(a) => a.is_empty(),
        Value::Object(o) => o.is_empty(),
        _ => false,
    }
}

fn yaml_into(out: &mut String, v: &Value, indent: usize) {
    let pad = " ".repeat(indent);
    match v {
        Value::Object(o) if !o.is_empty() => {
            for (k, val) in o {
                let key = yaml_scalar(&Value::String(k.clone()));
                match val {
                    Value::Object(_) | Value::Array(_) if !is_empty_collection(val) => {
                        out.push_str(&format!("{pad}{key}:\n"));
                        yaml_into(out, val, indent + 2);
                    }
                    _ => out.push_str(&format!("{pad}{key}: {}\n", scalar_or_empty(val))),
                }
            }
        }
        Value::Array(a) if !a.is_empty() => {
            for item in a {
                match item {
                    Value::Object(_) | Value::Array(_) if !is_empty_collection(item) => {
                        let mut inner = String::new();
                        yaml_into(&mut inner, item, indent + 2);
                        // The first line of the item goes after the dash.
                        let inner = inner.trim_start_matches(' ');
                        out.push_str(&format!("{pad}- {inner}"));
                    }
                    _ => out.push_str(&format!("{pad}- {}\n", scalar_or_empty(item))),
                }
            }
        }
        other => out.push_str(&format!("{pad}{}\n", scalar_or_empty(other))),
    }
}

fn scalar_or_empty(v: &Value) -> String {
    if is_empty_collection(v) {
        unreachable_scalar(v)
    } else {
        yaml_scalar(v)
    }
}

pub fn yaml(v: &Value) -> String {
    let mut out = String::new();
    yaml_into(&mut out, v, 0);
    out
}

/// `v` as JSON or YAML; `table` falls back to JSON for documents without a table form.
pub fn document(v: &Value, format: Format) -> String {
    match format {
        Format::Yaml => yaml(v),
        Format::Json | Format::Table => json(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let t = table(
            &["NAME", "TYPE"],
            &[
                vec!["a-long-name".into(), "source".into()],
                vec!["b".into(), "sink".into()],
            ],
        );
        assert_eq!(
            t,
            "NAME          TYPE\na-long-name   source\nb             sink\n"
        );
    }

    #[test]
    fn yaml_quotes_what_would_change_meaning() {
        let v = serde_json::json!({
            "name": "src",
            "config": {"tasks.max": "1", "file": "/tmp/a b.txt", "flag": "true"},
            "tasks": [{"id": 0, "state": "RUNNING"}],
            "topics": []
        });
        assert_eq!(
            yaml(&v),
            "name: src\nconfig:\n  tasks.max: \"1\"\n  file: \"/tmp/a b.txt\"\n  flag: \"true\"\ntasks:\n  - id: 0\n    state: RUNNING\ntopics: []\n"
        );
    }
}
