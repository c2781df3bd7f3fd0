//! Declarative `when` conditions of manual rules (SPEC §3).

use crate::error::{Error, Result};
use crate::value::Value;

/// Deepest nesting of conditions accepted (`{ not: { field, eq } }` is 2 levels).
pub const MAX_CONDITION_DEPTH: usize = 32;

/// A comparison on one field of the changed data.
#[derive(Debug, Clone, PartialEq)]
pub enum Test {
    Eq(Value),
    Ne(Value),
    In(Vec<Value>),
    Exists(bool),
    Gt(Value),
    Lt(Value),
}

/// A condition on the changed entity's data.
#[derive(Debug, Clone, PartialEq)]
pub enum Condition {
    /// `{ field, eq | ne | in | exists | gt | lt }` on a dotted field path.
    Field {
        path: String,
        test: Test,
    },
    All(Vec<Condition>),
    Any(Vec<Condition>),
    Not(Box<Condition>),
    /// True when one of these fields differs between `before` and `after`.
    Changed(Vec<String>),
    /// A predicate held by the embedding (a JS function); evaluated through a callback.
    External(u32),
}

impl Condition {
    /// Parses the declarative JSON form.
    pub fn from_value(v: &Value) -> Result<Condition> {
        Self::parse(v, 0)
    }

    fn parse(v: &Value, depth: usize) -> Result<Condition> {
        if depth >= MAX_CONDITION_DEPTH {
            return Err(Error::LimitExceeded {
                what: "condition nesting",
                limit: MAX_CONDITION_DEPTH,
                actual: depth + 1,
            });
        }
        let members = v.as_object().ok_or_else(|| {
            Error::rule("`when` must be an object such as { field: \"status\", eq: \"published\" }")
        })?;
        let list = |key: &str, items: &Value| -> Result<Vec<Condition>> {
            let items = items
                .as_array()
                .ok_or_else(|| Error::rule(format!("`{key}` takes an array of conditions")))?;
            if items.is_empty() {
                return Err(Error::rule(format!("`{key}` needs at least one condition")));
            }
            items.iter().map(|c| Self::parse(c, depth + 1)).collect()
        };
        if let Some(field) = v.get("field") {
            let path = field
                .as_str()
                .filter(|p| !p.is_empty() && !p.split('.').any(str::is_empty))
                .ok_or_else(|| Error::rule("`field` must be a non-empty field path such as \"author.id\""))?
                .to_owned();
            let tests: Vec<&(String, Value)> = members.iter().filter(|(k, _)| k != "field").collect();
            let [(op, arg)] = tests.as_slice() else {
                return Err(Error::rule(format!(
                    "condition on `{path}` needs exactly one of eq, ne, in, exists, gt, lt"
                )));
            };
            let test = match op.as_str() {
                "eq" => Test::Eq(arg.clone()),
                "ne" => Test::Ne(arg.clone()),
                "in" => Test::In(
                    arg.as_array()
                        .ok_or_else(|| Error::rule(format!("`in` on `{path}` takes an array")))?
                        .to_vec(),
                ),
                "exists" => Test::Exists(
                    arg.as_bool()
                        .ok_or_else(|| Error::rule(format!("`exists` on `{path}` takes true or false")))?,
                ),
                "gt" | "lt" if matches!(arg, Value::Number(_) | Value::String(_)) => {
                    if op == "gt" {
                        Test::Gt(arg.clone())
                    } else {
                        Test::Lt(arg.clone())
                    }
                }
                "gt" | "lt" => {
                    return Err(Error::rule(format!("`{op}` on `{path}` takes a number or a string")))
                }
                other => {
                    return Err(Error::rule(format!(
                        "unknown test `{other}` on `{path}`; use eq, ne, in, exists, gt or lt"
                    )))
                }
            };
            return Ok(Condition::Field { path, test });
        }
        let [(op, arg)] = members else {
            return Err(Error::rule("a condition has exactly one of field, all, any, not, changed"));
        };
        match op.as_str() {
            "all" => Ok(Condition::All(list("all", arg)?)),
            "any" => Ok(Condition::Any(list("any", arg)?)),
            "not" => Ok(Condition::Not(Box::new(Self::parse(arg, depth + 1)?))),
            "changed" => {
                let fields = arg
                    .as_array()
                    .filter(|a| !a.is_empty())
                    .and_then(|a| a.iter().map(|f| f.as_str().map(str::to_owned)).collect::<Option<Vec<_>>>())
                    .ok_or_else(|| Error::rule("`changed` takes a non-empty array of field names"))?;
                Ok(Condition::Changed(fields))
            }
            other => {
                Err(Error::rule(format!("unknown condition `{other}`; use field, all, any, not or changed")))
            }
        }
    }

