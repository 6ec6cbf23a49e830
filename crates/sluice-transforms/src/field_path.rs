//! Field paths of KIP-821 (`SingleFieldPath`, `FieldSyntaxVersion`): `V1` names a top-level
//! field verbatim; `V2` walks nested structs and maps with dots, back-ticks quoting names that
//! contain dots.

use sluice_api::config::{ConfigKey, ConfigType, Importance};
use sluice_api::data::{Field, Schema, SchemaType, Struct, Value};
use sluice_api::{ConnectError, Result};

use crate::util::{field_value, map_get, MapEntries};

pub(crate) const FIELD_SYNTAX_VERSION: &str = "field.syntax.version";

/// `FieldSyntaxVersion.appendConfigTo`.
pub(crate) fn syntax_version_key() -> ConfigKey {
    ConfigKey::new(FIELD_SYNTAX_VERSION, ConfigType::String)
        .default_value("V1")
        .validator(sluice_api::config::Validator::OneOfIgnoreCase(vec!["V1", "V2"]))
        .importance(Importance::High)
        .doc("Defines the version of the syntax to access fields. If set to `V1`, then the field paths are limited to access the elements at the root level of the struct or map. If set to `V2`, the syntax will support accessing nested elements. To access nested elements, dotted notation is used. If dots are already included in the field name, then backtick pairs can be used to wrap field names containing dots. E.g. to access the subfield `baz` from a field named \"foo.bar\" in a struct/map the following format can be used to access its elements: \"`foo.bar`.baz\".")
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum SyntaxVersion {
    V1,
    V2,
}

impl SyntaxVersion {
    pub(crate) fn from_config(name: &str) -> Result<Self> {
        match name.to_ascii_uppercase().as_str() {
            "V1" => Ok(SyntaxVersion::V1),
            "V2" => Ok(SyntaxVersion::V2),
            _ => Err(crate::util::invalid_config(
                FIELD_SYNTAX_VERSION,
                name,
                "Unrecognized field syntax version",
            )),
        }
    }
}

/// A path to one field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct SingleFieldPath {
    steps: Vec<String>,
}

const BACKTICK: char = '`';
const DOT: char = '.';
const BACKSLASH: char = '\\';

impl SingleFieldPath {
    pub(crate) fn new(path: &str, version: SyntaxVersion) -> Result<Self> {
        let steps = match version {
            SyntaxVersion::V1 => vec![path.to_string()],
            SyntaxVersion::V2 => build_v2(path)?,
        };
        Ok(SingleFieldPath { steps })
    }

    fn split(&self) -> (&[String], &str) {
        match self.steps.split_last() {
            Some((last, init)) => (init, last.as_str()),
            None => (&[], ""),
        }
    }

    /// The field's definition in `schema`, if every step exists.
    pub(crate) fn field_from<'a>(&self, schema: &'a Schema) -> Result<Option<&'a Field>> {
        let (init, last) = self.split();
        let mut current = schema;
        for step in init {
            match lookup(current, step)? {
                Some(f) => current = &f.schema,
                None => return Ok(None),
            }
        }
        lookup(current, last)
    }

    /// The value at the path in a struct; null when any step is missing.
    pub(crate) fn value_from_struct(&self, s: &Struct, with_default: bool) -> Value {
        let (init, last) = self.split();
        let mut current = s;
        for step in init {
            if current.schema().field(step).is_none() {
                return Value::Null;
            }
            match current.get(step) {
                Some(Value::Struct(next)) => current = next,
                _ => return Value::Null,
            }
        }
        if current.schema().field(last).is_none() {
            return Value::Null;
        }
        field_value(current, last, with_default)
    }

    /// The value at the path in a map; null when any step is missing or not a map.
    pub(crate) fn value_from_map(&self, m: &MapEntries) -> Value {
        let (init, last) = self.split();
        let mut current = m;
        for step in init {
            match map_get(current, step) {
                Some(Value::Map(next)) => current = next,
                _ => return Value::Null,
            }
        }
        map_get(current, last).cloned().unwrap_or(Value::Null)
    }
}

