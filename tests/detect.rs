//! Relationship detection from SDL (SPEC §2).

use cascade_edge::{analyze, Cardinality, Error, Relationship, SchemaModel, SchemaOptions, MAX_SDL_BYTES};
use Cardinality::{Many, One};

const BLOG: &str = r#"
type User { id: ID! name: String posts: [Post!]! }
type Post { id: ID! title: String author: User! comments: [Comment!]! }
type Comment { id: ID! body: String author: User! post: Post! }
type Query { user(id: ID!): User posts: [Post] }
"#;

fn model(sdl: &str) -> SchemaModel {
    analyze(sdl, &SchemaOptions::default()).unwrap_or_else(|e| panic!("{e}"))
}

fn entity_names(m: &SchemaModel) -> Vec<&str> {
    m.entities.iter().map(|e| e.type_name.as_str()).collect()
}

/// `holder.field -> target` in a compact, comparable form.
fn edges(m: &SchemaModel) -> Vec<String> {
    m.relationships.iter().map(|r| format!("{}.{} -> {}", r.holder, r.field, r.target)).collect()
}

fn find<'m>(m: &'m SchemaModel, holder: &str, field: &str, target: &str) -> &'m Relationship {
    m.relationships
        .iter()
        .find(|r| r.holder == holder && r.field == field && r.target == target)
        .unwrap_or_else(|| panic!("no relationship {holder}.{field} -> {target} in {:#?}", edges(m)))
}

fn rel(
    holder: &str,
    field: &str,
    target: &str,
    cardinality: Cardinality,
    via: &[&str],
    inverse: &[&str],
) -> Relationship {
    let s = |v: &[&str]| v.iter().map(|x| (*x).to_owned()).collect();
    Relationship {
        holder: holder.into(),
        field: field.into(),
        target: target.into(),
        cardinality,
        via: s(via),
        inverse: s(inverse),
    }
}

fn opts(keyspaces: &[(&str, &str)], key_fields: &[(&str, &[&str])]) -> SchemaOptions {
    SchemaOptions {
        keyspaces: keyspaces.iter().map(|(t, k)| ((*t).into(), (*k).into())).collect(),
        key_fields: key_fields
            .iter()
            .map(|(t, f)| ((*t).into(), f.iter().map(|x| (*x).into()).collect()))
            .collect(),
        ..SchemaOptions::default()
    }
}

#[test]
fn design_doc_blog_schema() {
    let m = model(BLOG);
    assert_eq!(entity_names(&m), ["User", "Post", "Comment"]);
    let keyspaces: Vec<&str> = m.entities.iter().map(|e| e.keyspace.as_str()).collect();
    assert_eq!(keyspaces, ["user", "post", "comment"]);
    assert_eq!(m.entities[0].key_fields, ["id"]);
    assert_eq!(m.entities[1].fields, ["id", "title", "author", "comments"]);
    assert_eq!(
        m.relationships,
        [
            rel("User", "posts", "Post", Many, &[], &["author"]),
            // `User.posts` is a list, so it is no inverse of the to-one `Post.author`.
            rel("Post", "author", "User", One, &[], &[]),
            rel("Post", "comments", "Comment", Many, &[], &["post"]),
            rel("Comment", "author", "User", One, &[], &[]),
            rel("Comment", "post", "Post", One, &[], &[]),
        ]
    );
}

#[test]
fn keyspaces_derive_from_type_names_and_can_be_overridden() {
    let sdl = "type BlogPost { id: ID! } type HTTPServer { id: ID! } type APIKey { id: ID! }";
    let m = model(sdl);
    let keyspaces: Vec<&str> = m.entities.iter().map(|e| e.keyspace.as_str()).collect();
    assert_eq!(keyspaces, ["blog_post", "http_server", "api_key"]);

    let m = analyze(sdl, &opts(&[("BlogPost", "article")], &[])).unwrap();
    assert_eq!(m.entities[0].keyspace, "article");
}

