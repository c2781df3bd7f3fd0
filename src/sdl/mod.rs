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
use crate::schema::{
    Cardinality, Entity, NotEntity, Relationship, SchemaModel, SchemaOptions, MAX_SDL_BYTES,
};
use crate::sort::heap_sort_by;
use graphql_parser::schema::{self as ast, Definition, TypeDefinition, TypeExtension};
use hashbrown::{HashMap, HashSet};
use std::borrow::Cow;

/// How many interface, union, connection or value types a field may be followed through.
const MAX_WALK_DEPTH: usize = 8;

/// How many types one field's walk may enter by distinct paths; past it, the field is walked
/// again collapsed (see `Walk::collapsed`).
const MAX_WALK_STEPS: usize = 256;

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
    let relationships = graph.relationships(options)?;
    let non_entities = graph.non_entities(options);
    Ok(SchemaModel { entities, relationships, non_entities })
}

mod graph;
mod lexer;
mod table;
mod walk;

use graph::*;
use lexer::*;
use table::*;
use walk::*;
