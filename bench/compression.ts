/**
 * `npx tsx bench/compression.ts`: what deflating an out-of-line SQLite value costs and saves,
 * per value size (message-like text), next to the threshold the backend uses
 * (`DEFLATE_MIN_BYTES`): below it the fixed cost of a zlib call outweighs the bytes saved.
 */
import { deflateRawSync, inflateRawSync } from "node:zlib";
import { DEFLATE_MIN_BYTES } from "../src/backends/sqlite/sqlite-rows.js";
import { prose } from "./prose.js";

console.log(`threshold: values of ${DEFLATE_MIN_BYTES} bytes and more are deflated`);
console.log(
  `${"bytes".padStart(8)} ${"deflate us".padStart(11)} ${"inflate us".padStart(11)}  saved`,
);
for (const size of [1024, 2048, 4096, 8192, 16384, 65536, 262144]) {
  const bytes = Buffer.from(JSON.stringify([prose(size, 3)]));
  const n = Math.max(50, Math.round(4e6 / size));
  for (let i = 0; i < 50; i++) inflateRawSync(deflateRawSync(bytes, { level: 1 }));
  const median = (fn: () => void) => {
    const samples: number[] = [];
    for (let r = 0; r < 5; r++) {
      const start = performance.now();
      for (let i = 0; i < n; i++) fn();
      samples.push(((performance.now() - start) / n) * 1000);
    }
    return samples.sort((a, b) => a - b)[2]!;
  };
  const out = deflateRawSync(bytes, { level: 1 });
  const d = median(() => deflateRawSync(bytes, { level: 1 }));
  const f = median(() => inflateRawSync(out));
  const saved = 100 - (100 * out.length) / bytes.length;
  console.log(
    `${String(bytes.length).padStart(8)} ${d.toFixed(1).padStart(11)} ${f.toFixed(1).padStart(11)}  ${saved.toFixed(0)}%`,
  );
}
