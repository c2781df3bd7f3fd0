//! Relationship detection from GraphQL SDL (SPEC §2), behind the `sdl` feature.
//!
//! The SDL is parsed once with graphql-parser into borrowed names; everything after that works on
//! a table of types indexed by `usize`, so GitHub's schema (≈1 000 types) analyses in milliseconds.
//! Every walk over the type graph is bounded (a visited mark per type and a depth limit), so
//! no schema, however cyclic, can make the analysis recurse without end.
//!
//! A build without the feature (the npm package's `cascade-edge/edge` entry) loads precompiled
//! rules only, and leaves graphql-parser out of the wasm.

use crate::error::{suggest, Error, Result};
use crate::keys::keyspace_for_type;
use crate::schema::{Cardinality, Entity, Relationship, SchemaModel, SchemaOptions, MAX_SDL_BYTES};
use crate::sort::heap_sort_by;
use graphql_parser::schema::{self as ast, Definition, TypeDefinition, TypeExtension};
use hashbrown::{HashMap, HashSet};
use std::borrow::Cow;

/// How many interface, union, connection or value types a field may be followed through.
const MAX_WALK_DEPTH: usize = 8;

/// Operation roles, and the type names they default to when no `schema` definition names them.
const ROLES: [(&str, &str); 3] =
    [("query", "Query"), ("mutation", "Mutation"), ("subscription", "Subscription")];

/// Parses SDL and detects entities and relationships.
///
/// Errors: [`Error::LimitExceeded`] above [`MAX_SDL_BYTES`], [`Error::SchemaSyntax`] for SDL that
/// does not parse, [`Error::SchemaInvalid`] for SDL that parses but contradicts itself (a type
/// defined twice, a root role naming a missing type), [`Error::InvalidOptions`] for options naming
/// unknown types or fields, and [`Error::KeyspaceCollision`].
pub fn analyze(sdl: &str, options: &SchemaOptions) -> Result<SchemaModel> {
    if sdl.len() > MAX_SDL_BYTES {
        return Err(Error::LimitExceeded { what: "SDL size", limit: MAX_SDL_BYTES, actual: sdl.len() });
    }
    let (text, extension_roles) = strip_schema_extensions(sdl);
    let doc = ast::parse_schema::<&str>(&text).map_err(|e| syntax_error(&e.to_string()))?;
    let table = TypeTable::build(&doc)?;
    let roots = table.roots(&doc, &extension_roles)?;
    let graph = Graph::new(table, roots, options)?;
    let entities = graph.entities(options)?;
    let relationships = graph.relationships();
    Ok(SchemaModel { entities, relationships })
}

/// Turns graphql-parser's error text (`Parse error at 4:1\nUnexpected …`) into a positioned error.
fn syntax_error(text: &str) -> Error {
    let (line, column, rest) = text
        .find("Parse error at ")
        .and_then(|at| {
            let tail = text.get(at + "Parse error at ".len()..)?;
            let (pos, rest) = tail.split_once('\n').unwrap_or((tail, ""));
            let (l, c) = pos.trim().split_once(':')?;
            Some((l.parse().ok()?, c.parse().ok()?, rest))
        })
        // Position 0:0 means "unknown"; graphql-parser always reports one, this is only a guard.
        .unwrap_or((0, 0, text));
    let message = rest
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(|l| {
            if l == "Recursion limit exceeded" {
                "brackets nested too deeply (at most 50 levels)".to_owned()
            } else {
                strip_token_kinds(l)
            }
        })
        .collect::<Vec<_>>()
        .join("; ");
    Error::SchemaSyntax { line, column, message }
}

/// graphql-parser quotes tokens with their kind (`` `}[Punctuator]` ``); users want just `` `}` ``.
fn strip_token_kinds(line: &str) -> String {
    let mut out = line.to_owned();
    for kind in ["Punctuator", "Name", "IntValue", "FloatValue", "StringValue", "BlockString"] {
        out = out.replace(&format!("[{kind}]`"), "`");
    }
    out
}

// ---------------------------------------------------------------------------------------------
// `extend schema`: graphql-parser 0.4 does not parse it, so a pre-scan lifts it out of the text.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tok {
    Name,
    Punct(u8),
    Other,
}

/// A minimal GraphQL lexer: just enough to skip strings and comments and see names and brackets.
#[derive(Clone, Copy)]
struct Lexer<'s> {
    src: &'s [u8],
    pos: usize,
}

