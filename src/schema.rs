//! Relationship detection from GraphQL SDL (SPEC §2).

use crate::error::{Error, Result};
use hashbrown::HashMap;

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
    /// The field on the holder, as spelled in the schema (`posts`).
    pub field: String,
    /// Type name of the target entity (`Post`).
    pub target: String,
    pub cardinality: Cardinality,
    /// The interface, union, connection or value types the field goes through, outermost first
    /// (`["PostConnection"]`, `["Node"]`); empty for a direct field.
    pub via: Vec<String>,
    /// To-one fields of the target that point back at the holder (`Post.author` for `User.posts`).
    pub inverse: Vec<String>,
}

/// Options for schema analysis.
#[derive(Debug, Clone, Default)]
pub struct SchemaOptions {
    /// Keyspace overrides by GraphQL type name.
    pub keyspaces: HashMap<String, String>,
    /// Key fields by GraphQL type name; types not listed use an `@key(fields: "…")` directive or `id`.
    pub key_fields: HashMap<String, Vec<String>>,
}

/// What the schema says about entities and their relationships.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaModel {
    /// Entities in schema order.
    pub entities: Vec<Entity>,
    /// Relationships in schema order (holder type order, then field order, then target order).
    pub relationships: Vec<Relationship>,
}

/// Parses SDL and detects entities and relationships.
pub fn analyze(sdl: &str, options: &SchemaOptions) -> Result<SchemaModel> {
    let _ = (sdl, options);
    Err(Error::SchemaInvalid { message: "not implemented".into() })
}
