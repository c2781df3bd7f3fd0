// The playground: one CascadeEngine rebuilt from the schema text plus the manual rules, and views
// of its relationships, rules, cascade sets and graph. State lives in the URL fragment.
import { init, CascadeEngine, version } from "./pkg/browser.js";
import { renderSvg } from "./graph.js";
import { decodeState, encodeState } from "./state.js";

const $ = (selector) => document.querySelector(selector);
const esc = (s) => String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

const PRESETS = ["blog", "swapi", "github"];
const DEFAULT_MUTATION = JSON.stringify(
  { data: { updatePost: { post: { __typename: "Post", id: 9, title: "Hello", author: { __typename: "User", id: 123 } } } } },
  null,
  2,
);

const presetText = new Map();
let engine; // the last engine built from a valid schema; kept when the schema text breaks
let manualRules = []; // [{ rule, id?, error? }] in the order added
let lastSet;
let lastExport;
let mode = "change";

function presetFetch(name) {
  if (!presetText.has(name)) {
    presetText.set(
      name,
      fetch(`schemas/${name}.graphql`).then((r) => {
        if (!r.ok) throw new Error(`schemas/${name}.graphql: HTTP ${r.status}`);
        return r.text();
      }),
    );
  }
  return presetText.get(name);
}

function setStatus(text) {
  $("#status").textContent = text;
}

// --- Schema -------------------------------------------------------------------------------------

/** Shows a schema error with the offending line and a caret under the column when it has one. */
function showSchemaError(error, sdl) {
  const box = $("#schema-error");
  const at = /at (\d+):(\d+)/.exec(error.message);
  let excerpt = "";
  if (at) {
    const [line, column] = [Number(at[1]), Number(at[2])];
    const text = sdl.split("\n")[line - 1] ?? "";
    excerpt = `<pre class="excerpt">${String(line).padStart(4)} | ${esc(text)}\n       ${" ".repeat(Math.max(0, column - 1))}^</pre>`;
    box.dataset.line = line;
    box.dataset.column = column;
    const ta = $("#schema");
    const offset = sdl.split("\n").slice(0, line - 1).reduce((n, l) => n + l.length + 1, 0) + column - 1;
    ta.setSelectionRange(offset, offset);
    // Bring the offending line into view (a few lines below the top).
    ta.scrollTop = Math.max(0, (line - 4) * (parseFloat(getComputedStyle(ta).lineHeight) || 18));
    // Bring the offending line into view (a few lines below the top).
    ta.scrollTop = Math.max(0, (line - 4) * parseFloat(getComputedStyle(ta).lineHeight || "18"));
  } else {
    delete box.dataset.line;
    delete box.dataset.column;
  }
  box.innerHTML = `<strong>${esc(error.code ?? "ERROR")}</strong> ${esc(error.message)}${at ? ` <span class="where">(line ${at[1]}, column ${at[2]})</span>` : ""}${excerpt}<div class="muted">The previous schema stays in use until this one parses.</div>`;
  box.hidden = false;
}

/** Builds an engine from the schema text and re-adds the manual rules; false if the schema is bad. */
function applySchema() {
  const sdl = $("#schema").value;
  const started = performance.now();
  let next;
  try {
    next = CascadeEngine.fromSchema(sdl);
  } catch (error) {
    showSchemaError(error, sdl);
    setStatus(`schema error: ${error.code}`);
    return false;
  }
  $("#schema-error").hidden = true;
  engine = next;
  readdRules();
  renderDetected();
  setStatus(`schema applied in ${(performance.now() - started).toFixed(0)} ms`);
  return true;
}

function readdRules() {
  for (const entry of manualRules) {
    try {
      entry.id = engine.addRule(entry.rule);
      entry.error = undefined;
    } catch (error) {
      entry.id = undefined;
      entry.error = `${error.code}: ${error.message}`;
    }
  }
}

