//! The options of an engine (`CascadeEngine.fromSchema(sdl, options)`).

use super::{DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEYS};
use crate::error::{Error, Result};
use crate::keys::DEFAULT_DELIMITER;
use crate::schema::SchemaOptions;
use crate::text::is_alphanumeric;
use crate::value::Value;

/// Options of an engine.
#[derive(Debug, Clone)]
pub struct EngineOptions {
    /// The delimiter between key segments (`:`).
    pub delimiter: char,
    /// How many levels a cascade may go (default 3).
    pub max_depth: u32,
    /// How many keys and patterns one cascade set may hold before it is truncated.
    pub max_keys: usize,
    /// Log the detected relationships and rules, and each cascade, to the logger.
    pub verbose: bool,
    /// Keyspace overrides and key fields for schema analysis.
    pub schema: SchemaOptions,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            delimiter: DEFAULT_DELIMITER,
            max_depth: DEFAULT_MAX_DEPTH,
            max_keys: DEFAULT_MAX_KEYS,
            verbose: false,
            schema: SchemaOptions::default(),
        }
    }
}

impl EngineOptions {
    /// Reads `{ keyspaces?, keyFields?, inverses?, delimiter?, maxDepth?, maxKeys?, verbose? }`; unknown
    /// properties are refused so a typo does not silently change nothing.
    pub fn from_value(v: &Value) -> Result<EngineOptions> {
        let mut o = EngineOptions::default();
        let Some(members) = v.as_object() else {
            return match v {
                Value::Null => Ok(o),
                _ => Err(Error::options("options must be an object")),
            };
        };
        for (k, val) in members {
            if val.is_null() {
                continue;
            }
            match k.as_str() {
                "delimiter" => {
                    let mut cs = val.as_str().unwrap_or_default().chars();
                    o.delimiter = match (cs.next(), cs.next()) {
                        (Some(c), None) => c,
                        _ => return Err(Error::options("`delimiter` must be a single character such as \":\"")),
                    };
                }
                "maxDepth" => o.max_depth = whole(val, "maxDepth", 64)? as u32,
                "maxKeys" => o.max_keys = whole(val, "maxKeys", 10_000_000)? as usize,
                "verbose" => {
                    o.verbose = val.as_bool().ok_or_else(|| Error::options("`verbose` must be true or false"))?
                }
                "keyspaces" => {
                    for (t, ks) in val.as_object().ok_or_else(|| Error::options("`keyspaces` must map type names to keyspaces"))? {
                        let ks = ks.as_str().filter(|s| !s.is_empty()).ok_or_else(|| {
                            Error::options(format!("the keyspace of `{t}` must be a non-empty string"))
                        })?;
                        o.schema.keyspaces.insert(t.clone(), ks.to_owned());
                    }
                }
                "keyFields" => {
                    for (t, fs) in val.as_object().ok_or_else(|| Error::options("`keyFields` must map type names to field lists"))? {
                        let fields = match fs {
                            Value::String(f) => vec![f.clone()],
                            Value::Array(items) => items
                                .iter()
                                .map(|f| f.as_str().map(str::to_owned))
                                .collect::<Option<Vec<_>>>()
                                .filter(|v| !v.is_empty())
                                .ok_or_else(|| Error::options(format!("the key fields of `{t}` must be field names")))?,
                            _ => return Err(Error::options(format!("the key fields of `{t}` must be field names"))),
                        };
                        o.schema.key_fields.insert(t.clone(), fields);
                    }
                }
                // Read by schema analysis only: an engine loaded from rules has its inverses.
                #[cfg(feature = "sdl")]
                "inverses" => {
                    let entries = val.as_object().ok_or_else(|| {
                        Error::options("`inverses` must map list fields to their inverse, e.g. { \"User.likedPosts\": null, \"Team.members\": \"Player.team\" }")
                    })?;
                    for (list, inverse) in entries {
                        let inverse = match inverse {
                            Value::Null => None,
                            Value::String(s) if s.split_once('.').is_some_and(|(t, f)| !t.is_empty() && !f.is_empty()) => {
                                Some(s.clone())
                            }
                            _ => {
                                return Err(Error::options(format!(
                                    "the inverse of `{list}` must be a field such as \"Post.author\", or null for none"
                                )))
                            }
                        };
                        o.schema.inverses.insert(list.clone(), inverse);
                    }
                }
                "logger" | "clock" => {} // handled by the embedding
                other => {
                    return Err(Error::options(format!(
                        "unknown option `{other}`; options are keyspaces, keyFields, inverses, delimiter, maxDepth, maxKeys, verbose, logger"
                    )))
                }
            }
        }
        o.validate()?;
        Ok(o)
    }

    pub(crate) fn validate(&self) -> Result<()> {
        if self.delimiter == '*' || self.delimiter == '{' || self.delimiter == '}' || self.delimiter == '%' {
            return Err(Error::options(format!("`{}` cannot be the delimiter", self.delimiter)));
        }
        if is_alphanumeric(self.delimiter) || self.delimiter.is_whitespace() || self.delimiter == '_' {
            return Err(Error::options("the delimiter must be punctuation such as `:`, `/` or `|`"));
        }
        if self.max_depth > 64 {
            return Err(Error::options("maxDepth must be between 0 and 64"));
        }
        if self.max_keys == 0 {
            return Err(Error::options("maxKeys must be at least 1"));
        }
        Ok(())
    }
}

fn whole(v: &Value, name: &str, max: u64) -> Result<u64> {
    match v.as_f64() {
        Some(n) if n.fract() == 0.0 && n >= 0.0 && n <= max as f64 => Ok(n as u64),
        _ => Err(Error::options(format!("`{name}` must be a whole number from 0 to {max}"))),
    }
}