impl Lexer<'_> {
    fn at(&self, i: usize) -> Option<u8> {
        self.src.get(i).copied()
    }

    fn rest_starts_with(&self, pat: &[u8]) -> bool {
        self.src.get(self.pos..).is_some_and(|r| r.starts_with(pat))
    }

    /// The next token as (kind, start, end); byte offsets always fall on char boundaries because
    /// every byte the lexer stops at or after is ASCII.
    fn next_token(&mut self) -> Option<(Tok, usize, usize)> {
        loop {
            match self.at(self.pos)? {
                b' ' | b'\t' | b'\n' | b'\r' | b',' => self.pos += 1,
                b'#' => {
                    while self.at(self.pos).is_some_and(|c| c != b'\n' && c != b'\r') {
                        self.pos += 1;
                    }
                }
                _ => break,
            }
        }
        let start = self.pos;
        let b = self.at(start)?;
        let tok = if b == b'"' {
            if self.rest_starts_with(b"\"\"\"") {
                self.pos += 3;
                loop {
                    if self.rest_starts_with(b"\\\"\"\"") {
                        self.pos += 4;
                    } else if self.rest_starts_with(b"\"\"\"") {
                        self.pos += 3;
                        break;
                    } else if self.pos >= self.src.len() {
                        break;
                    } else {
                        self.pos += 1;
                    }
                }
            } else {
                self.pos += 1;
                loop {
                    match self.at(self.pos) {
                        None | Some(b'\n' | b'\r') => break,
                        Some(b'\\') => self.pos += 2,
                        Some(b'"') => {
                            self.pos += 1;
                            break;
                        }
                        Some(_) => self.pos += 1,
                    }
                }
            }
            Tok::Other
        } else if b == b'_' || b.is_ascii_alphabetic() {
            while self.at(self.pos).is_some_and(|c| c == b'_' || c.is_ascii_alphanumeric()) {
                self.pos += 1;
            }
            Tok::Name
        } else if b"{}()[]@:".contains(&b) {
            self.pos += 1;
            Tok::Punct(b)
        } else {
            // Skip a whole UTF-8 sequence so that `pos` stays on a char boundary.
            self.pos += 1;
            while self.at(self.pos).is_some_and(|c| (0x80..0xC0).contains(&c)) {
                self.pos += 1;
            }
            Tok::Other
        };
        self.pos = self.pos.min(self.src.len());
        Some((tok, start, self.pos))
    }
}

/// Operation roles set by `extend schema` blocks: (role, type name).
type RoleList<'s> = Vec<(&'s str, &'s str)>;

