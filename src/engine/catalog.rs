//! The catalogue of an engine: its entities, how names find them, and the relationships
//! between them. Built once (from a schema or a rules document) and only read afterwards.

use crate::error::{suggest, Error, Result};
use crate::rules::EntityRef;
use crate::schema::{for_each_word, Entity, FieldLists, Relationship, RelationshipRef, RelationshipTable};
use hashbrown::HashMap;
use std::cell::OnceCell;

/// The entities and relationships of an engine.
#[derive(Default)]
pub(crate) struct Catalog {
    /// The entities; while `field_lists` is set, without their `fields`.
    entities: Vec<Entity>,
    /// The entities' field lists as a loaded document wrote them, when they were not split into
    /// `Entity::fields` at load (see [`FieldLists`]).
    field_lists: Option<FieldLists>,
    /// The entities with their fields, built from `field_lists` for the first reader.
    entity_view: OnceCell<Vec<Entity>>,
    /// Keyspace and type name → entity index.
    lookup: HashMap<String, usize>,
    relationships: RelationshipTable,
    /// The relationships as [`Relationship`]s, built for the first reader that wants them.
    relationship_list: OnceCell<Vec<Relationship>>,
    /// The schema's other types and why each is not an entity, for the error that names one
    /// (an engine loaded from rules has no schema, and says nothing of them).
    #[cfg(feature = "sdl")]
    non_entities: HashMap<String, crate::schema::NotEntity>,
}

impl Catalog {
    /// A catalogue of `entities` (their field lists in `field_lists` when given) and the
    /// relationships of `table`; two entities of one keyspace are an error.
    pub(crate) fn new(
        entities: Vec<Entity>,
        field_lists: Option<FieldLists>,
        mut table: RelationshipTable,
        list: Option<Vec<Relationship>>,
    ) -> Result<Catalog> {
        let mut lookup: HashMap<String, usize> = HashMap::with_capacity(entities.len() * 2);
        // Each entity under its keyspace and its type name.
        for (i, e) in entities.iter().enumerate() {
            if let Some(&j) = lookup.get(&e.keyspace) {
                return Err(Error::KeyspaceCollision {
                    keyspace: e.keyspace.clone(),
                    first: entities[j].type_name.clone(),
                    second: e.type_name.clone(),
                });
            }
            lookup.insert(e.keyspace.clone(), i);
            lookup.entry(e.type_name.clone()).or_insert(i);
        }
        // Relationships name each entity by its index.
        table.resolve(|name| lookup.get(name).copied());
        Ok(Catalog {
            entities,
            field_lists,
            entity_view: OnceCell::new(),
            lookup,
            relationships: table,
            relationship_list: list.map_or_else(OnceCell::new, OnceCell::from),
            #[cfg(feature = "sdl")]
            non_entities: HashMap::new(),
        })
    }

    /// Records the schema's types that are not entities, and why.
    #[cfg(feature = "sdl")]
    pub(crate) fn set_non_entities(&mut self, types: Vec<(String, crate::schema::NotEntity)>) {
        self.non_entities = types.into_iter().collect();
    }

    /// Why `name` names no entity, when the schema says: a type that is not one, or the keyspace
    /// a type would have without its `keyspaces` override.
    #[cfg(feature = "sdl")]
    fn why_not(&self, name: &str) -> Option<String> {
        if let Some(reason) = self.non_entities.get(name) {
            return Some(reason.explain(name));
        }
        let e = self.entities.iter().find(|e| crate::keys::keyspace_for_type(&e.type_name) == name)?;
        Some(format!(
            "`{}` is cached under keyspace `{}` (the `keyspaces` option), not `{name}`",
            e.type_name, e.keyspace
        ))
    }

    #[cfg(not(feature = "sdl"))]
    fn why_not(&self, _: &str) -> Option<String> {
        None
    }

    /// The entities, in schema order, with their fields.
    pub(crate) fn entities(&self) -> &[Entity] {
        match &self.field_lists {
            None => &self.entities,
            Some(lists) => self.entity_view.get_or_init(|| {
                let list = |i| words(lists.get(i).unwrap_or_default());
                self.entities
                    .iter()
                    .enumerate()
                    .map(|(i, e)| Entity { fields: list(i), ..e.clone() })
                    .collect()
            }),
        }
    }

    /// The entities for their names, keyspaces and key fields: their `fields` may be empty
    /// (see `field_lists`), so reading them builds nothing.
    pub(crate) fn keyed(&self) -> &[Entity] {
        &self.entities
    }