function renderDetected() {
  const entities = engine.entities();
  const relationships = engine.relationships();
  const rules = engine.rules();
  $("#detected-meta").textContent = `${entities.length} entities, ${relationships.length} relationships, ${rules.length} rules`;
  $("#entity-list").innerHTML = entities.map((e) => `<option value="${esc(e.keyspace)}">${esc(e.type)}</option>`).join("");
  $("#relationships tbody").innerHTML = relationships
    .slice(0, 500)
    .map(
      (r) =>
        `<tr><td>${esc(r.holder)}.<b>${esc(r.field)}</b></td><td>→ ${esc(r.target)}</td><td>${r.cardinality === "many" ? "to-many" : "to-one"}</td><td class="muted">${r.via.length ? `via ${esc(r.via.join("."))}` : ""}${r.inverse.length ? ` inverse ${esc(r.inverse.join(", "))}` : ""}</td></tr>`,
    )
    .join("") + (relationships.length > 500 ? `<tr><td colspan="4" class="muted">… and ${relationships.length - 500} more</td></tr>` : "");
  renderRules(rules);
  renderManualRules();
  try {
    $("#lint").innerHTML = engine.lint().map((l) => `<li>${esc(typeof l === "string" ? l : JSON.stringify(l))}</li>`).join("") || '<li class="muted">no findings</li>';
  } catch (error) {
    $("#lint").innerHTML = `<li class="error">${esc(error.message)}</li>`;
  }
  renderGraph();
}

function renderRules(rules = engine.rules()) {
  const filter = $("#rule-filter").value.trim().toLowerCase();
  const shown = filter ? rules.filter((r) => r.id.toLowerCase().includes(filter)) : rules;
  const limit = 400;
  $("#rules").innerHTML =
    shown
      .slice(0, limit)
      .map(
        (r) =>
          `<li class="${r.source}"><code>${esc(r.id)}</code> <span class="badge">${esc(r.source)}</span>${r.coarse ? ' <span class="badge warn">coarse</span>' : ""}${r.relationship ? ` <span class="muted">${esc(r.relationship)}</span>` : ""}</li>`,
      )
      .join("") + (shown.length > limit ? `<li class="muted">… and ${shown.length - limit} more (filter to narrow)</li>` : "");
}

function renderManualRules() {
  $("#manual-rules").innerHTML =
    manualRules
      .map(
        (m, i) =>
          `<li class="${m.error ? "error" : ""}"><code>${esc(m.id ?? JSON.stringify(m.rule))}</code>${m.error ? `<div>${esc(m.error)}</div>` : ""} <button type="button" data-remove="${i}" aria-label="remove rule">remove</button></li>`,
      )
      .join("") || '<li class="muted">none yet</li>';
}

// --- Manual rules -------------------------------------------------------------------------------

/** Which form field an API error is about, so it is shown next to it. */
function fieldOf(error) {
  switch (error.code) {
    case "UNKNOWN_ENTITY":
      return "entity";
    case "INVALID_TEMPLATE":
    case "UNKNOWN_PLACEHOLDER":
      return "cascadeTo";
    default: {
      const m = error.message;
      if (/`?maxDepth`?/.test(m)) return "maxDepth";
      if (/`?onFields`?/.test(m)) return "onFields";
      if (/`?cascadeTo`?|template/.test(m)) return "cascadeTo";
      if (/`?entity`?/.test(m)) return "entity";
      if (/`?when`?|test|condition|changed|all|any|not/.test(m)) return "when";
      return "rule";
    }
  }
}

function clearRuleErrors() {
  for (const el of document.querySelectorAll("#rule-form .field-error")) el.textContent = "";
  for (const el of document.querySelectorAll("#rule-form [aria-invalid]")) el.removeAttribute("aria-invalid");
}

function ruleError(field, message) {
  $(`#rule-form .field-error[data-for="${field}"]`).textContent = message;
  document.querySelector(`#rule-form [name="${field}"]`)?.setAttribute("aria-invalid", "true");
}

