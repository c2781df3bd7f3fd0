// Lays out the rule graph and draws it as SVG. Pure functions: graph in, markup out.
//
// Layout: a small layered (Sugiyama-style) drawing, left to right. Cycles are broken by a DFS that
// reverses back edges; layers come from longest paths, capped in width so a dense schema wraps into
// more columns instead of one tall one; a few barycenter sweeps order each column to cut crossings.
// Readable from 3 to about 60 types; larger graphs are cut down to the part that matters first.

export const MAX_NODES = 60;
const COL_GAP = 200;
const ROW_GAP = 54;
const NODE_H = 30;
const CHAR_W = 7.4;

const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/**
 * Chooses at most `max` nodes: those a cascade touched first, then their neighbours, then the best
 * connected. Returns the node ids in their original order.
 */
export function pickNodes(nodes, edges, focus = new Set(), max = MAX_NODES) {
  if (nodes.length <= max) return nodes;
  const degree = new Map(nodes.map((n) => [n, 0]));
  const near = new Set();
  for (const { from, to } of edges) {
    degree.set(from, (degree.get(from) ?? 0) + 1);
    degree.set(to, (degree.get(to) ?? 0) + 1);
    if (focus.has(from)) near.add(to);
    if (focus.has(to)) near.add(from);
  }
  const rank = (n) => (focus.has(n) ? 2e9 : 0) + (near.has(n) ? 1e9 : 0) + (degree.get(n) ?? 0);
  const keep = new Set([...nodes].sort((a, b) => rank(b) - rank(a) || (a < b ? -1 : 1)).slice(0, max));
  return nodes.filter((n) => keep.has(n));
}

/** Positions nodes: returns { pos: Map(id → {x, y, w}), width, height, links }. */
export function layout(nodes, edges) {
  const index = new Map(nodes.map((n, i) => [n, i]));
  // One link per ordered pair; self-loops are kept aside (drawn as loops, no effect on layout).
  const links = new Map();
  for (const e of edges) {
    if (!index.has(e.from) || !index.has(e.to)) continue;
    const id = `${e.from}\u0000${e.to}`;
    if (!links.has(id)) links.set(id, { from: e.from, to: e.to, rules: [] });
    links.get(id).rules.push(e);
  }
  const out = new Map(nodes.map((n) => [n, []]));
  for (const l of links.values()) if (l.from !== l.to) out.get(l.from).push(l.to);

  // Break cycles: DFS from the nodes with the most outgoing links; an edge to a node on the stack is reversed.
  const state = new Map();
  const dag = new Map(nodes.map((n) => [n, new Set()]));
  const starts = [...nodes].sort((a, b) => out.get(b).length - out.get(a).length);
  for (const s of starts) {
    if (state.has(s)) continue;
    const stack = [[s, 0]];
    state.set(s, 1);
    while (stack.length) {
      const top = stack[stack.length - 1];
      const [n, i] = top;
      if (i >= out.get(n).length) {
        state.set(n, 2);
        stack.pop();
        continue;
      }
      top[1]++;
      const m = out.get(n)[i];
      if (state.get(m) === 1) dag.get(m).add(n); // back edge: reversed
      else {
        dag.get(n).add(m);
        if (!state.has(m)) {
          state.set(m, 1);
          stack.push([m, 0]);
        }
      }
    }
  }

  // Layers by longest path in topological order. A long chain would make a very wide picture, so
  // the layers are squeezed into at most `maxCols` columns of at most `maxRows` nodes; links inside
  // one column are drawn as arcs beside it.
  const indeg = new Map(nodes.map((n) => [n, 0]));
  for (const succ of dag.values()) for (const m of succ) indeg.set(m, indeg.get(m) + 1);
  const queue = nodes.filter((n) => indeg.get(n) === 0);
  const topo = [];
  while (queue.length) {
    const n = queue.shift();
    topo.push(n);
    for (const m of dag.get(n)) {
      indeg.set(m, indeg.get(m) - 1);
      if (indeg.get(m) === 0) queue.push(m);
    }
  }
  const preds = new Map(nodes.map((n) => [n, []]));
  for (const [n, succ] of dag) for (const m of succ) preds.get(m).push(n);
  const depth = new Map();
  for (const n of topo) depth.set(n, Math.max(0, ...preds.get(n).map((p) => depth.get(p) + 1)));
  const levels = Math.max(0, ...depth.values()) + 1;
  const maxCols = Math.max(4, Math.ceil(Math.sqrt(nodes.length / 2.5)));
  const maxRows = Math.max(4, Math.ceil(nodes.length / Math.min(maxCols, levels)) + 1);
  const layerOf = new Map();
  const layers = [];
  for (const n of topo) {
    let l = levels > maxCols ? Math.floor((depth.get(n) * maxCols) / levels) : depth.get(n);
    while ((layers[l]?.length ?? 0) >= maxRows) l++;
    layerOf.set(n, l);
    (layers[l] ??= []).push(n);
  }
  const columns = layers.filter(Boolean);
  columns.forEach((col, c) => col.forEach((n) => layerOf.set(n, c)));

  // Order within columns: barycenters of neighbours in the other columns, sweeping both ways.
  const neighbours = new Map(nodes.map((n) => [n, []]));
  for (const l of links.values()) {
    if (l.from === l.to) continue;
    neighbours.get(l.from).push(l.to);
    neighbours.get(l.to).push(l.from);
  }
  const rowOf = new Map();
  const place = () => columns.forEach((col) => col.forEach((n, r) => rowOf.set(n, r - (col.length - 1) / 2)));
  place();
  for (let sweep = 0; sweep < 6; sweep++) {
    const order = sweep % 2 === 0 ? columns : [...columns].reverse();
    for (const col of order) {
      const bary = new Map(
        col.map((n) => {
          const ns = neighbours.get(n).filter((m) => layerOf.get(m) !== layerOf.get(n));
          return [n, ns.length ? ns.reduce((s, m) => s + rowOf.get(m), 0) / ns.length : rowOf.get(n)];
        }),
      );
      col.sort((a, b) => bary.get(a) - bary.get(b));
      col.forEach((n, r) => rowOf.set(n, r - (col.length - 1) / 2));
    }
  }

  const widest = Math.max(...columns.map((c) => c.length));
  const pos = new Map();
  const colWidth = columns.map((col) => Math.max(...col.map((n) => label(n).length * CHAR_W + 24)));
  let x = 20;
  columns.forEach((col, c) => {
    for (const n of col) {
      const w = label(n).length * CHAR_W + 24;
      pos.set(n, { x: x + (colWidth[c] - w) / 2, y: 60 + (rowOf.get(n) + (widest - 1) / 2) * ROW_GAP, w, col: c });
    }
    x += colWidth[c] + COL_GAP - 60;
  });
  return { pos, width: x - COL_GAP + 100, height: 60 + widest * ROW_GAP + 20, links: [...links.values()] };
}

