//! Writing properties the way `Properties.store(Writer, ..)` escapes them, so files Sluice
//! persists look like files Java writes and read back unchanged.

use crate::Properties;

/// Writes one `key=value` line per entry, in order, with `\n` line ends and no header.
///
/// Escaping follows `Properties.store(Writer, ..)`: `\`, `=`, `:`, `#`, `!`, tab, newline,
/// carriage return and form feed everywhere; spaces everywhere in keys and at the start
/// of values. Other characters are written as they are (the output is UTF-8 text), except
/// U+FEFF, written as `\uFEFF` so it cannot be mistaken for a byte order mark.
/// `parse(&to_string(&p)) == p` for every `p`.
pub fn to_string(props: &Properties) -> String {
    let mut out = String::new();
    for (key, value) in props.iter() {
        escape_into(&mut out, key, true);
        out.push('=');
        escape_into(&mut out, value, false);
        out.push('\n');
    }
    out
}

fn escape_into(out: &mut String, text: &str, is_key: bool) {
    for (i, c) in text.chars().enumerate() {
        match c {
            ' ' => {
                // A value's inner spaces are safe: only leading whitespace is skipped.
                if is_key || i == 0 {
                    out.push('\\');
                }
                out.push(' ');
            }
            '\\' | '=' | ':' | '#' | '!' => {
                out.push('\\');
                out.push(c);
            }
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\x0c' => out.push_str("\\f"),
            '\u{FEFF}' => out.push_str("\\uFEFF"),
            _ => out.push(c),
        }
    }
}
