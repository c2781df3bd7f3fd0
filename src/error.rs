//! The one error type of the crate. Every variant carries what the user needs to fix the input,
//! and a stable code string that the JS binding exposes as `error.code`.

use std::fmt;

/// An error from any entry point of cascade-edge.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Error {
    /// The SDL could not be parsed.
    SchemaSyntax { line: usize, column: usize, message: String },
    /// The SDL parsed but describes something the engine cannot use.
    SchemaInvalid { message: String },
    /// Two GraphQL types map to the same keyspace.
    KeyspaceCollision { keyspace: String, first: String, second: String },
    /// A key or pattern is malformed (empty segment, partial wildcard, too long…).
    InvalidKey { key: String, reason: String },
    /// A key template is malformed.
    InvalidTemplate { template: String, reason: String },
    /// A template names a placeholder that the entity cannot provide.
    UnknownPlaceholder { template: String, placeholder: String },
    /// A rule or change names an entity the engine does not know: the nearest entity name, or
    /// why a type of the schema by that name is not an entity.
    UnknownEntity { entity: String, suggestion: Option<String>, reason: Option<String> },
    /// A rule is malformed (bad condition, no templates, …).
    InvalidRule { message: String },
    /// No rule has this id.
    UnknownRule { id: String },
    /// A change is malformed (missing id, wrong types).
    InvalidChange { message: String },
    /// JSON text could not be parsed, or has the wrong shape.
    InvalidJson { message: String, offset: Option<usize> },
    /// Options are out of range or of the wrong type.
    InvalidOptions { message: String },
    /// A documented size limit was exceeded.
    LimitExceeded { what: &'static str, limit: usize, actual: usize },
    /// A stale-write fence refused a `set`: the key was invalidated after the read token was taken.
    StaleWrite { key: String },
}

impl Error {
    /// A stable, machine-readable code (what JS sees as `error.code`).
    pub fn code(&self) -> &'static str {
        match self {
            Error::SchemaSyntax { .. } => "SCHEMA_SYNTAX",
            Error::SchemaInvalid { .. } => "SCHEMA_INVALID",
            Error::KeyspaceCollision { .. } => "KEYSPACE_COLLISION",
            Error::InvalidKey { .. } => "INVALID_KEY",
            Error::InvalidTemplate { .. } => "INVALID_TEMPLATE",
            Error::UnknownPlaceholder { .. } => "UNKNOWN_PLACEHOLDER",
            Error::UnknownEntity { .. } => "UNKNOWN_ENTITY",
            Error::InvalidRule { .. } => "INVALID_RULE",
            Error::UnknownRule { .. } => "UNKNOWN_RULE",
            Error::InvalidChange { .. } => "INVALID_CHANGE",
            Error::InvalidJson { .. } => "INVALID_JSON",
            Error::InvalidOptions { .. } => "INVALID_OPTIONS",
            Error::LimitExceeded { .. } => "LIMIT_EXCEEDED",
            Error::StaleWrite { .. } => "STALE_WRITE",
        }
    }

    pub(crate) fn key(key: &str, reason: impl Into<String>) -> Error {
        Error::InvalidKey { key: key.to_owned(), reason: reason.into() }
    }

    pub(crate) fn template(template: &str, reason: impl Into<String>) -> Error {
        Error::InvalidTemplate { template: template.to_owned(), reason: reason.into() }
    }

    pub(crate) fn rule(message: impl Into<String>) -> Error {
        Error::InvalidRule { message: message.into() }
    }

    pub(crate) fn change(message: impl Into<String>) -> Error {
        Error::InvalidChange { message: message.into() }
    }

    pub(crate) fn options(message: impl Into<String>) -> Error {
        Error::InvalidOptions { message: message.into() }
    }

    pub(crate) fn json(message: impl Into<String>, offset: Option<usize>) -> Error {
        Error::InvalidJson { message: message.into(), offset }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::SchemaSyntax { line, column, message } => {
                write!(f, "schema syntax error at {line}:{column}: {message}")
            }
            Error::SchemaInvalid { message } => write!(f, "invalid schema: {message}"),
            Error::KeyspaceCollision { keyspace, first, second } => write!(
                f,
                "types `{first}` and `{second}` both map to keyspace `{keyspace}`; \
                 give one of them its own keyspace with the `keyspaces` option"
            ),
            Error::InvalidKey { key, reason } => write!(f, "invalid key `{key}`: {reason}"),
            Error::InvalidTemplate { template, reason } => {
                write!(f, "invalid template `{template}`: {reason}")
            }
            Error::UnknownPlaceholder { template, placeholder } => write!(
                f,
                "template `{template}` uses placeholder `{{{placeholder}}}`, which is not a field of the entity"
            ),
            Error::UnknownEntity { entity, reason: Some(r), .. } => write!(f, "unknown entity `{entity}`: {r}"),
            Error::UnknownEntity { entity, suggestion: Some(s), reason: None } => {
                write!(f, "unknown entity `{entity}` — did you mean `{s}`?")
            }
            Error::UnknownEntity { entity, suggestion: None, reason: None } => {
                write!(f, "unknown entity `{entity}`: it is neither a keyspace nor a type of the schema")
            }
            Error::InvalidRule { message } => write!(f, "invalid rule: {message}"),
            Error::UnknownRule { id } => write!(f, "no rule has id `{id}`; engine.rules() lists them"),
            Error::InvalidChange { message } => write!(f, "invalid change: {message}"),
            Error::InvalidJson { message, offset: Some(o) } => {
                write!(f, "invalid JSON at byte {o}: {message}")
            }
            Error::InvalidJson { message, offset: None } => write!(f, "invalid JSON: {message}"),
            Error::InvalidOptions { message } => write!(f, "invalid options: {message}"),
            Error::LimitExceeded { what, limit, actual } => {
                write!(f, "{what} is {actual}, above the limit of {limit}")
            }
            Error::StaleWrite { key } => write!(
                f,
                "refused a stale write to `{key}`: it was invalidated after the read token was taken; read again"
            ),
        }
    }
}

impl std::error::Error for Error {}

/// The result type of every fallible operation in the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The closest candidate to `word` by edit distance, if it is close enough to be a likely typo.
pub(crate) fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<String> {
    nearest(word, &mut candidates.into_iter())
}

/// [`suggest`]'s body, compiled once for every kind of candidate list.
fn nearest(word: &str, candidates: &mut dyn Iterator<Item = &str>) -> Option<String> {
    let limit = (word.chars().count() / 3).max(2);
    candidates
        .map(|c| (edit_distance(word, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by(|a, b| a.0.cmp(&b.0).then_with(|| a.1.cmp(b.1)))
        .map(|(_, c)| c.to_owned())
}

fn edit_distance(a: &str, b: &str) -> usize {
    // ASCII case folding: names are GraphQL names or keyspaces derived from them.
    let a: Vec<char> = a.chars().map(|c| c.to_ascii_lowercase()).collect();
    let b: Vec<char> = b.chars().map(|c| c.to_ascii_lowercase()).collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_near_names_only() {
        assert_eq!(suggest("users", ["user", "post"]).as_deref(), Some("user"));
        assert_eq!(suggest("Usr", ["user", "post"]).as_deref(), Some("user"));
        assert_eq!(suggest("zzzzzz", ["user", "post"]), None);
    }
}
