use std::fmt;
use std::path::{Path, PathBuf};

/// Why a properties file or text could not be read.
#[derive(Debug, thiserror::Error)]
pub enum PropertiesError {
    /// The file could not be read at all (missing, permissions, a directory...).
    #[error("cannot read properties file {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },

    /// The text is readable but an escape in it is not. `path` is `None` for [`crate::parse`].
    #[error("{}line {line}: {problem}", Origin(path.as_deref()))]
    Syntax {
        path: Option<PathBuf>,
        line: usize,
        problem: SyntaxProblem,
    },
}

impl PropertiesError {
    /// The 1-based line the problem is on, when there is one.
    pub fn line(&self) -> Option<usize> {
        match self {
            PropertiesError::Read { .. } => None,
            PropertiesError::Syntax { line, .. } => Some(*line),
        }
    }
}

/// What is wrong with an escape.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SyntaxProblem {
    /// `\u` not followed by four hex digits. The message is the JDK's, word for word, so
    /// users searching for it find the Java explanations too.
    #[error("Malformed \\uxxxx encoding.")]
    MalformedUnicodeEscape,

    /// A `\uD800`-`\uDFFF` escape that is not half of a surrogate pair. Java would keep the
    /// broken UTF-16 string; a Rust string cannot hold it.
    #[error(
        "\\u{unit:04X} is half of a UTF-16 surrogate pair without its other half; \
         write the character itself or both halves (e.g. \\uD83D\\uDE00)"
    )]
    UnpairedSurrogate { unit: u16 },
}

struct Origin<'a>(Option<&'a Path>);

impl fmt::Display for Origin<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0 {
            Some(path) => write!(f, "{}: ", path.display()),
            None => Ok(()),
        }
    }
}
