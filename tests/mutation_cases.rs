//! `changes_from_mutation` against the table of cases the package's JS walk is held to as well
//! (tests/fixtures/mutation-cases.json; tests/js/mutation-cases.test.mjs reads the same file).

use cascade_edge::{Change, Engine, EngineOptions, Value};
use std::path::Path;

fn read(path: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(path);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The engine of a schema of the table (`{ file }` or `{ sdl }`, and `options`).
fn engine(schema: &Value) -> Engine {
    let sdl = match schema.get("file").and_then(Value::as_str) {
        Some(file) => read(file),
        None => schema.get("sdl").and_then(Value::as_str).expect("a schema has `file` or `sdl`").to_owned(),
    };
    let options = match schema.get("options") {
        Some(options) => EngineOptions::from_value(options).expect("the schema's options"),
        None => EngineOptions::default(),
    };
    Engine::from_schema(&sdl, options).expect("the schema")
}

/// A case's response: as given, or its `nest` built (the leaf `levels` deep under data[field]).
fn response(case: &Value) -> Value {
    let Some(nest) = case.get("nest") else {
        return case.get("response").expect("a case has `response` or `nest`").clone();
    };
    let field = nest.get("field").and_then(Value::as_str).expect("nest.field");
    let levels = nest.get("levels").and_then(Value::as_f64).expect("nest.levels") as usize;
    let (open, close) = match nest.get("in").and_then(Value::as_str) {
        Some("list") => ("[", "]"),
        Some("object") => (r#"{"inner":"#, "}"),
        other => panic!("nest.in must be list or object, not {other:?}"),
    };
    let leaf = nest.get("leaf").expect("nest.leaf").to_json();
    let text = format!(
        "{{\"data\":{{{}:{}{leaf}{}}}}}",
        Value::from(field).to_json(),
        open.repeat(levels - 1),
        close.repeat(levels - 1)
    );
    Value::parse(&text).expect("the nested response")
}

/// A change as `(entity, id, op, data)`; the data only where the table pins it.
type Summary = (String, String, String, Option<Value>);

/// An expected change of the table: `[entity, id, op]` or `{ entity, id, op, data? }`.
fn expected(change: &Value) -> Summary {
    let text =
        |v: Option<&Value>| v.and_then(Value::as_str).expect("entity, id and op are strings").to_owned();
    match change.as_array() {
        Some([entity, id, op]) => (text(Some(entity)), text(Some(id)), text(Some(op)), None),
        Some(_) => panic!("an expected change is [entity, id, op]"),
        None => (
            text(change.get("entity")),
            text(change.get("id")),
            text(change.get("op")),
            change.get("data").cloned(),
        ),
    }
}

/// The changes found, as `want` has them: the data of those whose data it pins.
fn summaries(changes: &[Change], want: &[Summary]) -> Vec<Summary> {
    changes
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let data = want.get(i).and_then(|w| w.3.as_ref()).and(c.data.clone());
            (c.entity.clone(), c.id.clone(), c.op.as_str().to_owned(), data)
        })
        .collect()
}

#[test]
fn every_case_of_the_shared_table() {
    let table = Value::parse(&read("tests/fixtures/mutation-cases.json")).expect("the table is JSON");
    let schemas = table.get("schemas").and_then(Value::as_object).expect("schemas");
    let engines: Vec<(&str, Engine)> = schemas.iter().map(|(name, s)| (name.as_str(), engine(s))).collect();
    let cases = table.get("cases").and_then(Value::as_array).expect("cases");
    assert!(cases.len() >= 20, "only {} cases", cases.len());
    let mut failures = Vec::new();
    for case in cases {
        let name = case.get("name").and_then(Value::as_str).expect("a case has a name");
        let schema = case.get("schema").and_then(Value::as_str).expect("a case names its schema");
        let engine = &engines.iter().find(|(n, _)| *n == schema).expect("a schema of the table").1;
        let found = engine.changes_from_mutation(&response(case));
        let outcome = match (&found, case.get("code").and_then(Value::as_str)) {
            (Err(error), Some(code)) if error.code() == code => continue,
            (Err(error), _) => format!("error {}: {error}", error.code()),
            (Ok(changes), None) => {
                // Where a native build differs from the wasm build, the table says how (`native`).
                let changes_of = case.get("native").unwrap_or(case);
                let want: Vec<_> = changes_of
                    .get("changes")
                    .and_then(Value::as_array)
                    .expect("changes")
                    .iter()
                    .map(expected)
                    .collect();
                let got = summaries(changes, &want);
                if got == want
                    && changes.iter().all(|c| c.data.as_ref().is_some_and(|d| d.as_object().is_some()))
                {
                    continue;
                }
                format!("{got:?}, expected {want:?}")
            }
            (Ok(changes), Some(code)) => format!("{} changes, expected the error {code}", changes.len()),
        };
        failures.push(format!("{schema}: {name}: {outcome}"));
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
