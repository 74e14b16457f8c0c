/**
 * The estimate that decides whether a large out-of-line SQLite value is deflated: it agrees with
 * level-1 deflate itself on the kinds of data agents store, on each side of the two-thirds line.
 */
import { randomBytes } from "node:crypto";
import { deflateRawSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { estimateDeflated } from "../../src/backends/sqlite/sqlite-compressibility.js";
import { packSpilled } from "../../src/backends/sqlite/sqlite-rows.js";

const words = ["agent", "tool", "result", "the", "weather", "in", "Paris", "is", "sunny", "call"];
function text(bytes: number, seed: number): string {
  let state = seed;
  let out = "";
  while (out.length < bytes) {
    state = (state * 1664525 + 1013904223) >>> 0;
    out += `${words[state % words.length]} `;
  }
  return out.slice(0, bytes);
}

const block = randomBytes(512);
const KINDS: Record<string, () => Uint8Array> = {
  "message list JSON": () =>
    Buffer.from(
      JSON.stringify(
        Array.from({ length: 60 }, (_, i) => ({ role: "ai", content: text(300, i), id: `m${i}` })),
      ),
    ),
  "base64 file": () => Buffer.from(randomBytes(24_000).toString("base64")),
  "hex text": () => Buffer.from(randomBytes(16_000).toString("hex")),
  "random bytes": () => randomBytes(32_000),
  "a repeated random block": () => Buffer.concat(Array.from({ length: 64 }, () => block)),
  "JSON numbers": () =>
    Buffer.from(JSON.stringify(Array.from({ length: 3000 }, (_, i) => (i * 7919) % 100_003))),
  zeros: () => Buffer.alloc(32_000),
  "a base64 file in JSON": () =>
    Buffer.from(JSON.stringify({ name: "scan.png", data: randomBytes(24_000).toString("base64") })),
};

describe("estimateDeflated", () => {
  for (const [kind, make] of Object.entries(KINDS)) {
    it(`judges ${kind} as deflate does`, () => {
      const bytes = make();
      const sample = bytes.subarray(0, 4096);
      const deflated = deflateRawSync(sample, { level: 1 }).byteLength;
      const estimate = estimateDeflated(bytes, 4096);
      expect(estimate * 3 <= 4096 * 2).toBe(deflated * 3 <= 4096 * 2);
      // Not only the side of the line: within a tenth of the sample of what deflate gives.
      expect(Math.abs(estimate - deflated)).toBeLessThan(0.2 * 4096);
    });
  }

  it("decides what packSpilled stores: text deflated, a base64 file as it is", () => {
    const messages = KINDS["message list JSON"]!();
    const file = KINDS["base64 file"]!();
    expect(packSpilled(messages).codec).toBe(1);
    expect(packSpilled(file)).toEqual({ codec: 0, bytes: file });
  });

  it("reads no further than the sample, and copes with samples shorter than a repeat", () => {
    expect(estimateDeflated(new Uint8Array(0))).toBe(0);
    expect(estimateDeflated(Uint8Array.of(1, 2, 3))).toBeGreaterThan(0);
    const head = Buffer.from(randomBytes(3072).toString("base64"));
    const long = Buffer.concat([head, Buffer.alloc(100_000)]);
    expect(estimateDeflated(long, 4096)).toBe(estimateDeflated(head, 4096));
  });
});
