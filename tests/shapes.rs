//! Schema shapes and the exact cascade set a change of each produces (SPEC §2).
//!
//! One row per case: a schema, the engine options (JSON, as JS passes them), a change (JSON, as
//! `cascade()` takes it), and the exact keys and patterns expected. To add a case, add a row.
//! Shapes are short SDL snippets on purpose: each row shows the one thing it is about.

use cascade_edge::{Change, Engine, EngineOptions, Value};

struct Case {
    /// What the row shows; printed when it fails.
    name: &'static str,
    sdl: &'static str,
    options: &'static str,
    change: &'static str,
    keys: &'static [&'static str],
    patterns: &'static [&'static str],
}

const ITEMS: &str =
    "type Item @key(fields: \"orgId number\") { orgId: ID!, number: Int!, comments: [Comment!]! }
                     type Comment { id: ID!, item: Item! }";

const BLOG: &str = "type User { id: ID!, posts: [Post!]! }
                    type Post { id: ID!, author: User!, comments: [Comment!]! }
                    type Comment { id: ID!, post: Post!, author: User! }
                    type Query { user(id: ID!): User }";

const PROFILE: &str = "type User { id: ID!, profile: Profile! }
                       type Profile { bio: String, employer: Company, school: School }
                       type Company { id: ID! }
                       type School { id: ID! }";

const MEDIA: &str = r#"interface Media { title: String }
                       type Book implements Media @key(fields: "isbn") { isbn: ID!, title: String }
                       type Movie implements Media { id: ID!, title: String }
                       type User { id: ID!, favorite: Media }"#;