/// `Schema.field(name)`, which refuses non-struct schemas.
fn lookup<'a>(schema: &'a Schema, name: &str) -> Result<Option<&'a Field>> {
    if schema.schema_type != SchemaType::Struct {
        return Err(ConnectError::data(
            "Cannot look up fields on non-struct type",
        ));
    }
    Ok(schema.field(name))
}

fn incomplete_backtick(path: &str, at: usize) -> ConnectError {
    ConnectError::config(format!(
        "Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it"
    ))
}

/// `SingleFieldPath.buildFieldPathV2`, over chars (Java indexes UTF-16 units; positions in
/// messages count chars here).
fn build_v2(path: &str) -> Result<Vec<String>> {
    let chars: Vec<char> = path.chars().collect();
    let find = |c: char, from: usize| {
        chars
            .iter()
            .skip(from)
            .position(|x| *x == c)
            .map(|p| p + from)
    };
    let slice = |a: usize, b: usize| chars[a..b].iter().collect::<String>();
    let mut steps = Vec::new();
    let mut idx = 0usize;
    while idx < chars.len() {
        if chars[idx] != BACKTICK {
            let start = idx;
            match find(DOT, idx) {
                Some(dot) => {
                    steps.push(slice(start, dot));
                    idx = dot + 1;
                }
                None => {
                    steps.push(slice(start, chars.len()));
                    idx = chars.len();
                }
            }
        } else {
            let backtick_at = idx;
            idx += 1;
            let mut field = String::new();
            let mut start = idx;
            loop {
                let Some(found) = find(BACKTICK, idx) else {
                    return Err(incomplete_backtick(path, backtick_at));
                };
                idx = found;
                let escaped = idx > 0 && chars[idx - 1] == BACKSLASH;
                if idx + 1 >= chars.len() {
                    if escaped {
                        return Err(incomplete_backtick(path, backtick_at));
                    }
                    field.push_str(&slice(start, idx));
                    steps.push(field);
                    idx += 1;
                    break;
                }
                if chars[idx + 1] != DOT {
                    idx += 1;
                    continue;
                }
                if escaped {
                    field.push_str(&slice(start, idx - 1));
                    field.push(BACKTICK);
                    idx += 1;
                    start = idx;
                    continue;
                }
                field.push_str(&slice(start, idx));
                steps.push(field);
                idx += 2;
                break;
            }
        }
    }
    if chars.last() == Some(&DOT) {
        steps.push(String::new());
    }
    Ok(steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn steps(path: &str) -> Vec<String> {
        SingleFieldPath::new(path, SyntaxVersion::V2).unwrap().steps
    }

    #[test]
    fn v2_parsing() {
        let cases: &[(&str, &[&str])] = &[
            ("foo", &["foo"]),
            ("foo.bar", &["foo", "bar"]),
            ("foo.bar.baz", &["foo", "bar", "baz"]),
            ("`foo.bar`", &["foo.bar"]),
            ("`foo.bar`.baz", &["foo.bar", "baz"]),
            ("foo.`bar.baz`", &["foo", "bar.baz"]),
            ("`foo`bar`.baz", &["foo`bar", "baz"]),
            ("`foo\\`.bar`.baz", &["foo`.bar", "baz"]),
            ("foo.", &["foo", ""]),
            (".foo", &["", "foo"]),
            ("", &[]),
        ];
        for (path, want) in cases {
            assert_eq!(
                steps(path),
                want.iter().map(|s| s.to_string()).collect::<Vec<_>>(),
                "{path}"
            );
        }
        assert_eq!(
            SingleFieldPath::new("a.b", SyntaxVersion::V1)
                .unwrap()
                .steps,
            vec!["a.b"]
        );
    }

    #[test]
    fn v2_incomplete_backticks() {
        for (path, at) in [("`foo", 0), ("foo.`bar", 4), ("`foo\\`", 0)] {
            let e = SingleFieldPath::new(path, SyntaxVersion::V2).unwrap_err();
            assert_eq!(
                e.message(),
                format!("Incomplete backtick pair in path: [{path}], consider adding a backslash before backtick at position {at} to escape it")
            );
        }
    }
}
