// Errors of the package: every failure is an Error with a stable `code` (index.d.ts `ErrorCode`),
// and the argument checks that throw them. Nothing here touches wasm, so the modules that never
// load it (pg.js, isolate.js) share these too.

/** An Error with a stable `code`. */
export function codedError(code, message) {
  const error = new Error(message);
  error.code = code;
  return error;
}

/** The error of any call on an object after its `free()`. */
export function useAfterFree(what) {
  return codedError("USE_AFTER_FREE", `this ${what} was freed: free() released its wasm memory; make a new ${what}`);
}

/**
 * What a freed object holds instead of its wasm object: every method throws USE_AFTER_FREE, so
 * no call can reach freed wasm memory.
 */
export function freedInner(what) {
  return new Proxy({}, { get: () => () => { throw useAfterFree(what); } });
}

/** `value` as JSON text, or INVALID_ARGUMENT naming `what`. */
export function toJson(value, what) {
  let text;
  try {
    text = JSON.stringify(value);
  } catch (error) {
    throw codedError("INVALID_ARGUMENT", `${what} cannot be converted to JSON: ${error.message}`);
  }
  if (text === undefined) throw codedError("INVALID_ARGUMENT", `${what} must be a JSON value, not ${typeof value}`);
  return text;
}

export function requireString(value, what) {
  if (typeof value !== "string") {
    throw codedError("INVALID_ARGUMENT", `${what} must be a string, not ${value === null ? "null" : typeof value}`);
  }
  return value;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

// wasm-bindgen turns a lone surrogate into U+FFFD on the way in, so "\uD800", "\uDFFF" and "\uFFFD"
// would all be one cache key. Refuse them instead of aliasing.
export function requireKey(value, what) {
  requireString(value, what);
  if (typeof value.isWellFormed === "function" ? !value.isWellFormed() : LONE_SURROGATE.test(value)) {
    throw codedError("INVALID_KEY", `${what} contains a lone UTF-16 surrogate; keys must be well-formed Unicode`);
  }
  return value;
}

/** Whether a change's entity and id cross into wasm unchanged (no lone surrogate; see `requireKey`). */
export function wellFormed(entity, id) {
  return typeof id.isWellFormed === "function" ? id.isWellFormed() && entity.isWellFormed() : !LONE_SURROGATE.test(id + entity);
}