#[rustfmt::skip]
const CASES: &[Case] = &[
    Case { name: "a to-one foreign key reaches the holder's list and the index",
        sdl: BLOG, options: "{}",
        change: r#"{"entity":"Post","id":"9","data":{"author_id":"1"}}"#,
        keys: &["post:9", "post:9:comments", "comment:post:9", "user:1:posts", "post:author:1"],
        patterns: &[] },
    Case { name: "a missing foreign key widens the list to every holder, never drops it",
        sdl: BLOG, options: "{}",
        change: r#"{"entity":"Post","id":"9","data":{}}"#,
        keys: &["post:9", "post:9:comments", "comment:post:9"],
        patterns: &["user:*:posts", "post:author:*"] },
    Case { name: "self-references are relationships",
        sdl: "type User { id: ID!, manager: User, reports: [User!]! }", options: "{}",
        change: r#"{"entity":"User","id":"2","data":{"manager_id":"1"}}"#,
        keys: &["user:2", "user:2:reports", "user:manager:2", "user:1:reports", "user:manager:1"],
        patterns: &[] },
    Case { name: "a composite key: the new comment purges its item's list, all key parts in one segment",
        sdl: ITEMS, options: "{}",
        change: r#"{"entity":"Comment","id":"3","data":{"item_orgId":"1","item_number":7}}"#,
        keys: &["comment:3", "item:1,7:comments", "comment:item:1,7"],
        patterns: &[] },
    Case { name: "a composite foreign key is found as itemOrgId, item.number and the snake_case column",
        sdl: ITEMS, options: "{}",
        change: r#"{"entity":"Comment","id":"3","data":{"itemOrgId":"1","item":{"number":7}}}"#,
        keys: &["comment:3", "item:1,7:comments", "comment:item:1,7"],
        patterns: &[] },
    Case { name: "a composite foreign key from SQL columns (item_org_id, item_number)",
        sdl: ITEMS, options: "{}",
        change: r#"{"entity":"Comment","id":"3","data":{"item_org_id":1,"item_number":7}}"#,
        keys: &["comment:3", "item:1,7:comments", "comment:item:1,7"],
        patterns: &[] },
    Case { name: "a missing part of a composite foreign key makes the whole segment `*`",
        sdl: ITEMS, options: "{}",
        change: r#"{"entity":"Comment","id":"3","data":{"item_orgId":"1"}}"#,
        keys: &["comment:3"],
        patterns: &["item:*:comments", "comment:item:*"] },
    Case { name: "a part holding `,` or `:` is encoded, so the joining `,` stays unambiguous",
        sdl: ITEMS, options: "{}",
        change: r#"{"entity":"Comment","id":"3","data":{"item_orgId":"a,b:c","item_number":7}}"#,
        keys: &["comment:3", "item:a%2Cb%3Ac,7:comments", "comment:item:a%2Cb%3Ac,7"],
        patterns: &[] },
    Case { name: "a composite-key entity's own change: its id is the joined segment form",
        sdl: ITEMS, options: "{}",
        change: r#"{"entity":"Item","id":"1,7"}"#,
        keys: &["item:1,7", "item:1,7:comments", "comment:item:1,7"],
        patterns: &[] },
    Case { name: "a composite id is taken as the segment form: escapes kept, other characters encoded",
        sdl: ITEMS, options: "{}",
        change: r#"{"entity":"Item","id":"a%2Cb:c,7"}"#,
        keys: &["item:a%2Cb%3Ac,7", "item:a%2Cb%3Ac,7:comments", "comment:item:a%2Cb%3Ac,7"],
        patterns: &[] },
    Case { name: "the keyFields option gives the same composite key",
        sdl: "type Item { orgId: ID!, number: Int!, comments: [Comment!]! }
              type Comment { id: ID!, item: Item! }",
        options: r#"{"keyFields":{"Item":["orgId","number"]}}"#,
        change: r#"{"entity":"Comment","id":"3","data":{"item_orgId":"1","item_number":7}}"#,
        keys: &["comment:3", "item:1,7:comments", "comment:item:1,7"],
        patterns: &[] },
    Case { name: "an explicit null foreign key means no parent: its keys are not rendered",
        sdl: BLOG, options: "{}",
        change: r#"{"entity":"Post","id":"9","data":{"author_id":null}}"#,
        keys: &["post:9", "post:9:comments", "comment:post:9"],
        patterns: &[] },
    Case { name: "an explicit null nested reference (author: null) means no parent too",
        sdl: BLOG, options: "{}",
        change: r#"{"entity":"Post","id":"9","data":{"author":null}}"#,
        keys: &["post:9", "post:9:comments", "comment:post:9"],
        patterns: &[] },
    Case { name: "a null foreign key before the change still purges the old parent",
        sdl: BLOG, options: "{}",
        change: r#"{"entity":"Post","id":"9","data":{"author_id":"2"},"before":{"author_id":null}}"#,
        keys: &["post:9", "post:9:comments", "comment:post:9", "user:2:posts", "post:author:2"],
        patterns: &[] },
    Case { name: "a null part of a composite foreign key means no parent",
        sdl: ITEMS, options: "{}",
        change: r#"{"entity":"Comment","id":"3","data":{"item_orgId":"1","item_number":null}}"#,
        keys: &["comment:3"],
        patterns: &[] },
    Case { name: "the snake_case column of a camelCase field is its foreign key",
        sdl: "type Post { id: ID!, maybeTag: Tag, billingAccount: Account! }
              type Tag { id: ID!, posts: [Post!]! }
              type Account { id: ID! }",
        options: "{}",
        change: r#"{"entity":"Post","id":"9","data":{"maybe_tag_id":"4","billing_account_id":"5"}}"#,
        keys: &["post:9", "tag:4:posts", "post:maybeTag:4", "post:billingAccount:5"],
        patterns: &[] },
    Case { name: "two lists of one type: the inverse is not guessed, both lists are purged whole",
        sdl: "type User { id: ID!, posts: [Post!]!, likedPosts: [Post!]! } type Post { id: ID!, author: User! }",
        options: "{}",
        change: r#"{"entity":"Post","id":"9","op":"delete","data":{"author_id":"1"}}"#,
        keys: &["post:9", "post:author:1"],
        patterns: &["user:*:posts", "user:*:likedPosts"] },
    Case { name: "the inverses option pairs a list explicitly, and null says it has none",
        sdl: "type User { id: ID!, posts: [Post!]!, likedPosts: [Post!]! } type Post { id: ID!, author: User! }",
        options: r#"{"inverses":{"User.posts":"Post.author","User.likedPosts":null}}"#,
        change: r#"{"entity":"Post","id":"9","op":"delete","data":{"author_id":"1"}}"#,
        keys: &["post:9", "user:1:posts", "post:author:1"],
        patterns: &["user:*:likedPosts"] },
    Case { name: "a type named Connection without a connection's shape is an entity",
        sdl: "type Source { id: ID! } type Destination { id: ID! }
              type Connection { id: ID!, source: Source!, destination: Destination! }",
        options: "{}",
        change: r#"{"entity":"Connection","id":"3","data":{"source_id":"1","destination_id":"2"}}"#,
        keys: &["connection:3", "connection:source:1", "connection:destination:2"],
        patterns: &[] },
    Case { name: "a field through a value type is keyed by its path: a holder's change fills it",
        sdl: PROFILE, options: "{}",
        change: r#"{"entity":"User","id":"1","data":{"profile":{"employer":{"id":"5"},"school_id":"7"}}}"#,
        keys: &["user:1", "user:profile.employer:5", "user:profile.school:7"],
        patterns: &[] },
    Case { name: "company 5 and school 5 reached through one value type do not share a key",
        sdl: PROFILE, options: "{}",
        change: r#"{"entity":"School","id":"5"}"#,
        keys: &["school:5", "user:profile.school:5"],
        patterns: &[] },
    Case { name: "an interface whose implementors have different keys: a reference to one renders only its key",
        sdl: MEDIA, options: "{}",
        change: r#"{"entity":"User","id":"1","data":{"favorite_id":"5"}}"#,
        keys: &["user:1", "user:favorite:5"],
        patterns: &[] },
    Case { name: "an interface whose implementors have different keys: the other implementor's key too",
        sdl: MEDIA, options: "{}",
        change: r#"{"entity":"User","id":"1","data":{"favorite":{"isbn":"x"}}}"#,
        keys: &["user:1", "user:favorite:x"],
        patterns: &[] },
    Case { name: "an interface whose implementors have different keys: no reference at all widens once",
        sdl: MEDIA, options: "{}",
        change: r#"{"entity":"User","id":"1","data":{}}"#,
        keys: &["user:1"],
        patterns: &["user:favorite:*"] },
    Case { name: "an interface whose implementors have different keys: each implementor's own change",
        sdl: MEDIA, options: "{}",
        change: r#"{"entity":"Book","id":"x"}"#,
        keys: &["book:x", "user:favorite:x"],
        patterns: &[] },
    Case { name: "an interface-typed to-one field as the inverse: only the referenced member's list",
        sdl: r#"interface Owner { name: String }
              type User implements Owner { id: ID!, name: String, repos: [Repo!]! }
              type Org implements Owner @key(fields: "login") { login: ID!, name: String, repos: [Repo!]! }
              type Repo { id: ID!, owner: Owner! }"#,
        options: "{}",
        change: r#"{"entity":"Repo","id":"3","data":{"owner_id":"1"}}"#,
        keys: &["repo:3", "user:1:repos", "repo:owner:1"],
        patterns: &[] },
];

