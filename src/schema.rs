//! What the schema says (SPEC §2): entities, relationships, and the options that shape them.
//!
//! Detecting them from SDL is `crate::sdl` (the `sdl` feature); an engine loaded from
//! precompiled rules (`fromJSON`) gets the same model without it.

use hashbrown::HashMap;

/// Largest SDL accepted by `analyze` (the `sdl` feature), in bytes (GitHub's public schema is about 1.2 MB).
pub const MAX_SDL_BYTES: usize = 8 * 1024 * 1024;

/// How many targets a relationship field holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cardinality {
    /// A single reference (`Post.author: User`).
    One,
    /// A list or connection (`User.posts: [Post]`, `posts: PostConnection`).
    Many,
}

/// An entity type: a type with key fields, cached under its keyspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entity {
    /// The GraphQL type name (`BlogPost`).
    pub type_name: String,
    /// The keyspace (`blog_post`).
    pub keyspace: String,
    /// The fields that identify an instance (`["id"]` by default).
    pub key_fields: Vec<String>,
    /// Every field name of the type (used to validate placeholders and `onFields`).
    pub fields: Vec<String>,
}

/// A field of a holder entity that reaches a target entity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Relationship {
    /// Type name of the holder (`User`).
    pub holder: String,
    /// The field on the holder, as spelled in the schema (`posts`); for a target reached through
    /// value types, the path of fields to it (`profile.employer`).
    pub field: String,
    /// Type name of the target entity (`Post`).
    pub target: String,
    /// Whether the field holds one target or many.
    pub cardinality: Cardinality,
    /// The interface, union, connection or value types the field goes through, outermost first
    /// (`["PostConnection"]`, `["Node"]`); empty for a direct field.
    pub via: Vec<String>,
    /// To-one fields of the target that point back at the holder (`Post.author` for `User.posts`).
    pub inverse: Vec<String>,
}

/// The field lists of a loaded document's entities, kept as the document writes them (one
/// space-joined list per entity) until a reader needs them as [`Entity::fields`]: a cascade
/// never does, and splitting them costs a string per field (3729 for GitHub).
#[derive(Debug, Default)]
pub(crate) struct FieldLists {
    text: String,
    /// Where each entity's list ends in `text`.
    ends: Vec<usize>,
}

impl FieldLists {
    pub(crate) fn push(&mut self, list: &str) {
        self.text.push_str(list);
        self.ends.push(self.text.len());
    }

    /// The list of entity `i`, as written.
    pub(crate) fn get(&self, i: usize) -> Option<&str> {
        let start = if i == 0 { 0 } else { *self.ends.get(i - 1)? };
        self.text.get(start..*self.ends.get(i)?)
    }
}

/// An engine's relationships, stored compactly: every string in one buffer and each entity
/// named by its index, so loading thousands of them allocates a few vectors instead of five or
/// more strings per relationship. [`Relationship`]s are built from it only for readers that
/// want them (`Engine::relationships`).
#[derive(Debug, Default)]
pub(crate) struct RelationshipTable {
    text: String,
    rows: Vec<Row>,
    /// The items of every `via` and `inverse` list, as spans of `text`.
    items: Vec<Span>,
}

/// `start..end` of a string in [`RelationshipTable::text`], or of a list in its `items`.
type Span = (usize, usize);

#[derive(Debug, Clone, Copy)]
struct Row {
    holder: Span,
    field: Span,
    target: Span,
    cardinality: Cardinality,
    via: Span,
    inverse: Span,
    /// The entity indexes of the holder and the target, when both are entities (set by
    /// [`RelationshipTable::resolve`]).
    entities: Option<(usize, usize)>,
}

/// One relationship of a [`RelationshipTable`].
#[derive(Clone, Copy)]
pub(crate) struct RelationshipRef<'a> {
    table: &'a RelationshipTable,
    row: &'a Row,
}

impl<'a> RelationshipRef<'a> {
    #[inline]
    pub(crate) fn holder(self) -> &'a str {
        self.table.str(self.row.holder)
    }

    #[inline]
    pub(crate) fn field(self) -> &'a str {
        self.table.str(self.row.field)
    }

    #[inline]
    pub(crate) fn target(self) -> &'a str {
        self.table.str(self.row.target)
    }

    pub(crate) fn cardinality(self) -> Cardinality {
        self.row.cardinality
    }

    pub(crate) fn via(self) -> impl ExactSizeIterator<Item = &'a str> + Clone {
        self.table.list(self.row.via)
    }

    pub(crate) fn inverse(self) -> impl ExactSizeIterator<Item = &'a str> + Clone {
        self.table.list(self.row.inverse)
    }

    /// The entity indexes of the holder and the target, when both are entities.
    pub(crate) fn entities(self) -> Option<(usize, usize)> {
        self.row.entities
    }

    pub(crate) fn to_relationship(self) -> Relationship {
        Relationship {
            holder: self.holder().to_owned(),
            field: self.field().to_owned(),
            target: self.target().to_owned(),
            cardinality: self.cardinality(),
            via: self.via().map(str::to_owned).collect(),
            inverse: self.inverse().map(str::to_owned).collect(),
        }
    }
}

