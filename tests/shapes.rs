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
