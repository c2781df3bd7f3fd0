//! Changes and cascade sets (SPEC §4).

use crate::error::{Error, Result};
use crate::value::Value;

/// What happened to an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Op {
    Create,
    #[default]
    Update,
    Delete,
}

impl Op {
    pub fn as_str(self) -> &'static str {
        match self {
            Op::Create => "create",
            Op::Update => "update",
            Op::Delete => "delete",
        }
    }

    pub fn parse(s: &str) -> Result<Op> {
        match s {
            "create" => Ok(Op::Create),
            "update" => Ok(Op::Update),
            "delete" => Ok(Op::Delete),
            other => Err(Error::change(format!("op `{other}` is not one of create, update, delete"))),
        }
    }
}

/// A change of one entity.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Change {
    /// The keyspace (`user`) or the GraphQL type name (`User`).
    pub entity: String,
    /// The entity's id (its key field value), unencoded.
    pub id: String,
    pub op: Op,
    /// The entity's data after the change (or its only known data).
    pub data: Option<Value>,
    /// The entity's data before the change, when known; enables `onFields` and `changed`.
    pub before: Option<Value>,
}

impl Change {
    /// A change with no data.
    pub fn new(entity: impl Into<String>, id: impl Into<String>) -> Change {
        Change { entity: entity.into(), id: id.into(), ..Change::default() }
    }

    /// Sets the data after the change.
    pub fn with_data(mut self, data: Value) -> Change {
        self.data = Some(data);
        self
    }

    /// Sets the data before the change.
    pub fn with_before(mut self, before: Value) -> Change {
        self.before = Some(before);
        self
    }

    pub fn with_op(mut self, op: Op) -> Change {
        self.op = op;
        self
    }

    /// Reads `{ entity, id, op?, data?, before?, after? }`; numeric ids become strings and `data`
    /// defaults to `after`.
    pub fn from_value(v: &Value) -> Result<Change> {
        if v.as_object().is_none() {
            return Err(Error::change("a change must be an object like { entity: \"user\", id: \"1\" }"));
        }
        let entity = match v.get("entity") {
            Some(Value::String(s)) if !s.is_empty() => s.clone(),
            _ => {
                return Err(Error::change("`entity` must be a non-empty string (a keyspace or a type name)"))
            }
        };
        let id = match v.get("id") {
            Some(Value::String(s)) => s.clone(),
            Some(n @ Value::Number(x)) if x.is_finite() => n.to_scalar_string().unwrap_or_default(),
            Some(Value::Number(_)) => return Err(Error::change("`id` must be a finite number or a string")),
            None | Some(Value::Null) => {
                return Err(Error::change(format!("the change of `{entity}` has no `id`")));
            }
            Some(_) => return Err(Error::change("`id` must be a string or a number")),
        };
        let op = match v.get("op") {
            None | Some(Value::Null) => Op::Update,
            Some(Value::String(s)) => Op::parse(s)?,
            Some(_) => return Err(Error::change("`op` must be \"create\", \"update\" or \"delete\"")),
        };
        let object_or_none = |name: &str| -> Result<Option<Value>> {
            match v.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(o @ Value::Object(_)) => Ok(Some(o.clone())),
                Some(_) => Err(Error::change(format!("`{name}` must be an object"))),
            }
        };
        let data = object_or_none("data")?.or(object_or_none("after")?);
        let before = object_or_none("before")?;
        Ok(Change { entity, id, op, data, before })
    }

    /// The change as JSON, in the shape [`Change::from_value`] reads.
    pub fn to_value(&self) -> Value {
        let mut m = vec![
            ("entity", Value::from(self.entity.as_str())),
            ("id", Value::from(self.id.as_str())),
            ("op", Value::from(self.op.as_str())),
        ];
        if let Some(d) = &self.data {
            m.push(("data", d.clone()));
        }
        if let Some(b) = &self.before {
            m.push(("before", b.clone()));
        }
        Value::record(m)
    }
}

/// Where one key of a cascade set came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trace {
    /// The key or pattern.
    pub key: String,
    /// The id of the rule that produced it; `None` for a changed entity's own key.
    pub rule: Option<String>,
    /// The key whose change fired the rule; `None` for a changed entity's own key.
    pub from: Option<String>,
    /// 0 for a changed entity's own key, 1 for keys its rules produced, and so on.
    pub depth: u32,
    /// Whether the key is wider than the change needed (a placeholder had no value).
    pub coarse: bool,
}

/// Everything to purge after a change.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CascadeSet {
    /// Exact keys; each implies everything below it.
    pub keys: Vec<String>,
    /// Keys with wildcards.
    pub patterns: Vec<String>,
    /// Keys and patterns rendered as CDN tags.
    pub tags: Vec<String>,
    /// One entry per key and pattern, in the order they were produced.
    pub trace: Vec<Trace>,
    /// The deepest level reached.
    pub depth: u32,
    /// Whether a depth or fan-out budget cut the cascade short.
    pub truncated: bool,
}

impl CascadeSet {
    /// The set as JSON, in the shape the JS API returns.
    pub fn to_value(&self) -> Value {
        let strings = Value::strings;
        let opt = |s: &Option<String>| s.as_deref().map_or(Value::Null, Value::from);
        Value::record(vec![
            ("keys", strings(&self.keys)),
            ("patterns", strings(&self.patterns)),
            ("tags", strings(&self.tags)),
            (
                "trace",
                Value::Array(
                    self.trace
                        .iter()
                        .map(|t| {
                            Value::record(vec![
                                ("key", Value::from(t.key.as_str())),
                                ("rule", opt(&t.rule)),
                                ("from", opt(&t.from)),
                                ("depth", Value::Number(f64::from(t.depth))),
                                ("coarse", Value::Bool(t.coarse)),
                            ])
                        })
                        .collect(),
                ),
            ),
            ("depth", Value::Number(f64::from(self.depth))),
            ("truncated", Value::Bool(self.truncated)),
        ])
    }
}

/// Renders a key or pattern as a CDN tag: printable ASCII without spaces or commas (Cloudflare's
/// `Cache-Tag` and Fastly's `Surrogate-Key` separators); other bytes are percent-encoded.
pub fn tag_for(key: &str) -> String {
    if key.bytes().all(|b| b.is_ascii_graphic() && b != b',') {
        return key.to_owned();
    }
    let mut out = String::with_capacity(key.len() + 8);
    for b in key.bytes() {
        if b.is_ascii_graphic() && b != b',' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