    /// The declarative JSON form (the inverse of [`Condition::from_value`]).
    pub fn to_value(&self) -> Value {
        match self {
            Condition::Field { path, test } => {
                let (op, arg) = match test {
                    Test::Eq(v) => ("eq", v.clone()),
                    Test::Ne(v) => ("ne", v.clone()),
                    Test::In(vs) => ("in", Value::Array(vs.clone())),
                    Test::Exists(b) => ("exists", Value::Bool(*b)),
                    Test::Gt(v) => ("gt", v.clone()),
                    Test::Lt(v) => ("lt", v.clone()),
                };
                Value::record(vec![("field", Value::from(path.as_str())), (op, arg)])
            }
            Condition::All(cs) => {
                Value::record(vec![("all", Value::Array(cs.iter().map(Self::to_value).collect()))])
            }
            Condition::Any(cs) => {
                Value::record(vec![("any", Value::Array(cs.iter().map(Self::to_value).collect()))])
            }
            Condition::Not(c) => Value::record(vec![("not", c.to_value())]),
            Condition::Changed(fs) => Value::record(vec![("changed", Value::strings(fs))]),
            Condition::External(id) => Value::record(vec![("external", Value::Number(f64::from(*id)))]),
        }
    }

    /// Whether the condition holds. `data` is the entity's data after the change; `before` the
    /// data before it, when known. `external` evaluates embedder predicates.
    pub fn eval(
        &self,
        data: &Value,
        before: Option<&Value>,
        external: &mut dyn FnMut(u32, &Value) -> bool,
    ) -> bool {
        match self {
            Condition::Field { path, test } => {
                let v = data.get_path(path);
                match test {
                    Test::Eq(x) => v.is_some_and(|v| loosely_equal(v, x)),
                    Test::Ne(x) => !v.is_some_and(|v| loosely_equal(v, x)),
                    Test::In(xs) => v.is_some_and(|v| xs.iter().any(|x| loosely_equal(v, x))),
                    Test::Exists(b) => v.is_some() == *b,
                    Test::Gt(x) => v.and_then(|v| compare(v, x)).is_some_and(|o| o.is_gt()),
                    Test::Lt(x) => v.and_then(|v| compare(v, x)).is_some_and(|o| o.is_lt()),
                }
            }
            Condition::All(cs) => cs.iter().all(|c| c.eval(data, before, external)),
            Condition::Any(cs) => cs.iter().any(|c| c.eval(data, before, external)),
            Condition::Not(c) => !c.eval(data, before, external),
            // Without `before` nothing can be shown unchanged, so the change counts.
            Condition::Changed(fields) => before.is_none_or(|b| fields_differ(fields, b, data)),
            Condition::External(id) => external(*id, data),
        }
    }

    /// The field paths the condition reads.
    pub fn fields(&self) -> Vec<&str> {
        let mut out = Vec::new();
        self.collect_fields(&mut out);
        out
    }

    fn collect_fields<'a>(&'a self, out: &mut Vec<&'a str>) {
        match self {
            Condition::Field { path, .. } => out.push(path),
            Condition::All(cs) | Condition::Any(cs) => cs.iter().for_each(|c| c.collect_fields(out)),
            Condition::Not(c) => c.collect_fields(out),
            Condition::Changed(fs) => out.extend(fs.iter().map(String::as_str)),
            Condition::External(_) => {}
        }
    }

    /// Whether the condition contains an embedder predicate (which cannot be serialized).
    pub fn has_external(&self) -> bool {
        match self {
            Condition::External(_) => true,
            Condition::All(cs) | Condition::Any(cs) => cs.iter().any(Self::has_external),
            Condition::Not(c) => c.has_external(),
            _ => false,
        }
    }
}

