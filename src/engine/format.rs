//! Rules documents: an engine saved as JSON (`toJSON`, `cascade-edge compile`) and loaded
//! without the schema (`fromJSON`), in format version 1 (everything spelled out) or 2 (slim).

use super::catalog::{words, Catalog};
use super::rulebook::{check_auto_rules_of, derived_rules, parse_rule, RuleBook};
use super::{Engine, EngineOptions, Logger, DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEYS, MAX_RULES};
use crate::condition::Condition;
use crate::error::{Error, Result};
use crate::rules::{Origin, Rule};
use crate::schema::{Cardinality, Entity, FieldLists, Relationship, RelationshipTable, SchemaOptions};
use crate::value::{Parser, Value};

impl Engine {
    /// The engine's entities, relationships and rules as JSON, loadable without the schema, in
    /// the slim format version 2 (4.5× smaller than version 1 on GitHub's schema).
    pub fn to_value(&self) -> Result<Value> {
        self.to_value_version(2)
    }

    /// As [`Engine::to_value`], in format `version` 1 or 2. Version 1 spells out every rule and
    /// every field list; it is still read, and written on request. Version 2 is slim: entities and
    /// relationships are arrays with lists joined by spaces, and when the rules start with
    /// exactly the auto rules of the relationships (`"derived": true`) those are not stored but
    /// derived again on load; only the rules after them are listed.
    pub fn to_value_version(&self, version: u32) -> Result<Value> {
        // A pending engine holds only rules read from JSON, which have no JS predicates.
        if let Some(r) = self
            .book
            .slots()
            .iter()
            .chain(self.book.pending_stored().unwrap_or_default())
            .find(|r| r.when.as_ref().is_some_and(Condition::has_external))
        {
            return Err(Error::rule(format!(
                "rule `{}` has a JS function as its condition, which cannot be saved; use the declarative `when` form",
                r.id
            )));
        }
        if version == 2 {
            return self.to_value_v2();
        }
        let entities = self.entities().iter().map(|e| entity_value(e, true)).collect();
        let relationships = self.relationships().iter().map(relationship_value).collect();
        let mut members = self.header(1, entities, relationships);
        members.push(("rules", Value::Array(self.rules().iter().map(Rule::to_value).collect())));
        Ok(Value::record(members))
    }