function ruleFromForm(form) {
  const value = (name) => form.elements[name].value.trim();
  const rule = { entity: value("entity"), cascadeTo: value("cascadeTo").split("\n").map((t) => t.trim()).filter(Boolean) };
  if (value("when")) {
    try {
      rule.when = JSON.parse(value("when"));
    } catch (error) {
      throw Object.assign(new Error(`not valid JSON: ${error.message}`), { code: "INVALID_JSON", field: "when" });
    }
  }
  if (value("onFields")) rule.onFields = value("onFields").split(",").map((f) => f.trim()).filter(Boolean);
  if (value("maxDepth") !== "") rule.maxDepth = Number(value("maxDepth"));
  return rule;
}

function addRule(event) {
  event.preventDefault();
  clearRuleErrors();
  const form = event.target;
  let rule;
  try {
    rule = ruleFromForm(form);
    if (!engine) throw Object.assign(new Error("apply a valid schema first"), { code: "NO_SCHEMA" });
    const id = engine.addRule(rule);
    if (!manualRules.some((m) => m.id === id)) manualRules.push({ rule, id });
  } catch (error) {
    ruleError(error.field ?? fieldOf(error), `${error.code ?? "ERROR"}: ${error.message}`);
    return;
  }
  form.reset();
  renderDetected();
  runCascade();
}

function removeRule(index) {
  const [entry] = manualRules.splice(index, 1);
  if (entry?.id) engine.removeRule(entry.id);
  renderDetected();
  runCascade();
}

// --- Cascades -----------------------------------------------------------------------------------

function parseJsonField(id, what, optional) {
  const text = $(id).value.trim();
  if (!text) {
    if (optional) return undefined;
    return {};
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw Object.assign(new Error(`${what} is not valid JSON: ${error.message}`), { code: "INVALID_JSON" });
  }
}

function runCascade() {
  if (!engine) return;
  const box = $("#change-error");
  box.hidden = true;
  try {
    let set;
    const started = performance.now();
    if (mode === "mutation") {
      const response = parseJsonField("#mutation", "the response");
      const changes = engine.changesFromMutation(response);
      $("#mutation-changes").innerHTML = changes.length
        ? `changes found: ${changes.map((c) => `<code>${esc(c.entity)}:${esc(c.id)}</code> (${esc(c.op)})`).join(", ")}`
        : "no entity changes found (objects need <code>__typename</code> and their key fields)";
      set = engine.cascadeBatch(changes);
    } else {
      const change = { entity: $("#change-entity").value.trim(), id: $("#change-id").value.trim(), op: $("#change-op").value };
      change.data = parseJsonField("#change-data", "data");
      const before = parseJsonField("#change-before", "before", true);
      if (before !== undefined) change.before = before;
      set = engine.cascade(change);
    }
    lastSet = { ...set, ms: performance.now() - started };
  } catch (error) {
    box.innerHTML = `<strong>${esc(error.code ?? "ERROR")}</strong> ${esc(error.message)}`;
    box.hidden = false;
    lastSet = undefined;
  }
  renderResult();
  renderGraph();
  saveState();
}

function renderResult() {
  const set = lastSet;
  $("#keys").innerHTML = set ? set.keys.map((k) => `<li><code>${esc(k)}</code></li>`).join("") : "";
  $("#patterns").innerHTML = set?.patterns.length ? set.patterns.map((k) => `<li><code>${esc(k)}</code></li>`).join("") : '<li class="muted">none</li>';
  $("#result-meta").textContent = set
    ? `${set.keys.length} keys, ${set.patterns.length} patterns, depth ${set.depth}${set.truncated ? ", TRUNCATED" : ""}, ${set.ms.toFixed(2)} ms`
    : "";
  $("#trace tbody").innerHTML = set
    ? set.trace
        .map(
          (t) =>
            `<tr class="depth-${Math.min(t.depth, 4)}"><td style="padding-left:${0.4 + t.depth * 1.2}em"><code>${esc(t.key)}</code></td><td>${t.depth}</td><td>${t.from ? `<code>${esc(t.from)}</code>` : '<span class="muted">the change</span>'}</td><td>${t.rule ? `<code>${esc(t.rule)}</code>` : ""}</td><td>${t.coarse ? '<span class="badge warn">coarse</span>' : ""}</td></tr>`,
        )
        .join("")
    : "";
}

