//! Every expected value in the `check` tables was produced by JDK 17
//! `java.util.Properties.load(Reader)` on the same input (the final map was compared;
//! the ordered list adds duplicates and order on top of it).

// The workspace warns on unwrap outside tests; in tests a panic is the failure report.
#![allow(clippy::unwrap_used)]

use std::collections::BTreeMap;

use crate::{load, parse, to_string, Entry, Properties, PropertiesError, SyntaxProblem};

/// Parses `input` and compares the assignments, in order, with `expected`; then checks
/// that writing them back and re-reading gives the same assignments.
#[track_caller]
fn check(input: &str, expected: &[(&str, &str)]) {
    let props = match parse(input) {
        Ok(props) => props,
        Err(e) => panic!("parse({input:?}) failed: {e}"),
    };
    let actual: Vec<(&str, &str)> = props.iter().collect();
    assert_eq!(actual, expected, "parse({input:?})");
    let written = to_string(&props);
    let reread = parse(&written).unwrap();
    assert_eq!(reread, props, "round trip of {input:?} through {written:?}");
}

/// Parses `input`, expecting a syntax error on `line`.
#[track_caller]
fn check_error(input: &str, line: usize, problem: SyntaxProblem) {
    match parse(input) {
        Err(PropertiesError::Syntax {
            path: None,
            line: l,
            problem: p,
        }) => assert_eq!((l, p), (line, problem), "parse({input:?})"),
        other => panic!("parse({input:?}): expected a syntax error, got {other:?}"),
    }
}

#[test]
fn comments_and_blank_lines() {
    // comment lines, # and !
    check("# c\n! c\nk=v\n", &[("k", "v")]);
    // comment after leading whitespace
    check("   # c\n\t! c\n\x0c#c\nk=v", &[("k", "v")]);
    // # after a key is not a comment
    check("k=v # not a comment", &[("k", "v # not a comment")]);
    // # inside a key
    check("a#b=c", &[("a#b", "c")]);
    // ! after a key separator
    check("key ! x\nkey2=!x", &[("key", "! x"), ("key2", "!x")]);
    // "  !" starts a comment: only leading whitespace precedes it
    check("  ! not a comment after key?\nk=v", &[("k", "v")]);
    // blank lines
    check("\n\n  \n\t\nk=v\n\n", &[("k", "v")]);
    // comment at EOF without newline
    check("k=v\n# end", &[("k", "v")]);
    // empty input
    check("", &[]);
    // only comments
    check("# a\n! b\n", &[]);
}

#[test]
fn separators_and_whitespace() {
    // leading whitespace skipped
    check(" \t\x0ck=v", &[("k", "v")]);
    // =
    check("key=value", &[("key", "value")]);
    // spaces around =
    check(" key = value", &[("key", "value")]);
    // :
    check("key:value", &[("key", "value")]);
    // spaces around :
    check("key : value", &[("key", "value")]);
    // space separator
    check("key value", &[("key", "value")]);
    // many spaces
    check("key    value", &[("key", "value")]);
    // tabs
    check("key\t\tvalue", &[("key", "value")]);
    // form feeds
    check("\x0c\t key\x0c=\x0cvalue", &[("key", "value")]);
    // tab then colon
    check("key\t:\tvalue", &[("key", "value")]);
    // key alone
    check("key", &[("key", "")]);
    // key and trailing spaces
    check("key   ", &[("key", "")]);
    // key and =
    check("key=", &[("key", "")]);
    // empty key
    check("=value", &[("", "value")]);
    // only =
    check("=", &[("", "")]);
    // second = belongs to the value
    check("key = = value", &[("key", "= value")]);
    // space, :, then = is the value
    check("key  :=v", &[("key", "=v")]);
    // "==": the second = is the value
    check("key==v", &[("key", "=v")]);
    // value holds = and :
    check("key=a=b:c", &[("key", "a=b:c")]);
    // url value
    check("url=http://x:8080/a?b=c", &[("url", "http://x:8080/a?b=c")]);
    // trailing whitespace kept
    check("key=value  \t", &[("key", "value  \t")]);
    // unicode spaces are not whitespace
    check("\u{3000}key=v\u{a0}", &[("\u{3000}key", "v\u{a0}")]);
}

