// Lists the biggest functions of a wasm module with a name section (a non-stripped release build):
//   CARGO_PROFILE_RELEASE_STRIP=false cargo build --release --target wasm32-unknown-unknown --lib
//   node bench/wasm-sizes.mjs target/wasm32-unknown-unknown/release/cascade_edge.wasm [top] [--crates]
// A small stand-in for `twiggy top`, so measuring size needs nothing beyond Node.
import { readFileSync } from "node:fs";

const [file, topArg, mode] = process.argv.slice(2);
const buf = readFileSync(file);
let pos = 8;
const leb = () => {
  let result = 0, shift = 0, byte;
  do { byte = buf[pos++]; result += (byte & 0x7f) * 2 ** shift; shift += 7; } while (byte & 0x80);
  return result;
};
let imports = 0;
const bodies = [];
const names = new Map();
const sections = [];
while (pos < buf.length) {
  const id = buf[pos++];
  const size = leb();
  const end = pos + size;
  sections.push([id, size]);
  if (id === 2) {
    const n = leb();
    for (let i = 0; i < n; i++) {
      // Module and field names. Not `pos += leb()`: that reads `pos` before leb() moves it.
      for (let k = 0; k < 2; k++) { const len = leb(); pos += len; }
      const kind = buf[pos++];
      if (kind === 0) { leb(); imports++; }
      else if (kind === 1) { pos++; const f = leb(); leb(); if (f & 1) leb(); }
      else if (kind === 2) { const f = leb(); leb(); if (f & 1) leb(); }
      else if (kind === 3) { pos += 2; }
      else leb();
    }
  } else if (id === 10) {
    const n = leb();
    for (let i = 0; i < n; i++) { const s = leb(); bodies.push(s); pos += s; }
  } else if (id === 0) {
    const nameLen = leb();
    const name = buf.toString("utf8", pos, pos + nameLen);
    pos += nameLen;
    if (name === "name") {
      while (pos < end) {
        const sub = buf[pos++]; const subSize = leb(); const subEnd = pos + subSize;
        if (sub === 1) {
          const n = leb();
          for (let i = 0; i < n; i++) { const idx = leb(); const l = leb(); names.set(idx, buf.toString("utf8", pos, pos + l)); pos += l; }
        }
        pos = subEnd;
      }
    }
  }
  pos = end;
}
// Rust's legacy mangling: `_ZN` then length-prefixed path segments, the hash `h…` last, then `E`.
// Names in any other form (v0 `_R…`, C) are shown as they are.
const demangle = (s) => {
  if (!s.startsWith("_ZN")) return s;
  const parts = [];
  let i = 3;
  while (i < s.length && s[i] !== "E") {
    let j = i;
    while (s[j] >= "0" && s[j] <= "9") j++;
    if (j === i) return s;
    const n = Number(s.slice(i, j));
    parts.push(s.slice(j, j + n));
    i = j + n;
  }
  if (/^h[0-9a-f]{16}$/.test(parts.at(-1) ?? "")) parts.pop();
  const escapes = { SP: "@", BP: "*", RF: "&", LT: "<", GT: ">", LP: "(", RP: ")", C: "," };
  return parts
    .map((p) => p.replace(/^_\$/, "$").replace(/\$([A-Z]{1,2})\$/g, (m, e) => escapes[e] ?? m)
      .replace(/\$u([0-9a-f]{2,6})\$/g, (_, h) => String.fromCodePoint(parseInt(h, 16))).replace(/\.\./g, "::"))
    .join("::");
};
const fns = bodies.map((size, i) => ({ size, name: demangle(names.get(i + imports) ?? `func[${i + imports}]`) }));
const total = buf.length;
const code = bodies.reduce((a, b) => a + b, 0);
console.log(`total ${total} B; code ${code} B in ${bodies.length} functions; data ${sections.filter(([i]) => i === 11).reduce((a, [, s]) => a + s, 0)} B`);
if (mode === "--crates") {
  const by = new Map();
  for (const f of fns) {
    // A legacy name's first path segment; a v0 name's first crate (`C s<disambiguator>_ <len><name>`).
    const v0 = f.name.startsWith("_R") && f.name.match(/C(?:s[0-9A-Za-z]*_)?(\d+)([A-Za-z_]\w*)/);
    const m = f.name.match(/([a-z_][a-z0-9_]*)::/);
    const k = v0 ? v0[2].slice(0, Number(v0[1])) : m ? m[1] : f.name.slice(0, 30);
    by.set(k, (by.get(k) ?? 0) + f.size);
  }
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30))) console.log(String(v).padStart(8), k);
} else {
  for (const f of fns.sort((a, b) => b.size - a.size).slice(0, Number(topArg ?? 40))) console.log(String(f.size).padStart(8), f.name.slice(0, 150));
}