    fn to_value_v2(&self) -> Result<Value> {
        // A list whose items hold no space is one space-joined string; otherwise an array.
        fn list<'s>(v: impl Iterator<Item = &'s str> + Clone) -> Value {
            if v.clone().any(|s| s.is_empty() || s.contains(' ')) {
                Value::Array(v.map(Value::from).collect())
            } else {
                Value::from(v.collect::<Vec<_>>().join(" "))
            }
        }
        let entities = self
            .entities()
            .iter()
            .map(|e| {
                Value::Array(vec![
                    Value::from(e.type_name.as_str()),
                    Value::from(e.keyspace.as_str()),
                    list(e.key_fields.iter().map(String::as_str)),
                    list(e.fields.iter().map(String::as_str)),
                ])
            })
            .collect();
        let relationships = self
            .catalog
            .table()
            .iter()
            .map(|r| {
                Value::Array(vec![
                    Value::from(r.holder()),
                    Value::from(r.field()),
                    Value::from(r.target()),
                    Value::from(if r.cardinality() == Cardinality::One { "one" } else { "many" }),
                    list(r.via()),
                    list(r.inverse()),
                ])
            })
            .collect();
        let (is_derived, stored) = match self.book.pending_stored() {
            // Loaded with derived auto rules and nothing after them: no need to derive them again.
            Some([]) => (true, &[][..]),
            _ => {
                let (rules, derived) = (self.rules(), derived_rules(&self.catalog, self.options.delimiter)?);
                let is_derived = rules.len() >= derived.len() && rules[..derived.len()] == derived[..];
                (is_derived, if is_derived { &rules[derived.len()..] } else { rules })
            }
        };
        let mut members = self.header(2, entities, relationships);
        members.push(("derived", Value::Bool(is_derived)));
        members.push(("rules", Value::Array(stored.iter().map(Rule::to_value).collect())));
        Ok(Value::record(members))
    }

    /// The members every version of a rules document starts with.
    fn header(
        &self,
        version: u32,
        entities: Vec<Value>,
        relationships: Vec<Value>,
    ) -> Vec<(&'static str, Value)> {
        vec![
            ("format", Value::from("cascade-edge/rules")),
            ("version", Value::Number(f64::from(version))),
            ("delimiter", Value::from(self.options.delimiter.to_string())),
            ("maxDepth", Value::Number(f64::from(self.options.max_depth))),
            ("maxKeys", Value::Number(self.options.max_keys as f64)),
            ("entities", Value::Array(entities)),
            ("relationships", Value::Array(relationships)),
        ]
    }

    /// Loads an engine from the JSON text of [`Engine::to_value`]: the same engine, or the same
    /// error, as `from_value(&Value::parse(text)?)`, without building the tree of a version 2
    /// document written by `to_value` (strings are read in place; only the engine's own are
    /// allocated).
    pub fn from_json(text: &str, logger: Option<Logger>) -> Result<Engine> {
        match Self::read_v2(text) {
            Some(mut engine) => {
                engine.hooks.logger = logger;
                Ok(engine)
            }
            // Any other document, and every error, takes the general path, which says what is wrong.
            None => Self::from_value(&Value::parse(text)?, logger),
        }
    }

    /// Reads a version 2 document whose `version` comes before its entities and relationships
    /// (as `to_value` writes them); `None` for anything else, or anything wrong.
    fn read_v2(text: &str) -> Option<Engine> {
        let stop = || Error::json("not read in place", None);
        let mut p = Parser::new(text);
        // Every member but the entities and relationships, as `from_value` would see them.
        let mut head: Vec<(String, Value)> = Vec::new();
        let mut entities: Option<(Vec<Entity>, FieldLists)> = None;
        let mut relationships: Option<RelationshipTable> = None;
        p.members(&mut |p, key| {
            let v2 = head.iter().find(|(k, _)| k == "version").is_some_and(|(_, v)| v.as_f64() == Some(2.0));
            match &*key {
                // Rows of plain strings (what `to_value` writes, unless a name needs an escape or
                // a list item holds a space) are read here; any other row stops the in-place
                // read, and `from_value` reads the document.
                "entities" if v2 && entities.is_none() => {
                    let (mut list, mut lists) = (Vec::new(), FieldLists::default());
                    p.items(&mut |p| {
                        let mut cells = [""; 4];
                        if !p.plain_strings(&mut cells) {
                            return Err(stop());
                        }
                        let [type_name, keyspace, key_fields, fields] = cells;
                        list.push(Entity {
                            type_name: type_name.to_owned(),
                            keyspace: keyspace.to_owned(),
                            key_fields: words(key_fields),
                            fields: Vec::new(),
                        });
                        lists.push(fields);
                        Ok(())
                    })?;
                    entities = Some((list, lists));
                }
                "relationships" if v2 && relationships.is_none() => {
                    // Strings go straight into the table's buffer: nothing is allocated per row.
                    let mut table = RelationshipTable::for_rows_of(p.remaining());
                    let mut last = None;
                    p.items(&mut |p| {
                        let mut cells = [""; 6];
                        if !p.plain_strings(&mut cells) {
                            return Err(stop());
                        }
                        let [holder, field, target, cardinality, via, inverse] = cells;
                        let cardinality = match cardinality {
                            "one" => Cardinality::One,
                            "many" => Cardinality::Many,
                            _ => return Err(stop()),
                        };
                        let row = [holder, field, target, via, inverse];
                        table.push_row(row, last, cardinality);
                        last = Some(row);
                        Ok(())
                    })?;
                    relationships = Some(table);
                }
                // A repeated member replaces the first (as in `JSON.parse`): not worth following here.
                "entities" | "relationships" => return Err(stop()),
                _ if head.iter().any(|(k, _)| *k == key) => return Err(stop()),
                _ => {
                    let v = p.read_value(1)?;
                    head.push((key.into_owned(), v));
                }
            }
            Ok(())
        })
        .ok()?;
        if !p.at_end() {
            return None;
        }
        let head = Value::Object(head);
        let (_, options) = Self::read_header(&head).ok()?;
        let (entities, lists) = entities?;
        let catalog = Catalog::new(entities, Some(lists), relationships?, None).ok()?;
        let deferred = head.get("derived").and_then(Value::as_bool) == Some(true);
        if deferred {
            check_auto_rules_of(&catalog, options.delimiter).ok()?;
        }
        let book = read_rules(&catalog, options.delimiter, &head, deferred).ok()?;
        Some(Engine::assemble(options, catalog, book, None))
    }

    /// The format, version and options of a rules document.
    fn read_header(v: &Value) -> Result<(u32, EngineOptions)> {
        let bad = precompiled_error;
        if v.get("format").and_then(Value::as_str) != Some("cascade-edge/rules") {
            return Err(bad(
                "not a cascade-edge rules document (missing \"format\": \"cascade-edge/rules\")",
            ));
        }
        let version = match v.get("version").and_then(Value::as_f64) {
            Some(1.0) => 1,
            Some(2.0) => 2,
            _ => return Err(bad("unsupported version; this build reads versions 1 and 2")),
        };
        let mut delim = v.get("delimiter").and_then(Value::as_str).unwrap_or(":").chars();
        let delimiter = match (delim.next(), delim.next()) {
            (Some(c), None) => c,
            _ => return Err(bad("`delimiter` must be one character")),
        };
        let num = |k: &str, default: f64| v.get(k).and_then(Value::as_f64).unwrap_or(default);
        let options = EngineOptions {
            delimiter,
            max_depth: num("maxDepth", f64::from(DEFAULT_MAX_DEPTH)).clamp(0.0, 64.0) as u32,
            max_keys: num("maxKeys", DEFAULT_MAX_KEYS as f64).max(1.0) as usize,
            verbose: false,
            schema: SchemaOptions::default(),
        };
        options.validate()?;
        Ok((version, options))
    }

    /// Loads an engine saved with [`Engine::to_value`]; no schema is parsed.
    pub fn from_value(v: &Value, logger: Option<Logger>) -> Result<Engine> {
        let (version, options) = Self::read_header(v)?;
        let bad = precompiled_error;
        let string = string_member;
        let strings = |o: &Value, k: &str| -> Result<Vec<String>> {
            match o.get(k) {
                None => Ok(Vec::new()),
                Some(Value::Array(items)) => string_items(items, &format!("`{k}`")),
                Some(_) => Err(bad(&format!("`{k}` must be an array"))),
            }
        };
        fn array<'v>(o: &'v Value, k: &str) -> Result<&'v [Value]> {
            match o.get(k) {
                Some(Value::Array(items)) => Ok(items.as_slice()),
                _ => Err(Error::json(format!("precompiled rules: `{k}` must be an array"), None)),
            }
        }
        // Version 2 rows: positional strings, and lists as one space-joined string (or an array).
        let cell = |row: &[Value], i: usize, what: &str| -> Result<String> {
            row.get(i)
                .and_then(Value::as_str)
                .map(str::to_owned)
                .ok_or_else(|| bad(&format!("{what} must be a string")))
        };
        let cell_list = |row: &[Value], i: usize, what: &str| -> Result<Vec<String>> {
            match row.get(i) {
                Some(Value::String(s)) => Ok(words(s)),
                Some(Value::Array(items)) => string_items(items, what),
                _ => Err(bad(&format!("{what} must be a string or an array"))),
            }
        };
        fn row<'v>(r: &'v Value, what: &str) -> Result<&'v [Value]> {
            r.as_array().ok_or_else(|| {
                Error::json(
                    format!("precompiled rules: each of `{what}` must be an array in version 2"),
                    None,
                )
            })
        }
        let cardinality = |c: &str| match c {
            "one" => Ok(Cardinality::One),
            "many" => Ok(Cardinality::Many),
            _ => Err(bad("`cardinality` must be \"one\" or \"many\"")),
        };
        let mut entities = Vec::new();
        for e in array(v, "entities")? {
            entities.push(if version == 2 {
                let e = row(e, "entities")?;
                Entity {
                    type_name: cell(e, 0, "an entity's type")?,
                    keyspace: cell(e, 1, "an entity's keyspace")?,
                    key_fields: cell_list(e, 2, "an entity's key fields")?,
                    fields: cell_list(e, 3, "an entity's fields")?,
                }
            } else {
                Entity {
                    type_name: string(e, "type")?,
                    keyspace: string(e, "keyspace")?,
                    key_fields: strings(e, "keyFields")?,
                    fields: strings(e, "fields")?,
                }
            });
        }
        let mut relationships = Vec::new();
        for r in array(v, "relationships")? {
            relationships.push(if version == 2 {
                let r = row(r, "relationships")?;
                Relationship {
                    holder: cell(r, 0, "a relationship's holder")?,
                    field: cell(r, 1, "a relationship's field")?,
                    target: cell(r, 2, "a relationship's target")?,
                    cardinality: cardinality(&cell(r, 3, "a relationship's cardinality")?)?,
                    via: cell_list(r, 4, "a relationship's via")?,
                    inverse: cell_list(r, 5, "a relationship's inverse")?,
                }
            } else {
                Relationship {
                    holder: string(r, "holder")?,
                    field: string(r, "field")?,
                    target: string(r, "target")?,
                    cardinality: cardinality(&string(r, "cardinality")?)?,
                    via: strings(r, "via")?,
                    inverse: strings(r, "inverse")?,
                }
            });
        }
        let table = RelationshipTable::from_relationships(&relationships);
        let catalog = Catalog::new(entities, None, table, Some(relationships))?;
        let deferred = version == 2 && v.get("derived").and_then(Value::as_bool) == Some(true);
        if deferred {
            check_auto_rules_of(&catalog, options.delimiter)?;
        }
        let book = read_rules(&catalog, options.delimiter, v, deferred)?;
        Ok(Engine::assemble(options, catalog, book, logger))
    }
}