#[test]
fn continuations() {
    // continuation
    check("key=a\\\n    b", &[("key", "ab")]);
    // continuation inside key
    check("key\\\n  value", &[("keyvalue", "")]);
    // continuation keeps space before backslash
    check("key=a \\\n  b", &[("key", "a b")]);
    // continuation then separator
    check("key\\\n=value", &[("key", "value")]);
    // several continuations
    check("k=a\\\n b\\\n\t c", &[("k", "abc")]);
    // continued line with # is not a comment
    check("k=v\\\n# not a comment", &[("k", "v# not a comment")]);
    // continued line with ! is not a comment
    check("k=v\\\n   !x", &[("k", "v!x")]);
    // continuation then empty line
    check("k=a\\\n\nb=c", &[("k", "a"), ("b", "c")]);
    // continuation then blank line
    check("k=a\\\n   \nb=c", &[("k", "a"), ("b", "c")]);
    // even backslashes: no continuation
    check("a\\\\\nb=c", &[("a\\", ""), ("b", "c")]);
    // odd backslashes: continuation
    check("a=x\\\\\\\nb", &[("a", "x\\b")]);
    // four backslashes
    check("a=x\\\\\\\\\nb", &[("a", "x\\\\"), ("b", "")]);
    // continuation over CRLF
    check("a=1\\\r\n  2\r\nb=3", &[("a", "12"), ("b", "3")]);
    // continuation over CR
    check("a=1\\\r  2\rb=3", &[("a", "12"), ("b", "3")]);
}

#[test]
fn escapes() {
    // escapes t n r f
    check("k=\\t\\n\\r\\f", &[("k", "\t\n\r\x0c")]);
    // escaped newline in value
    check("k=line1\\nline2", &[("k", "line1\nline2")]);
    // unicode escapes
    check("k=\\u4e2d\\u6587", &[("k", "中文")]);
    // unicode escape case
    check("\\u0041=\\u0062\\u00E9\\u00e9", &[("A", "béé")]);
    // surrogate pair escapes
    check("k=\\uD83D\\uDE00", &[("k", "😀")]);
    // unicode escape yields separator inside key
    check("\\u003d=x", &[("=", "x")]);
    // escaped trailing space
    check("k=v\\u0020", &[("k", "v ")]);
    // other escapes drop the backslash
    check("k=\\q\\z\\\\", &[("k", "qz\\")]);
    // escaped separators in key
    check("\\=\\:\\ \\#\\!=v", &[("=: #!", "v")]);
    // escaped spaces in key
    check("key\\ with\\ spaces=v", &[("key with spaces", "v")]);
    // escaped = in key
    check("a\\=b=c", &[("a=b", "c")]);
    // escaped : in key
    check("a\\:b:c", &[("a:b", "c")]);
    // escaped tab in key
    check("a\\tb=c", &[("a\tb", "c")]);
    // escaped backslash at EOF
    check("key=val\\\\", &[("key", "val\\")]);
}

#[test]
fn line_ends_and_end_of_file() {
    // CRLF
    check("a=1\r\nb=2\r\n", &[("a", "1"), ("b", "2")]);
    // CR
    check("a=1\rb=2\r", &[("a", "1"), ("b", "2")]);
    // LF
    check("a=1\nb=2\n", &[("a", "1"), ("b", "2")]);
    // last line without newline
    check("a=1\nb=2", &[("a", "1"), ("b", "2")]);
    // backslash at EOF
    check("key=val\\", &[("key", "val")]);
    // backslash and newline at EOF
    check("key=val\\\n", &[("key", "val")]);
    // three backslashes at EOF
    check("key=val\\\\\\", &[("key", "val\\")]);
    // lone backslash at EOF is an empty key
    check("\\", &[("", "")]);
    // lone backslash, LF, EOF is an empty key
    check("\\\n", &[("", "")]);
    // lone backslash, CRLF, EOF is nothing
    check("\\\r\n", &[]);
    // lone backslash then comment
    check("\\\n#c\nk=v", &[("k", "v")]);
}

#[test]
fn utf8_and_duplicates() {
    // UTF-8 keys, values and comments
    check(
        "名称=连接器\n# 注释\n值 = 中文 值",
        &[("名称", "连接器"), ("值", "中文 值")],
    );
    // emoji
    check("k=😀", &[("k", "😀")]);
    // duplicates: last wins
    check("a=1\nb=2\na=3", &[("a", "1"), ("b", "2"), ("a", "3")]);
}