/// Blanks every well-formed top-level `extend schema …` out of the SDL (keeping line breaks and
/// tabs, so the parser's line:column positions stay true) and returns the roles it set. A
/// malformed one is left in place for the parser to report.
fn strip_schema_extensions(sdl: &str) -> (Cow<'_, str>, RoleList<'_>) {
    // Lexing all of GitHub's schema takes milliseconds; a text search rules most schemas out first.
    let may_extend_schema = sdl.match_indices("extend").any(|(at, word)| {
        let mut after = Lexer { src: sdl.as_bytes(), pos: at + word.len() };
        matches!(after.next_token(), Some((Tok::Name, s, e)) if sdl.get(s..e) == Some("schema"))
    });
    if !may_extend_schema {
        return (Cow::Borrowed(sdl), Vec::new());
    }
    let mut lx = Lexer { src: sdl.as_bytes(), pos: 0 };
    let mut depth = 0i64;
    let mut spans = Vec::new();
    let mut roles = Vec::new();
    while let Some((tok, start, end)) = lx.next_token() {
        match tok {
            Tok::Punct(b'{' | b'(' | b'[') => depth += 1,
            Tok::Punct(b'}' | b')' | b']') => depth -= 1,
            Tok::Name if depth == 0 && sdl.get(start..end) == Some("extend") => {
                let mut probe = lx;
                if let Some((Tok::Name, s, e)) = probe.next_token() {
                    if sdl.get(s..e) == Some("schema") {
                        if let Some((stop, found)) = schema_extension_body(sdl, probe) {
                            spans.push((start, stop));
                            roles.extend(found);
                            lx.pos = stop;
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if spans.is_empty() {
        return (Cow::Borrowed(sdl), roles);
    }
    let mut out = String::with_capacity(sdl.len());
    let mut last = 0;
    for (start, stop) in spans {
        out.push_str(sdl.get(last..start).unwrap_or(""));
        out.extend(sdl.get(start..stop).unwrap_or("").chars().map(|c| {
            if matches!(c, '\n' | '\r' | '\t') {
                c
            } else {
                ' '
            }
        }));
        last = stop;
    }
    out.push_str(sdl.get(last..).unwrap_or(""));
    (Cow::Owned(out), roles)
}

/// Reads `@dir(args)* { role: Type … }` after `extend schema`; returns where it ends.
fn schema_extension_body<'s>(sdl: &'s str, mut lx: Lexer<'_>) -> Option<(usize, RoleList<'s>)> {
    let mut end = lx.pos;
    let mut saw_directive = false;
    loop {
        let mut probe = lx;
        match probe.next_token() {
            Some((Tok::Punct(b'@'), ..)) => {
                let (Tok::Name, ..) = probe.next_token()? else { return None };
                lx = probe;
                saw_directive = true;
                let mut args = lx;
                if let Some((Tok::Punct(b'('), ..)) = args.next_token() {
                    let mut depth = 1u32;
                    while depth > 0 {
                        match args.next_token()?.0 {
                            Tok::Punct(b'(' | b'[' | b'{') => depth += 1,
                            Tok::Punct(b')' | b']' | b'}') => depth -= 1,
                            _ => {}
                        }
                    }
                    lx = args;
                }
                end = lx.pos;
            }
            Some((Tok::Punct(b'{'), ..)) => {
                let mut roles = Vec::new();
                loop {
                    match probe.next_token()? {
                        (Tok::Punct(b'}'), _, stop) => return Some((stop, roles)),
                        (Tok::Name, s, e) => {
                            let role = sdl.get(s..e)?;
                            if !ROLES.iter().any(|&(r, _)| r == role) {
                                return None;
                            }
                            let (Tok::Punct(b':'), ..) = probe.next_token()? else { return None };
                            let (Tok::Name, s, e) = probe.next_token()? else { return None };
                            roles.push((role, sdl.get(s..e)?));
                        }
                        _ => return None,
                    }
                }
            }
            _ => return saw_directive.then_some((end, Vec::new())),
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The type table: definitions and extensions merged, names resolved to indices.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Object,
    Interface,
    Union,
    Scalar,
    Enum,
    Input,
}

impl Kind {
    fn keyword(self) -> &'static str {
        match self {
            Kind::Object => "type",
            Kind::Interface => "interface",
            Kind::Union => "union",
            Kind::Scalar => "scalar",
            Kind::Enum => "enum",
            Kind::Input => "input",
        }
    }
}

struct FieldDef<'a> {
    name: &'a str,
    type_name: &'a str,
    /// Resolved after every type is known; `None` for built-in scalars and undefined names.
    ty: Option<usize>,
    /// A list anywhere in the wrapping (`[Post!]!`, `[[Post]]`).
    list: bool,
}

struct TypeDef<'a> {
    name: &'a str,
    kind: Kind,
    /// Index in the document of the definition, or of the first extension when there is none.
    position: usize,
    fields: Vec<FieldDef<'a>>,
    interfaces: Vec<&'a str>,
    members: Vec<&'a str>,
    /// Top-level fields of the first `@key(fields: "…")` directive.
    key: Option<Vec<String>>,
}

struct TypeTable<'a> {
    types: Vec<TypeDef<'a>>,
    by_name: HashMap<&'a str, usize>,
    /// Type indices in schema order (definitions' positions).
    order: Vec<usize>,
}

type Doc<'a> = ast::Document<'a, &'a str>;

/// The parts of a definition or extension the analysis uses.
struct Parts<'d, 'a> {
    name: &'a str,
    kind: Kind,
    fields: &'d [ast::Field<'a, &'a str>],
    interfaces: &'d [&'a str],
    members: &'d [&'a str],
    directives: &'d [ast::Directive<'a, &'a str>],
}

/// `Parts` of a `TypeDefinition` or a `TypeExtension`: graphql-parser gives each its own
/// structs with the same field names, so one match is written for both.
macro_rules! parts_of {
    ($def:expr, $kind:ident) => {{
        let p = |name, kind, directives| Parts {
            name,
            kind,
            fields: &[],
            interfaces: &[],
            members: &[],
            directives,
        };
        match $def {
            $kind::Object(t) => Parts {
                fields: &t.fields,
                interfaces: &t.implements_interfaces,
                ..p(t.name, Kind::Object, &t.directives)
            },
            $kind::Interface(t) => Parts {
                fields: &t.fields,
                interfaces: &t.implements_interfaces,
                ..p(t.name, Kind::Interface, &t.directives)
            },
            $kind::Union(t) => Parts { members: &t.types, ..p(t.name, Kind::Union, &t.directives) },
            $kind::Scalar(t) => p(t.name, Kind::Scalar, &t.directives),
            $kind::Enum(t) => p(t.name, Kind::Enum, &t.directives),
            $kind::InputObject(t) => p(t.name, Kind::Input, &t.directives),
        }
    }};
}

impl<'d, 'a> Parts<'d, 'a> {
    fn of_definition(def: &'d TypeDefinition<'a, &'a str>) -> Parts<'d, 'a> {
        parts_of!(def, TypeDefinition)
    }

    fn of_extension(ext: &'d TypeExtension<'a, &'a str>) -> Parts<'d, 'a> {
        parts_of!(ext, TypeExtension)
    }
}

impl<'a> TypeTable<'a> {
    fn build(doc: &Doc<'a>) -> Result<TypeTable<'a>> {
        let mut table = TypeTable { types: Vec::new(), by_name: HashMap::new(), order: Vec::new() };
        // Definitions first, so that an extension written above its definition still extends it.
        for (i, def) in doc.definitions.iter().enumerate() {
            if let Definition::TypeDefinition(td) = def {
                let parts = Parts::of_definition(td);
                if table.by_name.contains_key(parts.name) {
                    return Err(invalid(format!("type `{}` is defined twice", parts.name)));
                }
                table.by_name.insert(parts.name, table.types.len());
                table.types.push(TypeDef {
                    name: parts.name,
                    kind: parts.kind,
                    position: i,
                    fields: Vec::new(),
                    interfaces: Vec::new(),
                    members: Vec::new(),
                    key: None,
                });
                table.merge(table.types.len() - 1, &parts);
            }
        }
        for (i, def) in doc.definitions.iter().enumerate() {
            if let Definition::TypeExtension(te) = def {
                let parts = Parts::of_extension(te);
                let idx = match table.by_name.get(parts.name) {
                    Some(&idx) => idx,
                    // An extension of a type defined elsewhere (a federation subgraph's
                    // `extend type User @key(fields: "id")`) stands in for the definition.
                    None => {
                        table.by_name.insert(parts.name, table.types.len());
                        table.types.push(TypeDef {
                            name: parts.name,
                            kind: parts.kind,
                            position: i,
                            fields: Vec::new(),
                            interfaces: Vec::new(),
                            members: Vec::new(),
                            key: None,
                        });
                        table.types.len() - 1
                    }
                };
                let existing = table.types.get(idx).map(|t| t.kind);
                if existing != Some(parts.kind) {
                    let what = existing.map_or("", Kind::keyword);
                    return Err(invalid(format!(
                        "`extend {} {}` extends a `{what}`; the keywords must match",
                        parts.kind.keyword(),
                        parts.name
                    )));
                }
                table.merge(idx, &parts);
            }
        }
        table.resolve();
        let mut order: Vec<(usize, usize)> =
            table.types.iter().enumerate().map(|(i, t)| (t.position, i)).collect();
        // The pairs are unique: see `crate::sort`.
        heap_sort_by(&mut order, |a, b| a < b);
        table.order = order.into_iter().map(|(_, i)| i).collect();
        Ok(table)
    }

    fn merge(&mut self, idx: usize, parts: &Parts<'_, 'a>) {
        let Some(ty) = self.types.get_mut(idx) else { return };
        ty.fields.extend(parts.fields.iter().map(|f| {
            let (type_name, list) = unwrap_type(&f.field_type);
            FieldDef { name: f.name, type_name, ty: None, list }
        }));
        ty.interfaces.extend(parts.interfaces.iter().copied());
        ty.members.extend(parts.members.iter().copied());
        if ty.key.is_none() {
            ty.key = key_directive(parts.directives);
        }
    }

    /// Resolves field types to indices and drops repeated fields. GitHub's published schema
    /// repeats `EnterpriseOwnerInfo.repositoryDeployKeySetting`, so a repeat keeps the first
    /// definition rather than failing the whole schema.
    fn resolve(&mut self) {
        let mut seen = HashSet::new();
        let by_name = &self.by_name;
        for ty in &mut self.types {
            seen.clear();
            ty.fields.retain(|f| seen.insert(f.name));
            for f in &mut ty.fields {
                f.ty = by_name.get(f.type_name).copied();
            }
        }
    }

    fn get(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The root operation types: those the `schema` definition and extensions name; when there
    /// is no `schema` definition, roles it leaves open default to `Query`, `Mutation`, `Subscription`.
    fn roots(&self, doc: &Doc<'a>, extension_roles: &[(&'a str, &'a str)]) -> Result<Vec<usize>> {
        let mut named: [Option<&str>; 3] = [None; 3];
        let mut has_definition = false;
        let mut assign = |role: &str, ty: &'a str| -> Result<()> {
            let Some(slot) = ROLES.iter().position(|&(r, _)| r == role) else { return Ok(()) };
            match named.get_mut(slot) {
                Some(Some(prev)) if *prev != ty => {
                    Err(invalid(format!("the {role} root is named twice: `{prev}` and `{ty}`")))
                }
                Some(cell) => {
                    *cell = Some(ty);
                    Ok(())
                }
                None => Ok(()),
            }
        };
        for def in &doc.definitions {
            if let Definition::SchemaDefinition(s) = def {
                has_definition = true;
                for (role, ty) in
                    [("query", s.query), ("mutation", s.mutation), ("subscription", s.subscription)]
                {
                    if let Some(ty) = ty {
                        assign(role, ty)?;
                    }
                }
            }
        }
        for &(role, ty) in extension_roles {
            assign(role, ty)?;
        }
        let mut roots = Vec::new();
        for (slot, &(role, default)) in named.iter().zip(ROLES.iter()) {
            match slot {
                Some(ty) => match self.get(ty) {
                    Some(idx) => roots.push(idx),
                    None => {
                        return Err(invalid(format!(
                            "the schema names `{ty}` as the {role} root, but no such type is defined"
                        )))
                    }
                },
                None if !has_definition => roots.extend(self.get(default)),
                None => {}
            }
        }
        Ok(roots)
    }
}

fn invalid(message: String) -> Error {
    Error::SchemaInvalid { message }
}

/// The named type under any list and non-null wrappers, and whether a list was among them.
fn unwrap_type<'a>(mut ty: &ast::Type<'a, &'a str>) -> (&'a str, bool) {
    let mut list = false;
    loop {
        match ty {
            ast::Type::NamedType(name) => return (name, list),
            ast::Type::ListType(inner) => {
                list = true;
                ty = inner;
            }
            ast::Type::NonNullType(inner) => ty = inner,
        }
    }
}

/// The top-level fields of the first `@key(fields: "…")`. Nested selections
/// (`"id organization { id }"`) name fields of other types and are skipped.
fn key_directive<'a>(directives: &[ast::Directive<'a, &'a str>]) -> Option<Vec<String>> {
    let fields = directives.iter().filter(|d| d.name == "key").find_map(|d| {
        d.arguments.iter().find_map(|(name, value)| match value {
            ast::Value::String(s) if *name == "fields" => Some(s.as_str()),
            _ => None,
        })
    })?;
    let mut out = Vec::new();
    let mut depth = 0usize;
    for word in fields.split(|c: char| c.is_whitespace() || c == ',').flat_map(split_braces) {
        match word {
            "{" => depth += 1,
            "}" => depth = depth.saturating_sub(1),
            w if depth == 0 => out.push(w.to_owned()),
            _ => {}
        }
    }
    (!out.is_empty()).then_some(out)
}