fn run(case: &Case) -> Result<(Vec<String>, Vec<String>), String> {
    let value = |text: &str| Value::parse(text).map_err(|e| format!("{}: bad JSON: {e}", case.name));
    let options = EngineOptions::from_value(&value(case.options)?).map_err(|e| e.to_string())?;
    let mut engine = Engine::from_schema(case.sdl, options).map_err(|e| e.to_string())?;
    let change = Change::from_value(&value(case.change)?).map_err(|e| e.to_string())?;
    let set = engine.cascade(&change).map_err(|e| e.to_string())?;
    Ok((set.keys, set.patterns))
}

#[test]
fn every_shape_gives_its_exact_set() {
    let mut failures = Vec::new();
    for case in CASES {
        let want = (
            case.keys.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
            case.patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>(),
        );
        match run(case) {
            Ok(got) if got == want => {}
            Ok(got) => failures.push(format!(
                "{}\n  want keys {:?} patterns {:?}\n  got  keys {:?} patterns {:?}",
                case.name, want.0, want.1, got.0, got.1
            )),
            Err(e) => failures.push(format!("{}\n  error: {e}", case.name)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} shapes wrong:\n{}",
        failures.len(),
        CASES.len(),
        failures.join("\n")
    );
}

#[test]
fn a_composite_entity_key_cascades_as_the_change_of_its_id() {
    let mut engine = Engine::from_schema(ITEMS, EngineOptions::default()).expect("schema");
    let change = Change::from_value(&Value::parse(r#"{"entity":"Item","id":"a%2Cb,7"}"#).expect("json"))
        .expect("change");
    let by_change = engine.cascade(&change).expect("cascade").keys;
    assert_eq!(by_change, ["item:a%2Cb,7", "item:a%2Cb,7:comments", "comment:item:a%2Cb,7"]);
    // An LRU invalidating the key cascades it: its id segment is kept as it is, not decoded.
    assert_eq!(engine.cascade_key("item:a%2Cb,7").expect("an entity key").keys, by_change);
    // One part too few or too many is refused, naming the form.
    for id in ["7", "1,7,9"] {
        let change =
            Change::from_value(&Value::parse(&format!(r#"{{"entity":"Item","id":"{id}"}}"#)).expect("json"))
                .expect("change");
        let error = engine.cascade(&change).expect_err("wrong number of parts").to_string();
        assert!(error.contains("`1,7`"), "{error}");
    }
}

#[test]
fn a_manual_rule_fills_composite_key_fields_from_the_id() {
    let mut engine = Engine::from_schema(ITEMS, EngineOptions::default()).expect("schema");
    let rule = r#"{"entity":"Item","cascadeTo":["org:{orgId}:items","number:{number}"]}"#;
    engine.add_rule_value(&Value::parse(rule).expect("json")).expect("rule");
    let change = Change::from_value(&Value::parse(r#"{"entity":"Item","id":"a%2Cb,7"}"#).expect("json"))
        .expect("change");
    let set = engine.cascade(&change).expect("cascade");
    assert_eq!(
        set.keys,
        ["item:a%2Cb,7", "item:a%2Cb,7:comments", "comment:item:a%2Cb,7", "org:a%2Cb:items", "number:7"]
    );
    assert!(set.patterns.is_empty(), "{:?}", set.patterns);
}
