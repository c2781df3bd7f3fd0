// The engine's options on the command line, shared by every command that builds an engine (`rules`,
// `cascade`, `graph`, `compile`, `pg install`, `pg watch`): `--options` holds the whole object
// `CascadeEngine.fromSchema(sdl, options)` takes, and the convenience flags set one part of it each.
// The engine checks what the values mean (known types and fields, ranges); this checks their form.
import { readFileSync } from "node:fs";
import { UsageError } from "./run.mjs";

/** The flags, for `parseArgs`. */
export const ENGINE_FLAGS = {
  options: { type: "string" },
  keyspaces: { type: "string", multiple: true },
  "key-fields": { type: "string", multiple: true },
  inverses: { type: "string", multiple: true },
  "max-depth": { type: "string" },
  "max-keys": { type: "string" },
};
export const ENGINE_FLAG_NAMES = Object.keys(ENGINE_FLAGS);

export const ENGINE_HELP = `Engine options (with a schema in SDL; a flag overrides the same entry of --options):
  --options <file|json>     the options object of CascadeEngine.fromSchema(sdl, options) as JSON: a
                            file, or inline JSON, e.g. '{"keyFields":{"Item":["orgId","number"]}}'
  --keyspaces <Type=ks>     the keyspace of a type, e.g. BlogPost=post (repeatable)
  --key-fields <Type=f,g>   the key fields of a type; several make a composite key; makes a type
                            without an id an entity (repeatable)
  --inverses <H.f=T.g|none> the to-one field T.g that is the inverse of the to-many field H.f, or none
                            for no inverse, e.g. User.likedPosts=none (repeatable)
  --max-depth <n>           how many levels a cascade goes (default 3, at most 64)
  --max-keys <n>            how many keys and patterns a cascade set holds before it is truncated
                            (default 10000)
`;

// Each flag's property of the options object, for naming the flag in the engine's complaints.
const PROPERTY = {
  keyspaces: "keyspaces",
  "key-fields": "keyFields",
  inverses: "inverses",
  "max-depth": "maxDepth",
  "max-keys": "maxKeys",
};
// How the engine's messages name each property.
const SPELLINGS = {
  keyspaces: ["keyspaces", "keyspace `"],
  keyFields: ["keyFields", "key_fields", "key fields"],
  inverses: ["inverses"],
  maxDepth: ["maxDepth"],
  maxKeys: ["maxKeys"],
};
const NAME = /^[_A-Za-z][_0-9A-Za-z]*$/;
const FIELD_PATH = /^[_A-Za-z][_0-9A-Za-z]*\.[_A-Za-z][_0-9A-Za-z]*$/;

const invalid = (message) => new UsageError(message, "INVALID_OPTIONS");

/** Splits `left=right` at the first `=`, both sides trimmed and non-empty. */
function pair(flag, entry, form) {
  const at = entry.indexOf("=");
  const [left, right] = at < 0 ? [entry, ""] : [entry.slice(0, at).trim(), entry.slice(at + 1).trim()];
  if (at < 0 || !left || !right) throw invalid(`--${flag} takes ${form}, not '${entry}'`);
  return [left, right];
}

function typeName(flag, name, form) {
  if (!NAME.test(name)) throw invalid(`--${flag} takes ${form}: '${name}' is not a GraphQL type name`);
  return name;
}

function whole(flag, text) {
  if (!/^\d+$/.test(text)) throw invalid(`--${flag} takes a whole number, not '${text}'`);
  return Number(text);
}

/** The object of `--options`: inline JSON when it starts with `{`, else a file holding it. */
function optionsArgument(value) {
  const inline = /^\s*[{[]/.test(value);
  let text = value;
  if (!inline) {
    try {
      text = readFileSync(value, "utf8");
    } catch (error) {
      throw invalid(`--options: cannot read '${value}': ${error.message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "")}`);
    }
  }
  const what = inline ? "--options" : `--options '${value}'`;
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw invalid(`${what} is not valid JSON: ${error.message}`);
  }
  if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) {
    throw invalid(`${what} must hold a JSON object, e.g. {"keyspaces":{"BlogPost":"post"},"maxDepth":2}`);
  }
  return parsed;
}

/**
 * The engine options of parsed flags: `{ options, given, from, verbose }`. `options` is --options
 * with every flag's entries over it, `given` whether anything was set, `from` names the flag or
 * file that set each property (for the engine's complaints), `verbose` the file's `verbose`.
 */
