//! Cascade rules: derived from relationships (auto) or written by hand (manual) (SPEC §2–3).

use crate::condition::Condition;
use crate::error::Result;
use crate::schema::{Cardinality, RelationshipRef};
use crate::template::{KeyTemplate, SimpleSegment};
use crate::value::Value;

/// Where a rule comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// Derived from the relationship `holder.field` of the schema.
    Auto { holder: String, field: String },
    /// Added with `add_rule`.
    Manual,
}

/// A cascade rule: when an entity of keyspace `entity` changes, purge `cascade_to`.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// A readable id that is unique per distinct rule: `user -> post:author:{id}`.
    pub id: String,
    /// The keyspace whose changes fire the rule.
    pub entity: String,
    pub cascade_to: Vec<KeyTemplate>,
    pub when: Option<Condition>,
    /// The rule fires only when one of these fields changed (when `before` is known).
    pub on_fields: Vec<String>,
    /// How many levels the cascade may continue from keys this rule produced.
    pub max_depth: Option<u32>,
    /// Keys from this rule are always wider than the change (a to-many field with no inverse).
    pub coarse: bool,
    pub origin: Origin,
}

impl Rule {
    /// Builds the canonical id from the rule's content, so identical rules share an id.
    pub(crate) fn make_id(
        entity: &str,
        templates: &[KeyTemplate],
        when: Option<&Condition>,
        on_fields: &[String],
        max_depth: Option<u32>,
    ) -> String {
        let mut id = String::with_capacity(
            entity.len() + 4 + templates.iter().map(|t| t.as_str().len() + 2).sum::<usize>(),
        );
        id.push_str(entity);
        id.push_str(" -> ");
        for (i, t) in templates.iter().enumerate() {
            if i > 0 {
                id.push_str(", ");
            }
            id.push_str(t.as_str());
        }
        if let Some(c) = when {
            id.push_str(" when ");
            id.push_str(&c.to_value().to_json());
        }
        if !on_fields.is_empty() {
            id.push_str(" on ");
            id.push_str(&on_fields.join(","));
        }
        if let Some(d) = max_depth {
            id.push_str(&format!(" depth {d}"));
        }
        id
    }

    /// The rule as a JSON value (the shape `engine.rules()` returns).
    pub fn to_value(&self) -> Value {
        let mut m = vec![
            ("id", Value::from(self.id.as_str())),
            ("entity", Value::from(self.entity.as_str())),
            ("cascadeTo", Value::Array(self.cascade_to.iter().map(|t| Value::from(t.as_str())).collect())),
        ];
        if let Some(c) = &self.when {
            m.push(("when", c.to_value()));
        }
        if !self.on_fields.is_empty() {
            m.push(("onFields", Value::strings(&self.on_fields)));
        }
        if let Some(d) = self.max_depth {
            m.push(("maxDepth", Value::Number(f64::from(d))));
        }
        m.push(("coarse", Value::Bool(self.coarse)));
        match &self.origin {
            Origin::Auto { holder, field } => {
                m.push(("source", Value::from("auto")));
                m.push(("relationship", Value::from(format!("{holder}.{field}"))));
            }
            Origin::Manual => m.push(("source", Value::from("manual"))),
        }
        Value::record(m)
    }
}

/// What an auto rule needs to know about an entity type.
pub(crate) struct EntityRef<'a> {
    pub keyspace: &'a str,
    /// The key fields; empty means `["id"]`.
    pub key_fields: &'a [String],
}

impl<'a> EntityRef<'a> {
    /// The placeholder name pieces of the foreign key that `field` holds to this entity, for a
    /// [`SimpleSegment::Field`]: `author` `_` `id` (`{author_id}`). A composite key spells one
    /// placeholder per key field joined by a literal `,` in the one segment
    /// (`{item_orgId},{item_number}`, SPEC §2), which the `},{` piece writes; such a segment is
    /// outside the plain subset, so its template is parsed from that text.
    fn foreign_key(&self, field: &'a str, out: &mut [&'a str; 3], more: &mut Vec<&'a str>) -> bool {
        match self.key_fields {
            [] => *out = [field, "_", "id"],
            [k] => *out = [field, "_", k.as_str()],
            parts => {
                for (i, k) in parts.iter().enumerate() {
                    if i > 0 {
                        more.push("},{");
                    }
                    more.extend([field, "_", k.as_str()]);
                }
                return false;
            }
        }
        true
    }
}