/// Splits `a{b}` into `a`, `{`, `b`, `}` (the selection syntax needs no spaces around braces).
fn split_braces(word: &str) -> impl Iterator<Item = &str> {
    let mut rest = word;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let cut = match rest.find(['{', '}']) {
            Some(0) => 1,
            Some(i) => i,
            None => rest.len(),
        };
        let (head, tail) = rest.split_at(cut);
        rest = tail;
        Some(head)
    })
}

// ---------------------------------------------------------------------------------------------
// Entities and the relationship walk.

struct Graph<'a> {
    table: TypeTable<'a>,
    /// Key fields of each entity type; `None` for every other type.
    keys: Vec<Option<Vec<String>>>,
    root: Vec<bool>,
    /// Position of each type in schema order: the order of relationship targets.
    rank: Vec<usize>,
    /// For an interface, its implementing object types; for a union, its member types.
    fan_out: Vec<Vec<usize>>,
}

/// Connection plumbing: never an entity unless key fields are configured explicitly.
fn is_plumbing(name: &str) -> bool {
    name.ends_with("Connection") || name.ends_with("Edge") || name == "PageInfo"
}

impl<'a> Graph<'a> {
    fn new(table: TypeTable<'a>, roots: Vec<usize>, options: &SchemaOptions) -> Result<Graph<'a>> {
        let n = table.types.len();
        let mut root = vec![false; n];
        for r in roots {
            if let Some(cell) = root.get_mut(r) {
                *cell = true;
            }
        }
        let mut rank = vec![0; n];
        for (pos, &t) in table.order.iter().enumerate() {
            if let Some(cell) = rank.get_mut(t) {
                *cell = pos;
            }
        }
        let mut fan_out = vec![Vec::new(); n];
        for &t in &table.order {
            let Some(ty) = table.types.get(t) else { continue };
            match ty.kind {
                Kind::Object => {
                    for i in &ty.interfaces {
                        if let Some(list) = table.get(i).and_then(|i| fan_out.get_mut(i)) {
                            if !list.contains(&t) {
                                list.push(t);
                            }
                        }
                    }
                }
                Kind::Union => {
                    let mut members: Vec<usize> = Vec::new();
                    for m in ty.members.iter().filter_map(|m| table.get(m)) {
                        if !members.contains(&m) {
                            members.push(m);
                        }
                    }
                    if let Some(cell) = fan_out.get_mut(t) {
                        *cell = members;
                    }
                }
                _ => {}
            }
        }
        let mut graph = Graph { table, keys: vec![None; n], root, rank, fan_out };
        graph.keys = graph.key_fields(options)?;
        Ok(graph)
    }

    fn key_fields(&self, options: &SchemaOptions) -> Result<Vec<Option<Vec<String>>>> {
        let table = &self.table;
        // Sorted so that, with several bad entries, the same one is always reported.
        // (`sort_unstable` on `&str`: names are unique, and it shares one sort with the LRU.)
        let mut configured: Vec<&str> = options.key_fields.keys().map(String::as_str).collect();
        configured.sort_unstable();
        for name in configured {
            let fields = options.key_fields.get(name).map_or(&[][..], Vec::as_slice);
            let ty = self.configured_type(name, "key_fields")?;
            if ty.kind != Kind::Object {
                return Err(Error::options(format!(
                    "key_fields names `{name}`, a {}; only object types are entities",
                    ty.kind.keyword()
                )));
            }
            if table.get(name).is_some_and(|i| self.root.get(i) == Some(&true)) && !fields.is_empty() {
                return Err(Error::options(format!(
                    "key_fields names `{name}`, a root operation type, which is never an entity"
                )));
            }
            for f in fields {
                if !ty.fields.iter().any(|d| d.name == f) {
                    return Err(Error::options(format!(
                        "key_fields names `{name}.{f}`, but `{name}` has no field `{f}`"
                    )));
                }
            }
        }
        let mut keys = vec![None; table.types.len()];
        for (idx, ty) in table.types.iter().enumerate() {
            let key = if let Some(fields) = options.key_fields.get(ty.name) {
                (!fields.is_empty()).then(|| fields.clone())
            } else if ty.kind != Kind::Object || self.root.get(idx) == Some(&true) || is_plumbing(ty.name) {
                None
            } else if let Some(fields) = &ty.key {
                if let Some(missing) = fields.iter().find(|f| !ty.fields.iter().any(|d| d.name == *f)) {
                    return Err(invalid(format!(
                        "`@key(fields: …)` on `{}` names `{missing}`, which is not a field of `{}`",
                        ty.name, ty.name
                    )));
                }
                Some(fields.clone())
            } else {
                let scalar_id = ty.fields.iter().any(|f| {
                    f.name == "id"
                        && !f.list
                        && f.ty
                            .and_then(|t| table.types.get(t))
                            .is_none_or(|t| matches!(t.kind, Kind::Scalar | Kind::Enum))
                });
                scalar_id.then(|| vec!["id".to_owned()])
            };
            if let Some(cell) = keys.get_mut(idx) {
                *cell = key;
            }
        }
        Ok(keys)
    }

    fn configured_type(&self, name: &str, option: &str) -> Result<&TypeDef<'a>> {
        self.table.get(name).and_then(|i| self.table.types.get(i)).ok_or_else(|| {
            let hint = suggest(name, self.table.types.iter().map(|t| t.name))
                .map(|s| format!(" — did you mean `{s}`?"))
                .unwrap_or_default();
            Error::options(format!("{option} names type `{name}`, which the schema does not define{hint}"))
        })
    }