#[test]
fn two_types_on_one_keyspace_is_an_error() {
    let err = analyze("type BlogPost { id: ID! } type Blog_Post { id: ID! }", &SchemaOptions::default())
        .unwrap_err();
    assert_eq!(err.code(), "KEYSPACE_COLLISION");
    assert_eq!(
        err,
        Error::KeyspaceCollision {
            keyspace: "blog_post".into(),
            first: "BlogPost".into(),
            second: "Blog_Post".into()
        }
    );

    // An override can cause a collision too, and can resolve one.
    let err = analyze("type User { id: ID! } type Member { id: ID! }", &opts(&[("Member", "user")], &[]))
        .unwrap_err();
    assert_eq!(err.code(), "KEYSPACE_COLLISION");
    let ok = analyze(
        "type BlogPost { id: ID! } type Blog_Post { id: ID! }",
        &opts(&[("Blog_Post", "legacy_post")], &[]),
    );
    assert!(ok.is_ok());
}

#[test]
fn options_naming_unknown_types_or_fields_are_errors() {
    let err = analyze(BLOG, &opts(&[("Usr", "u")], &[])).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTIONS");
    assert!(err.to_string().contains("did you mean `User`?"), "{err}");
    let err = analyze(BLOG, &opts(&[], &[("Post", &["slug"])])).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTIONS");
    let err = analyze(BLOG, &opts(&[], &[("Query", &["user"])])).unwrap_err();
    assert_eq!(err.code(), "INVALID_OPTIONS");
}

