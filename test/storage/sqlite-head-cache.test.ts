import { describe, expect, it } from "vitest";
import { SqliteHeadCache } from "../../src/backends/sqlite/sqlite-head-cache.js";
import type { CheckpointRow } from "../../src/backends/sqlite/sqlite-rows.js";
import type { StoredBlob, StoredCheckpoint } from "../../src/checkpoint/checkpoint-backend.js";
import {
  openBlob,
  openCheckpoint,
  sealBlob,
  sealCheckpoint,
  sealedHere,
} from "../../src/checkpoint/checksum.js";
import { CorruptionError } from "../../src/errors.js";

const row: CheckpointRow = {
  tid: 1,
  ns: "",
  id: "c1",
  parent_id: null,
  created_at: 0,
  versions: '{"log":"v1","note":"n1"}',
  metadata: "{}",
  body: "{}",
  vals: null,
};

function blob(
  channel: string,
  version: string,
  kind: StoredBlob["kind"],
  prev: string | null,
  text: string,
): StoredBlob {
  return {
    channel,
    version,
    kind,
    prevVersion: prev,
    depth: kind === "append" ? 1 : 0,
    value: { tag: "json", bytes: Buffer.from(text) },
  };
}

/** The seam's checkpoint of a row (unsealed, as rows written before checksums are). */
const stored = (of: CheckpointRow): StoredCheckpoint => ({
  threadId: "t",
  ns: of.ns,
  id: of.id,
  parentId: null,
  createdAt: "2026-01-01T00:00:00.000Z",
  channelVersions: JSON.parse(of.versions),
  metadata: of.metadata,
  body: String(of.body),
});

const text = (b: StoredBlob | undefined) => Buffer.from(b!.value!.bytes).toString();

describe("SQLite head cache, learning committed puts", () => {
  it("extends a held chain with an append onto its end, replaces it with a full value, and no longer answers for the row read", () => {
    const cache = new SqliteHeadCache(1 << 20);
    cache.set("t", row, stored(row), {
      log: [blob("log", "v1", "full", null, '["a"]')],
      note: [blob("note", "n1", "full", null, '"x"')],
    });
    const appended = blob("log", "v2", "append", "v1", '["b"]');
    cache.learn("t", "", [appended, blob("note", "n2", "full", null, '"y"')]);
    // What the put handed over is copied: changing it afterwards changes nothing held.
    (appended.value!.bytes as Buffer).fill(0);
    const held = cache.held("t", "");
    expect(held.log!.map((b) => b.version)).toEqual(["v1", "v2"]);
    expect(text(held.log![1])).toBe('["b"]');
    expect(held.note!.map((b) => [b.version, text(b)])).toEqual([["n2", '"y"']]);
    expect(cache.get("t", row)).toBeUndefined();
  });

  it("leaves out an append onto a version it does not hold, and learns nothing for a thread it holds nothing of", () => {
    const cache = new SqliteHeadCache(1 << 20);
    cache.set("t", row, stored(row), { log: [blob("log", "v1", "full", null, '["a"]')] });
    cache.learn("t", "", [blob("log", "v3", "append", "v2", '["c"]')]);
    expect(cache.held("t", "").log!.map((b) => b.version)).toEqual(["v1"]);
    cache.learn("other", "", [blob("log", "w1", "full", null, '["z"]')]);
    expect(cache.held("other", "")).toEqual({});
  });

  it("drops an entry that learning grows past a quarter of its bound", () => {
    const cache = new SqliteHeadCache(4096);
    cache.set("t", row, stored(row), { log: [blob("log", "v1", "full", null, '["a"]')] });
    let prev = "v1";
    for (let i = 2; i < 40 && cache.held("t", "").log; i++) {
      cache.learn("t", "", [blob("log", `v${i}`, "append", prev, `["${"x".repeat(64)}"]`)]);
      prev = `v${i}`;
    }
    // 1,024 bytes (a quarter) at most, 64 + 68 counted per link after the first's 69: dropped
    // at the eighth link learned (v9).
    expect(cache.held("t", "")).toEqual({});
    expect(prev).toBe("v9");
  });

  it("holds a run of concat appends of one base tag as one append with its pieces, as the reader's statement hands it over", () => {
    const cache = new SqliteHeadCache(1 << 20);
    // Sealed as the core seals them: each concat append's tag carries its own checksum.
    const concat = (version: string, prev: string, items: string) =>
      sealBlob({ ...blob("log", version, "append", prev, items), concat: true });
    const chain = [
      blob("log", "v1", "full", null, '["a"]'),
      concat("v2", "v1", '["b"]'),
      concat("v3", "v2", "[]"),
      concat("v4", "v3", '["c","d"]'),
      blob("log", "v5", "append", "v4", '["e"]'),
      concat("v6", "v5", '["f"]'),
    ];
    const tags = chain.map((b) => b.value!.tag);
    cache.set("t", row, stored(row), { log: chain });
    const held = cache.held("t", "").log!;
    expect(held.map((b) => b.version)).toEqual(["v1", "v4", "v5", "v6"]);
    const run = held[1]!;
    expect(text(run)).toBe('["b","c","d"]');
    expect(run).toMatchObject({ kind: "append", prevVersion: "v1", depth: 1, concat: true });
    expect(run.value!.tag).toBe("json");
    expect(run.pieces).toEqual([
      { tag: tags[1], length: 5, depth: 1, prevVersion: "v1" },
      { tag: tags[2], length: 2, depth: 1, prevVersion: "v2" },
      { tag: tags[3], length: 9, depth: 1, prevVersion: "v3" },
    ]);
    // A lone concat append stays as it is.
    expect(held[3]!.pieces).toBeUndefined();
  });
});

