//! The linter: rules that purge too much, never fire, or repeat one another.

use super::rulebook::placeholder_known;
use super::Engine;

/// A finding of [`Engine::lint`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lint {
    /// The rule the finding is about.
    pub rule: String,
    /// `OVER_BROAD`, `NEVER_FIRES`, `COARSE` or `REDUNDANT`.
    pub code: &'static str,
    pub message: String,
}

impl Engine {
    /// Over-broad, never-firing, coarse and redundant rules.
    pub fn lint(&self) -> Vec<Lint> {
        let mut out = Vec::new();
        let d = self.options.delimiter;
        for r in self.rules() {
            for t in &r.cascade_to {
                if t.is_over_broad() {
                    out.push(Lint {
                        rule: r.id.clone(),
                        code: "OVER_BROAD",
                        message: format!("`{}` purges a whole keyspace or more on every change", t.as_str()),
                    });
                }
            }
            if r.coarse {
                let target = (self.catalog.index_of(&r.entity))
                    .and_then(|e| self.catalog.keyed().get(e))
                    .map_or(r.entity.as_str(), |e| e.type_name.as_str());
                let list = match &r.origin {
                    crate::rules::Origin::Auto { holder, field } => format!("`{holder}.{field}`"),
                    crate::rules::Origin::Manual => "the list".to_owned(),
                };
                out.push(Lint {
                    rule: r.id.clone(),
                    code: "COARSE",
                    message: format!(
                        "no to-one field of `{}` pairs unambiguously with {list}, so every list of this kind is purged; \
                         name its inverse with the `inverses` option ({{ \"Holder.list\": \"Target.field\" }}), add an inverse field, or add a manual rule",
                        target
                    ),
                });
            }
            if let Some(e) = self.catalog.index_of(&r.entity) {
                if !self.catalog.entities()[e].fields.is_empty() {
                    let unknown: Vec<&str> = r
                        .on_fields
                        .iter()
                        .map(String::as_str)
                        .chain(r.when.iter().flat_map(|c| c.fields()))
                        .filter(|f| !placeholder_known(&self.catalog, e, f))
                        .collect();
                    for f in unknown {
                        out.push(Lint {
                            rule: r.id.clone(),
                            code: "NEVER_FIRES",
                            message: format!(
                                "`{f}` is not a field of `{}`, so the rule's condition never sees it change",
                                self.catalog.keyed()[e].type_name
                            ),
                        });
                    }
                }
            }
            for (i, a) in r.cascade_to.iter().enumerate() {
                for (j, b) in r.cascade_to.iter().enumerate() {
                    if i != j
                        && crate::keys::covers(&a.widest(d), &b.widest(d), d)
                        && a.placeholders().count() == 0
                    {
                        out.push(Lint {
                            rule: r.id.clone(),
                            code: "REDUNDANT",
                            message: format!("`{}` already covers `{}`", a.as_str(), b.as_str()),
                        });
                    }
                }
            }
        }
        out
    }
}
