import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { StoredBlob } from "../../src/checkpoint/checkpoint-backend.js";
import { crc32Byte, openPieces, sealBlob } from "../../src/checkpoint/checksum.js";
import { CorruptionError } from "../../src/errors.js";

describe("checksums", () => {
  it("crc32Byte adds one byte to a CRC exactly as zlib's crc32 does", () => {
    let state = 12345;
    const next = () => {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      return state;
    };
    for (let i = 0; i < 20_000; i++) {
      const crc = next();
      const byte = next() & 0xff;
      expect(crc32Byte(crc, byte)).toBe(crc32(Uint8Array.of(byte), crc));
    }
    expect(crc32Byte(0, 0x5d)).toBe(crc32("]"));
  });

  it("a merged run verifies piece by piece; one changed byte of any piece is refused", () => {
    const texts = ['["a","b"]', "[]", '[{"id":"m1"}]', '["c"]'];
    const pieces = texts.map((text, i) => {
      const sealed = sealBlob({
        channel: "log",
        version: `v${i + 1}`,
        kind: "append",
        prevVersion: `v${i}`,
        depth: i + 1,
        value: { tag: "json", bytes: Buffer.from(text) },
        concat: true,
      });
      return { tag: sealed.value!.tag, length: text.length, depth: i + 1, prevVersion: `v${i}` };
    });
    const joined = Buffer.from('["a","b",{"id":"m1"},"c"]');
    const merged: StoredBlob = {
      channel: "log",
      version: "v4",
      kind: "append",
      prevVersion: "v0",
      depth: 4,
      value: { tag: "json", bytes: joined },
      concat: true,
      pieces,
    };
    const scope = { threadId: "t", checkpointId: "c" };
    expect(() => openPieces(merged, pieces, scope)).not.toThrow();
    // The commas between pieces belong to none (a damaged one fails the JSON decode instead).
    const separators = new Set([8, 20]);
    expect([...separators].map((at) => String.fromCharCode(joined[at]!))).toEqual([",", ","]);
    for (let at = 1; at < joined.length - 1; at++) {
      if (separators.has(at)) continue;
      const damaged = Buffer.from(joined);
      damaged[at] = damaged[at]! ^ 0x01;
      const bad = { ...merged, value: { tag: "json", bytes: damaged } };
      expect(() => openPieces(bad, pieces, scope)).toThrow(CorruptionError);
    }
  });
});