    fn is_entity(&self, t: usize) -> bool {
        self.keys.get(t).is_some_and(Option::is_some)
    }

    fn entity_order(&self) -> impl Iterator<Item = usize> + '_ {
        self.table.order.iter().copied().filter(|&t| self.is_entity(t))
    }

    fn entities(&self, options: &SchemaOptions) -> Result<Vec<Entity>> {
        let mut overrides: Vec<&str> = options.keyspaces.keys().map(String::as_str).collect();
        overrides.sort_unstable();
        for name in overrides {
            let keyspace = options.keyspaces.get(name).map_or("", String::as_str);
            self.configured_type(name, "keyspaces")?;
            if keyspace.is_empty() || keyspace.chars().any(|c| c.is_whitespace() || "*{}".contains(c)) {
                return Err(Error::options(format!(
                    "keyspace `{keyspace}` for `{name}` must be non-empty, without whitespace, `*`, `{{` or `}}`"
                )));
            }
        }
        let mut taken: HashMap<String, usize> = HashMap::new();
        let mut out = Vec::new();
        for t in self.entity_order() {
            let (Some(ty), Some(Some(key_fields))) = (self.table.types.get(t), self.keys.get(t)) else {
                continue;
            };
            let keyspace =
                options.keyspaces.get(ty.name).cloned().unwrap_or_else(|| keyspace_for_type(ty.name));
            if let Some(&first) = taken.get(&keyspace) {
                return Err(Error::KeyspaceCollision {
                    keyspace,
                    first: self.table.types.get(first).map_or("", |t| t.name).to_owned(),
                    second: ty.name.to_owned(),
                });
            }
            taken.insert(keyspace.clone(), t);
            out.push(Entity {
                type_name: ty.name.to_owned(),
                keyspace,
                key_fields: key_fields.clone(),
                fields: ty.fields.iter().map(|f| f.name.to_owned()).collect(),
            });
        }
        Ok(out)
    }

    fn relationships(&self) -> Vec<Relationship> {
        let mut walk = Walk {
            graph: self,
            stamp: 0,
            seen: vec![0; 2 * self.table.types.len()],
            via: Vec::new(),
            hits: Vec::new(),
        };
        let mut found: Vec<Found<'a>> = Vec::new();
        for holder in self.entity_order() {
            let Some(ty) = self.table.types.get(holder) else { continue };
            for f in &ty.fields {
                let Some(start) = f.ty else { continue };
                // Cannot wrap: MAX_SDL_BYTES allows far fewer than u32::MAX fields.
                walk.stamp += 1;
                walk.via.clear();
                walk.hits.clear();
                walk.reach(start, f.list, true, 0);
                // Stable (the index breaks ties): among paths to one target, the first keeps its `via`.
                let mut order: Vec<(usize, usize)> = (walk.hits.iter().enumerate())
                    .map(|(i, h)| (self.rank.get(h.target).copied().unwrap_or(usize::MAX), i))
                    .collect();
                // The pairs are unique: see `crate::sort`.
                heap_sort_by(&mut order, |a, b| a < b);
                let mut hits: Vec<Option<Hit<'a>>> = walk.hits.drain(..).map(Some).collect();
                walk.hits.extend(order.into_iter().filter_map(|(_, i)| hits[i].take()));
                for hit in walk.hits.drain(..) {
                    match found.last_mut() {
                        Some(last)
                            if last.holder == holder && last.field == f.name && last.target == hit.target =>
                        {
                            last.many |= hit.many;
                            last.direct |= hit.direct;
                        }
                        _ => found.push(Found {
                            holder,
                            field: f.name,
                            target: hit.target,
                            many: hit.many,
                            via: hit.via,
                            direct: hit.direct,
                        }),
                    }
                }
            }
        }
        // To-one fields through no value type are the ones whose `{field}_id` names the holder.
        let mut to_one: HashMap<(usize, usize), Vec<&str>> = HashMap::new();
        for r in found.iter().filter(|r| !r.many && r.direct) {
            to_one.entry((r.holder, r.target)).or_default().push(r.field);
        }
        let name = |t: usize| self.table.types.get(t).map_or("", |t| t.name).to_owned();
        found
            .iter()
            .map(|r| Relationship {
                holder: name(r.holder),
                field: r.field.to_owned(),
                target: name(r.target),
                cardinality: if r.many { Cardinality::Many } else { Cardinality::One },
                via: r.via.iter().map(|v| (*v).to_owned()).collect(),
                inverse: to_one
                    .get(&(r.target, r.holder))
                    .map(|fields| {
                        fields
                            .iter()
                            .filter(|&&f| !(r.holder == r.target && f == r.field))
                            .map(|f| (*f).to_owned())
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect()
    }
}

struct Found<'a> {
    holder: usize,
    field: &'a str,
    target: usize,
    many: bool,
    via: Vec<&'a str>,
    /// Reached without walking through a value type (interfaces and unions do not count).
    direct: bool,
}

struct Hit<'a> {
    target: usize,
    many: bool,
    via: Vec<&'a str>,
    direct: bool,
}

/// One field's walk through the type graph.
struct Walk<'g, 'a> {
    graph: &'g Graph<'a>,
    /// Bumped per field, so `seen` never needs clearing.
    stamp: u32,
    /// `seen[2 * type + many]`: the stamp of the last field whose walk entered the type. Keyed by
    /// `many` too, so that a list path is not hidden by a to-one path found first.
    seen: Vec<u32>,
    via: Vec<&'a str>,
    hits: Vec<Hit<'a>>,
}

impl<'a> Walk<'_, 'a> {
    fn reach(&mut self, t: usize, many: bool, direct: bool, depth: usize) {
        let graph = self.graph;
        let Some(ty) = graph.table.types.get(t) else { return };
        if graph.is_entity(t) {
            self.hits.push(Hit { target: t, many, via: self.via.clone(), direct });
            return;
        }
        if graph.root.get(t) == Some(&true)
            || depth >= MAX_WALK_DEPTH
            || !matches!(ty.kind, Kind::Object | Kind::Interface | Kind::Union)
        {
            return;
        }
        match self.seen.get_mut(2 * t + usize::from(many)) {
            Some(mark) if *mark != self.stamp => *mark = self.stamp,
            _ => return,
        }
        self.via.push(ty.name);
        match ty.kind {
            Kind::Interface | Kind::Union => {
                for &member in graph.fan_out.get(t).map_or(&[][..], Vec::as_slice) {
                    self.reach(member, many, direct, depth + 1);
                }
            }
            _ if is_connection(graph, ty) => {
                for f in &ty.fields {
                    match (f.name, f.ty) {
                        ("nodes", Some(node)) => self.reach(node, true, direct, depth + 1),
                        ("edges", Some(edge)) => {
                            let Some(edge_ty) = graph.table.types.get(edge) else { continue };
                            let Some(node) =
                                edge_ty.fields.iter().find(|f| f.name == "node").and_then(|f| f.ty)
                            else {
                                continue;
                            };
                            self.via.push(edge_ty.name);
                            self.reach(node, true, direct, depth + 2);
                            self.via.pop();
                        }
                        _ => {}
                    }
                }
            }
            _ => {
                for f in &ty.fields {
                    if let Some(next) = f.ty {
                        self.reach(next, many || f.list, false, depth + 1);
                    }
                }
            }
        }
        self.via.pop();
    }
}

/// A Relay connection: `edges` of a type with a `node` field, or `nodes`. Only those two fields
/// are followed; the rest (`pageInfo`, `totalCount`, edge metadata) is plumbing.
fn is_connection(graph: &Graph<'_>, ty: &TypeDef<'_>) -> bool {
    ty.kind == Kind::Object
        && ty.fields.iter().any(|f| match f.name {
            "nodes" => true,
            "edges" => {
                f.ty.and_then(|e| graph.table.types.get(e))
                    .is_some_and(|e| e.kind == Kind::Object && e.fields.iter().any(|n| n.name == "node"))
            }
            _ => false,
        })
}