    /// Whether the field lists are still as a loaded document wrote them.
    #[cfg(test)]
    pub(crate) fn fields_unsplit(&self) -> bool {
        self.field_lists.is_some() && self.entity_view.get().is_none()
    }

    /// The detected relationships.
    pub(crate) fn relationships(&self) -> &[Relationship] {
        self.relationship_list.get_or_init(|| self.relationships.to_vec())
    }

    /// The relationships as the rule book reads them.
    pub(crate) fn table(&self) -> &RelationshipTable {
        &self.relationships
    }

    /// The index of the entity named by a keyspace or a GraphQL type name.
    #[inline]
    pub(crate) fn index_of(&self, name: &str) -> Option<usize> {
        self.lookup.get(name).copied()
    }

    /// The index of the entity whose keyspace is `keyspace` (not a type name).
    pub(crate) fn by_keyspace(&self, keyspace: &str) -> Option<usize> {
        self.index_of(keyspace).filter(|&i| self.entities[i].keyspace == keyspace)
    }

    /// As [`Catalog::index_of`], or an error naming the nearest known entity.
    pub(crate) fn entity_index(&self, name: &str) -> Result<usize> {
        self.index_of(name).ok_or_else(|| Error::UnknownEntity {
            entity: name.to_owned(),
            suggestion: suggest(name, self.entities.iter().map(|e| e.keyspace.as_str()))
                .or_else(|| suggest(name, self.entities.iter().map(|e| e.type_name.as_str()))),
            reason: self.why_not(name),
        })
    }

    /// The entity named by a keyspace or a GraphQL type name.
    pub(crate) fn entity(&self, name: &str) -> Option<&Entity> {
        self.index_of(name).and_then(|i| self.entities().get(i))
    }

    /// As [`Catalog::entity`], for its keyspace and key fields only (see [`Catalog::keyed`]).
    pub(crate) fn keyed_entity(&self, name: &str) -> Option<&Entity> {
        self.index_of(name).and_then(|i| self.entities.get(i))
    }

    /// The holder and target of a relationship, with their entity indexes, when both are entities.
    #[allow(clippy::type_complexity)]
    pub(crate) fn entity_refs(
        &self,
        rel: RelationshipRef<'_>,
    ) -> Option<((usize, EntityRef<'_>), (usize, EntityRef<'_>))> {
        let entity_ref = |i: usize| {
            let e = self.entities.get(i)?;
            Some((i, EntityRef { keyspace: &e.keyspace, key_fields: &e.key_fields }))
        };
        let (h, t) = rel.entities()?;
        Some((entity_ref(h)?, entity_ref(t)?))
    }

    /// Whether the unfilled foreign key `placeholder` (`favorite_isbn`) of entity `e` is one of
    /// several spellings of a to-one reference to an interface or union whose members have
    /// different key fields, and `filled` says another spelling (`favorite_id`) has a value: the
    /// reference names another member, so the template is not this change's to render.
    pub(crate) fn names_other_member(
        &self,
        e: usize,
        placeholder: &str,
        filled: &dyn Fn(&str) -> bool,
    ) -> bool {
        let key =
            |t: usize| self.entities.get(t).and_then(|t| t.key_fields.first()).map_or("id", String::as_str);
        // (field, target key) of each to-one relationship of `e`. A scan: this runs only for a
        // coarse rendering of a change that carries data.
        let refs = || {
            (self.relationships.iter()).filter_map(move |r| match (r.cardinality(), r.entities()) {
                (crate::schema::Cardinality::One, Some((h, t))) if h == e => Some((r.field(), key(t))),
                _ => None,
            })
        };
        let own = refs().find(|(f, k)| {
            placeholder.strip_prefix(f).and_then(|p| p.strip_prefix('_')).is_some_and(|p| p == *k)
        });
        let Some((field, own)) = own else { return false };
        refs().filter(|&(f, k)| f == field && k != own).any(|(f, k)| filled(&[f, "_", k].concat()))
    }

    pub(crate) fn len(&self) -> usize {
        self.entities.len()
    }
}

/// The words of a space-joined list, as `split(' ')` without the empty ones gives them.
pub(crate) fn words(list: &str) -> Vec<String> {
    let mut out = Vec::with_capacity(list.bytes().filter(|&b| b == b' ').count() + 1);
    for_each_word(list, |w| out.push(w.to_owned()));
    out
}