#[test]
fn malformed_unicode_escapes() {
    use SyntaxProblem::MalformedUnicodeEscape as M;
    check_error("k=\\u12", 1, M);
    check_error("k=\\u12g4", 1, M);
    check_error("a=b\n\nk=\\uXYZW", 3, M);
    check_error("a=b\r\n\r\nk=\\u", 3, M);
    check_error("\\u00=v", 1, M);
    // The line of the escape, not of the key.
    check_error("a=b\\\n  \\u", 2, M);
    let err = parse("k=\\u12").unwrap_err();
    assert_eq!(err.to_string(), "line 1: Malformed \\uxxxx encoding.");
}

/// Java keeps a lone surrogate in its UTF-16 string; Rust cannot, so Sluice refuses.
#[test]
fn unpaired_surrogates() {
    check_error(
        "k=\\uD83D",
        1,
        SyntaxProblem::UnpairedSurrogate { unit: 0xD83D },
    );
    check_error(
        "x=1\nk=a\\uDE00b",
        2,
        SyntaxProblem::UnpairedSurrogate { unit: 0xDE00 },
    );
    check_error(
        "k=\\uD83D😀",
        1,
        SyntaxProblem::UnpairedSurrogate { unit: 0xD83D },
    );
}

/// Not JDK behaviour (its Reader hands U+FEFF to the parser): files saved by editors
/// that add a BOM must not get a key named "\u{feff}name".
#[test]
fn byte_order_mark_is_skipped() {
    check("\u{feff}name=x", &[("name", "x")]);
    check("\u{feff}# comment\nname=x", &[("name", "x")]);
    // Only at the very start.
    check("a=1\n\u{feff}b=2", &[("a", "1"), ("\u{feff}b", "2")]);
}

#[test]
fn line_numbers_are_where_the_logical_line_starts() {
    let props = parse("# c\n\na=1\r\nb=2\\\n  3\\\r\n  4\rc\n\n   d = 5").unwrap();
    let lines: Vec<(&str, usize)> = props
        .entries()
        .iter()
        .map(|e| (e.key.as_str(), e.line))
        .collect();
    assert_eq!(lines, [("a", 3), ("b", 4), ("c", 7), ("d", 9)]);
}

#[test]
fn duplicates_keep_every_entry_and_the_last_wins() {
    let props = parse("a=1\nb=2\na=3\n").unwrap();
    assert_eq!(props.len(), 3);
    assert_eq!(props.get("a"), Some("3"));
    assert_eq!(props.get("missing"), None);
    let expected: BTreeMap<String, String> = [
        ("a".to_string(), "3".to_string()),
        ("b".to_string(), "2".to_string()),
    ]
    .into();
    assert_eq!(props.to_map(), expected);
    assert_eq!(BTreeMap::from(props), expected);
}

/// From the Kafka user docs, Chinese comments included.
#[test]
fn kafka_connect_file_source_example() {
    let text = "# $KAFKA_HOME/config/connect-file-source.properties

# 连接器的名称
name=local-file-source

# 连接器类的全限定名称
connector.class=FileStreamSource
tasks.max=1
file=/opt/kafka_2.11-2.0.0/source.txt
topic=topic-connect
";
    let props = parse(text).unwrap();
    let entries: Vec<(&str, &str, usize)> = props
        .entries()
        .iter()
        .map(|e| (e.key.as_str(), e.value.as_str(), e.line))
        .collect();
    assert_eq!(
        entries,
        [
            ("name", "local-file-source", 4),
            ("connector.class", "FileStreamSource", 7),
            ("tasks.max", "1", 8),
            ("file", "/opt/kafka_2.11-2.0.0/source.txt", 9),
            ("topic", "topic-connect", 10),
        ]
    );
}