#[test]
fn key_fields_come_from_options_then_key_directive_then_id() {
    let sdl = r#"
        type Product @key(fields: "sku") { sku: String! name: String reviews: [Review] }
        type Review { id: ID! product: Product }
        type Warehouse @key(fields: "code region { id }") { code: String! region: Region }
        type Region { name: String }
        type Tag { name: String! }
    "#;
    let m = model(sdl);
    assert_eq!(entity_names(&m), ["Product", "Review", "Warehouse"]);
    assert_eq!(m.entities[0].key_fields, ["sku"]);
    assert_eq!(m.entities[2].key_fields, ["code", "region"]);
    assert_eq!(edges(&m), ["Product.reviews -> Review", "Review.product -> Product"]);
    assert_eq!(find(&m, "Product", "reviews", "Review").inverse, ["product"]);

    let m = analyze(sdl, &opts(&[], &[("Tag", &["name"]), ("Review", &[])])).unwrap();
    assert_eq!(entity_names(&m), ["Product", "Warehouse", "Tag"]);
    assert_eq!(m.entities[2].key_fields, ["name"]);

    let err = analyze(r#"type P @key(fields: "nope") { id: ID! }"#, &SchemaOptions::default()).unwrap_err();
    assert_eq!(err.code(), "SCHEMA_INVALID");
}

#[test]
fn interfaces_and_unions_fan_out_to_implementors_and_members() {
    let sdl = r#"
        interface Node { id: ID! }
        interface Media { url: String }
        type Photo implements Node & Media { id: ID! url: String }
        type Video implements Node & Media { id: ID! url: String }
        type Note { text: String }
        union Attachment = Video | Photo | Note
        type Post implements Node {
          id: ID!
          cover: Media
          attachments: [Attachment!]
          owner: Node
        }
    "#;
    let m = model(sdl);
    assert_eq!(entity_names(&m), ["Photo", "Video", "Post"]);
    assert_eq!(
        m.relationships,
        [
            rel("Post", "cover", "Photo", One, &["Media"], &[]),
            rel("Post", "cover", "Video", One, &["Media"], &[]),
            // Targets are in schema order, whatever the order of the union's members.
            rel("Post", "attachments", "Photo", Many, &["Attachment"], &[]),
            rel("Post", "attachments", "Video", Many, &["Attachment"], &[]),
            rel("Post", "owner", "Photo", One, &["Node"], &[]),
            rel("Post", "owner", "Video", One, &["Node"], &[]),
            rel("Post", "owner", "Post", One, &["Node"], &[]),
        ]
    );
}

#[test]
fn interface_typed_to_one_fields_count_as_inverse() {
    let sdl = r#"
        interface Actor { id: ID! }
        type User implements Actor { id: ID! issues: [Issue] }
        type Bot implements Actor { id: ID! }
        type Issue { id: ID! author: Actor }
    "#;
    let m = model(sdl);
    assert_eq!(find(&m, "User", "issues", "Issue").inverse, ["author"]);
    assert_eq!(find(&m, "Issue", "author", "Bot").via, ["Actor"]);
}

#[test]
fn relay_connections_are_seen_through() {
    let sdl = r#"
        type PageInfo { hasNextPage: Boolean! endCursor: String }
        type User { id: ID! posts(first: Int): PostConnection! followers: UserConnection }
        type PostConnection { edges: [PostEdge] pageInfo: PageInfo! totalCount: Int }
        type PostEdge { cursor: String! node: Post }
        type UserConnection { nodes: [User] totalCount: Int }
        type Post { id: ID! author: User! }
    "#;
    let m = model(sdl);
    assert_eq!(entity_names(&m), ["User", "Post"]);
    assert_eq!(
        m.relationships,
        [
            rel("User", "posts", "Post", Many, &["PostConnection", "PostEdge"], &["author"]),
            rel("User", "followers", "User", Many, &["UserConnection"], &[]),
            rel("Post", "author", "User", One, &[], &[]),
        ]
    );
}

#[test]
fn connection_edge_and_page_info_types_are_never_entities() {
    let sdl = r#"
        type PageInfo { id: ID! hasNextPage: Boolean! }
        type ThingConnection { id: ID! nodes: [Thing] }
        type ThingEdge { id: ID! node: Thing }
        type Thing { id: ID! }
    "#;
    assert_eq!(entity_names(&model(sdl)), ["Thing"]);
}

#[test]
fn types_named_like_plumbing_without_its_shape_are_entities() {
    // Plumbing is recognised by shape, not by name (issue 19): these are ordinary entities.
    let sdl = r#"
        type Source { id: ID! }
        type Destination { id: ID! }
        type Plant { id: ID! }
        type Station { id: ID! }
        type Connection { id: ID! source: Source! destination: Destination! }
        type PowerConnection { id: ID! watts: Int plant: Plant! }
        type RailEdge { id: ID! from: Station! to: Station! }
        type Info { id: ID! }
        type PageInfo { id: ID! hasNextPage: Boolean! }
        type InfoConnection { pageInfo: PageInfo! nodes: [Info] }
        type Plan { id: ID! infos: InfoConnection }
    "#;
    let m = model(sdl);
    assert_eq!(
        entity_names(&m),
        [
            "Source",
            "Destination",
            "Plant",
            "Station",
            "Connection",
            "PowerConnection",
            "RailEdge",
            "Info",
            "Plan"
        ]
    );
    assert_eq!(
        edges(&m),
        [
            "Connection.source -> Source",
            "Connection.destination -> Destination",
            "PowerConnection.plant -> Plant",
            "RailEdge.from -> Station",
            "RailEdge.to -> Station",
            "Plan.infos -> Info",
        ]
    );
}

#[test]
fn connection_nodes_may_be_interfaces() {
    let sdl = r#"
        interface Item { id: ID! }
        type Issue implements Item { id: ID! }
        type Pull implements Item { id: ID! }
        type ItemConnection { edges: [ItemEdge] }
        type ItemEdge { node: Item }
        type Repo { id: ID! items: ItemConnection }
    "#;
    let m = model(sdl);
    assert_eq!(edges(&m), ["Repo.items -> Issue", "Repo.items -> Pull"]);
    assert_eq!(find(&m, "Repo", "items", "Pull").via, ["ItemConnection", "ItemEdge", "Item"]);
    assert_eq!(find(&m, "Repo", "items", "Pull").cardinality, Many);
}

#[test]
fn root_types_are_found_by_role_not_by_name() {
    let sdl = r#"
        schema { query: RootQuery }
        type RootQuery { id: ID! query: Query }
        type Query { id: ID! root: RootQuery }
    "#;
    let m = model(sdl);
    // `Query` is an ordinary entity here; the query root is `RootQuery`, which never is one.
    assert_eq!(entity_names(&m), ["Query"]);
    assert!(m.relationships.is_empty(), "{:?}", edges(&m));

    // Without a schema definition the default names hold the roles.
    let m = model(
        "type Query { id: ID! } type Mutation { id: ID! } type Subscription { id: ID! } type A { id: ID! }",
    );
    assert_eq!(entity_names(&m), ["A"]);
}

#[test]
fn extend_schema_assigns_roles() {
    let sdl =
        "schema { query: Q }\n\"\"\"doc with extend schema { mutation: User }\"\"\"\ntype Q { id: ID! }\n\
               type M { id: ID! }\ntype User { id: ID! }\nextend schema @tag(name: \"x\") { mutation: M }\n";
    let m = model(sdl);
    assert_eq!(entity_names(&m), ["User"]);

    // An extension names its role, so the default name no longer holds it.
    let m = model("type Query { id: ID! } type Q { id: ID! } extend schema { query: Q }");
    assert_eq!(entity_names(&m), ["Query"]);
    let err = analyze(
        "schema { query: A } extend schema { query: B } type A { a: Int } type B { b: Int }",
        &SchemaOptions::default(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "SCHEMA_INVALID");

    // Positions after the lifted-out block stay true.
    let err = analyze(
        "type M { id: ID! }\nextend schema { mutation: M }\ntype X { a: }",
        &SchemaOptions::default(),
    )
    .unwrap_err();
    assert!(matches!(err, Error::SchemaSyntax { line: 3, column: 13, .. }), "{err:?}");
}

#[test]
fn a_root_role_naming_a_missing_type_is_invalid() {
    let err = analyze("schema { query: Nope } type A { id: ID! }", &SchemaOptions::default()).unwrap_err();
    assert_eq!(err.code(), "SCHEMA_INVALID");
}

#[test]
fn extend_type_adds_fields_interfaces_and_keys() {
    let sdl = r#"
        extend type User { posts: [Post] }
        type Post { id: ID! }
        type User { id: ID! name: String }
        interface Owner { id: ID! }
        extend type Post implements Owner { owner: User }
        type Product { sku: String! }
        extend type Product @key(fields: "sku")
        type Org { owners: [Owner] id: ID! }
    "#;
    let m = model(sdl);
    // Entities in the order of their definitions; fields of the definition, then of extensions.
    assert_eq!(entity_names(&m), ["Post", "User", "Product", "Org"]);
    assert_eq!(m.entities[1].fields, ["id", "name", "posts"]);
    assert_eq!(m.entities[0].fields, ["id", "owner"]);
    assert_eq!(edges(&m), ["Post.owner -> User", "User.posts -> Post", "Org.owners -> Post"]);
    assert_eq!(find(&m, "User", "posts", "Post").inverse, ["owner"]);
}

#[test]
fn extension_without_definition_stands_in_for_it() {
    let m = model(
        r#"extend type User @key(fields: "id") { id: ID! @external } type Review { id: ID! by: User }"#,
    );
    assert_eq!(entity_names(&m), ["User", "Review"]);
    assert_eq!(edges(&m), ["Review.by -> User"]);
}

#[test]
fn self_references_are_relationships() {
    let m = model("type User { id: ID! manager: User friends: [User!]! reportsTo: User }");
    assert_eq!(
        m.relationships,
        [
            rel("User", "manager", "User", One, &[], &["reportsTo"]),
            // Two to-one fields could point back: ambiguous, so no inverse (never guessed).
            rel("User", "friends", "User", Many, &[], &[]),
            rel("User", "reportsTo", "User", One, &[], &["manager"]),
        ]
    );
}

#[test]
fn payload_and_value_types_are_walked_through() {
    let sdl = r#"
        type Post { id: ID! title: String }
        type CreatePostPayload { post: Post clientMutationId: String }
        type Mutation { createPost(title: String): CreatePostPayload }
        type Address { city: String geo: Geo }
        type Geo { lat: Float region: Region }
        type Region { id: ID! }
        type Profile { address: Address pinned: [Post] avatar: Image }
        type Image { url: String owner: User }
        type User { id: ID! profile: Profile history: [Snapshot] }
        type Snapshot { post: Post }
    "#;
    let m = model(sdl);
    assert_eq!(entity_names(&m), ["Post", "Region", "User"]);
    assert_eq!(
        m.relationships,
        [
            rel("User", "profile.pinned", "Post", Many, &["Profile"], &[]),
            rel("User", "profile.address.geo.region", "Region", One, &["Profile", "Address", "Geo"], &[]),
            rel("User", "profile.avatar.owner", "User", One, &["Profile", "Image"], &[]),
            rel("User", "history.post", "Post", Many, &["Snapshot"], &[]),
        ]
    );
}

#[test]
fn walks_terminate_on_cyclic_value_types() {
    let sdl = r#"
        type A { b: B c: [C] }
        type B { a: A c: C }
        type C { a: A b: [B] leaf: Leaf }
        type Leaf { id: ID! }
        type Holder { id: ID! a: A }
    "#;
    let m = model(sdl);
    // A type on the current path (as a list or not) is not entered again, so every path ends.
    assert_eq!(
        edges(&m),
        [
            "Holder.a.b.c.b.a.c.leaf -> Leaf",
            "Holder.a.b.c.b.c.leaf -> Leaf",
            "Holder.a.b.c.leaf -> Leaf",
            "Holder.a.c.leaf -> Leaf",
        ]
    );
    assert_eq!(find(&m, "Holder", "a.c.leaf", "Leaf").cardinality, Many);
    assert_eq!(find(&m, "Holder", "a.b.c.leaf", "Leaf").cardinality, One);
}

#[test]
fn a_value_type_reached_by_two_paths_gives_both() {
    // A Region change must reach the users indexed by their work region as by their home region.
    let sdl = r#"
        type Region { id: ID! }
        type Address { city: String region: Region }
        type Profile { home: Address work: Address }
        type User { id: ID! profile: Profile }
    "#;
    assert_eq!(
        edges(&model(sdl)),
        ["User.profile.home.region -> Region", "User.profile.work.region -> Region"]
    );
}

#[test]
fn a_field_whose_value_types_branch_into_too_many_paths_is_keyed_by_the_field_itself() {
    // V0 { a: V1, b: V1, c: V1 } … V5 { … V6 }, V6 { leaf: Leaf }: 3^6 paths to `Leaf`. Past the
    // walk's budget, one relationship per target under the holder's field: wider, never missing.
    let mut sdl: String =
        (0..6).map(|i| format!("type V{i} {{ a: V{n} b: V{n} c: V{n} }}\n", n = i + 1)).collect();
    sdl.push_str("type V6 { leaf: Leaf } type Leaf { id: ID! } type Holder { id: ID! v: V0 }");
    let m = model(&sdl);
    assert_eq!(edges(&m), ["Holder.v -> Leaf"]);
    assert_eq!(find(&m, "Holder", "v", "Leaf").via, ["V0", "V1", "V2", "V3", "V4", "V5", "V6"]);
}

#[test]
fn fields_through_one_value_type_are_kept_apart_by_their_path() {
    // They were one `Album.pair -> Photo` relationship, so `album:pair:5` stood for all three.
    let sdl = r#"
        type Pair { left: Photo right: Photo all: [Photo] }
        type Photo { id: ID! }
        type Album { id: ID! pair: Pair }
    "#;
    let m = model(sdl);
    assert_eq!(
        m.relationships,
        [
            rel("Album", "pair.left", "Photo", One, &["Pair"], &[]),
            rel("Album", "pair.right", "Photo", One, &["Pair"], &[]),
            rel("Album", "pair.all", "Photo", Many, &["Pair"], &[]),
        ]
    );
}

#[test]
fn a_repeated_field_keeps_its_first_definition() {
    // GitHub's published schema repeats `EnterpriseOwnerInfo.repositoryDeployKeySetting`.
    let m = model("type A { id: ID! b: B b: [B] } type B { id: ID! }");
    assert_eq!(m.entities[0].fields, ["id", "b"]);
    assert_eq!(m.relationships, [rel("A", "b", "B", One, &[], &[])]);
}

#[test]
fn scalars_enums_and_inputs_are_not_relationships() {
    let sdl = r#"
        enum Color { RED }
        scalar JSON
        input PostInput { author: ID }
        type Post { id: ID! color: Color tags: [String] meta: JSON in(p: PostInput): Int }
    "#;
    let m = model(sdl);
    assert_eq!(entity_names(&m), ["Post"]);
    assert!(m.relationships.is_empty());
}

#[test]
fn contradictory_sdl_is_invalid() {
    for sdl in [
        "type A { id: ID! } type A { id: ID! }",
        "type A { id: ID! } extend interface A { x: Int }",
        "schema { query: A } schema { query: B } type A { id: ID } type B { id: ID }",
    ] {
        let err = analyze(sdl, &SchemaOptions::default()).unwrap_err();
        assert_eq!(err.code(), "SCHEMA_INVALID", "{sdl}: {err}");
    }
}

#[test]
fn parse_errors_carry_line_and_column() {
    let err = analyze("type User {\n  id: ID!\n  name: \n}", &SchemaOptions::default()).unwrap_err();
    assert_eq!(
        err,
        Error::SchemaSyntax { line: 4, column: 1, message: "Unexpected `}`; Expected Name or [".into() }
    );
    assert_eq!(err.code(), "SCHEMA_SYNTAX");
}

#[test]
fn bad_inputs_are_errors_not_panics() {
    let deep = format!("type A {{ f: {}A{} }}", "[".repeat(10_000), "]".repeat(10_000));
    let deep_value = format!("type A {{ f: Int @d(x: {}1{}) }}", "{a: ".repeat(10_000), "}".repeat(10_000));
    let bytes: String = (0..4096u32).map(|i| char::from_u32((i * 7919) % 0x800).unwrap_or('?')).collect();
    for sdl in [
        "",
        "   \n\t ",
        "type",
        "type {",
        "}}}}",
        "\"\"\"",
        "\"",
        "extend schema",
        "extend schema {",
        "\u{feff}",
        &deep,
        &deep_value,
        &bytes,
    ] {
        let err = analyze(sdl, &SchemaOptions::default()).unwrap_err();
        assert_eq!(err.code(), "SCHEMA_SYNTAX", "{sdl:.40}: {err}");
    }
    let err = analyze(&deep, &SchemaOptions::default()).unwrap_err();
    assert!(err.to_string().contains("nested too deeply"), "{err}");
}

#[test]
fn sdl_above_the_size_limit_is_refused() {
    let sdl = " ".repeat(MAX_SDL_BYTES + 1);
    assert_eq!(
        analyze(&sdl, &SchemaOptions::default()).unwrap_err(),
        Error::LimitExceeded { what: "SDL size", limit: MAX_SDL_BYTES, actual: MAX_SDL_BYTES + 1 }
    );
}

fn fixture(name: &str) -> String {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/schemas").join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn assert_no_plumbing_entities(m: &SchemaModel) {
    for e in &m.entities {
        let n = &e.type_name;
        assert!(!n.ends_with("Connection") && !n.ends_with("Edge") && n != "PageInfo", "{n} is an entity");
    }
}

#[test]
fn swapi_fixture() {
    let m = model(&fixture("swapi.graphql"));
    assert_no_plumbing_entities(&m);
    assert!(!entity_names(&m).contains(&"Root"));
    let r = find(&m, "Person", "filmConnection", "Film");
    assert_eq!(r.cardinality, Many);
    assert_eq!(r.via, ["PersonFilmsConnection", "PersonFilmsEdge"]);
    assert_eq!(find(&m, "Film", "characterConnection", "Person").cardinality, Many);
    assert_eq!(find(&m, "Person", "homeworld", "Planet").cardinality, One);
    println!("swapi: {} entities, {} relationships", m.entities.len(), m.relationships.len());
    assert_eq!(entity_names(&m), ["Film", "Person", "Planet", "Species", "Starship", "Vehicle"]);
}

#[test]
fn github_fixture() {
    let sdl = fixture("github.graphql");
    let started = std::time::Instant::now();
    let m = model(&sdl);
    let elapsed = started.elapsed();
    println!("github: {} entities, {} relationships in {elapsed:?}", m.entities.len(), m.relationships.len());
    assert_no_plumbing_entities(&m);
    let names = entity_names(&m);
    assert!(!names.contains(&"Query") && !names.contains(&"Mutation"));
    assert!(m.entities.len() > 250, "{}", m.entities.len());
    assert!(m.relationships.len() > 2000, "{}", m.relationships.len());
    let r = find(&m, "Repository", "issues", "Issue");
    assert_eq!(
        (r.cardinality, r.via.as_slice()),
        (Many, &["IssueConnection".to_owned(), "IssueEdge".to_owned()][..])
    );
    assert_eq!(r.inverse, ["repository"]);
    assert_eq!(find(&m, "Issue", "repository", "Repository").cardinality, One);
    // `Issue.author: Actor` fans out to every actor.
    assert_eq!(find(&m, "Issue", "author", "User").via, ["Actor"]);
}

#[test]
fn a_name_the_schema_does_not_define_is_an_error_with_a_suggestion() {
    // A typo used to drop the relationship without a word (issue 19).
    let base = "type User { id: ID! } interface Node { id: ID! } type Post { id: ID! }";
    for (sdl, message) in [
        (
            "type Comment { id: ID! author: Usr! }",
            "field `Comment.author` has type `Usr`, which the schema does not define; did you mean `User`?",
        ),
        (
            "type Comment implements Nod { id: ID! }",
            "`Comment` implements `Nod`, which the schema does not define; did you mean `Node`?",
        ),
        (
            "union R = User | Pst",
            "union `R` has member `Pst`, which the schema does not define; did you mean `Post`?",
        ),
        (
            "type Comment { id: ID! meta: Mystery }",
            "field `Comment.meta` has type `Mystery`, which the schema does not define",
        ),
        (
            "type Comment { id: ID! at: Strin }",
            "field `Comment.at` has type `Strin`, which the schema does not define; did you mean `String`?",
        ),
    ] {
        let err = analyze(&format!("{base} {sdl}"), &SchemaOptions::default()).unwrap_err();
        assert_eq!(err, Error::SchemaInvalid { message: message.into() }, "{sdl}");
        assert_eq!(err.code(), "SCHEMA_INVALID");
    }
}

const LIKES: &str = r#"
type User { id: ID! posts: [Post!]! likedPosts: [Post!]! }
type Post { id: ID! author: User! }
"#;

fn with_inverses(entries: &[(&str, Option<&str>)]) -> SchemaOptions {
    SchemaOptions {
        inverses: entries.iter().map(|(l, i)| ((*l).into(), i.map(Into::into))).collect(),
        ..SchemaOptions::default()
    }
}

fn inverses_of(m: &SchemaModel) -> Vec<String> {
    m.relationships
        .iter()
        .filter(|r| r.cardinality == Many)
        .map(|r| format!("{}.{} <- {}", r.holder, r.field, r.inverse.join(" ")))
        .collect()
}

#[test]
fn inverses_are_never_guessed_by_type_alone() {
    // Two lists of Post on User: `Post.author` cannot say which it fills (issue 19).
    assert_eq!(inverses_of(&model(LIKES)), ["User.posts <- ", "User.likedPosts <- "]);
    // One list and one to-one field: the pairing is unambiguous.
    let m = model("type User { id: ID! posts: [Post!]! } type Post { id: ID! author: User! }");
    assert_eq!(inverses_of(&m), ["User.posts <- author"]);
    // One list, two to-one fields back: ambiguous too.
    let m = model("type User { id: ID! posts: [Post!]! } type Post { id: ID! author: User! editor: User }");
    assert_eq!(inverses_of(&m), ["User.posts <- "]);
}

#[test]
fn the_inverses_option_names_the_pairing() {
    let options = with_inverses(&[("User.posts", Some("Post.author")), ("User.likedPosts", None)]);
    let m = analyze(LIKES, &options).unwrap();
    assert_eq!(inverses_of(&m), ["User.posts <- author", "User.likedPosts <- "]);
}

#[test]
fn the_inverses_option_is_checked_against_the_schema() {
    for (entries, message) in [
        (
            &[("Usr.posts", Some("Post.author"))][..],
            "inverses names type `Usr`, which the schema does not define — did you mean `User`?",
        ),
        (&[("User.post", None)][..], "inverses names `User.post`, but `User` has no field `post` — did you mean `User.posts`?"),
        (
            &[("User.posts", Some("Post.autor"))][..],
            "inverses names `Post.autor`, but `Post` has no field `autor` — did you mean `Post.author`?",
        ),
        (&[("User.id", None)][..], "inverses names `User.id`, which is not a list of entities (only to-many fields have inverses)"),
        (
            &[("User.posts", Some("Post.id"))][..],
            "inverses pairs `User.posts` with `Post.id`, but `Post.id` is not a to-one field of a type `User.posts` lists pointing back at `User`",
        ),
        (&[("posts", None)][..], "inverses names `posts`; name a field as `Type.field`"),
    ] {
        let err = analyze(LIKES, &with_inverses(entries)).unwrap_err();
        assert_eq!(err, Error::InvalidOptions { message: message.into() }, "{entries:?}");
    }
}
