//! Auto rules, manual rules, validation, linting, precompiled JSON (SPEC §2–3).

mod common;

use cascade_edge::{Change, Engine, EngineOptions, Error, GraphFormat, Value};
use common::{blog, fixture, json};

#[test]
fn the_blog_schema_gives_these_auto_rules_in_firing_order() {
    let ids: Vec<String> = blog().rules().iter().map(|r| r.id.clone()).collect();
    assert_eq!(
        ids,
        [
            "user -> user:{id}:posts",
            "user -> post:author:{id}",
            "user -> comment:author:{id}",
            "post -> post:{id}:comments",
            "post -> comment:post:{id}",
            "post -> user:{author_id}:posts",
            "post -> post:author:{author_id}",
            "comment -> post:{post_id}:comments",
            "comment -> comment:author:{author_id}",
            "comment -> comment:post:{post_id}",
        ]
    );
}

#[test]
fn verbose_setup_logs_relationships_and_rules() {
    let lines = std::rc::Rc::new(std::cell::RefCell::new(Vec::<String>::new()));
    let sink = lines.clone();
    Engine::from_schema_with_logger(
        common::BLOG_SDL,
        EngineOptions { verbose: true, ..EngineOptions::default() },
        Some(Box::new(move |l: &str| sink.borrow_mut().push(l.to_owned()))),
    )
    .unwrap();
    let lines = lines.borrow();
    assert_eq!(lines[0], "CASCADE: Detected relationship: User -> Post (field: posts)");
    assert_eq!(lines[5], "CASCADE: Rule: user -> user:{id}:posts");
    assert_eq!(lines.last().unwrap(), "CASCADE: Created 10 CASCADE rules");
}

#[test]
fn a_to_many_field_without_inverse_gives_a_coarse_rule() {
    let sdl = "type Tag { id: ID! } type Post { id: ID! tags: [Tag!]! } type Query { posts: [Post] }";
    let mut e = Engine::from_schema(sdl, EngineOptions::default()).unwrap();
    let set = e.cascade(&Change::new("tag", "7")).unwrap();
    assert_eq!(set.keys, ["tag:7"]);
    assert_eq!(set.patterns, ["post:*:tags"]);
    assert!(set.trace[1].coarse);
    assert_eq!(e.lint().iter().filter(|l| l.code == "COARSE").count(), 1);
}