const label = (n) => n;

/**
 * The graph as SVG markup. `graph` is `engine.graph({ format: "json" })`; `entities` the keyspaces
 * that are entity types (others are drawn dashed); `hot` the rule ids the last cascade took;
 * `reached` the keyspaces it produced keys in; `changed` the keyspaces of the changed entities.
 */
export function renderSvg(graph, { entities = new Set(), hot = new Set(), reached = new Set(), changed = new Set() } = {}) {
  const focus = new Set([...changed, ...reached]);
  const nodes = pickNodes(graph.nodes, graph.edges, focus);
  const { pos, width, height, links } = layout(nodes, graph.edges);
  const parts = [];
  const hidden = graph.nodes.length - nodes.length;
  for (const link of links) {
    const isHot = link.rules.some((r) => hot.has(r.rule));
    const title = link.rules.map((r) => r.template).join("\n");
    const a = pos.get(link.from);
    const b = pos.get(link.to);
    let d;
    if (link.from === link.to) {
      const cx = a.x + a.w / 2;
      d = `M${cx - 10},${a.y - NODE_H / 2} C${cx - 30},${a.y - NODE_H / 2 - 34} ${cx + 30},${a.y - NODE_H / 2 - 34} ${cx + 10},${a.y - NODE_H / 2}`;
    } else if (b.col > a.col) {
      const x1 = a.x + a.w;
      const x2 = b.x;
      const mx = (x1 + x2) / 2;
      d = `M${x1},${a.y} C${mx},${a.y} ${mx},${b.y} ${x2},${b.y}`;
    } else {
      // Backward or same-column link: an arc that leaves and enters on the left/right sides,
      // bowed out so it does not run through the nodes between.
      const x1 = a.x;
      const x2 = b.x + b.w;
      const bow = 40 + Math.abs(a.y - b.y) * 0.15;
      if (a.col === b.col) {
        d = `M${a.x + a.w},${a.y} C${a.x + a.w + bow},${a.y} ${b.x + b.w + bow},${b.y} ${x2},${b.y}`;
      } else {
        d = `M${x1},${a.y + 6} C${x1 - bow},${a.y + 6 + bow} ${x2 + bow},${b.y + 6 + bow} ${x2},${b.y + 6}`;
      }
    }
    parts.push(
      `<path class="edge${isHot ? " hot" : ""}" data-edge="${esc(link.from)}->${esc(link.to)}" d="${d}" marker-end="url(#${isHot ? "arrow-hot" : "arrow"})"><title>${esc(`${link.from} → ${link.to}\n${title}`)}</title></path>`,
    );
  }
  // Hot edges last, so they are drawn over the others.
  parts.sort((p, q) => Number(p.includes('class="edge hot"')) - Number(q.includes('class="edge hot"')));
  for (const n of nodes) {
    const { x, y, w } = pos.get(n);
    const cls = ["node", entities.has(n) ? "entity" : "keyspace", changed.has(n) ? "changed" : reached.has(n) ? "reached" : ""]
      .filter(Boolean)
      .join(" ");
    parts.push(
      `<g class="${cls}" data-node="${esc(n)}" transform="translate(${x},${y - NODE_H / 2})"><rect width="${w}" height="${NODE_H}" rx="6"/><text x="${w / 2}" y="${NODE_H / 2 + 4.5}">${esc(n)}</text><title>${esc(entities.has(n) ? `entity keyspace ${n}` : `keyspace ${n} (not an entity)`)}</title></g>`,
    );
  }
  const note = hidden > 0 ? `<text class="note" x="20" y="18">showing ${nodes.length} of ${graph.nodes.length} keyspaces (those the last cascade touched first)</text>` : "";
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${Math.max(width, 200)} ${Math.max(height, 80)}" width="${Math.max(width, 200)}" height="${Math.max(height, 80)}" role="img" aria-label="cascade rule graph"${hot.size ? ' class="has-hot"' : ""}>
<defs>
<marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead"/></marker>
<marker id="arrow-hot" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" class="arrowhead hot"/></marker>
</defs>${note}
${parts.join("\n")}
</svg>`;
}
