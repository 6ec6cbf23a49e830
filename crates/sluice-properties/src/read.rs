//! A port of JDK 17 `java.util.Properties`: `LineReader.readLine`, `load0` and
//! `loadConvert`. The structure follows the JDK's on purpose, odd corners included (for
//! example a line holding only `\` at the very end of the input is an empty key), so the
//! two can be compared line by line.

use std::iter::Peekable;
use std::str::Chars;

use crate::{Entry, Properties, SyntaxProblem};

/// A problem and the 1-based line it is on; the caller adds the file name.
pub(crate) type ParseError = (usize, SyntaxProblem);

pub(crate) fn parse(text: &str) -> Result<Properties, ParseError> {
    // Java's Reader would hand the BOM over as a character of the first key; Sluice reads
    // the file as UTF-8, where the BOM is only an encoding signature.
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut reader = LineReader::new(text);
    let mut entries = Vec::new();
    while reader.read_line() {
        let (key_end, value_start) = split(&reader.buf);
        let key = unescape(&reader.buf[..key_end], &reader.lines[..key_end])?;
        let value = unescape(&reader.buf[value_start..], &reader.lines[value_start..])?;
        entries.push(Entry {
            key,
            value,
            line: reader.start,
        });
    }
    Ok(Properties { entries })
}

/// Java's whitespace for properties files: no newline, no other Unicode spaces.
fn is_blank(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\x0c')
}

/// Joins natural lines into logical lines, dropping comments, blank lines, leading
/// whitespace and continuation backslashes. Escapes are left for [`unescape`].
struct LineReader<'a> {
    chars: Peekable<Chars<'a>>,
    /// Natural line of the next character.
    line: usize,
    /// The current logical line, and the natural line of each of its characters.
    buf: Vec<char>,
    lines: Vec<usize>,
    /// Natural line where the current logical line starts.
    start: usize,
}

impl<'a> LineReader<'a> {
    fn new(text: &'a str) -> Self {
        LineReader {
            chars: text.chars().peekable(),
            line: 1,
            buf: Vec::new(),
            lines: Vec::new(),
            start: 1,
        }
    }

    fn next_char(&mut self) -> Option<(char, usize)> {
        let c = self.chars.next()?;
        let line = self.line;
        // \r\n counts once, on its \n.
        if c == '\n' || (c == '\r' && self.chars.peek() != Some(&'\n')) {
            self.line += 1;
        }
        Some((c, line))
    }

    fn push(&mut self, c: char, line: usize) {
        if self.buf.is_empty() {
            self.start = line;
        }
        self.buf.push(c);
        self.lines.push(line);
    }

    fn pop(&mut self) {
        self.buf.pop();
        self.lines.pop();
    }

    /// Reads the next logical line into `buf`; `false` at the end of the input.
    fn read_line(&mut self) -> bool {
        self.buf.clear();
        self.lines.clear();
        let mut skip_white_space = true;
        let mut appended_line_begin = false;
        let mut preceding_backslash = false;
        loop {
            let Some((c, line)) = self.next_char() else {
                if self.buf.is_empty() {
                    return false;
                }
                if preceding_backslash {
                    self.pop();
                }
                return true;
            };

            if skip_white_space {
                if is_blank(c) {
                    continue;
                }
                // A continuation followed by an empty line ends the logical line.
                if !appended_line_begin && (c == '\r' || c == '\n') {
                    continue;
                }
                skip_white_space = false;
                appended_line_begin = false;
            }

            // The JDK tests "nothing collected yet", not "first character of a natural
            // line": a comment character after a continued lone `\` starts a comment too.
            if self.buf.is_empty() && (c == '#' || c == '!') {
                loop {
                    match self.next_char() {
                        None => return false,
                        Some(('\r' | '\n', _)) => break,
                        Some(_) => {}
                    }
                }
                skip_white_space = true;
                continue;
            }

            if c != '\n' && c != '\r' {
                self.push(c, line);
                preceding_backslash = c == '\\' && !preceding_backslash;
                continue;
            }

            // End of a natural line.
            if self.buf.is_empty() {
                skip_white_space = true;
                continue;
            }
            if self.chars.peek().is_none() {
                if preceding_backslash {
                    self.pop();
                }
                return true;
            }
            if !preceding_backslash {
                return true;
            }
            // Continuation: drop the backslash and the next line's leading whitespace.
            self.pop();
            skip_white_space = true;
            appended_line_begin = true;
            preceding_backslash = false;
            if c == '\r' && self.chars.peek() == Some(&'\n') {
                self.next_char();
            }
        }
    }
}