describe("SQLite head cache, checksums", () => {
  const sealed = (text: string) => sealBlob(blob("log", "v1", "full", null, text));

  it("keeps only chains whose checksums hold, and hands them out marked verified", () => {
    const cache = new SqliteHeadCache(1 << 20);
    const good = sealed('["a"]');
    cache.set("t", row, stored(row), { log: [good] });
    const read = cache.get("t", row)!.chains.log![0]!;
    expect(read.verified).toBe(true);
    expect(text(read)).toBe('["a"]');
    // The core takes a verified value as it is, its seal off.
    expect(openBlob(read, {})).toEqual({ tag: "json", bytes: read.value!.bytes });

    // One byte flipped on disk: the chain is not kept, so the core checks (and refuses) it
    // on every read instead of being handed it as verified.
    const damaged = sealed('["a"]');
    (damaged.value!.bytes as Buffer)[2] = 0x62;
    const other = new SqliteHeadCache(1 << 20);
    other.set("t", row, stored(row), { log: [damaged] });
    expect(other.get("t", row)).toBeUndefined();
    expect(other.held("t", "")).toEqual({});
    expect(() => openBlob(damaged, {})).toThrow(CorruptionError);
  });

  it("keeps a row only if its checksum holds, and hands out a copy of it marked verified", () => {
    const sealedRow = sealCheckpoint(stored(row));
    const cache = new SqliteHeadCache(1 << 20);
    // The read that keeps them gets them back checked, so the core does not check them again.
    const value = sealed('["a"]');
    const kept = cache.set("t", row, sealedRow, { log: [value] })!;
    expect(kept.checkpoint.verified).toBe(true);
    expect(kept.chains.log!.map((b) => [b.verified, b.value])).toEqual([[true, value.value]]);
    const read = cache.get("t", row)!.checkpoint;
    expect(read.verified).toBe(true);
    expect(openCheckpoint(read).body).toBe(openCheckpoint(sealedRow).body);
    // Each read gets channel versions of its own.
    (read.channelVersions as Record<string, string>).log = "changed";
    expect(cache.get("t", row)!.checkpoint.channelVersions.log).toBe("v1");

    const damaged = { ...sealedRow, metadata: '{"step":1}' };
    const other = new SqliteHeadCache(1 << 20);
    expect(other.set("t", row, damaged, { log: [sealed('["a"]')] })).toBeUndefined();
    expect(other.get("t", row)).toBeUndefined();
    expect(() => openCheckpoint(damaged)).toThrow(CorruptionError);
  });

  it("trusts as checked only the very rows and blobs this process sealed, never a copy of them", () => {
    const row2 = sealCheckpoint(stored(row));
    const value = sealBlob(blob("log", "v1", "full", null, '["a"]'));
    expect([sealedHere(row2), sealedHere(value)]).toEqual([true, true]);
    for (const copy of [{ ...row2 }, JSON.parse(JSON.stringify(row2)), { ...value }]) {
      expect(sealedHere(copy)).toBe(false);
    }
    // An empty blob has nothing sealed.
    const empty: StoredBlob = { ...blob("log", "v1", "empty", null, ""), value: null };
    expect(sealedHere(sealBlob(empty))).toBe(false);
  });

  it("checks what a put stored as it learns it, unless this process sealed it: a damaged value drops the entry", () => {
    const cache = new SqliteHeadCache(1 << 20);
    cache.set("t", row, stored(row), { log: [sealed('["a"]')] });
    // A put may carry bytes as an export held them (sealed elsewhere), damaged ones included.
    const exported = (sealedBlob: StoredBlob): StoredBlob => ({
      ...sealedBlob,
      value: { ...sealedBlob.value!, bytes: Buffer.from(sealedBlob.value!.bytes) },
    });
    const damaged = exported(sealBlob(blob("log", "v2", "append", "v1", '["b"]')));
    expect(sealedHere(damaged)).toBe(false);
    (damaged.value!.bytes as Buffer)[2] = 0x63;
    cache.learn("t", "", [damaged]);
    expect(cache.held("t", "")).toEqual({});

    for (const given of [
      sealBlob(blob("log", "v2", "append", "v1", '["b"]')),
      exported(sealBlob(blob("log", "v2", "append", "v1", '["b"]'))),
    ]) {
      const intact = new SqliteHeadCache(1 << 20);
      intact.set("t", row, stored(row), { log: [sealed('["a"]')] });
      intact.learn("t", "", [given]);
      expect(intact.held("t", "").log!.map((b) => b.verified)).toEqual([true, true]);
    }
  });
});

