#!/usr/bin/env node
// cascade-edge CLI: derive cache-invalidation rules from a GraphQL schema and explore cascades.
// Exit codes: 0 success, 1 runtime error (`error[CODE]: message`), 2 usage error.
import { writeFileSync } from "node:fs";
import { ENGINE_FLAG_NAMES, ENGINE_FLAGS, ENGINE_HELP, engineOptions, loadEngine as buildEngine } from "./engine-options.mjs";
import { parseStrict, runCommand, UsageError } from "./run.mjs";

const HELP = `cascade-edge — cache-invalidation cascades derived from a GraphQL schema

Usage:
  cascade-edge rules <schema.graphql> [--json] [engine options]
  cascade-edge cascade <schema> --entity <name> --id <id> [--op create|update|delete]
                       [--data <json>] [--before <json>] [--json] [engine options]
  cascade-edge graph <schema> [--format tree|dot|mermaid|json] [engine options]
  cascade-edge compile <schema.graphql> [-o rules.json] [engine options]
  cascade-edge pg install|watch …   (PostgreSQL change capture; see cascade-edge pg --help)
  cascade-edge --help | --version

Commands:
  rules     print the relationships detected in the schema and the rules derived from them
  cascade   print the cascade set (keys, patterns, tags) of one change, with its trace
  graph     print the rule graph (default format: tree)
  compile   write precompiled rules as JSON (stdout without -o), for CascadeEngine.fromJSON

<schema> is a GraphQL SDL file, or a rules .json file written by \`compile\` (which keeps the engine
options it was compiled with).

Options:
  --entity <name>    the changed entity: keyspace (user) or type name (User)
  --id <id>          the changed entity's id
  --op <op>          create, update or delete (default: update)
  --data <json>      the changed entity's data, e.g. '{"author_id":"123"}'
  --before <json>    its data before the change (enables field-aware rules)
  --format <fmt>     graph format: tree, dot, mermaid or json
  -o, --output <f>   compile: the file to write
  --json             print machine-readable JSON
  -v, --verbose      log what the engine does to stderr
  -h, --help         show this help
  --version          show the cascade-edge version

${ENGINE_HELP}
Exit codes: 0 success, 1 error in the schema, data or engine, 2 invalid command line.
`;

const COMMANDS = {
  rules: { options: ["json", ...ENGINE_FLAG_NAMES], run: rules },
  cascade: { options: ["entity", "id", "op", "data", "before", "json", ...ENGINE_FLAG_NAMES], required: ["entity", "id"], run: cascade },
  graph: { options: ["format", ...ENGINE_FLAG_NAMES], run: graph },
  compile: { options: ["output", ...ENGINE_FLAG_NAMES], run: compile },
};
const GRAPH_FORMATS = ["tree", "dot", "mermaid", "json"];
const OPS = ["create", "update", "delete"];

