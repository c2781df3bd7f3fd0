// What the bus and its transports share (not part of the public API).

export function codedError(code, message, cause) {
  const error = new Error(message, cause ? { cause } : undefined);
  error.code = code;
  return error;
}

/** A URL without its password, for messages. */
export function redact(url) {
  return String(url).replace(/\/\/([^:@/]*):[^@/]*@/, "//$1:***@");
}

/** Imports an optional peer dependency; a MISSING_DEPENDENCY error naming the npm package when absent. */
export async function loadPeer(name, why) {
  try {
    const mod = await import(name);
    return mod.default ?? mod;
  } catch (error) {
    if (error?.code === "ERR_MODULE_NOT_FOUND" || new RegExp(`Cannot find (module|package) '${name}'`).test(error?.message ?? "")) {
      throw codedError("MISSING_DEPENDENCY", `${why} needs \`${name}\`: run \`npm install ${name}\` (an optional peer dependency of cascade-edge)`);
    }
    throw error;
  }
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