// --- Graph and exports --------------------------------------------------------------------------

const keyspaceOf = (key) => key.split(":")[0];

function renderGraph() {
  if (!engine) return;
  const graph = engine.graph({ format: "json" });
  const entities = new Set(engine.entities().map((e) => e.keyspace));
  const hot = new Set();
  const reached = new Set();
  const changed = new Set();
  for (const t of lastSet?.trace ?? []) {
    if (t.rule) {
      hot.add(t.rule);
      reached.add(keyspaceOf(t.key));
    } else changed.add(keyspaceOf(t.key));
  }
  $("#graph").innerHTML = renderSvg(graph, { entities, hot, reached, changed });
}

function showExport(format) {
  if (!engine) return;
  let text;
  if (format === "json") text = JSON.stringify(engine.toJSON(), null, 2);
  else text = engine.graph({ format });
  const names = { dot: "cascade.dot", mermaid: "cascade.mmd", json: "rules.json" };
  lastExport = { format, text, name: names[format] };
  const pre = $("#export");
  pre.textContent = text;
  pre.dataset.format = format;
  pre.hidden = false;
  $("#download").hidden = false;
  $("#copy-export").hidden = false;
}

// --- State in the URL ---------------------------------------------------------------------------

let saveTimer;
function saveState() {
  clearTimeout(saveTimer);
  saveTimer = setTimeout(async () => {
    const state = await currentState();
    history.replaceState(null, "", `#${await encodeState(state)}`);
  }, 50);
}

async function currentState() {
  const preset = $("#preset").value;
  const sdl = $("#schema").value;
  const state = { v: 1, preset, rules: manualRules.map((m) => m.rule), mode };
  if (!PRESETS.includes(preset) || sdl !== (await presetFetch(preset))) state.sdl = sdl;
  if (mode === "mutation") state.mutation = $("#mutation").value;
  else {
    state.change = {
      entity: $("#change-entity").value,
      id: $("#change-id").value,
      op: $("#change-op").value,
      data: $("#change-data").value,
      before: $("#change-before").value,
    };
  }
  return state;
}

async function loadState() {
  const hash = location.hash.slice(1);
  if (!hash) return { preset: "blog" };
  try {
    return await decodeState(hash);
  } catch (error) {
    setStatus(`could not read the link (${error.message}); starting fresh`);
    return { preset: "blog" };
  }
}

function setMode(next) {
  mode = next;
  for (const tab of document.querySelectorAll("[data-mode]")) {
    if (tab.role === "tab") tab.setAttribute("aria-selected", String(tab.dataset.mode === next));
  }
  $("#change-form").hidden = next !== "change";
  $("#mutation-form").hidden = next !== "mutation";
}

// --- Wiring -------------------------------------------------------------------------------------

async function selectPreset(name) {
  $("#preset").value = name;
  setStatus(`loading the ${name} schema…`);
  $("#schema").value = await presetFetch(name);
  if (!applySchema()) return;
  // Each preset comes with a change that means something in it.
  const first = engine.entities()[0];
  const [entity, id, data] = name === "blog" ? ["Post", "9", '{"author_id": 123}'] : [first?.type ?? "", "1", "{}"];
  $("#change-entity").value = entity;
  $("#change-id").value = id;
  $("#change-data").value = data;
  $("#change-before").value = "";
  runCascade();
}

