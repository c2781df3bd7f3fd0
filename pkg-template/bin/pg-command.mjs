// `cascade-edge pg install|watch`: PostgreSQL change capture and the watcher (see ../pg.js).
import { planVarnish } from "../purge-varnish.js";
import { redactor, urlPassword } from "../redact.js";
import { ENGINE_FLAG_NAMES, ENGINE_FLAGS, ENGINE_HELP, engineOptions, loadEngine as buildEngine } from "./engine-options.mjs";
import { parseStrict, runCommand, UsageError } from "./run.mjs";

export const PG_HELP = `cascade-edge pg — purge the edge after every write to PostgreSQL query-side tables

Usage:
  cascade-edge pg install --schema <schema.graphql> --tables tv_user,tv_post [--url <postgres://…>] [--print]
                          [engine options]
  cascade-edge pg watch --schema <schema> [--url <postgres://…>] [--purge print|cloudflare|fastly|varnish|http|bus]
                        [--endpoint <url>] [--bus-url <redis://…|postgres://…>] [--tables …] [--dry-run]
                        [engine options]

install   checks that every table maps to an entity of the schema, then runs the change-capture SQL
          (outbox table, trigger function, triggers) against --url, or prints it (--print, or no --url)
watch     LISTENs for changes, drains the outbox in order, purges each batch's cascade set and deletes
          outbox rows only after their purge succeeded; reconnects with backoff. Stop with Ctrl-C.
          Several watchers may share an outbox: each claims its own batches (FOR UPDATE SKIP LOCKED),
          and takes over the rows of one that dies.

Options:
  --schema <file>        GraphQL SDL, or rules .json written by \`cascade-edge compile\`
  --tables <list>        comma-separated tables (watch default: every table with the capture trigger)
  --map <table=entity>   map a table to a keyspace or type explicitly (repeatable)
  --url <url>            connection string (default: $DATABASE_URL)
  --print                install: print the SQL instead of running it
  --channel <name>       NOTIFY channel (default cascade_edge)
  --outbox <name>        outbox table (default cascade_edge_outbox)
  --purge <backend>      print (default): one JSON line per batch on stdout
                         http: POST {keys, patterns, tags, changes, outboxIds} to --endpoint (2xx = purged)
                         cloudflare: $CLOUDFLARE_ZONE_ID, $CLOUDFLARE_API_TOKEN [, $CLOUDFLARE_PLAN]
                         fastly: $FASTLY_SERVICE_ID, $FASTLY_API_TOKEN [, $FASTLY_SOFT_PURGE=1]
                         varnish: PURGE the set's tags (and coarse tags) to --endpoint, Varnish with
                           vmod xkey [, $VARNISH_SOFT_PURGE=1]
                         bus: publish each set on cascade-edge/bus, so every connected process's
                         LruCache drops it (see --bus-url, --bus-channel)
  --endpoint <url>       http: the URL to POST to; varnish: Varnish's address, e.g. http://127.0.0.1:6081/
                         (default: $CASCADE_EDGE_PURGE_URL)
  --bus-url <url>        bus: redis://…, rediss://… (TLS) or postgres://… (default: $CASCADE_EDGE_BUS_URL,
                         else --url); a Redis password not in the URL comes from $REDIS_PASSWORD
  --bus-channel <name>   bus: the channel the caches joined (default cascade_edge)
  --header <name: value> http: a header sent with every purge request (repeatable)
  --batch-size <n>       outbox rows per batch (default 500)
  --batch-window <ms>    wait after a notification so a burst becomes one batch (default 50)
  --dry-run              print each batch's purge plan; purge nothing, delete no outbox row
  -v, --verbose          log what the engine does to stderr

${ENGINE_HELP}
Credentials (never printed: every log and error line masks them):
  $PGPASSWORD, or the password in --url / $DATABASE_URL; ?sslmode=require|verify-full in the URL
  $CASCADE_EDGE_PURGE_SECRET   http: sign each body (HMAC-SHA256, headers x-cascade-edge-timestamp and
                               x-cascade-edge-signature), for verifyPurgeRequest; the recommended mode
  $CASCADE_EDGE_PURGE_TOKEN    http: send Authorization: Bearer <token>
`;