impl RelationshipTable {
    /// An empty table with room for the relationship rows of `json_len` bytes of a version 2
    /// document (GitHub's: 87 bytes a row, a third of them strings once shared), so reading
    /// them rarely grows a buffer: each growth copies it into fresh memory.
    pub(crate) fn for_rows_of(json_len: usize) -> RelationshipTable {
        RelationshipTable {
            text: String::with_capacity(json_len / 2),
            rows: Vec::with_capacity(json_len / 80),
            items: Vec::with_capacity(json_len / 64),
        }
    }

    pub(crate) fn from_relationships(relationships: &[Relationship]) -> RelationshipTable {
        let mut table = RelationshipTable::default();
        for r in relationships {
            let (holder, field, target) =
                (table.push_str(&r.holder), table.push_str(&r.field), table.push_str(&r.target));
            let via = table.push_list(r.via.iter().map(String::as_str));
            let inverse = table.push_list(r.inverse.iter().map(String::as_str));
            table.push(holder, field, target, r.cardinality, via, inverse);
        }
        table
    }

    pub(crate) fn len(&self) -> usize {
        self.rows.len()
    }

    pub(crate) fn get(&self, i: usize) -> Option<RelationshipRef<'_>> {
        Some(RelationshipRef { table: self, row: self.rows.get(i)? })
    }

    pub(crate) fn iter(&self) -> impl ExactSizeIterator<Item = RelationshipRef<'_>> {
        self.rows.iter().map(move |row| RelationshipRef { table: self, row })
    }

    pub(crate) fn to_vec(&self) -> Vec<Relationship> {
        self.iter().map(RelationshipRef::to_relationship).collect()
    }

    /// Appends a string to the buffer; where it is.
    pub(crate) fn push_str(&mut self, s: &str) -> Span {
        let start = self.text.len();
        self.text.push_str(s);
        (start, self.text.len())
    }

    fn push_item(&mut self, s: &str) {
        let span = self.push_str(s);
        self.items.push(span);
    }

    /// Appends a relationship read from a version 2 row: its holder, field, target, `via` and
    /// `inverse`, lists as space-joined words. A holder, field or `via` the same as in `last`,
    /// the previous row, is shared with it (rows come grouped by holder and field), which halves
    /// the strings of a schema like GitHub's.
    pub(crate) fn push_row(&mut self, row: [&str; 5], last: Option<[&str; 5]>, cardinality: Cardinality) {
        let [holder, field, target, via, inverse] = row;
        let same = |i: usize| last.is_some_and(|l| l[i] == row[i]);
        let previous = self.rows.last().copied();
        let (holder, field, via) = match previous {
            Some(p) if same(0) => (
                p.holder,
                if same(1) { p.field } else { self.push_str(field) },
                if same(3) { p.via } else { self.push_words(via) },
            ),
            _ => (self.push_str(holder), self.push_str(field), self.push_words(via)),
        };
        let target = self.push_str(target);
        let inverse = self.push_words(inverse);
        self.push(holder, field, target, cardinality, via, inverse);
    }

    /// Appends the words of a space-joined list as list items; where they are in `items`.
    fn push_words(&mut self, list: &str) -> Span {
        let start = self.items.len();
        for_each_word(list, |w| self.push_item(w));
        (start, self.items.len())
    }

    fn push_list<'s>(&mut self, list: impl Iterator<Item = &'s str>) -> Span {
        let start = self.items.len();
        list.for_each(|s| self.push_item(s));
        (start, self.items.len())
    }

    /// Appends a relationship of strings and lists pushed before.
    fn push(
        &mut self,
        holder: Span,
        field: Span,
        target: Span,
        cardinality: Cardinality,
        via: Span,
        inverse: Span,
    ) {
        self.rows.push(Row { holder, field, target, cardinality, via, inverse, entities: None });
    }

    /// Finds the entity index of every holder and target (`None` for a name that is no entity).
    pub(crate) fn resolve(&mut self, entity: impl Fn(&str) -> Option<usize>) {
        let text = &self.text;
        let str = |(start, end): Span| text.get(start..end).unwrap_or_default();
        // Rows come grouped by holder (sharing its string when read from a document): look each
        // holder up once.
        let mut last: Option<(Span, Option<usize>)> = None;
        for row in &mut self.rows {
            let h = match last {
                Some((span, h)) if span == row.holder || str(span) == str(row.holder) => h,
                _ => entity(str(row.holder)),
            };
            last = Some((row.holder, h));
            row.entities = h.zip(entity(str(row.target)));
        }
    }

    #[inline]
    fn str(&self, (start, end): Span) -> &str {
        self.text.get(start..end).unwrap_or_default()
    }

    fn list(&self, (start, end): Span) -> impl ExactSizeIterator<Item = &str> + Clone {
        self.items.get(start..end).unwrap_or_default().iter().map(|&s| self.str(s))
    }
}

