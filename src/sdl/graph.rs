//! Entities and relationships: which types are entities, and every field that reaches one.

use super::*;

pub(super) struct Graph<'a> {
    pub(super) table: TypeTable<'a>,
    /// Key fields of each entity type; `None` for every other type.
    pub(super) keys: Vec<Option<Vec<String>>>,
    pub(super) root: Vec<bool>,
    /// Position of each type in schema order: the order of relationship targets.
    pub(super) rank: Vec<usize>,
    /// For an interface, its implementing object types; for a union, its member types.
    pub(super) fan_out: Vec<Vec<usize>>,
}

/// A holder's field and the path after it through value types.
type FieldPath<'f, 'a> = (&'a str, &'f [&'a str]);

/// Connection plumbing, recognised by its shape and never by its name (a `PowerConnection { id,
/// watts }` is an entity): a connection (`edges` of a type with a `node`, or `nodes`), an edge (a
/// `node` field) or a page info (`hasNextPage` or `hasPreviousPage`). Never an entity unless key
/// fields are configured explicitly.
pub(super) fn is_plumbing(table: &TypeTable<'_>, ty: &TypeDef<'_>) -> bool {
    ty.kind == Kind::Object
        && (is_connection(table, ty)
            || ty.fields.iter().any(|f| matches!(f.name, "node" | "hasNextPage" | "hasPreviousPage")))
}

impl<'a> Graph<'a> {
    pub(super) fn new(table: TypeTable<'a>, roots: Vec<usize>, options: &SchemaOptions) -> Result<Graph<'a>> {
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

    pub(super) fn key_fields(&self, options: &SchemaOptions) -> Result<Vec<Option<Vec<String>>>> {
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
            } else if ty.kind != Kind::Object || self.root.get(idx) == Some(&true) || is_plumbing(table, ty) {
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

    /// Every type of the schema that is not an entity, in schema order, with the reason.
    pub(super) fn non_entities(&self, options: &SchemaOptions) -> Vec<(String, NotEntity)> {
        let table = &self.table;
        let reason = |t: usize, ty: &TypeDef<'_>| match ty.kind {
            _ if options.key_fields.get(ty.name).is_some_and(Vec::is_empty) => NotEntity::KeyFieldsEmpty,
            Kind::Interface => NotEntity::Interface,
            Kind::Union => NotEntity::Union,
            Kind::Object if self.root.get(t) == Some(&true) => NotEntity::Root,
            Kind::Object if is_plumbing(table, ty) => NotEntity::Plumbing,
            Kind::Object => NotEntity::NoKey,
            kind => NotEntity::NotObject(kind.keyword()),
        };
        (table.order.iter().copied())
            .filter(|&t| !self.is_entity(t))
            .filter_map(|t| table.types.get(t).map(|ty| (ty.name.to_owned(), reason(t, ty))))
            .collect()
    }

    pub(super) fn configured_type(&self, name: &str, option: &str) -> Result<&TypeDef<'a>> {
        self.table.get(name).and_then(|i| self.table.types.get(i)).ok_or_else(|| {
            let hint = suggest(name, self.table.types.iter().map(|t| t.name))
                .map(|s| format!(" — did you mean `{s}`?"))
                .unwrap_or_default();
            Error::options(format!("{option} names type `{name}`, which the schema does not define{hint}"))
        })
    }

    pub(super) fn is_entity(&self, t: usize) -> bool {
        self.keys.get(t).is_some_and(Option::is_some)
    }

    pub(super) fn entity_order(&self) -> impl Iterator<Item = usize> + '_ {
        self.table.order.iter().copied().filter(|&t| self.is_entity(t))
    }

    pub(super) fn entities(&self, options: &SchemaOptions) -> Result<Vec<Entity>> {
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

    pub(super) fn relationships(&self, options: &SchemaOptions) -> Result<Vec<Relationship>> {
        let mut walk = Walk {
            graph: self,
            stamp: 0,
            steps: 0,
            collapsed: false,
            seen: vec![0; 2 * self.table.types.len()],
            via: Vec::new(),
            path: Vec::new(),
            hits: Vec::new(),
        };
        let mut found: Vec<Found<'a>> = Vec::new();
        for holder in self.entity_order() {
            let Some(ty) = self.table.types.get(holder) else { continue };
            for f in &ty.fields {
                let Some(start) = f.ty else { continue };
                // Cannot wrap: MAX_SDL_BYTES allows far fewer than u32::MAX fields.
                walk.stamp += 1;
                walk.steps = 0;
                walk.via.clear();
                walk.path.clear();
                walk.hits.clear();
                walk.reach(start, f.list, true, 0);
                walk.collapsed = walk.steps > MAX_WALK_STEPS;
                if walk.collapsed {
                    walk.stamp += 1;
                    walk.hits.clear();
                    walk.reach(start, f.list, true, 0);
                    walk.collapsed = false;
                }
                // Stable (the index breaks ties): among paths to one target, the first keeps its `via`.
                let mut order: Vec<(usize, usize)> = (walk.hits.iter().enumerate())
                    .map(|(i, h)| (self.rank.get(h.target).copied().unwrap_or(usize::MAX), i))
                    .collect();
                // The pairs are unique: see `crate::sort`.
                heap_sort_by(&mut order, |a, b| a < b);
                let mut hits: Vec<Option<Hit<'a>>> = walk.hits.drain(..).map(Some).collect();
                walk.hits.extend(order.into_iter().filter_map(|(_, i)| hits[i].take()));
                // Hits of one target are adjacent: one relationship per (target, path).
                let first = found.len();
                for hit in walk.hits.drain(..) {
                    let same = (found[first..].iter_mut().rev())
                        .take_while(|r| r.target == hit.target)
                        .find(|r| r.path == hit.path);
                    match same {
                        Some(r) => {
                            r.many |= hit.many;
                            r.direct |= hit.direct;
                        }
                        None => found.push(Found {
                            holder,
                            field: f.name,
                            target: hit.target,
                            many: hit.many,
                            via: hit.via,
                            path: hit.path,
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
        // The to-many fields of each holder that reach each target.
        let mut to_many: HashMap<(usize, usize), Vec<FieldPath<'_, 'a>>> = HashMap::new();
        for r in found.iter().filter(|r| r.many) {
            let fields = to_many.entry((r.holder, r.target)).or_default();
            if !fields.contains(&(r.field, r.path.as_slice())) {
                fields.push((r.field, r.path.as_slice()));
            }
        }
        let explicit = self.explicit_inverses(options, &found, &to_one)?;
        let name = |t: usize| self.table.types.get(t).map_or("", |t| t.name).to_owned();
        Ok(found
            .iter()
            .map(|r| Relationship {
                holder: name(r.holder),
                field: r.name(),
                target: name(r.target),
                cardinality: if r.many { Cardinality::Many } else { Cardinality::One },
                via: r.via.iter().map(|v| (*v).to_owned()).collect(),
                // A to-one field's inverse is informational only (no rule reads it).
                inverse: if !r.many {
                    to_one
                        .get(&(r.target, r.holder))
                        .map(|fields| {
                            fields
                                .iter()
                                .filter(|&&f| !(r.holder == r.target && f == r.field))
                                .map(|f| (*f).to_owned())
                                .collect()
                        })
                        .unwrap_or_default()
                } else if let Some(named) = explicit.get(&(r.holder, r.field)).filter(|_| r.path.is_empty()) {
                    named.iter().filter(|(t, _)| *t == r.target).map(|(_, f)| (*f).to_owned()).collect()
                } else {
                    // Never guessed by type alone: paired only when the holder has this one list
                    // of the target and the target this one to-one field of the holder.
                    let lists = to_many.get(&(r.holder, r.target)).map_or(0, Vec::len);
                    match to_one.get(&(r.target, r.holder)).map(Vec::as_slice) {
                        Some([only]) if lists == 1 => vec![(*only).to_owned()],
                        _ => Vec::new(),
                    }
                },
            })
            .collect())
    }

    /// The `inverses` option, checked against the schema: list field (holder, field) → its
    /// inverse as (target, field), empty for "no inverse".
    #[allow(clippy::type_complexity)]
    fn explicit_inverses(
        &self,
        options: &SchemaOptions,
        found: &[Found<'a>],
        to_one: &HashMap<(usize, usize), Vec<&'a str>>,
    ) -> Result<HashMap<(usize, &'a str), Vec<(usize, &'a str)>>> {
        let mut out = HashMap::new();
        let mut named: Vec<&str> = options.inverses.keys().map(String::as_str).collect();
        named.sort_unstable();
        for list in named {
            let inverse = options.inverses.get(list).and_then(Option::as_deref);
            let (h, list_field) = self.configured_field(list, "inverses")?;
            let holder = self.table.get(h.name).unwrap_or(usize::MAX);
            let targets: Vec<usize> = (found.iter())
                .filter(|r| r.many && r.holder == holder && r.field == list_field && r.path.is_empty())
                .map(|r| r.target)
                .collect();
            if targets.is_empty() {
                return Err(Error::options(format!(
                    "inverses names `{list}`, which is not a list of entities (only to-many fields have inverses)"
                )));
            }
            let pair = match inverse {
                None => Vec::new(),
                Some(inverse) => {
                    let (t, inverse_field) = self.configured_field(inverse, "inverses")?;
                    let target = self.table.get(t.name).unwrap_or(usize::MAX);
                    let points_back =
                        to_one.get(&(target, holder)).is_some_and(|f| f.contains(&inverse_field));
                    if !targets.contains(&target) || !points_back {
                        return Err(Error::options(format!(
                            "inverses pairs `{list}` with `{inverse}`, but `{inverse}` is not a to-one field of a type `{list}` lists pointing back at `{}`",
                            h.name
                        )));
                    }
                    vec![(target, inverse_field)]
                }
            };
            out.insert((holder, list_field), pair);
        }
        Ok(out)
    }

    /// The type and field an option names as `Type.field`, or an error with the nearest name.
    fn configured_field(&self, name: &str, option: &str) -> Result<(&TypeDef<'a>, &'a str)> {
        let Some((type_name, field)) = name.split_once('.') else {
            return Err(Error::options(format!("{option} names `{name}`; name a field as `Type.field`")));
        };
        let ty = self.configured_type(type_name, option)?;
        match ty.fields.iter().find(|f| f.name == field) {
            Some(f) => Ok((ty, f.name)),
            None => {
                let hint = suggest(field, ty.fields.iter().map(|f| f.name))
                    .map(|s| format!(" — did you mean `{type_name}.{s}`?"))
                    .unwrap_or_default();
                Err(Error::options(format!(
                    "{option} names `{name}`, but `{type_name}` has no field `{field}`{hint}"
                )))
            }
        }
    }
}