const OPTIONS = {
  ...ENGINE_FLAGS,
  entity: { type: "string" },
  id: { type: "string" },
  op: { type: "string" },
  data: { type: "string" },
  before: { type: "string" },
  format: { type: "string" },
  output: { type: "string", short: "o" },
  json: { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
  version: { type: "boolean" },
};

/** Parses argv into `{ command, schemaPath, options }`, or `{ help }` / `{ version }`. */
function parse(argv) {
  const { values, positionals } = parseStrict(argv, OPTIONS);
  if (values.help) return { help: true };
  if (values.version) return { version: true };
  const [command, schemaPath, ...extra] = positionals;
  if (!command) throw new UsageError("no command given");
  const spec = COMMANDS[command];
  if (!spec) throw new UsageError(`unknown command '${command}' (expected one of: ${Object.keys(COMMANDS).join(", ")})`);
  if (!schemaPath) throw new UsageError(`'${command}' needs a schema file`);
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  for (const name of Object.keys(values)) {
    if (!spec.options.includes(name) && name !== "verbose") {
      throw new UsageError(`'${command}' does not take --${name}`);
    }
  }
  for (const name of spec.required ?? []) {
    if (values[name] === undefined) throw new UsageError(`'${command}' needs --${name}`);
  }
  if (values.format !== undefined && !GRAPH_FORMATS.includes(values.format)) {
    throw new UsageError(`unknown format '${values.format}' (expected one of: ${GRAPH_FORMATS.join(", ")})`);
  }
  if (values.op !== undefined && !OPS.includes(values.op)) {
    throw new UsageError(`unknown op '${values.op}' (expected one of: ${OPS.join(", ")})`);
  }
  for (const name of ["data", "before"]) {
    if (values[name] === undefined) continue;
    try {
      values[name] = JSON.parse(values[name]);
    } catch (error) {
      throw new UsageError(`--${name} is not valid JSON: ${error.message}`);
    }
    if (values[name] === null || typeof values[name] !== "object" || Array.isArray(values[name])) {
      throw new UsageError(`--${name} must be a JSON object`);
    }
  }
  return { command, schemaPath, options: values, engine: engineOptions(values) };
}

/** Builds the engine from SDL and the engine options, or from precompiled rules when the file is JSON. */
function loadEngine(api, { schemaPath, options, engine }, io) {
  // A logger alone turns the engine's logging on, so it is only passed with --verbose.
  const verbose = options.verbose || engine.verbose;
  return buildEngine(api, schemaPath, engine, verbose ? { verbose: true, logger: (line) => io.stderr.write(`${line}\n`) } : {});
}

function rules(api, invocation, io) {
  const { schemaPath, options, engine } = invocation;
  if (options.json) {
    const built = loadEngine(api, invocation, io);
    io.stdout.write(`${JSON.stringify({ relationships: built.relationships(), rules: built.rules() }, null, 2)}\n`);
    return;
  }
  // The verbose setup log is the human-readable listing (`CASCADE: Detected relationship: …`),
  // which only the analysis of SDL writes.
  if (schemaPath.endsWith(".json")) {
    throw new UsageError(`'${schemaPath}' holds precompiled rules: list them with 'cascade-edge rules ${schemaPath} --json'`);
  }
  buildEngine(api, schemaPath, engine, { verbose: true, logger: (line) => io.stdout.write(`${line}\n`) });
}

function cascade(api, invocation, io) {
  const { options } = invocation;
  const engine = loadEngine(api, invocation, io);
  const change = { entity: options.entity, id: options.id, op: options.op ?? "update" };
  if (options.data) change.data = options.data;
  if (options.before) change.before = options.before;
  const set = engine.cascade(change);
  if (options.json) {
    io.stdout.write(`${JSON.stringify(set, null, 2)}\n`);
    return;
  }
  const lines = [`cascade set: ${set.keys.length} keys, ${set.patterns.length} patterns, depth ${set.depth}` +
    (set.truncated ? " (truncated by a depth or fan-out budget)" : "")];
  const traceOf = new Map(set.trace.map((step) => [step.key, step]));
  const describe = (key) => {
    const step = traceOf.get(key);
    if (!step || step.from == null) return `  ${key}`;
    return `  ${key}  ← ${step.from} via ${step.rule} (depth ${step.depth})${step.coarse ? " [coarse]" : ""}`;
  };
  if (set.keys.length) lines.push("keys:", ...set.keys.map(describe));
  if (set.patterns.length) lines.push("patterns:", ...set.patterns.map(describe));
  if (set.tags.length) lines.push(`tags: ${set.tags.join(", ")}`);
  io.stdout.write(`${lines.join("\n")}\n`);
}

function graph(api, invocation, io) {
  const { options } = invocation;
  const engine = loadEngine(api, invocation, io);
  const rendered = engine.graph({ format: options.format ?? "tree" });
  io.stdout.write(typeof rendered === "string" ? rendered.replace(/\n?$/, "\n") : `${JSON.stringify(rendered, null, 2)}\n`);
}

function compile(api, invocation, io) {
  const { options } = invocation;
  const engine = loadEngine(api, invocation, io);
  const json = `${JSON.stringify(engine.toJSON(), null, 2)}\n`;
  if (options.output === undefined || options.output === "-") {
    io.stdout.write(json);
  } else {
    writeFileSync(options.output, json);
    io.stderr.write(`wrote ${engine.rules().length} rules to ${options.output}\n`);
  }
}

/** Runs the CLI; returns the exit code. `io` holds stdout and stderr streams. */
async function main(argv, io = { stdout: process.stdout, stderr: process.stderr }) {
  if (argv[0] === "pg") return (await import("./pg-command.mjs")).runPg(argv.slice(1), io);
  return runCommand({
    name: "cascade-edge",
    argv,
    io,
    parse,
    help: HELP,
    body: async (invocation) => {
      // Loaded only when needed, so --help and usage errors never compile the wasm module.
      const api = await import("../node.js");
      if (invocation.version) {
        io.stdout.write(`cascade-edge ${api.version()}\n`);
        return 0;
      }
      if (typeof api.CascadeEngine !== "function") {
        throw Object.assign(new Error("this build of cascade-edge has no CascadeEngine"), { code: "UNSUPPORTED" });
      }
      COMMANDS[invocation.command].run(api, invocation, io);
      return 0;
    },
  });
}

process.exitCode = await main(process.argv.slice(2));
