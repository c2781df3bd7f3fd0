//! One field's walk through interfaces, unions, connections and value types to the entities it reaches.

use super::*;

pub(super) struct Found<'a> {
    pub(super) holder: usize,
    pub(super) field: &'a str,
    pub(super) target: usize,
    pub(super) many: bool,
    pub(super) via: Vec<&'a str>,
    /// The fields walked through value types after `field` (`["employer"]` for
    /// `User.profile: Profile` → `Profile.employer: Company`); empty for a direct field.
    pub(super) path: Vec<&'a str>,
    /// Reached without walking through a value type (interfaces and unions do not count).
    pub(super) direct: bool,
}

impl Found<'_> {
    /// The relationship's field: the holder's field, then the path through value types
    /// (`profile.employer`), so that two fields of one value type never share a key.
    pub(super) fn name(&self) -> String {
        let mut name = self.field.to_owned();
        for p in &self.path {
            name.push('.');
            name.push_str(p);
        }
        name
    }
}

pub(super) struct Hit<'a> {
    pub(super) target: usize,
    pub(super) many: bool,
    pub(super) via: Vec<&'a str>,
    pub(super) path: Vec<&'a str>,
    pub(super) direct: bool,
}

/// One field's walk through the type graph.
pub(super) struct Walk<'g, 'a> {
    pub(super) graph: &'g Graph<'a>,
    /// Bumped per field, so `seen` never needs clearing.
    pub(super) stamp: u32,
    /// Types entered by this field's walk so far (see [`MAX_WALK_STEPS`]).
    pub(super) steps: usize,
    /// Set for a walk that entered too many types by paths: it is walked again with every type
    /// entered once and no paths, each target reached as the holder's field itself (wider keys
    /// than paths give, never a target left out).
    pub(super) collapsed: bool,
    /// `seen[2 * type + many]`: the stamp of the field whose walk is inside the type (a type on
    /// the current path is not entered again, so cycles end); cleared on leaving it, so that a
    /// value type reached by two paths (`home: Address`, `work: Address`) gives both. Keyed by
    /// `many` too, so that a list path is not hidden by a to-one path found first.
    pub(super) seen: Vec<u32>,
    pub(super) via: Vec<&'a str>,
    /// The fields walked through value types so far.
    pub(super) path: Vec<&'a str>,
    pub(super) hits: Vec<Hit<'a>>,
}

impl<'a> Walk<'_, 'a> {
    pub(super) fn reach(&mut self, t: usize, many: bool, direct: bool, depth: usize) {
        let graph = self.graph;
        let Some(ty) = graph.table.types.get(t) else { return };
        if graph.is_entity(t) {
            self.hits.push(Hit { target: t, many, via: self.via.clone(), path: self.path.clone(), direct });
            return;
        }
        if graph.root.get(t) == Some(&true)
            || depth >= MAX_WALK_DEPTH
            || !matches!(ty.kind, Kind::Object | Kind::Interface | Kind::Union)
        {
            return;
        }
        let slot = 2 * t + usize::from(many);
        match self.seen.get_mut(slot) {
            Some(mark) if *mark != self.stamp => *mark = self.stamp,
            _ => return,
        }
        self.steps += 1;
        self.via.push(ty.name);
        match ty.kind {
            Kind::Interface | Kind::Union => {
                for &member in graph.fan_out.get(t).map_or(&[][..], Vec::as_slice) {
                    self.reach(member, many, direct, depth + 1);
                }
            }
            _ if is_connection(&graph.table, ty) => {
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
                        if !self.collapsed {
                            self.path.push(f.name);
                        }
                        self.reach(next, many || f.list, false, depth + 1);
                        if !self.collapsed {
                            self.path.pop();
                        }
                    }
                }
            }
        }
        self.via.pop();
        // Other paths may enter the type again; a collapsed walk enters each type once.
        if !self.collapsed && self.steps <= MAX_WALK_STEPS {
            if let Some(mark) = self.seen.get_mut(slot) {
                *mark = 0;
            }
        }
    }
}

/// A Relay connection: `edges` of a type with a `node` field, or `nodes`. Only those two fields
/// are followed; the rest (`pageInfo`, `totalCount`, edge metadata) is plumbing.
pub(super) fn is_connection(table: &TypeTable<'_>, ty: &TypeDef<'_>) -> bool {
    ty.kind == Kind::Object
        && ty.fields.iter().any(|f| match f.name {
            "nodes" => true,
            "edges" => {
                f.ty.and_then(|e| table.types.get(e))
                    .is_some_and(|e| e.kind == Kind::Object && e.fields.iter().any(|n| n.name == "node"))
            }
            _ => false,
        })
}