/// The order in which an entity's auto rules run, so a cascade set lists an entity's own lists
/// first, then the indexes that point at it, then the lists it belongs to, then the indexes by
/// its own references (the design document's order).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Debug)]
pub(crate) enum Category {
    HolderMany = 0,
    TargetOne = 1,
    TargetMany = 2,
    HolderOne = 3,
}

/// Calls `emit(category, entity, segments, coarse)` for each auto rule of one relationship: the
/// keyspace whose changes fire it and the segments of its one template.
pub(crate) fn auto_templates(
    rel: RelationshipRef<'_>,
    holder: &EntityRef<'_>,
    target: &EntityRef<'_>,
    mut emit: impl FnMut(Category, &str, &[SimpleSegment<'_>], bool) -> Result<()>,
) -> Result<()> {
    use SimpleSegment::{Field, Literal, Wildcard};
    let h = holder.keyspace;
    let f = rel.field();
    // The pieces of a foreign key placeholder: three on the stack, or (composite keys) a list.
    let (mut one, mut many) = ([""; 3], Vec::new());
    match rel.cardinality() {
        Cardinality::One => {
            emit(Category::TargetOne, target.keyspace, &[Literal(h), Literal(f), Field(&["id"])], false)?;
            let fk: &[&str] = if target.foreign_key(f, &mut one, &mut many) { &one } else { &many };
            emit(Category::HolderOne, h, &[Literal(h), Literal(f), Field(fk)], false)?;
        }
        Cardinality::Many => {
            if rel.inverse().len() == 0 {
                emit(Category::TargetMany, target.keyspace, &[Literal(h), Wildcard, Literal(f)], true)?;
            }
            for inv in rel.inverse() {
                many.clear();
                let fk: &[&str] = if holder.foreign_key(inv, &mut one, &mut many) { &one } else { &many };
                emit(Category::TargetMany, target.keyspace, &[Literal(h), Field(fk), Literal(f)], false)?;
            }
            emit(Category::HolderMany, h, &[Literal(h), Field(&["id"]), Literal(f)], false)?;
        }
    }
    Ok(())
}

/// The auto rule of `rel` that `entity`'s changes fire, purging the template `segments` spell.
pub(crate) fn auto_rule(
    rel: RelationshipRef<'_>,
    entity: &str,
    segments: &[SimpleSegment<'_>],
    coarse: bool,
    delimiter: char,
) -> Result<Rule> {
    let t = match KeyTemplate::from_simple(segments, delimiter) {
        Some(t) => t,
        None => KeyTemplate::parse(&SimpleSegment::write_source(segments, delimiter), delimiter)?,
    };
    let id = Rule::make_id(entity, std::slice::from_ref(&t), None, &[], None);
    Ok(Rule {
        id,
        entity: entity.to_owned(),
        cascade_to: vec![t],
        when: None,
        on_fields: Vec::new(),
        max_depth: None,
        coarse,
        origin: Origin::Auto { holder: rel.holder().to_owned(), field: rel.field().to_owned() },
    })
}

/// The auto rule that [`auto_templates`] emits `k`-th (from 0) for `rel`; `None` when it emits
/// fewer, or that rule cannot be built.
pub(crate) fn nth_auto_rule(
    rel: RelationshipRef<'_>,
    holder: &EntityRef<'_>,
    target: &EntityRef<'_>,
    k: u32,
    delimiter: char,
) -> Option<Rule> {
    let (mut at, mut rule) = (0, None);
    auto_templates(rel, holder, target, |_, entity, segments, coarse| {
        if at == k {
            rule = auto_rule(rel, entity, segments, coarse, delimiter).ok();
        }
        at += 1;
        Ok(())
    })
    .ok()?;
    rule
}

/// Whether the auto template `segments` spell can be built: the error [`auto_rule`] would return
/// for it, found without building it when it is plain.
pub(crate) fn check_auto_template(segments: &[SimpleSegment<'_>], delimiter: char) -> Result<()> {
    if KeyTemplate::is_simple(segments, delimiter) {
        Ok(())
    } else {
        KeyTemplate::parse(&SimpleSegment::write_source(segments, delimiter), delimiter).map(drop)
    }
}

/// Whether the auto rules of `rel` can be built: the error [`auto_rule`] would return for one
/// of them, found without building the usual (plain) ones.
pub(crate) fn check_auto_rules(
    rel: RelationshipRef<'_>,
    holder: &EntityRef<'_>,
    target: &EntityRef<'_>,
    delimiter: char,
) -> Result<()> {
    auto_templates(rel, holder, target, |_, _, segments, _| check_auto_template(segments, delimiter))
}