function wire() {
  $("#preset").addEventListener("change", (e) => {
    if (e.target.value !== "custom") selectPreset(e.target.value);
  });
  $("#apply-schema").addEventListener("click", () => {
    if (applySchema()) runCascade();
    else saveState();
  });
  $("#schema").addEventListener("input", () => {
    $("#preset").value = "custom";
  });
  $("#schema").addEventListener("keydown", (e) => {
    if (e.key === "Enter" && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      $("#apply-schema").click();
    }
  });
  $("#schema-file").addEventListener("change", async (e) => {
    const file = e.target.files[0];
    if (!file) return;
    $("#schema").value = await file.text();
    $("#preset").value = "custom";
    $("#apply-schema").click();
  });
  $("#rule-form").addEventListener("submit", addRule);
  $("#manual-rules").addEventListener("click", (e) => {
    const index = e.target.dataset?.remove;
    if (index !== undefined) removeRule(Number(index));
  });
  $("#rule-filter").addEventListener("input", () => engine && renderRules());
  for (const tab of document.querySelectorAll('[role="tab"]')) {
    tab.addEventListener("click", () => {
      setMode(tab.dataset.mode);
      if (mode === "mutation" && !$("#mutation").value.trim()) $("#mutation").value = DEFAULT_MUTATION;
      runCascade();
    });
  }
  $("#run").addEventListener("click", runCascade);
  for (const form of ["#change-form", "#mutation-form"]) {
    $(form).addEventListener("keydown", (e) => {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey || e.target.tagName === "INPUT")) {
        e.preventDefault();
        runCascade();
      }
    });
  }
  for (const button of document.querySelectorAll("[data-export]")) {
    button.addEventListener("click", () => showExport(button.dataset.export));
  }
  $("#download").addEventListener("click", () => {
    const url = URL.createObjectURL(new Blob([lastExport.text], { type: "text/plain" }));
    const a = Object.assign(document.createElement("a"), { href: url, download: lastExport.name });
    a.click();
    URL.revokeObjectURL(url);
  });
  $("#copy-export").addEventListener("click", () => navigator.clipboard?.writeText(lastExport.text));
  $("#share").addEventListener("click", async () => {
    clearTimeout(saveTimer);
    history.replaceState(null, "", `#${await encodeState(await currentState())}`);
    await navigator.clipboard?.writeText(location.href).catch(() => {});
    setStatus("share link copied (it is also the address bar)");
  });
}

async function main() {
  const t0 = performance.now();
  wire();
  const state = await loadState();
  const preset = PRESETS.includes(state.preset) ? state.preset : "custom";
  // The wasm and the schema load in parallel.
  const [, sdl] = await Promise.all([init(), state.sdl ?? presetFetch(preset === "custom" ? "blog" : preset)]);
  $("#version").textContent = `cascade-edge ${version()}`;
  $("#preset").value = state.sdl === undefined ? preset : "custom";
  $("#schema").value = sdl;
  manualRules = (state.rules ?? []).map((rule) => ({ rule }));
  setMode(state.mode === "mutation" ? "mutation" : "change");
  if (state.mutation !== undefined) $("#mutation").value = state.mutation;
  if (state.change) {
    $("#change-entity").value = state.change.entity ?? "";
    $("#change-id").value = state.change.id ?? "";
    $("#change-op").value = state.change.op ?? "update";
    $("#change-data").value = state.change.data ?? "";
    $("#change-before").value = state.change.before ?? "";
  }
  if (applySchema()) runCascade();
  const ms = performance.now();
  document.body.dataset.ready = "true";
  document.body.dataset.loadMs = ms.toFixed(0);
  setStatus(`ready in ${ms.toFixed(0)} ms (init ${(ms - t0).toFixed(0)} ms)`);
  if ("serviceWorker" in navigator && location.protocol.startsWith("http")) {
    navigator.serviceWorker.register("sw.js").catch((error) => console.warn("offline support unavailable:", error));
  }
}

main().catch((error) => {
  setStatus(`failed to start: ${error.message}`);
  console.error(error);
});