/// Calls `f` with each word of a space-joined list, skipping empty ones (as
/// `list.split(' ').filter(|w| !w.is_empty())` would, with a plain byte loop).
pub(crate) fn for_each_word<'s>(list: &'s str, mut f: impl FnMut(&'s str)) {
    let mut start = 0;
    for (i, &b) in list.as_bytes().iter().enumerate() {
        if b == b' ' {
            if i > start {
                f(list.get(start..i).unwrap_or_default());
            }
            start = i + 1;
        }
    }
    if list.len() > start {
        f(list.get(start..).unwrap_or_default());
    }
}

/// Options for schema analysis.
#[derive(Debug, Clone, Default)]
pub struct SchemaOptions {
    /// Keyspace overrides by GraphQL type name.
    pub keyspaces: HashMap<String, String>,
    /// Key fields by GraphQL type name; types not listed use an `@key(fields: "…")` directive or `id`.
    /// An empty list means "not an entity"; a list given here also makes an entity of a type whose
    /// shape (a connection, an edge, a page info) would otherwise exclude it.
    pub key_fields: HashMap<String, Vec<String>>,
    /// Inverse fields named explicitly, by list field (`"User.likedPosts"`): the to-one field of
    /// the target that points back (`"Post.author"`), or `None` for "no inverse". Lists not named
    /// here pair with an inverse only when the pairing is unambiguous (SPEC §2).
    pub inverses: HashMap<String, Option<String>>,
}

/// What the schema says about entities and their relationships.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaModel {
    /// Entities in schema order.
    pub entities: Vec<Entity>,
    /// Relationships in schema order (holder type order, then field order, then target order).
    pub relationships: Vec<Relationship>,
    /// The other types of the schema, and why each is not an entity (for the error that names one).
    pub non_entities: Vec<(String, NotEntity)>,
}

/// Why a type of the schema is not an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotEntity {
    /// An interface: its implementors are the entities.
    Interface,
    /// A union: its members are the entities.
    Union,
    /// A root operation type (`Query`, `Mutation`, `Subscription` or as `schema { … }` names them).
    Root,
    /// An object type without an `id` field or `@key`: a value type, walked through.
    NoKey,
    /// Connection plumbing (a connection, an edge or a page info, by shape), seen through.
    Plumbing,
    /// The `keyFields` option gives it no key fields.
    KeyFieldsEmpty,
    /// A scalar, enum or input type (its keyword).
    NotObject(&'static str),
}

#[cfg(feature = "sdl")]
impl NotEntity {
    /// Why `name` is not an entity, and how to make it one where that is possible.
    pub fn explain(self, name: &str) -> String {
        match self {
            NotEntity::Interface => format!(
                "`{name}` is an interface of the schema, not an entity: name the object type that changed (an implementor of `{name}`)"
            ),
            NotEntity::Union => {
                format!("`{name}` is a union of the schema, not an entity: name the member type that changed")
            }
            NotEntity::Root => format!("`{name}` is a root operation type of the schema, which is never an entity"),
            NotEntity::NoKey => format!(
                "`{name}` is a type of the schema without an `id` field, so it is not an entity; give it key fields with the `keyFields` option ({{ {name}: [\"…\"] }}) or `@key(fields: \"…\")`"
            ),
            NotEntity::Plumbing => format!(
                "`{name}` is connection plumbing (by its shape: `edges`, `nodes`, `node` or `hasNextPage`), seen through to the entities it lists; to make it an entity, give it key fields with the `keyFields` option"
            ),
            NotEntity::KeyFieldsEmpty => {
                format!("`{name}` is not an entity because the `keyFields` option gives it no key fields")
            }
            NotEntity::NotObject(kind) => {
                let a = if kind.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
                format!("`{name}` is {a} {kind} of the schema; only object types are entities")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::for_each_word;

    #[test]
    fn words_are_what_split_on_space_gives_without_empty_ones() {
        for list in ["", " ", "a", "a b", "  a  b ", " é b\tc ", "id label", "x y z w"] {
            let mut words = Vec::new();
            for_each_word(list, |w| words.push(w));
            let split: Vec<&str> = list.split(' ').filter(|w| !w.is_empty()).collect();
            assert_eq!(words, split, "{list:?}");
        }
    }
}