describe("SQLite head cache, the row a put inserted", () => {
  const c2: CheckpointRow = { ...row, id: "c2", versions: '{"log":"v2","note":"n1"}' };
  const held = () => {
    const cache = new SqliteHeadCache(1 << 20);
    cache.set("t", row, stored(row), {
      log: [sealBlob(blob("log", "v1", "full", null, '["a"]'))],
      note: [sealBlob(blob("note", "n1", "full", null, '"x"'))],
    });
    return cache;
  };
  const append = (version: string, prev: string, items: string) =>
    sealBlob({ ...blob("log", version, "append", prev, items), concat: true });

  it("stands for that row once every chain ends at the version it names", () => {
    const cache = held();
    cache.learn("t", "", [append("v2", "v1", '["b"]')], { row: c2, checkpoint: stored(c2) });
    const read = cache.get("t", c2)!;
    expect(read.checkpoint).toMatchObject({ id: "c2", verified: true });
    expect(read.chains.log!.map((b) => [b.version, text(b)])).toEqual([
      ["v1", '["a"]'],
      ["v2", '["b"]'],
    ]);
    // A read of the row as stored by anyone else (one column differs) is not answered.
    expect(cache.get("t", { ...c2, metadata: '{"other":1}' })).toBeUndefined();
  });

  it("does not stand for a row whose chains it cannot complete, nor for a damaged row", () => {
    // The append was not stored (its version was there already): the log chain ends at v1.
    const missing = held();
    missing.learn("t", "", [], { row: c2, checkpoint: stored(c2) });
    expect(missing.get("t", c2)).toBeUndefined();
    expect(missing.held("t", "").log!.map((b) => b.version)).toEqual(["v1"]);

    const altered = held();
    const checkpoint = { ...sealCheckpoint(stored(c2)), body: '~00000000~{"x":1}' };
    altered.learn("t", "", [append("v2", "v1", '["b"]')], { row: c2, checkpoint });
    expect(altered.get("t", c2)).toBeUndefined();
  });

  it("with the stamp its put ended at, answers the head read at that stamp whole, with no writes, and checks the row first", () => {
    const stamp = { others: 3, own: 40 };
    const cache = held();
    cache.learn("t", "", [append("v2", "v1", '["b"]')], { row: c2, checkpoint: stored(c2) }, stamp);
    expect(cache.wantsStamp("t", "")).toBe(true);
    expect(cache.unchanged("t", "", { others: 3, own: 41 })).toBeUndefined();
    expect(cache.unchanged("t", "", { others: 4, own: 40 })).toBeUndefined();
    const read = cache.unchanged("t", "", stamp)!;
    expect(read.checkpoint).toMatchObject({ id: "c2", verified: true });
    expect(read.writes).toEqual([]);
    expect(read.blobs.log!.map((b) => text(b))).toEqual(['["a"]', '["b"]']);

    // A damaged row a put wrote is never handed out: the read reads it and refuses it.
    const altered = held();
    const checkpoint = { ...sealCheckpoint(stored(c2)), body: '~00000000~{"x":1}' };
    altered.learn("t", "", [append("v2", "v1", '["b"]')], { row: c2, checkpoint }, stamp);
    expect(altered.unchanged("t", "", stamp)).toBeUndefined();
    // Nor does a put whose chains the entry cannot complete leave a stamp.
    const missing = held();
    missing.learn("t", "", [], { row: c2, checkpoint: stored(c2) }, stamp);
    expect(missing.unchanged("t", "", stamp)).toBeUndefined();
  });

  it("joins the appends it learned one by one after a few reads, and reads the same, whether a read compares the row or the stamp", () => {
    for (const byStamp of [false, true]) {
      const cache = held();
      let prev = "v1";
      const items = ['"a"'];
      let last = row;
      for (let i = 2; i <= 40; i++) {
        items.push(`"m${i}"`);
        last = { ...row, id: `c${i}`, versions: `{"log":"v${i}","note":"n1"}` };
        const stamp = { others: 0, own: i };
        cache.learn(
          "t",
          "",
          [append(`v${i}`, prev, `["m${i}"]`)],
          { row: last, checkpoint: stored(last) },
          byStamp ? stamp : undefined,
        );
        prev = `v${i}`;
        const log = byStamp
          ? cache.unchanged("t", "", stamp)!.blobs.log!
          : cache.get("t", last)!.chains.log!;
        // Joined runs hand back their pieces: the values read are the same either way.
        const read = log.flatMap((b) => JSON.parse(text(b)) as string[]);
        expect(read).toEqual(items.map((item) => JSON.parse(item)));
        expect(log.length).toBeLessThanOrEqual(18);
      }
    }
  });
});