/// The rule book of a document's stored rules, after the catalogue's auto rules when
/// `deferred` (derived when first needed).
fn read_rules(catalog: &Catalog, delimiter: char, v: &Value, deferred: bool) -> Result<RuleBook> {
    let bad = precompiled_error;
    let string = string_member;
    let rules = match v.get("rules") {
        Some(Value::Array(items)) => items.as_slice(),
        _ => return Err(bad("`rules` must be an array")),
    };
    if rules.len() > MAX_RULES {
        return Err(Error::LimitExceeded { what: "number of rules", limit: MAX_RULES, actual: rules.len() });
    }
    let mut stored = Vec::with_capacity(rules.len());
    for r in rules {
        let source = string(r, "source")?;
        let mut rule = parse_rule(
            catalog,
            delimiter,
            &Value::Object(
                r.as_object()
                    .unwrap_or_default()
                    .iter()
                    .filter(|(k, _)| {
                        matches!(k.as_str(), "entity" | "cascadeTo" | "when" | "onFields" | "maxDepth")
                    })
                    .cloned()
                    .collect(),
            ),
            None,
        )?;
        rule.coarse = r.get("coarse").and_then(Value::as_bool).unwrap_or(false);
        if source == "auto" {
            let rel = string(r, "relationship")?;
            let (holder, field) =
                rel.split_once('.').ok_or_else(|| bad("`relationship` must be Holder.field"))?;
            rule.origin = Origin::Auto { holder: holder.to_owned(), field: field.to_owned() };
        }
        stored.push(rule);
    }
    Ok(if deferred { RuleBook::deferred(stored) } else { RuleBook::of(catalog, stored) })
}

