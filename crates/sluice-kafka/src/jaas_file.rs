//! JAAS login configuration files (`-Djava.security.auth.login.config=<file>`): named sections
//! `Name { <LoginModule> <flag> <options>; ... };`. Kafka clients read the `KafkaClient`
//! section when `sasl.jaas.config` is not set; the entries of that section are handed to the
//! client mapping as if they were `sasl.jaas.config`, which checks the login module.
//!
//! Pure: the caller reads the file. Messages never contain option values (they hold passwords).

/// Why a file is not a usable JAAS login configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JaasFileError {
    #[error("it is not a JAAS login configuration file but a Java keystore ({0}); point -Djava.security.auth.login.config at a text file with a KafkaClient {{ ... }}; section")]
    Keystore(&'static str),
    #[error("it is not a text file, so not a JAAS login configuration file; point -Djava.security.auth.login.config at a text file with a KafkaClient {{ ... }}; section")]
    Binary,
    #[error("it is not a valid JAAS login configuration file: {0}")]
    Syntax(String),
    #[error("it has no {0} section (sections found: {1})")]
    NoSection(String, String),
}

/// The entries of section `name` (e.g. `KafkaClient`), comments removed, ready to be parsed as
/// `sasl.jaas.config`.
pub fn section(bytes: &[u8], name: &str) -> Result<String, JaasFileError> {
    if bytes.starts_with(&[0xFE, 0xED, 0xFE, 0xED]) {
        return Err(JaasFileError::Keystore("JKS"));
    }
    if bytes.first() == Some(&0x30) && bytes.contains(&0) {
        return Err(JaasFileError::Keystore("PKCS12"));
    }
    let text = std::str::from_utf8(bytes).map_err(|_| JaasFileError::Binary)?;
    if text.contains('\0') {
        return Err(JaasFileError::Binary);
    }
    let sections = sections(&strip_comments(text)?)?;
    let found: Vec<&str> = sections.iter().map(|(n, _)| n.as_str()).collect();
    sections
        .iter()
        .find(|(n, _)| n == name)
        .map(|(_, body)| body.trim().to_string())
        .ok_or_else(|| {
            JaasFileError::NoSection(
                name.to_string(),
                if found.is_empty() {
                    "none".to_string()
                } else {
                    found.join(", ")
                },
            )
        })
}

/// Removes `//`, `/* */` and `#` comments outside quotes. Java's parser knows only the first
/// two; `#` lines appear in vendors' examples (seed 000 has one), so they are accepted too.
fn strip_comments(text: &str) -> Result<String, JaasFileError> {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                out.push(c);
                loop {
                    match chars.next() {
                        None => {
                            return Err(JaasFileError::Syntax(format!(
                                "unterminated {c}-quoted value"
                            )))
                        }
                        Some('\\') => {
                            out.push('\\');
                            if let Some(n) = chars.next() {
                                out.push(n);
                            }
                        }
                        Some(q) if q == c => {
                            out.push(q);
                            break;
                        }
                        Some(o) => out.push(o),
                    }
                }
            }
            '#' => skip_line(&mut chars, &mut out),
            '/' if chars.peek() == Some(&'/') => skip_line(&mut chars, &mut out),
            '/' if chars.peek() == Some(&'*') => {
                chars.next();
                let mut prev = ' ';
                loop {
                    match chars.next() {
                        None => {
                            return Err(JaasFileError::Syntax("unterminated /* comment".into()))
                        }
                        Some('/') if prev == '*' => break,
                        Some(o) => prev = o,
                    }
                }
                out.push(' ');
            }
            o => out.push(o),
        }
    }
    Ok(out)
}

fn skip_line(chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String) {
    for c in chars.by_ref() {
        if c == '\n' {
            break;
        }
    }
    out.push('\n');
}

/// `Name { body };` sections of comment-free text.
fn sections(text: &str) -> Result<Vec<(String, String)>, JaasFileError> {
    let mut out = Vec::new();
    let mut rest = text.trim_start();
    while !rest.is_empty() {
        let Some(open) = rest.find('{') else {
            return Err(JaasFileError::Syntax(
                "expected a section like KafkaClient { ... };".into(),
            ));
        };
        let name = rest[..open].trim();
        if name.is_empty() || name.contains(|c: char| c.is_whitespace() || c == ';' || c == '}') {
            return Err(JaasFileError::Syntax(
                "expected a section name before '{' (like KafkaClient { ... };)".into(),
            ));
        }
        let after = &rest[open + 1..];
        let close = find_unquoted(after, '}').ok_or_else(|| {
            JaasFileError::Syntax(format!("section {name} is not closed by '}}'"))
        })?;
        let body = &after[..close];
        let tail = after[close + 1..].trim_start();
        let Some(tail) = tail.strip_prefix(';') else {
            return Err(JaasFileError::Syntax(format!(
                "section {name} must end with '}};'"
            )));
        };
        out.push((name.to_string(), body.to_string()));
        rest = tail.trim_start();
    }
    Ok(out)
}

fn find_unquoted(s: &str, target: char) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in s.char_indices() {
        if escaped {
            escaped = false;
            continue;
        }
        match (quote, c) {
            (Some(_), '\\') => escaped = true,
            (Some(q), c) if c == q => quote = None,
            (None, '"' | '\'') => quote = Some(c),
            (None, c) if c == target => return Some(i),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_000_file() {
        let text = "KafkaClient {\n   org.apache.kafka.common.security.plain.PlainLoginModule required\n   ## 控制台中实例的用户名和密码\n   username=\"your username\"\n   password=\"your password\";\n};\n";
        let body = section(text.as_bytes(), "KafkaClient").unwrap();
        assert!(
            body.starts_with("org.apache.kafka.common.security.plain.PlainLoginModule required")
        );
        assert!(body.contains("password=\"your password\";"));
        assert!(!body.contains("##"));
    }

    #[test]
    fn several_sections_comments_and_quotes() {
        let text = r#"
            // server side
            KafkaServer { a.B required user_x="}";  };
            /* the client */
            KafkaClient {
                org.apache.kafka.common.security.scram.ScramLoginModule required
                username="u" password="p#not-a-comment";
            };
        "#;
        let body = section(text.as_bytes(), "KafkaClient").unwrap();
        assert!(body.contains("password=\"p#not-a-comment\";"), "{body}");
        assert_eq!(
            section(text.as_bytes(), "Other").unwrap_err().to_string(),
            "it has no Other section (sections found: KafkaServer, KafkaClient)"
        );
    }

    #[test]
    fn not_a_jaas_file() {
        assert_eq!(
            section(&[0xFE, 0xED, 0xFE, 0xED, 0, 0, 0, 2], "KafkaClient").unwrap_err(),
            JaasFileError::Keystore("JKS")
        );
        assert_eq!(
            section(&[0xff, 0xfe, 0x00], "KafkaClient").unwrap_err(),
            JaasFileError::Binary
        );
        assert!(matches!(
            section(b"KafkaClient { x required; }", "KafkaClient"),
            Err(JaasFileError::Syntax(_))
        ));
        assert!(matches!(
            section(b"username=a\npassword=b\n", "KafkaClient"),
            Err(JaasFileError::Syntax(_))
        ));
    }
}
