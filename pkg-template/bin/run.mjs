import { parseArgs } from "node:util";

// What every cascade-edge command shares: usage errors exit 2 with a pointer to --help, --help
// prints the usage, runtime errors exit 1 as `error[CODE]: message`.

/** A mistake in the command line: exit code 2. A `code` (INVALID_OPTIONS…) is printed with it. */
export class UsageError extends Error {
  constructor(message, code) {
    super(message);
    if (code !== undefined) this.code = code;
  }
}

/** `parseArgs` in strict mode, its complaints turned into usage errors. */
export function parseStrict(argv, options) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error.message.replace(/\. To specify a positional argument.*$/s, ""));
  }
}

/**
 * Parses `argv` and runs `body(parsed)`; resolves the exit code. `name` is the command as typed
 * (`cascade-edge`, `cascade-edge pg`) for the pointer to its help.
 */
export async function runCommand({ name, argv, io, parse, help, body }) {
  const usage = (error) => {
    io.stderr.write(`${error.code ? `error[${error.code}]` : "error"}: ${error.message}\nRun '${name} --help' for usage.\n`);
    return 2;
  };
  let parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usage(error);
  }
  if (parsed.help) {
    io.stdout.write(help);
    return 0;
  }
  try {
    return (await body(parsed)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) return usage(error);
    io.stderr.write(`${error?.code ? `error[${error.code}]` : "error"}: ${error?.message ?? error}\n`);
    if (process.env.CASCADE_EDGE_DEBUG && error?.stack) io.stderr.write(`${error.stack}\n`);
    return 1;
  }
}