export function engineOptions(values) {
  const options = values.options === undefined ? {} : optionsArgument(values.options);
  if ("logger" in options) throw invalid("--options cannot hold `logger`, a function: --verbose logs to stderr");
  // `verbose` in the file is --verbose: the log goes to stderr, never into the output.
  let verbose = false;
  if (typeof options.verbose === "boolean") {
    verbose = options.verbose;
    delete options.verbose;
  }
  const from = {};
  for (const name of Object.keys(options)) from[name] = "--options";
  const merge = (flag, entries) => {
    const property = PROPERTY[flag];
    const base = options[property];
    // A file's malformed value is left to the engine to name; a flag's entries replace it then.
    const into = base !== null && typeof base === "object" && !Array.isArray(base) ? { ...base } : {};
    Object.assign(into, entries);
    options[property] = into;
    from[property] = `--${flag}`;
  };
  if (values.keyspaces) {
    const form = "Type=keyspace, e.g. BlogPost=post";
    merge("keyspaces", Object.fromEntries(values.keyspaces.map((entry) => {
      const [type, keyspace] = pair("keyspaces", entry, form);
      return [typeName("keyspaces", type, form), keyspace];
    })));
  }
  if (values["key-fields"]) {
    const form = "Type=field or Type=field1,field2 (a composite key)";
    merge("key-fields", Object.fromEntries(values["key-fields"].map((entry) => {
      const [type, list] = pair("key-fields", entry, form);
      const fields = list.split(/[\s,]+/).filter(Boolean);
      const bad = fields.find((f) => !NAME.test(f));
      if (bad !== undefined || !fields.length) throw invalid(`--key-fields takes ${form}: '${bad ?? list}' is not a field name`);
      return [typeName("key-fields", type, form), fields];
    })));
  }
  if (values.inverses) {
    const form = "Holder.field=Target.field or Holder.field=none, e.g. User.likedPosts=none";
    merge("inverses", Object.fromEntries(values.inverses.map((entry) => {
      const [field, inverse] = pair("inverses", entry, form);
      for (const path of inverse === "none" ? [field] : [field, inverse]) {
        if (!FIELD_PATH.test(path)) throw invalid(`--inverses takes ${form}: '${path}' is not Type.field`);
      }
      return [field, inverse === "none" ? null : inverse];
    })));
  }
  for (const flag of ["max-depth", "max-keys"]) {
    if (values[flag] === undefined) continue;
    options[PROPERTY[flag]] = whole(flag, values[flag]);
    from[PROPERTY[flag]] = `--${flag}`;
  }
  return { options, given: Object.keys(options).length > 0, from, verbose };
}

/**
 * The engine's complaint about options that came from the command line, as a usage error naming
 * the flag or file they came from; other errors are returned unchanged.
 */
export function optionsError(error, from) {
  if (error?.code !== "INVALID_OPTIONS") return error;
  const sources = [];
  // "unknown option `x`; options are keyspaces, keyFields…" is about `x` alone.
  const about = error.message.replace(/; options are .*$/s, "");
  for (const [property, spellings] of Object.entries(SPELLINGS)) {
    if (from[property] && spellings.some((s) => about.includes(s)) && !sources.includes(from[property])) {
      sources.push(from[property]);
    }
  }
  // A complaint about a property no flag sets (`delimiter`…) is about the file.
  if (!sources.length) sources.push(...new Set(Object.values(from)));
  const where = sources.length ? ` (given by ${sources.join(", ")})` : "";
  return new UsageError(`${error.message}${where}`, "INVALID_OPTIONS");
}

/**
 * A keyspace collision names the engine's `keyspaces` option; on the command line that is the
 * `--keyspaces` flag.
 */
export function collisionError(error) {
  if (error?.code !== "KEYSPACE_COLLISION") return error;
  const second = /types `[^`]*` and `([^`]*)` both map to keyspace `([^`]*)`/.exec(error.message);
  const flag = `--keyspaces ${second ? second[1] : "Type"}=<keyspace>`;
  const option = /the `keyspaces` option\s*$/;
  const message = option.test(error.message)
    ? error.message.replace(option, `${flag} (or \`keyspaces\` in --options)`)
    : `${error.message} (on the command line: ${flag})`;
  return Object.assign(new Error(message), { code: error.code });
}

/**
 * Builds the engine of a schema file: SDL with `engine` (the result of `engineOptions`) and `extra`
 * (logging) as its options, or precompiled rules (`.json`), whose options `compile` fixed.
 */
export function loadEngine(api, path, engine, extra = {}) {
  let text;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const reason = error.message.replace(/^[A-Z]+: /, "").replace(/, \w+ '.*'$/, "");
    throw Object.assign(new Error(`cannot read '${path}': ${reason}`), { code: error.code });
  }
  if (path.endsWith(".json")) {
    if (engine.given) {
      const flags = [...new Set(Object.values(engine.from))].join(", ");
      throw new UsageError(`'${path}' holds precompiled rules, whose options were fixed when they were compiled: ` +
        `give ${flags} to \`cascade-edge compile\` with the SDL schema instead`);
    }
    let json;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw Object.assign(new Error(`'${path}' is not valid JSON: ${error.message}`), { code: "INVALID_JSON" });
    }
    return api.CascadeEngine.fromJSON(json, extra);
  }
  try {
    return api.CascadeEngine.fromSchema(text, { ...engine.options, ...extra });
  } catch (error) {
    throw collisionError(optionsError(error, engine.from));
  }
}
