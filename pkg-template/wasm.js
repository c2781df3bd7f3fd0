// The boundary with wasm-bindgen's glue: calls into wasm and the errors that come out of them,
// views of wasm memory, and text written into it or read out of it. Nothing here calls into wasm
// at module top level, since entries initialise the module after importing the API.
import { takePanic, textBuffer, version as wasmVersion, wasmMemory } from "./cascade_edge.js";
import { codedError } from "./errors.js";

/** The version of the cascade-edge build. */
export function version() {
  return call(wasmVersion);
}

// Errors thrown by wasm already carry `code`; a trap is a bug in cascade-edge and becomes INTERNAL
// with the panic's message; anything else (a JS TypeError from a cyclic object, say) becomes
// INVALID_ARGUMENT so callers can rely on `code` always being present.
export function call(fn) {
  try {
    return fn();
  } catch (error) {
    throw coded(error);
  }
}

/**
 * The error to throw for one that came out of wasm: coded errors as they are, traps as INTERNAL,
 * and any error while the wasm is not loaded as NOT_INITIALIZED.
 */
export function coded(error) {
  if (error instanceof Error && typeof error.code === "string") return error;
  if (!loaded()) {
    return codedError(
      "NOT_INITIALIZED",
      "cascade-edge's wasm is not loaded: with the browser entry, `await init()` before using the API; " +
        "cascade-edge/yoga needs `cascade-edge` imported first, cascade-edge/edge/yoga `cascade-edge/edge`",
    );
  }
  if (error instanceof WebAssembly.RuntimeError) {
    const detail = takePanic() ?? error.message;
    return codedError("INTERNAL", `${detail}. The object that was in use may be unusable: create a new one.`);
  }
  return codedError("INVALID_ARGUMENT", error instanceof Error ? error.message : String(error));
}

/** Whether an entry has loaded the wasm (only asked on the way to an error). */
function loaded() {
  try {
    wasmMemory();
    return true;
  } catch {
    return false;
  }
}

// The wasm memory (fetched on first use: instantiation may come after this module loads) and
// views of it, shared by every engine and cache.
let memory;
let u32View = new Uint32Array(0);
let u8View = new Uint8Array(0);

/**
 * A view of all wasm memory as u32, rebuilt when the memory grew: the old buffer is then detached
 * and its views have length 0, which is cheaper to test than reading `memory.buffer` on every
 * call. Only a call into wasm can grow the memory: fetch the view again after one.
 */
export function u32Memory() {
  if (u32View.length === 0) refresh();
  return u32View;
}

/** A byte view of all wasm memory, rebuilt as `u32Memory`'s. */
export function u8Memory() {
  if (u8View.length === 0) refresh();
  return u8View;
}

function refresh() {
  const buffer = (memory ??= wasmMemory()).buffer;
  u32View = new Uint32Array(buffer);
  u8View = new Uint8Array(buffer);
}

// As wasm-bindgen's: a leading U+FEFF is part of the text.
const decoder = new TextDecoder("utf-8", { ignoreBOM: true });
export const encoder = new TextEncoder();

/** The UTF-8 text of `length` bytes at `at` in wasm memory. */
export function readText(at, length) {
  return decoder.decode(u8Memory().subarray(at, at + length));
}

/**
 * Encodes `text` as UTF-8 straight into wasm memory (`textBuffer`) and returns its length in
 * bytes: one `encodeInto`, where wasm-bindgen would copy a string with a JS loop over its chars up
 * to the first non-ASCII one and `TextEncoder.encode` would make a copy to copy again (1.2 MB for
 * GitHub's schema). ASCII fits in `text.length` bytes; the rest takes at most 3 per UTF-16 unit.
 */
export function writeText(text) {
  let at = textBuffer(text.length);
  let { read, written } = encoder.encodeInto(text, u8Memory().subarray(at, at + text.length));
  if (read < text.length) {
    const room = (text.length - read) * 3;
    at = textBuffer(written + room);
    written += encoder.encodeInto(text.slice(read), u8Memory().subarray(at + written, at + written + room)).written;
  }
  return written;
}