/// Finds where the key ends and the value starts in a logical line (`load0`).
fn split(buf: &[char]) -> (usize, usize) {
    let limit = buf.len();
    let mut key_len = 0;
    let mut value_start = limit;
    let mut has_sep = false;
    let mut preceding_backslash = false;
    while key_len < limit {
        let c = buf[key_len];
        if (c == '=' || c == ':') && !preceding_backslash {
            value_start = key_len + 1;
            has_sep = true;
            break;
        }
        if is_blank(c) && !preceding_backslash {
            value_start = key_len + 1;
            break;
        }
        preceding_backslash = c == '\\' && !preceding_backslash;
        key_len += 1;
    }
    // Skip whitespace, and one `=` or `:` if the key ended at whitespace.
    while value_start < limit {
        let c = buf[value_start];
        if !is_blank(c) {
            if !has_sep && (c == '=' || c == ':') {
                has_sep = true;
            } else {
                break;
            }
        }
        value_start += 1;
    }
    (key_len, value_start)
}

/// Resolves escapes (`loadConvert`). Works in UTF-16 code units, as Java does, so that a
/// surrogate pair written as two `\u` escapes becomes one character.
fn unescape(chars: &[char], lines: &[usize]) -> Result<String, ParseError> {
    if !chars.contains(&'\\') {
        return Ok(chars.iter().collect());
    }
    let mut units: Vec<u16> = Vec::with_capacity(chars.len());
    // (index in `units`, line) of every surrogate that came from a `\u` escape: only those
    // can end up unpaired, and the error should point at the right line.
    let mut escaped_surrogates: Vec<(usize, usize)> = Vec::new();
    let mut encoded = [0u16; 2];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let line = lines.get(i).copied().unwrap_or_default();
        i += 1;
        let c = if c == '\\' {
            // The line reader never leaves an odd backslash at the end of a key or value;
            // should one get here anyway, it stands for itself.
            let Some(&escaped) = chars.get(i) else {
                units.push(u16::from(b'\\'));
                break;
            };
            i += 1;
            match escaped {
                'u' => {
                    let unit = chars
                        .get(i..i + 4)
                        .and_then(|hex| {
                            hex.iter().try_fold(0u16, |acc, h| {
                                h.to_digit(16).map(|d| (acc << 4) | d as u16)
                            })
                        })
                        .ok_or((line, SyntaxProblem::MalformedUnicodeEscape))?;
                    i += 4;
                    if (0xD800..=0xDFFF).contains(&unit) {
                        escaped_surrogates.push((units.len(), line));
                    }
                    units.push(unit);
                    continue;
                }
                't' => '\t',
                'r' => '\r',
                'n' => '\n',
                'f' => '\x0c',
                other => other,
            }
        } else {
            c
        };
        units.extend_from_slice(c.encode_utf16(&mut encoded));
    }
    String::from_utf16(&units).map_err(|_| unpaired(&units, &escaped_surrogates))
}

fn unpaired(units: &[u16], escaped: &[(usize, usize)]) -> ParseError {
    let is_high = |u: u16| (0xD800..=0xDBFF).contains(&u);
    let is_low = |u: u16| (0xDC00..=0xDFFF).contains(&u);
    let mut i = 0;
    while i < units.len() {
        let u = units[i];
        if is_high(u) && units.get(i + 1).is_some_and(|&n| is_low(n)) {
            i += 2;
            continue;
        }
        if is_high(u) || is_low(u) {
            let line = escaped
                .iter()
                .find(|(at, _)| *at == i)
                .map(|&(_, line)| line)
                .unwrap_or_default();
            return (line, SyntaxProblem::UnpairedSurrogate { unit: u });
        }
        i += 1;
    }
    // from_utf16 failed, so the loop found the culprit; keep a sane answer regardless.
    let line = escaped.first().map(|&(_, line)| line).unwrap_or_default();
    (line, SyntaxProblem::UnpairedSurrogate { unit: 0xD800 })
}
