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
      pos += leb(); pos += leb();
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
const demangle = (s) => s.replace(/17h[0-9a-f]{16}E$/, "").replace(/^_ZN/, "").replace(/(\d+)([A-Za-z_$][^\d]*)/g, (_, n, rest) => rest.slice(0, Number(n)) + "::" + rest.slice(Number(n)))
  .replace(/\$LT\$/g, "<").replace(/\$GT\$/g, ">").replace(/\$u20\$/g, " ").replace(/\.\./g, "::").replace(/\$RF\$/g, "&").replace(/\$C\$/g, ",").replace(/::+$/, "");
const fns = bodies.map((size, i) => ({ size, name: demangle(names.get(i + imports) ?? `func[${i + imports}]`) }));
const total = buf.length;
const code = bodies.reduce((a, b) => a + b, 0);
console.log(`total ${total} B; code ${code} B in ${bodies.length} functions; data ${sections.filter(([i]) => i === 11).reduce((a, [, s]) => a + s, 0)} B`);
if (mode === "--crates") {
  const by = new Map();
  for (const f of fns) {
    const m = f.name.match(/([a-z_][a-z0-9_]*)::/);
    const k = m ? m[1] : f.name.slice(0, 30);
    by.set(k, (by.get(k) ?? 0) + f.size);
  }
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, Number(topArg ?? 30))) console.log(String(v).padStart(8), k);
} else {
  for (const f of fns.sort((a, b) => b.size - a.size).slice(0, Number(topArg ?? 40))) console.log(String(f.size).padStart(8), f.name.slice(0, 150));
}
