//! Entity changes found in a GraphQL response (SPEC §4, `changesFromMutation`).

use crate::cascade::{Change, Op};
use crate::engine::catalog::Catalog;
use crate::error::{Error, Result};
use crate::keys::push_encoded_segment;
use crate::value::Value;
use hashbrown::HashMap;

/// Deepest nesting of objects and lists walked below a field of `data`.
pub const MAX_RESPONSE_DEPTH: usize = 64;

/// Walks `data` (or the response itself when it has no `data`), and returns one change per entity
/// object (`__typename` of an entity type plus its key fields), in document order, deduplicated.
/// A composite key's id is its segment form (`acme,7`), so a change of it names the entity's key.
/// The op comes from the top-level field name: `create…`/`add…` → create, `delete…`/`remove…` →
/// delete, otherwise update; entities nested below the first one in a field are updates.
pub(crate) fn changes_from_response(
    catalog: &Catalog,
    delimiter: char,
    response: &Value,
) -> Result<Vec<Change>> {
    let root = match response.get("data") {
        Some(d @ Value::Object(_)) => d,
        Some(Value::Null) => return Ok(Vec::new()),
        Some(_) => return Err(Error::change("the response's `data` must be an object")),
        None if response.as_object().is_some() => response,
        None => return Err(Error::change("a GraphQL response must be an object with `data`")),
    };
    let mut out: Vec<Change> = Vec::new();
    // Keyed by `keyspace\nid`: keyspaces hold no whitespace, so the pair is unambiguous.
    let mut index: HashMap<String, usize> = HashMap::new();
    for (field, value) in root.as_object().unwrap_or_default() {
        let op = op_for_field(field);
        walk(catalog, delimiter, value, op, 0, &mut out, &mut index)?;
    }
    Ok(out)
}

fn op_for_field(field: &str) -> Op {
    let lower = field.to_ascii_lowercase();
    let starts = |ps: &[&str]| ps.iter().any(|p| lower.starts_with(p));
    if starts(&["delete", "remove", "destroy", "archive"]) {
        Op::Delete
    } else if starts(&["create", "add", "insert", "new"]) {
        Op::Create
    } else {
        Op::Update
    }
}

fn walk(
    catalog: &Catalog,
    delimiter: char,
    v: &Value,
    op: Op,
    depth: usize,
    out: &mut Vec<Change>,
    index: &mut HashMap<String, usize>,
) -> Result<()> {
    // `depth` counts the objects and lists around `v` below the field of `data`.
    if depth >= MAX_RESPONSE_DEPTH && matches!(v, Value::Array(_) | Value::Object(_)) {
        return Err(Error::LimitExceeded {
            what: "response nesting depth",
            limit: MAX_RESPONSE_DEPTH,
            actual: depth + 1,
        });
    }
    match v {
        Value::Array(items) => {
            for item in items {
                walk(catalog, delimiter, item, op, depth + 1, out, index)?;
            }
        }
        Value::Object(members) => {
            let mut child_op = op;
            if let Some(entity) =
                v.get("__typename").and_then(Value::as_str).and_then(|t| catalog.keyed_entity(t))
            {
                let id = match entity.key_fields.as_slice() {
                    [] => None,
                    [k] => v.get(k).and_then(Value::to_scalar_string),
                    // A composite key's id is its segment form (SPEC §2): each value encoded,
                    // joined by a literal `,`, as the entity's keys spell it.
                    fields => fields.iter().enumerate().try_fold(String::new(), |mut id, (i, k)| {
                        if i > 0 {
                            id.push(',');
                        }
                        push_encoded_segment(
                            &mut id,
                            &v.get(k).and_then(Value::to_scalar_string)?,
                            delimiter,
                        );
                        Some(id)
                    }),
                };
                if let Some(id) = id {
                    let key = [entity.keyspace.as_str(), id.as_str()].join("\n");
                    match index.get(&key) {
                        Some(&i) => {
                            // A deletion anywhere in the response wins over an update.
                            if op == Op::Delete {
                                out[i].op = Op::Delete;
                            }
                        }
                        None => {
                            index.insert(key, out.len());
                            out.push(Change {
                                entity: entity.keyspace.clone(),
                                id,
                                op,
                                data: Some(v.clone()),
                                before: None,
                            });
                        }
                    }
                    child_op = Op::Update;
                }
            }
            for (k, child) in members {
                if k != "__typename" {
                    walk(catalog, delimiter, child, child_op, depth + 1, out, index)?;
                }
            }
        }
        _ => {}
    }
    Ok(())
}