/// An entity as JSON: its type, keyspace and key fields (the shape `engine.entities()` returns),
/// and with `fields` its fields (a version 1 document's shape).
pub(crate) fn entity_value(e: &Entity, fields: bool) -> Value {
    let mut members = vec![
        ("type", Value::from(e.type_name.as_str())),
        ("keyspace", Value::from(e.keyspace.as_str())),
        ("keyFields", Value::strings(&e.key_fields)),
    ];
    if fields {
        members.push(("fields", Value::strings(&e.fields)));
    }
    Value::record(members)
}

/// The items of a precompiled document's array, which must be strings (`{what} must hold strings`).
fn string_items(items: &[Value], what: &str) -> Result<Vec<String>> {
    items
        .iter()
        .map(|s| {
            s.as_str()
                .map(str::to_owned)
                .ok_or_else(|| precompiled_error(&format!("{what} must hold strings")))
        })
        .collect()
}

/// The string member `k` of a precompiled document's object `o`.
fn string_member(o: &Value, k: &str) -> Result<String> {
    o.get(k)
        .and_then(Value::as_str)
        .map(str::to_owned)
        .ok_or_else(|| precompiled_error(&format!("`{k}` must be a string")))
}

fn precompiled_error(what: &str) -> Error {
    Error::json(format!("precompiled rules: {what}"), None)
}

