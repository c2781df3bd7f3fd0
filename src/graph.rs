//! The rule graph as a text tree, DOT, Mermaid or JSON (SPEC §7).

use crate::engine::Engine;
use crate::error::{Error, Result};
use crate::text::is_alphanumeric;
use crate::value::{write_string, Value};
use std::fmt::Write as _;

/// How to render the rule graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GraphFormat {
    Tree,
    Dot,
    Mermaid,
    Json,
}

impl GraphFormat {
    pub fn parse(s: &str) -> Result<GraphFormat> {
        match s {
            "tree" => Ok(GraphFormat::Tree),
            "dot" => Ok(GraphFormat::Dot),
            "mermaid" => Ok(GraphFormat::Mermaid),
            "json" => Ok(GraphFormat::Json),
            other => {
                Err(Error::options(format!("graph format `{other}` is not one of tree, dot, mermaid, json")))
            }
        }
    }
}

/// One edge: a rule's template, from the changed entity's keyspace to the keyspace it reaches.
struct Edge<'a> {
    from: &'a str,
    to: String,
    template: &'a str,
    rule: &'a str,
    widest: String,
}

fn edges(engine: &Engine) -> Vec<Edge<'_>> {
    let d = engine.delimiter();
    engine
        .rules()
        .iter()
        .flat_map(|r| {
            r.cascade_to.iter().map(move |t| Edge {
                from: &r.entity,
                to: t.first_literal().unwrap_or("*").to_owned(),
                template: t.as_str(),
                rule: &r.id,
                widest: t.widest(d),
            })
        })
        .collect()
}

/// Renders the graph. `count` (with a cache attached) returns how many cached keys a pattern
/// reaches; the tree and JSON forms show it per edge.
pub fn render(engine: &Engine, format: GraphFormat, count: Option<&dyn Fn(&str) -> usize>) -> String {
    let edges = edges(engine);
    let mut nodes: Vec<&str> = Vec::new();
    for e in engine.entities() {
        nodes.push(&e.keyspace);
    }
    for e in &edges {
        if !nodes.contains(&e.to.as_str()) {
            nodes.push(&e.to);
        }
    }
    let mut out = String::new();
    match format {
        GraphFormat::Tree => {
            for node in engine.entities().iter().map(|e| e.keyspace.as_str()) {
                let mine: Vec<&Edge<'_>> = edges.iter().filter(|e| e.from == node).collect();
                if mine.is_empty() {
                    continue;
                }
                let _ = writeln!(out, "{node}");
                for (i, e) in mine.iter().enumerate() {
                    let branch = if i + 1 == mine.len() { "└─" } else { "├─" };
                    let _ = write!(out, "{branch} {} → {}", e.template, e.to);
                    if let Some(c) = count {
                        let _ = write!(out, " ({} cached)", c(&e.widest));
                    }
                    out.push('\n');
                }
            }
        }
        GraphFormat::Dot => {
            out.push_str("digraph cascade {\n  rankdir=LR;\n  node [shape=box];\n");
            for n in &nodes {
                let _ = writeln!(out, "  {};", dot_id(n));
            }
            for e in &edges {
                let _ = writeln!(
                    out,
                    "  {} -> {} [label={}];",
                    dot_id(e.from),
                    dot_id(&e.to),
                    dot_id(e.template)
                );
            }
            out.push_str("}\n");
        }
        GraphFormat::Mermaid => {
            out.push_str("graph LR\n");
            for e in &edges {
                let label = e.template.replace('"', "#quot;");
                let _ = writeln!(
                    out,
                    "  {}[{}] -->|\"{}\"| {}[{}]",
                    mermaid_id(e.from),
                    e.from,
                    label,
                    mermaid_id(&e.to),
                    e.to
                );
            }
        }
        GraphFormat::Json => {
            let nodes = Value::Array(nodes.iter().map(|n| Value::from(*n)).collect());
            let edges = Value::Array(
                edges
                    .iter()
                    .map(|e| {
                        let mut m = vec![
                            ("from", Value::from(e.from)),
                            ("to", Value::from(e.to.as_str())),
                            ("template", Value::from(e.template)),
                            ("rule", Value::from(e.rule)),
                        ];
                        if let Some(c) = count {
                            m.push(("cached", Value::Number(c(&e.widest) as f64)));
                        }
                        Value::record(m)
                    })
                    .collect(),
            );
            out = Value::record(vec![("nodes", nodes), ("edges", edges)]).to_json();
        }
    }
    out
}

impl Engine {
    /// The rule graph in `format` (see [`render`]).
    pub fn graph(&self, format: GraphFormat) -> String {
        render(self, format, None)
    }
}

fn dot_id(s: &str) -> String {
    let mut out = String::new();
    write_string(s, &mut out);
    out
}

fn mermaid_id(s: &str) -> String {
    s.chars().map(|c| if is_alphanumeric(c) || c == '_' { c } else { '_' }).collect()
}