/// Expected output taken from JDK 17 `Properties.store(Writer, null)` (header dropped).
#[test]
fn to_string_escapes_like_java_store() {
    let props: Properties = [
        ("a b", " lead  inner "),
        ("k=:#!", "v=:#!\\"),
        ("t\tn\nr\rf\x0c", "t\tn\nr\rf\x0c"),
        ("中", "文😀"),
        ("", ""),
        ("x", "\u{1}\u{7f}\u{a0}"),
        ("#k", "!v"),
    ]
    .into_iter()
    .collect();
    assert_eq!(
        to_string(&props),
        "a\\ b=\\ lead  inner \n\
         k\\=\\:\\#\\!=v\\=\\:\\#\\!\\\\\n\
         t\\tn\\nr\\rf\\f=t\\tn\\nr\\rf\\f\n\
         中=文😀\n\
         =\n\
         x=\u{1}\u{7f}\u{a0}\n\
         \\#k=\\!v\n"
    );
}

#[test]
fn to_string_round_trips_awkward_text() {
    let awkward = [
        "",
        " ",
        "  x  ",
        "\\",
        "\\\\",
        "a\\",
        "=",
        ":",
        "#",
        "!",
        "# c",
        "! c",
        "\t",
        "\n",
        "\r\n",
        "\x0c",
        "\u{feff}",
        "\u{feff}x",
        "\\u0041",
        "中文",
        "😀",
        "a=b:c d",
        "end\\\n",
        " \\ ",
    ];
    let mut props = Properties::new();
    for k in awkward {
        for v in awkward {
            props.push(k, v);
        }
    }
    let written = to_string(&props);
    assert_eq!(parse(&written).unwrap(), props);
    // Also as the first entry of a file, where a BOM would be skipped.
    for k in awkward {
        let single: Properties = [(k, k)].into_iter().collect();
        assert_eq!(parse(&to_string(&single)).unwrap(), single, "{k:?}");
    }
}

#[test]
fn equality_ignores_line_numbers() {
    let a = parse("# header\n\nk=v\n").unwrap();
    let b: Properties = [("k", "v")].into_iter().collect();
    assert_eq!(a, b);
    assert_eq!(
        a.entries(),
        [Entry {
            key: "k".into(),
            value: "v".into(),
            line: 3
        }]
    );
    assert_eq!(b.entries()[0].line, 1);
}

#[test]
fn load_reads_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("worker.properties");
    std::fs::write(
        &path,
        "\u{feff}bootstrap.servers=localhost:9092\r\n# 注释\r\n",
    )
    .unwrap();
    let props = load(&path).unwrap();
    assert_eq!(props.get("bootstrap.servers"), Some("localhost:9092"));
}

#[test]
fn load_errors_name_the_file() {
    let dir = tempfile::tempdir().unwrap();

    let missing = dir.path().join("missing.properties");
    let err = load(&missing).unwrap_err();
    assert!(matches!(&err, PropertiesError::Read { path, .. } if path == &missing));
    let msg = err.to_string();
    assert!(msg.contains("missing.properties"), "{msg}");
    // The OS reason, e.g. "No such file or directory (os error 2)".
    assert!(msg.contains("os error"), "{msg}");

    let bad = dir.path().join("bad.properties");
    std::fs::write(&bad, "a=1\nb=\\u12\n").unwrap();
    let err = load(&bad).unwrap_err();
    assert_eq!(err.line(), Some(2));
    assert_eq!(
        err.to_string(),
        format!("{}: line 2: Malformed \\uxxxx encoding.", bad.display())
    );
}

#[test]
fn a_file_that_is_not_utf8_is_read_as_iso_8859_1_like_java() {
    let dir = tempfile::tempdir().unwrap();
    let latin1 = dir.path().join("latin1.properties");
    // A Latin-1 byte in a comment and one in a value: Java's Properties.load(InputStream) reads
    // both as ISO-8859-1.
    std::fs::write(&latin1, b"# r\xe9sum\xe9\na=1\r\nb=2\rname=caf\xe9\n").unwrap();
    let props = load(&latin1).unwrap();
    assert_eq!(props.get("a"), Some("1"));
    assert_eq!(props.get("b"), Some("2"));
    assert_eq!(props.get("name"), Some("caf\u{e9}"));
    assert_eq!(props.len(), 3);
}

#[test]
fn a_valid_utf8_file_is_read_as_utf8() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("utf8.properties");
    std::fs::write(&path, "name=café 你好\n").unwrap();
    assert_eq!(load(&path).unwrap().get("name"), Some("café 你好"));
}