/// A relationship as JSON, in the shape `engine.relationships()` returns.
pub fn relationship_value(r: &Relationship) -> Value {
    let strings = Value::strings;
    Value::record(vec![
        ("holder", Value::from(r.holder.as_str())),
        ("field", Value::from(r.field.as_str())),
        ("target", Value::from(r.target.as_str())),
        ("cardinality", Value::from(if r.cardinality == Cardinality::One { "one" } else { "many" })),
        ("via", strings(&r.via)),
        ("inverse", strings(&r.inverse)),
    ])
}

#[cfg(test)]
mod format_tests {
    use super::*;
    use crate::cascade::Change;
    use crate::keys::MAX_KEY_LEN;
    use crate::rules::check_auto_rules;

    const SDL: &str = "type User { id: ID! name: String posts: [Post!]! manager: User }
        type Post { id: ID! title: String author: User! tags: [Tag!]! }
        type Tag { id: ID! label: String }
        type Query { user: User }";

    fn reload(e: &Engine, version: u32) -> Engine {
        let text = e.to_value_version(version).unwrap().to_json();
        Engine::from_value(&Value::parse(&text).unwrap(), None).unwrap()
    }

    #[test]
    fn version_2_round_trips_rules_and_cascades() {
        let mut e = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        e.add_rule_value(
            &Value::parse(r#"{"entity":"post","cascadeTo":["feed:{author_id}"],"onFields":["title"]}"#)
                .unwrap(),
        )
        .unwrap();
        let v2 = e.to_value_version(2).unwrap();
        assert_eq!(v2.get("derived").and_then(Value::as_bool), Some(true));
        assert_eq!(v2.get("rules").and_then(Value::as_array).map(<[Value]>::len), Some(1));
        // An engine whose auto rules were edited stores every rule.
        let mut edited = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let first = edited.rules()[0].id.clone();
        edited.remove_rule(&first).unwrap();
        for engine in [&e, &edited] {
            for loaded in [reload(engine, 1), reload(engine, 2)] {
                assert_eq!(loaded.rules(), engine.rules());
                assert_eq!(loaded.relationships(), engine.relationships());
                assert_eq!(loaded.entities(), engine.entities());
                assert_eq!(loaded.to_value().unwrap().to_json(), engine.to_value().unwrap().to_json());
                assert_eq!(
                    loaded.to_value_version(2).unwrap().to_json(),
                    engine.to_value_version(2).unwrap().to_json()
                );
            }
        }
        let mut loaded = reload(&e, 2);
        for c in [Change::new("user", "1"), Change::new("post", "9"), Change::new("tag", "3")] {
            assert_eq!(loaded.cascade(&c).unwrap(), e.cascade(&c).unwrap());
        }
        assert_eq!(reload(&edited, 2).to_value_version(2).unwrap().get("derived"), Some(&Value::Bool(false)));
    }

    /// A version 2 document derives its auto rules on first use; every path to the rules sees
    /// what an eager load would have made.
    #[test]
    fn deferred_auto_rules_behave_as_derived_at_load() {
        let e = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let mut doc = e.to_value_version(2).unwrap();
        // A stored rule identical to an auto rule is skipped, as inserting it would be.
        let auto = e.rules()[0].to_value();
        let manual =
            Value::parse(r#"{"entity":"post","cascadeTo":["feed:{author_id}"],"source":"manual"}"#).unwrap();
        if let Value::Object(members) = &mut doc {
            for (k, v) in members.iter_mut() {
                if k == "rules" {
                    *v = Value::Array(vec![auto.clone(), manual.clone(), manual.clone()]);
                }
            }
        }
        let text = doc.to_json();
        let load = || Engine::from_value(&Value::parse(&text).unwrap(), None).unwrap();
        let mut expected = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        expected
            .add_rule_value(&Value::parse(r#"{"entity":"post","cascadeTo":["feed:{author_id}"]}"#).unwrap())
            .unwrap();
        let saved =
            |e: &Engine| (e.to_value_version(1).unwrap().to_json(), e.to_value_version(2).unwrap().to_json());
        // Read through `&self` first, then materialized by a cascade.
        let mut loaded = load();
        assert_eq!(loaded.rules(), expected.rules());
        assert_eq!(saved(&loaded), saved(&expected));
        assert_eq!(loaded.lint(), expected.lint());
        assert_eq!(loaded.rule_id(3), expected.rule_id(3));
        let c = Change::new("user", "1");
        assert_eq!(loaded.cascade(&c).unwrap(), expected.cascade(&c).unwrap());
        assert_eq!(loaded.rules(), expected.rules());
        // Changed before anything read the rules.
        let first = expected.rules()[0].id.clone();
        let mut removed = load();
        removed.remove_rule(&first).unwrap();
        let mut added = load();
        added
            .add_rule_value(&Value::parse(r#"{"entity":"tag","cascadeTo":["tag:{id}:x"]}"#).unwrap())
            .unwrap();
        let mut cleared = load();
        cleared.clear_rules();
        expected.remove_rule(&first).unwrap();
        assert_eq!(saved(&removed), saved(&expected));
        let mut expected = load();
        expected.cascade(&c).unwrap();
        expected
            .add_rule_value(&Value::parse(r#"{"entity":"tag","cascadeTo":["tag:{id}:x"]}"#).unwrap())
            .unwrap();
        assert_eq!(saved(&added), saved(&expected));
        assert!(cleared.rules().is_empty());
        assert_eq!(cleared.cascade(&c).unwrap().keys, ["user:1"]);
    }

    /// `from_json` reads `to_value`'s version 2 layout in place and everything else through a
    /// tree; either way it gives what `from_value` gives, engine or error.
    #[test]
    fn from_json_is_from_value_of_the_parsed_text() {
        let mut e = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        e.add_rule_value(&Value::parse(r#"{"entity":"post","cascadeTo":["feed:{author_id}"]}"#).unwrap())
            .unwrap();
        let v2 = e.to_value_version(2).unwrap().to_json();
        let v1 = e.to_value_version(1).unwrap().to_json();
        let mut edited = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let first = edited.rules()[0].id.clone();
        edited.remove_rule(&first).unwrap();
        let underived = edited.to_value_version(2).unwrap().to_json();
        let variants = [
            v2.clone(),
            v1,
            underived,
            format!(" \n{v2}\t "),
            v2.replace(r#""version":2,"#, "").replace(r#""derived""#, r#""version":2,"derived""#),
            v2.replace(r#"["User","user","id""#, r#"["U\u0073er","user","id","extra",[1,{"a":null}]"#),
            v2.replace(
                r#"["User","posts","Post","many","","author"]"#,
                r#"["User","posts","Post","many",[],["author"],7]"#,
            ),
            v2.replace(r#""entities":"#, r#""x":{"entities":[]},"entities":"#),
            v2.replace(r#""maxDepth":3"#, r#""maxDepth":"deep""#),
            v2.replace(r#""derived":true"#, r#""derived":true,"derived":false"#),
            v2.replace(r#""relationships":"#, r#""relationships":[],"relationships":"#),
            v2.replace(r#""many""#, r#""several""#),
            v2.replace(r#"["User","user","id""#, r#"["User","user",3"#),
            v2.replace(r#"["User","user","id""#, r#"["User","user",["id",""]"#),
            v2.replace(r#"["Tag","tag","id","id label"]"#, r#"["Tag","tag","id"]"#),
            v2.replace(r#""rules":["#, r#""rules":{"#),
            v2.replace(r#""format":"cascade-edge/rules""#, r#""format":"other""#),
            v2.replace(r#""delimiter":":""#, r#""delimiter":"/""#),
            v2.replace(r#""delimiter":":""#, r#""delimiter":"::""#),
            format!("{v2} 1"),
            v2[..v2.len() / 2].to_owned(),
            v2.replace(r#""user""#, r#""post""#),
            String::new(),
            "[]".to_owned(),
            v2.replace(r#"["User","posts","Post""#, "[ \"User\" ,\n\"posts\",\t\"Post\""),
        ];
        let in_place: Vec<usize> =
            (0..variants.len()).filter(|&i| Engine::read_v2(&variants[i]).is_some()).collect();
        // Rows with an escape (5), extra cells (5, 6) or a list as an array (6, 13) are read by
        // `from_value`; whitespace between cells is not a reason to (3, 24).
        assert_eq!(in_place, [0, 2, 3, 7, 8, 17, 24]);
        assert!(variants[6].contains(r#"["author"],7]"#));
        for (i, text) in variants.iter().enumerate() {
            let fast = Engine::from_json(text, None);
            let slow = Value::parse(text).and_then(|v| Engine::from_value(&v, None));
            match (fast, slow) {
                (Ok(fast), Ok(slow)) => {
                    assert_eq!(fast.entities(), slow.entities(), "variant {i}");
                    assert_eq!(fast.relationships(), slow.relationships(), "variant {i}");
                    assert_eq!(fast.options().max_depth, slow.options().max_depth, "variant {i}");
                    assert_eq!(fast.rules(), slow.rules(), "variant {i}");
                    for version in [1, 2] {
                        assert_eq!(
                            fast.to_value_version(version).unwrap().to_json(),
                            slow.to_value_version(version).unwrap().to_json(),
                            "variant {i}"
                        );
                    }
                }
                (Err(fast), Err(slow)) => assert_eq!(fast.to_string(), slow.to_string(), "variant {i}"),
                (fast, slow) => panic!("variant {i}: {:?} vs {:?}", fast.err(), slow.err()),
            }
        }
    }

    /// A load keeps the entities' field lists as written and splits them for the first reader
    /// that needs them (`entities()`, a manual rule's placeholders, `lint`): every answer is
    /// the one of the schema's engine, whichever comes first.
    #[test]
    fn a_loaded_engine_checks_fields_as_the_schema_engine_does() {
        let schema = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let text = schema.to_value_version(2).unwrap().to_json();
        let rule = |t: &str| {
            Value::parse(&format!(r#"{{"entity":"post","cascadeTo":["{t}"],"onFields":["nope","title"]}}"#))
        };
        let lints = |e: &Engine| -> Vec<String> {
            e.lint().iter().map(|l| format!("{} {} {}", l.rule, l.code, l.message)).collect()
        };
        for order in 0..3 {
            let mut loaded = Engine::from_json(&text, None).unwrap();
            assert!(loaded.catalog.fields_unsplit());
            let mut schema = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
            if order == 1 {
                assert_eq!(loaded.entities(), schema.entities());
            }
            for t in
                ["feed:{author_id}", "feed:{authorId}", "feed:{nope}", "feed:{title}", "feed:{author.name}"]
            {
                let r = rule(t).unwrap();
                assert_eq!(
                    loaded.add_rule_value(&r).map_err(|e| e.to_string()),
                    schema.add_rule_value(&r).map_err(|e| e.to_string()),
                    "{t}"
                );
            }
            if order == 2 {
                assert_eq!(lints(&loaded), lints(&schema));
            }
            assert_eq!(loaded.entities(), schema.entities());
            assert_eq!(lints(&loaded), lints(&schema));
            assert!(lints(&loaded).iter().any(|l| l.contains("NEVER_FIRES `nope`")), "{:?}", lints(&loaded));
            assert_eq!(
                loaded.to_value_version(2).unwrap().to_json(),
                schema.to_value_version(2).unwrap().to_json()
            );
        }
    }

    /// The load check tests each piece once and falls back to the templates for a relationship
    /// with an odd piece: it fails exactly where checking every template does, with that error.
    #[test]
    fn the_piecewise_auto_rule_check_fails_where_every_template_fails() {
        let e = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let v2 = e.to_value_version(2).unwrap().to_json();
        let long = "x".repeat(MAX_KEY_LEN / 2);
        let variants = [
            v2.clone(),
            v2.replace(r#"["User","manager""#, r#"["User","man{ager""#),
            v2.replace(r#"["User","manager""#, r#"["User","man:ager""#),
            v2.replace(r#"["User","manager""#, r#"["User","man ager""#),
            v2.replace(r#"["User","manager""#, r#"["User","""#),
            v2.replace(r#"["User","manager""#, &format!(r#"["User","{long}""#)),
            v2.replace(r#"["User","manager""#, &format!(r#"["User","{}""#, &long[..MAX_KEY_LEN / 2 - 20])),
            v2.replace(r#""user","id""#, r#""us*er","id""#),
            v2.replace(r#""user","id""#, r#""user","i-d""#),
            v2.replace(r#""post","id""#, r#""post","""#),
            v2.replace(r#""many","","author""#, r#""many","","au{thor""#),
            v2.replace(r#""many","","author""#, r#""many","","au thor""#),
            v2.replace(r#""many","","author""#, &format!(r#""many","","{long}""#)),
            v2.replace(r#""delimiter":":""#, r#""delimiter":"_""#),
        ];
        let mut failing = 0;
        for (i, text) in variants.iter().enumerate() {
            // The document's entities and relationships, loaded without the check (`derived: false`).
            let underived = text.replace(r#""derived":true"#, r#""derived":false"#);
            let Ok(engine) = Engine::from_value(&Value::parse(&underived).unwrap(), None) else { continue };
            let every_template =
                engine.catalog.table().iter().try_for_each(|rel| match engine.catalog.entity_refs(rel) {
                    Some(((_, holder), (_, target))) => {
                        check_auto_rules(rel, &holder, &target, engine.options.delimiter)
                    }
                    None => Ok(()),
                });
            let message = |r: &Result<_>| r.as_ref().err().map(ToString::to_string);
            let piecewise = check_auto_rules_of(&engine.catalog, engine.options.delimiter);
            assert_eq!(message(&piecewise), message(&every_template), "variant {i}");
            let loaded = Engine::from_value(&Value::parse(text).unwrap(), None).map(drop);
            assert_eq!(message(&loaded), message(&piecewise), "variant {i}");
            failing += usize::from(every_template.is_err());
        }
        assert!(failing >= 8, "{failing}");
    }

    #[test]
    fn a_derived_document_whose_auto_rules_cannot_be_built_fails_to_load() {
        let e = Engine::from_schema(SDL, EngineOptions::default()).unwrap();
        let text =
            e.to_value_version(2).unwrap().to_json().replace(r#"["User","manager""#, r#"["User","man{ager""#);
        assert!(text.contains("man{ager"));
        let err = Engine::from_value(&Value::parse(&text).unwrap(), None).unwrap_err();
        assert_eq!(err.code(), "INVALID_TEMPLATE", "{err}");
    }
}