/// Whether one of `fields` differs between two versions of an entity's data.
pub fn fields_differ(fields: &[String], before: &Value, after: &Value) -> bool {
    fields.iter().any(|f| before.get_path(f) != after.get_path(f))
}

/// Equality that treats an id-like number and its string form as equal (`7` == `"7"`), since ids
/// arrive from JSON either way.
fn loosely_equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::String(_)) | (Value::String(_), Value::Number(_)) => {
            a.to_scalar_string() == b.to_scalar_string()
        }
        _ => a == b,
    }
}

fn compare(a: &Value, b: &Value) -> Option<std::cmp::Ordering> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => x.partial_cmp(y),
        (Value::String(x), Value::String(y)) => Some(x.cmp(y)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cond(json: &str) -> Condition {
        Condition::from_value(&Value::parse(json).unwrap()).unwrap()
    }

    fn holds(c: &str, data: &str, before: Option<&str>) -> bool {
        let before = before.map(|b| Value::parse(b).unwrap());
        cond(c).eval(&Value::parse(data).unwrap(), before.as_ref(), &mut |_, _| false)
    }

    #[test]
    fn field_tests() {
        assert!(holds(r#"{"field":"status","eq":"published"}"#, r#"{"status":"published"}"#, None));
        assert!(!holds(r#"{"field":"status","eq":"published"}"#, r#"{"status":"draft"}"#, None));
        assert!(holds(r#"{"field":"status","ne":"published"}"#, r#"{}"#, None));
        assert!(holds(r#"{"field":"n","in":[1,2]}"#, r#"{"n":2}"#, None));
        assert!(holds(r#"{"field":"a.b","exists":true}"#, r#"{"a":{"b":0}}"#, None));
        assert!(holds(r#"{"field":"a.b","exists":false}"#, r#"{"a":{"b":null}}"#, None));
        assert!(holds(r#"{"field":"n","gt":5}"#, r#"{"n":6}"#, None));
        assert!(!holds(r#"{"field":"n","lt":5}"#, r#"{"n":"4"}"#, None));
        assert!(holds(r#"{"field":"id","eq":"7"}"#, r#"{"id":7}"#, None));
    }

    #[test]
    fn combinators_and_changed() {
        let c = r#"{"all":[{"field":"a","eq":1},{"not":{"field":"b","eq":2}}]}"#;
        assert!(holds(c, r#"{"a":1,"b":3}"#, None));
        assert!(!holds(c, r#"{"a":1,"b":2}"#, None));
        assert!(holds(r#"{"any":[{"field":"a","eq":1},{"field":"b","eq":2}]}"#, r#"{"b":2}"#, None));
        let ch = r#"{"changed":["title"]}"#;
        assert!(holds(ch, r#"{"title":"b"}"#, Some(r#"{"title":"a"}"#)));
        assert!(!holds(ch, r#"{"title":"a","x":1}"#, Some(r#"{"title":"a"}"#)));
        assert!(holds(ch, r#"{"title":"a"}"#, None));
    }

    #[test]
    fn round_trip_and_errors() {
        let text =
            r#"{"any":[{"field":"a","in":[1,"x"]},{"changed":["t"]},{"not":{"field":"b","exists":true}}]}"#;
        assert_eq!(cond(text).to_value().to_json(), text);
        for bad in [
            r#"{}"#,
            r#"{"field":"a"}"#,
            r#"{"field":"a","eq":1,"ne":2}"#,
            r#"{"field":"a","like":1}"#,
            r#"{"all":[]}"#,
            r#"{"changed":[]}"#,
            r#"{"field":"","eq":1}"#,
            r#"{"field":"a","gt":true}"#,
            r#"[1]"#,
        ] {
            assert!(Condition::from_value(&Value::parse(bad).unwrap()).is_err(), "{bad}");
        }
        let deep = "{\"not\":".repeat(100) + r#"{"field":"a","eq":1}"# + &"}".repeat(100);
        assert!(matches!(
            Condition::from_value(&Value::parse(&deep).unwrap()),
            Err(Error::LimitExceeded { .. })
        ));
    }
}