#[test]
fn manual_rules_are_validated_with_helpful_errors() {
    let mut e = blog();
    let err = |e: &mut Engine, rule: &str| e.add_rule_value(&json(rule)).unwrap_err();
    assert_eq!(
        err(&mut e, r#"{"entity":"users","cascadeTo":["x"]}"#).to_string(),
        "unknown entity `users` — did you mean `user`?"
    );
    assert_eq!(
        err(&mut e, r#"{"entity":"user","cascadeTo":["user:{nope}:x"]}"#),
        Error::UnknownPlaceholder { template: "user:{nope}:x".into(), placeholder: "nope".into() }
    );
    assert_eq!(err(&mut e, r#"{"entity":"user","cascadeTo":["user::x"]}"#).code(), "INVALID_TEMPLATE");
    assert_eq!(err(&mut e, r#"{"entity":"user","cascadeTo":[]}"#).code(), "INVALID_RULE");
    assert_eq!(err(&mut e, r#"{"entity":"user","cascadeTo":["a"],"maxDepth":-1}"#).code(), "INVALID_RULE");
    assert_eq!(err(&mut e, r#"{"entity":"user","cascade_to":["a"]}"#).code(), "INVALID_RULE");
    assert_eq!(
        err(&mut e, r#"{"entity":"user","cascadeTo":["a"],"when":{"field":"x"}}"#).code(),
        "INVALID_RULE"
    );
    assert_eq!(e.rules().len(), 10, "failed adds change nothing");
}

#[test]
fn placeholders_accept_fields_foreign_keys_and_nested_paths() {
    let mut e = blog();
    for t in ["post:{author_id}:x", "post:{authorId}:x", "post:{author.id}:x", "post:{title}:{id}"] {
        e.add_rule_value(&json(&format!(r#"{{"entity":"post","cascadeTo":["{t}"]}}"#))).unwrap();
    }
}

#[test]
fn identical_rules_are_kept_once_and_can_be_removed() {
    let mut e = blog();
    let rule = json(r#"{"entity":"User","cascadeTo":["feed:{id}","feed:{id}"],"onFields":["name"]}"#);
    let id = e.add_rule_value(&rule).unwrap();
    assert_eq!(id, "user -> feed:{id} on name");
    assert_eq!(e.add_rule_value(&rule).unwrap(), id);
    assert_eq!(e.rules().len(), 11);
    e.remove_rule(&id).unwrap();
    assert_eq!(e.rules().len(), 10);
    assert_eq!(e.remove_rule(&id).unwrap_err().code(), "UNKNOWN_RULE");
    e.clear_rules();
    assert_eq!(e.cascade(&Change::new("user", "1")).unwrap().keys, ["user:1"]);
}

#[test]
fn the_linter_reports_over_broad_and_never_firing_rules() {
    let mut e = blog();
    e.add_rule_value(&json(r#"{"entity":"user","cascadeTo":["*"]}"#)).unwrap();
    e.add_rule_value(&json(r#"{"entity":"user","cascadeTo":["x:1"],"onFields":["nmae"]}"#)).unwrap();
    let lints: Vec<(String, &str)> = e.lint().into_iter().map(|l| (l.rule, l.code)).collect();
    assert_eq!(
        lints,
        [("user -> *".to_string(), "OVER_BROAD"), ("user -> x:1 on nmae".to_string(), "NEVER_FIRES")]
    );
}

#[test]
fn precompiled_rules_give_identical_cascade_sets() {
    let mut e = blog();
    e.add_rule_value(&json(
        r#"{"entity":"post","cascadeTo":["feed:{author_id}"],"when":{"any":[{"field":"status","in":["published"]},{"changed":["title"]}]},"maxDepth":1}"#,
    ))
    .unwrap();
    let text = e.to_value().unwrap().to_json();
    let mut loaded = Engine::from_value(&Value::parse(&text).unwrap(), None).unwrap();
    assert_eq!(loaded.to_value().unwrap().to_json(), text);
    let changes = [
        Change::new("user", "1"),
        Change::new("post", "9").with_data(json(r#"{"author_id":3,"status":"published"}"#)),
        Change::new("comment", "4").with_data(json(r#"{"post":{"id":9}}"#)),
        Change::new("post", "2"),
    ];
    for c in &changes {
        assert_eq!(loaded.cascade(c).unwrap(), e.cascade(c).unwrap());
    }
    for bad in [
        "{}",
        r#"{"format":"cascade-edge/rules","version":2}"#,
        r#"{"format":"cascade-edge/rules","version":1}"#,
    ] {
        assert!(Engine::from_value(&json(bad), None).is_err(), "{bad}");
    }
}

#[test]
fn the_graph_renders_in_four_formats() {
    let e = blog();
    let tree = e.graph(GraphFormat::Tree);
    assert!(tree.starts_with(
        "user\n├─ user:{id}:posts → user\n├─ post:author:{id} → post\n└─ comment:author:{id} → comment\n"
    ));
    let dot = e.graph(GraphFormat::Dot);
    assert!(dot.contains("  \"user\" -> \"post\" [label=\"post:author:{id}\"];"));
    let mermaid = e.graph(GraphFormat::Mermaid);
    assert!(mermaid.contains("  user[user] -->|\"post:author:{id}\"| post[post]"));
    let graph = Value::parse(&e.graph(GraphFormat::Json)).unwrap();
    assert_eq!(graph.get("edges").unwrap().as_array().unwrap().len(), 10);
    assert_eq!(GraphFormat::parse("svg").unwrap_err().code(), "INVALID_OPTIONS");
}

#[test]
fn swapi_rules_see_through_connections() {
    let mut e = Engine::from_schema(&fixture("swapi.graphql"), EngineOptions::default()).unwrap();
    let set = e.cascade(&Change::new("Film", "1")).unwrap();
    assert!(set.keys.contains(&"film:1:characterConnection".to_string()), "{:?}", set.keys);
    assert!(set.patterns.contains(&"person:*:filmConnection".to_string()), "{:?}", set.patterns);
}

#[test]
fn github_schema_yields_rules_and_round_trips() {
    let mut e = Engine::from_schema(&fixture("github.graphql"), EngineOptions::default()).unwrap();
    assert!(e.rules().len() > 2000, "{}", e.rules().len());
    let set =
        e.cascade(&Change::new("Issue", "I_1").with_data(json(r#"{"repository":{"id":"R_1"}}"#))).unwrap();
    assert!(set.keys.contains(&"repository:R_1:issues".to_string()), "{:?}", set.keys);
    let text = e.to_value().unwrap().to_json();
    let mut loaded = Engine::from_value(&Value::parse(&text).unwrap(), None).unwrap();
    assert_eq!(
        loaded.cascade(&Change::new("repository", "R_1")).unwrap(),
        e.cascade(&Change::new("repository", "R_1")).unwrap()
    );
}

#[test]
fn options_are_read_from_json_and_checked() {
    let o =
        EngineOptions::from_value(&json(r#"{"delimiter":"/","maxDepth":2,"keyspaces":{"User":"member"}}"#))
            .unwrap();
    let mut e = Engine::from_schema(common::BLOG_SDL, o).unwrap();
    assert_eq!(e.cascade(&Change::new("User", "1")).unwrap().keys[..2], ["member/1", "member/1/posts"]);
    for bad in [
        r#"{"delimiter":"::"}"#,
        r#"{"maxDepth":1.5}"#,
        r#"{"maxKeys":0}"#,
        r#"{"delimter":":"}"#,
        r#"{"delimiter":"*"}"#,
    ] {
        assert_eq!(EngineOptions::from_value(&json(bad)).unwrap_err().code(), "INVALID_OPTIONS", "{bad}");
    }
}

#[test]
fn changes_are_found_in_a_mutation_response() {
    let e = blog();
    let response = json(
        r#"{"data":{"createPost":{"post":{"__typename":"Post","id":9,"title":"t",
            "author":{"__typename":"User","id":"123"},"comments":[{"__typename":"Comment","id":1}]}},
            "deleteComment":{"__typename":"Comment","id":"5"}}}"#,
    );
    let changes = e.changes_from_mutation(&response).unwrap();
    let summary: Vec<(&str, &str, &str)> =
        changes.iter().map(|c| (c.entity.as_str(), c.id.as_str(), c.op.as_str())).collect();
    assert_eq!(
        summary,
        [
            ("post", "9", "create"),
            ("user", "123", "update"),
            ("comment", "1", "update"),
            ("comment", "5", "delete")
        ]
    );
    assert_eq!(changes[0].data.as_ref().unwrap().get("title"), Some(&Value::from("t")));
    assert!(e.changes_from_mutation(&json(r#"{"data":null,"errors":[]}"#)).unwrap().is_empty());
    assert_eq!(e.changes_from_mutation(&json("[1]")).unwrap_err().code(), "INVALID_CHANGE");
    let deep = "{\"a\":".repeat(100) + "1" + &"}".repeat(100);
    assert!(e.changes_from_mutation(&Value::parse(&deep).unwrap()).is_err());
}

/// A loaded (`derived: true`) engine builds an entity's auto rules when a cascade first reaches
/// it: whatever order the entities are cascaded in, every rule index (compact sets, `rule_id`),
/// trace, set and saved document is what the schema's engine gives, and so is every rule once
/// they are all read or edited.
#[test]
fn a_loaded_engine_builds_auto_rules_per_entity_at_the_indexes_from_schema_gives() {
    use cascade_edge::wasm::protocol::CompactSet;
    for sdl in [common::BLOG_SDL.to_owned(), fixture("swapi.graphql"), fixture("github.graphql")] {
        let mut expected = Engine::from_schema(&sdl, EngineOptions::default()).unwrap();
        let mut manual = Engine::from_schema(&sdl, EngineOptions::default()).unwrap();
        let first = manual.entities()[0].keyspace.clone();
        manual
            .add_rule_value(&json(&format!(r#"{{"entity":"{first}","cascadeTo":["feed:{{id}}"]}}"#)))
            .unwrap();
        let keyspaces: Vec<String> = expected.entities().iter().map(|e| e.keyspace.clone()).collect();
        let n = keyspaces.len();
        let orders: [Vec<usize>; 3] =
            [(0..n).rev().collect(), (0..n).map(|i| (i * 7 + n / 2) % n).collect(), vec![n / 2, n / 3]];
        for (k, order) in orders.iter().enumerate() {
            let schema = if k < 2 { &mut expected } else { &mut manual };
            let text = schema.to_value().unwrap().to_json();
            let mut loaded = Engine::from_json(&text, None).unwrap();
            let (mut got, mut want) = (CompactSet::default(), CompactSet::default());
            for &e in order {
                let change = [Change::new(keyspaces[e].as_str(), "1")];
                loaded.cascade_batch_compact(&change, &mut got).unwrap();
                schema.cascade_batch_compact(&change, &mut want).unwrap();
                assert_eq!((&got.text, &got.meta), (&want.text, &want.meta), "{}", keyspaces[e]);
                assert_eq!(loaded.cascade(&change[0]).unwrap(), schema.cascade(&change[0]).unwrap());
            }
            // The indexes of the rules built so far, read before the others are built for `rules()`.
            let rule_indexes =
                got.meta.chunks(6).skip(1).map(|m| m[1]).filter(|&r| r > 0).map(|r| r as usize - 1);
            for i in rule_indexes.collect::<Vec<_>>() {
                assert_eq!(loaded.rule_id(i), schema.rule_id(i));
            }
            for i in (0..schema.rules().len() + 2).rev() {
                assert_eq!(loaded.rule_id(i), schema.rule_id(i), "rule {i}");
            }
            assert_eq!(loaded.rules(), schema.rules());
            for version in [1, 2] {
                let saved = |e: &Engine| e.to_value_version(version).unwrap().to_json();
                assert_eq!(saved(&loaded), saved(schema));
            }
            // An edit after cascades keeps every rule, built or not, in its place.
            let mut edited = Engine::from_json(&text, None).unwrap();
            edited.cascade(&Change::new(keyspaces[order[0]].as_str(), "1")).unwrap();
            let mid = schema.rules()[schema.rules().len() / 2].id.clone();
            let mut schema_edited =
                Engine::from_json(&schema.to_value_version(1).unwrap().to_json(), None).unwrap();
            edited.remove_rule(&mid).unwrap();
            schema_edited.remove_rule(&mid).unwrap();
            assert_eq!(edited.rules(), schema_edited.rules());
            assert_eq!(edited.to_value().unwrap().to_json(), schema_edited.to_value().unwrap().to_json());
        }
    }
}

const LIKES: &str = "type User { id: ID! posts: [Post!]! likedPosts: [Post!]! }
                     type Post { id: ID! author: User! }";

fn deleted_post_9_by_user_1(e: &mut Engine) -> (Vec<String>, Vec<String>) {
    let change =
        Change::from_value(&json(r#"{"entity":"Post","id":"9","op":"delete","data":{"author_id":"1"}}"#));
    let set = e.cascade(&change.unwrap()).unwrap();
    (set.keys, set.patterns)
}

#[test]
fn a_list_whose_inverse_is_ambiguous_is_purged_whole_and_linted() {
    // `Post.author` was taken as the inverse of `User.likedPosts` too: deleting post 9 by user 1
    // purged `user:1:likedPosts` and left `user:2:likedPosts`, which holds post 9 (issue 19).
    let mut e = Engine::from_schema(LIKES, EngineOptions::default()).unwrap();
    assert_eq!(
        deleted_post_9_by_user_1(&mut e),
        (
            vec!["post:9".to_owned(), "post:author:1".to_owned()],
            vec!["user:*:posts".to_owned(), "user:*:likedPosts".to_owned()]
        )
    );
    let coarse: Vec<String> =
        e.lint().into_iter().filter(|l| l.code == "COARSE").map(|l| l.message).collect();
    assert_eq!(
        coarse,
        [
            "no to-one field of `Post` pairs unambiguously with `User.posts`, so every list of this kind is purged; \
             name its inverse with the `inverses` option ({ \"Holder.list\": \"Target.field\" }), add an inverse field, or add a manual rule",
            "no to-one field of `Post` pairs unambiguously with `User.likedPosts`, so every list of this kind is purged; \
             name its inverse with the `inverses` option ({ \"Holder.list\": \"Target.field\" }), add an inverse field, or add a manual rule",
        ]
    );
}

#[test]
fn the_inverses_option_pairs_a_list_and_survives_save_and_load() {
    let options = EngineOptions::from_value(&json(
        r#"{"inverses":{"User.posts":"Post.author","User.likedPosts":null}}"#,
    ));
    let mut e = Engine::from_schema(LIKES, options.unwrap()).unwrap();
    let want = (
        vec!["post:9".to_owned(), "user:1:posts".to_owned(), "post:author:1".to_owned()],
        vec!["user:*:likedPosts".to_owned()],
    );
    assert_eq!(deleted_post_9_by_user_1(&mut e), want);
    assert_eq!(e.lint().iter().filter(|l| l.code == "COARSE").count(), 1);
    let mut loaded = Engine::from_json(&e.to_value().unwrap().to_json(), None).unwrap();
    assert_eq!(deleted_post_9_by_user_1(&mut loaded), want);
}

#[test]
fn the_inverses_option_must_be_well_formed() {
    for (options, message) in [
        (r#"{"inverses":["User.posts"]}"#, "invalid options: `inverses` must map list fields to their inverse, e.g. { \"User.likedPosts\": null, \"Team.members\": \"Player.team\" }"),
        (r#"{"inverses":{"User.posts":"author"}}"#, "invalid options: the inverse of `User.posts` must be a field such as \"Post.author\", or null for none"),
        (r#"{"inverses":{"User.posts":3}}"#, "invalid options: the inverse of `User.posts` must be a field such as \"Post.author\", or null for none"),
    ] {
        let err = EngineOptions::from_value(&json(options)).unwrap_err();
        assert_eq!((err.code(), err.to_string().as_str()), ("INVALID_OPTIONS", message), "{options}");
    }
    let options = EngineOptions::from_value(&json(r#"{"inverses":{"User.likedPost":null}}"#)).unwrap();
    let err = Engine::from_schema(LIKES, options).err().unwrap();
    assert_eq!(
        err.to_string(),
        "invalid options: inverses names `User.likedPost`, but `User` has no field `likedPost` — did you mean `User.likedPosts`?"
    );
}

#[test]
fn unknown_entity_says_why_a_type_of_the_schema_is_not_an_entity() {
    // Each of these is a type of the schema: "neither a keyspace nor a type" was wrong (issue 19).
    let sdl = r#"
        interface Node { id: ID! }
        union Result = User | Post
        type User implements Node { id: ID! profile: Profile posts: PostConnection }
        type Post implements Node { id: ID! author: User! }
        type Profile { bio: String }
        type PostConnection { edges: [PostEdge] pageInfo: PageInfo! }
        type PostEdge { cursor: String node: Post }
        type PageInfo { hasNextPage: Boolean! }
        type BlogPost { id: ID! }
        enum Color { RED }
        type Query { node(id: ID!): Node }
    "#;
    let options = r#"{"keyspaces":{"BlogPost":"blog"}}"#;
    let options = EngineOptions::from_value(&json(options)).unwrap();
    let mut e = Engine::from_schema(sdl, options).unwrap();
    for (entity, message) in [
        ("Node", "`Node` is an interface of the schema, not an entity: name the object type that changed (an implementor of `Node`)"),
        ("Result", "`Result` is a union of the schema, not an entity: name the member type that changed"),
        ("Query", "`Query` is a root operation type of the schema, which is never an entity"),
        ("Profile", "`Profile` is a type of the schema without an `id` field, so it is not an entity; give it key fields with the `keyFields` option ({ Profile: [\"…\"] }) or `@key(fields: \"…\")`"),
        ("PostConnection", "`PostConnection` is connection plumbing (by its shape: `edges`, `nodes`, `node` or `hasNextPage`), seen through to the entities it lists; to make it an entity, give it key fields with the `keyFields` option"),
        ("PageInfo", "`PageInfo` is connection plumbing (by its shape: `edges`, `nodes`, `node` or `hasNextPage`), seen through to the entities it lists; to make it an entity, give it key fields with the `keyFields` option"),
        ("Color", "`Color` is an enum of the schema; only object types are entities"),
        ("blog_post", "`BlogPost` is cached under keyspace `blog` (the `keyspaces` option), not `blog_post`"),
    ] {
        let err = e.cascade(&Change::new(entity, "1")).unwrap_err();
        assert_eq!(err.code(), "UNKNOWN_ENTITY");
        assert_eq!(err.to_string(), format!("unknown entity `{entity}`: {message}"));
    }
    let err = e.cascade(&Change::new("Nothing", "1")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "unknown entity `Nothing`: it is neither a keyspace nor a type of the schema"
    );
}
