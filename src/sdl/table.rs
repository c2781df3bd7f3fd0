//! The type table: definitions and extensions merged, names resolved to indices.

use super::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    Object,
    Interface,
    Union,
    Scalar,
    Enum,
    Input,
}

impl Kind {
    pub(super) fn keyword(self) -> &'static str {
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

pub(super) struct FieldDef<'a> {
    pub(super) name: &'a str,
    pub(super) type_name: &'a str,
    /// Resolved after every type is known; `None` for built-in scalars and undefined names.
    pub(super) ty: Option<usize>,
    /// A list anywhere in the wrapping (`[Post!]!`, `[[Post]]`).
    pub(super) list: bool,
}

pub(super) struct TypeDef<'a> {
    pub(super) name: &'a str,
    pub(super) kind: Kind,
    /// Index in the document of the definition, or of the first extension when there is none.
    pub(super) position: usize,
    pub(super) fields: Vec<FieldDef<'a>>,
    pub(super) interfaces: Vec<&'a str>,
    pub(super) members: Vec<&'a str>,
    /// Top-level fields of the first `@key(fields: "…")` directive.
    pub(super) key: Option<Vec<String>>,
}

impl<'a> TypeDef<'a> {
    /// A type as its first definition or extension (at `position` in the document) names it;
    /// `TypeTable::merge` adds what each part declares.
    fn new(parts: &Parts<'_, 'a>, position: usize) -> TypeDef<'a> {
        TypeDef {
            name: parts.name,
            kind: parts.kind,
            position,
            fields: Vec::new(),
            interfaces: Vec::new(),
            members: Vec::new(),
            key: None,
        }
    }
}

pub(super) struct TypeTable<'a> {
    pub(super) types: Vec<TypeDef<'a>>,
    pub(super) by_name: HashMap<&'a str, usize>,
    /// Type indices in schema order (definitions' positions).
    pub(super) order: Vec<usize>,
}

pub(super) type Doc<'a> = ast::Document<'a, &'a str>;

/// The parts of a definition or extension the analysis uses.
pub(super) struct Parts<'d, 'a> {
    pub(super) name: &'a str,
    pub(super) kind: Kind,
    pub(super) fields: &'d [ast::Field<'a, &'a str>],
    pub(super) interfaces: &'d [&'a str],
    pub(super) members: &'d [&'a str],
    pub(super) directives: &'d [ast::Directive<'a, &'a str>],
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
    pub(super) fn of_definition(def: &'d TypeDefinition<'a, &'a str>) -> Parts<'d, 'a> {
        parts_of!(def, TypeDefinition)
    }

    pub(super) fn of_extension(ext: &'d TypeExtension<'a, &'a str>) -> Parts<'d, 'a> {
        parts_of!(ext, TypeExtension)
    }
}

impl<'a> TypeTable<'a> {
    pub(super) fn build(doc: &Doc<'a>) -> Result<TypeTable<'a>> {
        let mut table = TypeTable { types: Vec::new(), by_name: HashMap::new(), order: Vec::new() };
        // Definitions first, so that an extension written above its definition still extends it.
        for (i, def) in doc.definitions.iter().enumerate() {
            if let Definition::TypeDefinition(td) = def {
                let parts = Parts::of_definition(td);
                if table.by_name.contains_key(parts.name) {
                    return Err(invalid(format!("type `{}` is defined twice", parts.name)));
                }
                table.by_name.insert(parts.name, table.types.len());
                table.types.push(TypeDef::new(&parts, i));
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
                        table.types.push(TypeDef::new(&parts, i));
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
        table.resolve()?;
        let mut order: Vec<(usize, usize)> =
            table.types.iter().enumerate().map(|(i, t)| (t.position, i)).collect();
        // The pairs are unique: see `crate::sort`.
        heap_sort_by(&mut order, |a, b| a < b);
        table.order = order.into_iter().map(|(_, i)| i).collect();
        Ok(table)
    }

    pub(super) fn merge(&mut self, idx: usize, parts: &Parts<'_, 'a>) {
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
    ///
    /// A field type, `implements` or union member naming a type the schema does not define is an
    /// error (a typo would otherwise drop the relationship without a word).
    pub(super) fn resolve(&mut self) -> Result<()> {
        let mut seen = HashSet::new();
        let by_name = &self.by_name;
        for ty in &mut self.types {
            seen.clear();
            ty.fields.retain(|f| seen.insert(f.name));
            for f in &mut ty.fields {
                f.ty = by_name.get(f.type_name).copied();
            }
        }
        for ty in &self.types {
            for f in &ty.fields {
                if f.ty.is_none() && !BUILT_IN_SCALARS.contains(&f.type_name) {
                    let what = format!("field `{}.{}` has type `{}`", ty.name, f.name, f.type_name);
                    return Err(self.undefined(what, f.type_name));
                }
            }
            for i in &ty.interfaces {
                if !by_name.contains_key(i) {
                    return Err(self.undefined(format!("`{}` implements `{i}`", ty.name), i));
                }
            }
            for m in &ty.members {
                if !by_name.contains_key(m) {
                    return Err(self.undefined(format!("union `{}` has member `{m}`", ty.name), m));
                }
            }
        }
        Ok(())
    }

    /// The error for `what`, naming `name` that the schema does not define, with the nearest
    /// defined name (built-in scalars included).
    fn undefined(&self, what: String, name: &str) -> Error {
        let defined = self.types.iter().map(|t| t.name).chain(BUILT_IN_SCALARS);
        let hint = suggest(name, defined).map(|s| format!("; did you mean `{s}`?")).unwrap_or_default();
        invalid(format!("{what}, which the schema does not define{hint}"))
    }

    pub(super) fn get(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    /// The root operation types: those the `schema` definition and extensions name; when there
    /// is no `schema` definition, roles it leaves open default to `Query`, `Mutation`, `Subscription`.
    pub(super) fn roots(&self, doc: &Doc<'a>, extension_roles: &[(&'a str, &'a str)]) -> Result<Vec<usize>> {
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

/// The scalars every GraphQL schema has without declaring them.
const BUILT_IN_SCALARS: [&str; 5] = ["ID", "String", "Int", "Float", "Boolean"];

pub(super) fn invalid(message: String) -> Error {
    Error::SchemaInvalid { message }
}

/// The named type under any list and non-null wrappers, and whether a list was among them.
pub(super) fn unwrap_type<'a>(mut ty: &ast::Type<'a, &'a str>) -> (&'a str, bool) {
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
pub(super) fn key_directive<'a>(directives: &[ast::Directive<'a, &'a str>]) -> Option<Vec<String>> {
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
pub(super) fn split_braces(word: &str) -> impl Iterator<Item = &str> {
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