const OPTIONS = {
  ...ENGINE_FLAGS,
  schema: { type: "string" },
  tables: { type: "string" },
  map: { type: "string", multiple: true },
  url: { type: "string" },
  print: { type: "boolean" },
  channel: { type: "string" },
  outbox: { type: "string" },
  purge: { type: "string" },
  endpoint: { type: "string" },
  "bus-url": { type: "string" },
  "bus-channel": { type: "string" },
  header: { type: "string", multiple: true },
  "batch-size": { type: "string" },
  "batch-window": { type: "string" },
  "dry-run": { type: "boolean" },
  verbose: { type: "boolean", short: "v" },
  help: { type: "boolean", short: "h" },
};
const ALLOWED = {
  install: ["schema", "tables", "map", "url", "print", "channel", "outbox", "verbose", ...ENGINE_FLAG_NAMES],
  watch: ["schema", "tables", "map", "url", "channel", "outbox", "purge", "endpoint", "header", "bus-url", "bus-channel", "batch-size", "batch-window", "dry-run", "verbose", ...ENGINE_FLAG_NAMES],
};
const BACKENDS = ["print", "cloudflare", "fastly", "varnish", "http", "bus"];

function parse(argv) {
  const { values, positionals } = parseStrict(argv, OPTIONS);
  if (values.help) return { help: true };
  const [sub, ...extra] = positionals;
  if (!sub) throw new UsageError("'pg' needs a subcommand: install or watch");
  if (!ALLOWED[sub]) throw new UsageError(`unknown pg subcommand '${sub}' (expected install or watch)`);
  if (extra.length) throw new UsageError(`unexpected argument '${extra[0]}'`);
  for (const name of Object.keys(values)) {
    if (!ALLOWED[sub].includes(name)) throw new UsageError(`'pg ${sub}' does not take --${name}`);
  }
  if (!values.schema) throw new UsageError(`'pg ${sub}' needs --schema`);
  if (sub === "install" && !values.tables) throw new UsageError("'pg install' needs --tables (e.g. tv_user,tv_post)");
  if (values.purge !== undefined && !BACKENDS.includes(values.purge)) {
    throw new UsageError(`unknown purge backend '${values.purge}' (expected one of: ${BACKENDS.join(", ")})`);
  }
  const overrides = {};
  for (const entry of values.map ?? []) {
    const m = /^([^=]+)=(.+)$/.exec(entry);
    if (!m) throw new UsageError(`--map takes table=entity, not '${entry}'`);
    overrides[m[1].trim()] = m[2].trim();
  }
  const headers = {};
  for (const entry of values.header ?? []) {
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*)$/.exec(entry);
    // The value is not echoed: it is usually a credential.
    if (!m) throw new UsageError("--header takes 'Name: value' (a header name, a colon, then the value)");
    headers[m[1].toLowerCase()] = m[2];
  }
  if (values.header && (values.purge ?? "print") !== "http") throw new UsageError("--header goes with --purge http");
  const number = (name, min) => {
    if (values[name] === undefined) return undefined;
    const n = Number(values[name]);
    if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min}`);
    return n;
  };
  return {
    sub,
    values,
    overrides,
    headers,
    tables: values.tables?.split(",").map((t) => t.trim()).filter(Boolean),
    batchSize: number("batch-size", 1),
    batchWindowMs: number("batch-window", 0),
    engine: engineOptions(values),
  };
}

function loadEngine(api, opts, io) {
  const verbose = opts.values.verbose || opts.engine.verbose;
  return buildEngine(api, opts.values.schema, opts.engine, verbose ? { logger: (line) => io.stderr.write(`${line}\n`) } : {});
}

function env(names, backend) {
  const missing = names.filter((n) => !process.env[n]);
  if (missing.length) throw new UsageError(`--purge ${backend} needs the environment variable(s) ${missing.join(", ")}`);
  return names.map((n) => process.env[n]);
}

/** The purge function and the dry-run plan for a backend. */
function backend(api, pg, name, { endpoint, dryRun, delimiter, headers }, io) {
  // CDN backends purge by tag: responses whose tags were coarsened carry `ks:*` or `*`, so every
  // CDN purge sends those too (withCoarseTags), or a coarsened response would outlive the change.
  const tagged = (set) => api.withCoarseTags(set, { delimiter });
  switch (name) {
    case "print":
      return {
        purge: async (set, info) => {
          io.stdout.write(`${JSON.stringify({ outboxIds: info.ids, keys: set.keys, patterns: set.patterns, tags: set.tags })}\n`);
          return { purged: [...set.keys, ...set.patterns], failed: [] };
        },
      };
    case "http": {
      const url = endpoint ?? process.env.CASCADE_EDGE_PURGE_URL;
      if (!url) throw new UsageError("--purge http needs --endpoint <url> (or $CASCADE_EDGE_PURGE_URL)");
      const token = process.env.CASCADE_EDGE_PURGE_TOKEN;
      const secret = process.env.CASCADE_EDGE_PURGE_SECRET || undefined;
      const all = token ? { ...headers, authorization: `Bearer ${token}` } : headers;
      const how = [secret && "signed (CASCADE_EDGE_PURGE_SECRET)", token && "bearer token (CASCADE_EDGE_PURGE_TOKEN)", Object.keys(headers).length && `headers ${Object.keys(headers).join(", ")}`];
      io.stderr.write(`purge requests: ${how.filter(Boolean).join(", ") || "unauthenticated (set CASCADE_EDGE_PURGE_SECRET to sign them)"}\n`);
      return { purge: pg.httpPurge(url, { headers: all, secret }) };
    }
    case "cloudflare": {
      const plan = (set) => api.planPurge(tagged(set), "cloudflare");
      if (dryRun) return { plan };
      const [zoneId, token] = env(["CLOUDFLARE_ZONE_ID", "CLOUDFLARE_API_TOKEN"], name);
      const config = { zoneId, token, plan: process.env.CLOUDFLARE_PLAN || undefined };
      return { plan, purge: (set) => api.purgeCloudflare(config, tagged(set)) };
    }
    case "fastly": {
      const plan = (set) => api.planPurge(tagged(set), "fastly");
      if (dryRun) return { plan };
      const [serviceId, token] = env(["FASTLY_SERVICE_ID", "FASTLY_API_TOKEN"], name);
      const config = { serviceId, token, soft: process.env.FASTLY_SOFT_PURGE === "1" };
      return { plan, purge: (set) => api.purgeFastly(config, tagged(set)) };
    }
    case "varnish": {
      const url = endpoint ?? process.env.CASCADE_EDGE_PURGE_URL;
      if (!url) throw new UsageError("--purge varnish needs --endpoint <url of Varnish> (or $CASCADE_EDGE_PURGE_URL)");
      if (!/^https?:\/\/[^/]/.test(url)) throw new UsageError("--endpoint must be an http(s) URL");
      const config = { url, soft: process.env.VARNISH_SOFT_PURGE === "1" };
      return { plan: (set) => planVarnish(tagged(set), config), purge: (set) => api.purgeVarnish(config, tagged(set)) };
    }
    default:
      throw new UsageError(`unknown purge backend '${name}'`);
  }
}

async function install(api, pg, opts, io) {
  const engine = loadEngine(api, opts, io);
  // Every table must map before anything is installed.
  const mapped = opts.tables.map((t) => pg.tableToEntity(t, engine, opts.overrides));
  const sql = pg.installSql({ tables: opts.tables, channel: opts.values.channel, outbox: opts.values.outbox });
  const url = opts.values.url ?? (opts.values.print ? undefined : process.env.DATABASE_URL);
  if (opts.values.print || !url) {
    io.stdout.write(sql);
    if (!opts.values.print) io.stderr.write("no --url (or $DATABASE_URL): printed the SQL instead of running it\n");
    return 0;
  }
  const { Client } = await pg.loadPg();
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
  io.stderr.write(`installed change capture on ${mapped.map((m) => `${m.table} (${m.keyspace})`).join(", ")}\n`);
  return 0;
}

async function watch(api, pg, opts, io) {
  const engine = loadEngine(api, opts, io);
  const url = opts.values.url ?? process.env.DATABASE_URL;
  if (!url) throw new UsageError("'pg watch' needs --url <postgres://…> (or $DATABASE_URL)");
  const dryRun = Boolean(opts.values["dry-run"]);
  let bus = null;
  let { purge, plan } =
    opts.values.purge === "bus" ? {} : backend(api, pg, opts.values.purge ?? "print", { endpoint: opts.values.endpoint, dryRun, delimiter: engine.schema.delimiter, headers: opts.headers }, io);
  if (opts.values.purge === "bus" && !dryRun) {
    // Publish-only (no cache of its own): the members' caches drop what each batch invalidates.
    const { connectBus, busPurge } = await import("../bus.js");
    bus = await connectBus({
      url: opts.values["bus-url"] ?? process.env.CASCADE_EDGE_BUS_URL ?? url,
      channel: opts.values["bus-channel"],
      logger: (line) => io.stderr.write(`${line}\n`),
    });
    purge = busPurge(bus);
  }
  const watcher = pg.createWatcher({
    url,
    engine,
    purge,
    plan,
    dryRun,
    tables: opts.tables,
    overrides: opts.overrides,
    channel: opts.values.channel,
    outbox: opts.values.outbox,
    batchSize: opts.batchSize,
    batchWindowMs: opts.batchWindowMs,
    logger: (line) => io.stderr.write(`${line}\n`),
  });
  let stopped;
  const done = new Promise((resolve) => {
    stopped = resolve;
  });
  const stop = () =>
    watcher
      .stop()
      .then(() => bus?.close())
      .then(stopped, stopped);
  process.once("SIGINT", stop);
  process.once("SIGTERM", stop);
  await watcher.start();
  await done; // runs until a signal stops it
  return 0;
}

/** Every credential this run may hold, from the command line and the environment. */
function credentials(argv) {
  const env = process.env;
  const found = [env.PGPASSWORD, urlPassword(env.DATABASE_URL), env.CASCADE_EDGE_PURGE_TOKEN, env.CASCADE_EDGE_PURGE_SECRET];
  found.push(env.CLOUDFLARE_API_TOKEN, env.FASTLY_API_TOKEN, urlPassword(env.CASCADE_EDGE_PURGE_URL), urlPassword(env.CASCADE_EDGE_BUS_URL), env.REDIS_PASSWORD);
  argv.forEach((arg, i) => {
    const [flag, inline] = arg.startsWith("--") && arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, argv[i + 1]];
    if (flag === "--url" || flag === "--endpoint" || flag === "--bus-url") found.push(urlPassword(inline));
    if (flag === "--header") found.push(/^[^:]*:[ \t]*(.*)$/.exec(inline ?? "")?.[1]);
  });
  return found;
}

/** Runs `cascade-edge pg …`; resolves the exit code. */
export function runPg(argv, io) {
  const redact = redactor(credentials(argv));
  const masked = (stream) => ({ write: (text) => stream.write(redact(text)) });
  io = { ...io, stdout: masked(io.stdout), stderr: masked(io.stderr) };
  return runCommand({
    name: "cascade-edge pg",
    argv,
    io,
    parse,
    help: PG_HELP,
    body: async (opts) => {
      const api = await import("../node.js");
      const pg = await import("../pg.js");
      return opts.sub === "install" ? install(api, pg, opts, io) : watch(api, pg, opts, io);
    },
  });
}
