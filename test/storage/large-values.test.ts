/**
 * Large values on every backend: stored once per tenant by content hash across checkpoints,
 * branches, threads and pending writes; never shared between tenants; loaded lazily (a listing
 * without values loads none, a second read of an unchanged value does no I/O); a missing or
 * damaged value is a CorruptionError naming thread, checkpoint and channel; garbage collection
 * removes exactly what no row references once its grace period is over.
 */

import { emptyCheckpoint } from "@langchain/langgraph-checkpoint";
import { afterEach, describe, expect, it } from "vitest";
import { deleteTenant } from "../../src/archive/index.js";
import { newCheckpointId } from "../../src/backend.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { CorruptionError, InvalidInputError } from "../../src/errors.js";
import { Checkpointer, checkpointerForTenant } from "../../src/index.js";
import { collectLargeValues, largeValueStats } from "../../src/large-values/index.js";
import type { LargeValueTarget } from "../../src/offload/large-value-target.js";
import { MemoryLargeValues } from "../../src/offload/large-value-target.js";
import { prune } from "../../src/retention/index.js";
import { BACKENDS } from "../support/backends.js";
import { saverOn } from "../support/savers.js";
import { putFile } from "./large-value-fixtures.js";

const FILE = "a large attachment, ".repeat(2_000); // 40 KB of JSON text
const THRESHOLD = 16 * 1024;

/** A target that counts its reads (around a memory target). */
function counting(): LargeValueTarget & { gets: number; puts: number } {
  const inner = new MemoryLargeValues();
  const target = {
    name: "counting",
    gets: 0,
    puts: 0,
    put: (t: string, h: string, b: Uint8Array, now: number) => {
      target.puts++;
      return inner.put(t, h, b, now);
    },
    get: (t: string, h: string) => {
      target.gets++;
      return inner.get(t, h);
    },
    list: () => inner.list(),
    remove: (t: string, h: string, before: number) => inner.remove(t, h, before),
  };
  return target;
}

/** Puts a checkpoint of `threadId` after `parent` with channels `file` and `n`. */
function put(
  cp: Checkpointer,
  threadId: string,
  parent: string | undefined,
  file: unknown,
  n: number,
) {
  return putFile(cp, threadId, file, parent, n);
}

/** A checkpointer on `cp`'s storage with nothing cached (left open: `cp` closes the storage). */
function reopen(cp: Checkpointer, target: LargeValueTarget): Checkpointer {
  return new Checkpointer(cp.largeValues!.backend, {
    largeValues: { thresholdBytes: THRESHOLD, target },
  });
}

async function listed(target: LargeValueTarget) {
  const out = [];
  for await (const entry of target.list()) out.push(entry);
  return out;
}

for (const backend of BACKENDS) {
  describe(`large values on ${backend.name}`, () => {
    const open: Checkpointer[] = [];
    const checkpointer = (options: Parameters<typeof backend.checkpointer>[0] = {}) => {
      const made = backend.checkpointer({ largeValues: { thresholdBytes: THRESHOLD }, ...options });
      open.push(made);
      return made;
    };
    afterEach(async () => {
      for (const c of open.splice(0)) await c.close();
    });

    it("stores a value once across checkpoints, branches, threads and writes of a tenant", async () => {
      const cp = checkpointer();
      const a1 = await put(cp, "a", undefined, { FILE }, 1);
      const a2 = await put(cp, "a", a1, { FILE }, 2);
      await put(cp, "a", a1, { FILE }, 3); // a branch from a1
      await put(cp, "b", undefined, { FILE }, 1);
      await cp.putWrites({ threadId: "a", checkpointId: a2 }, [
        { taskId: "t", taskPath: "", idx: 0, channel: "file", value: { FILE } },
      ]);
      const small = await put(cp, "c", undefined, "small", 1);
      const target = cp.largeValues!.target;
      expect(target.name).toBe(backend.name);
      expect(await listed(target)).toHaveLength(1);
      const read = await cp.get("a", { checkpointId: a2 });
      expect(read?.checkpoint.values).toStrictEqual({ file: { FILE }, n: 2 });
      expect(read?.pendingWrites.map((w) => w.value)).toStrictEqual([{ FILE }]);
      expect((await cp.get("b"))?.checkpoint.values.file).toStrictEqual({ FILE });
      expect((await cp.get("c", { checkpointId: small }))?.checkpoint.values.file).toBe("small");
      const stats = await largeValueStats(cp);
      expect(stats).toMatchObject({ values: 1, references: 5 });
      expect(stats.dedupeRatio).toBe(5);
      expect(stats.storedBytes).toBeGreaterThan(0);
    });

    it("reads back long texts whole, by hash and in their row, from a fresh process's view", async () => {
      // 64K+ characters: the serializer writes them with room in front, where a large value's
      // frame header goes (no copy); the row path stores the same bytes without the room.
      const long = { text: "0123456789abcdef".repeat(6 * 1024), note: "é and ü" };
      const ascii = { text: "a long tool output line\n".repeat(4 * 1024) };
      const byHash = checkpointer();
      const inRow = checkpointer({ largeValues: { thresholdBytes: 1024 * 1024 } });
      for (const cp of [byHash, inRow]) {
        const first = await put(cp, "long", undefined, long, 1);
        await put(cp, "long", first, ascii, 2);
        const target = cp.largeValues!.target;
        const again = reopen(cp, target);
        expect((await again.get("long", { checkpointId: first }))?.checkpoint.values.file).toEqual(
          long,
        );
        expect((await again.get("long"))?.checkpoint.values.file).toEqual(ascii);
        expect(await listed(target)).toHaveLength(cp === byHash ? 2 : 0);
      }
    });

    it("stores a large batch of appended items by hash and rebuilds the list", async () => {
      const cp = checkpointer();
      const first = newCheckpointId();
      const base = {
        threadId: "list",
        versionsSeen: {},
        metadata: { source: "loop" as const, step: 0 },
      };
      await cp.put({
        ...base,
        id: first,
        parentId: undefined,
        channelVersions: { msgs: first },
        updates: [{ channel: "msgs", version: first, value: ["hi"] }],
      });
      const second = newCheckpointId(first);
      await cp.put({
        ...base,
        id: second,
        parentId: first,
        channelVersions: { msgs: second },
        updates: [
          {
            channel: "msgs",
            version: second,
            value: ["hi", FILE],
            append: { prevVersion: first, items: [FILE] },
          },
        ],
      });
      expect(await listed(cp.largeValues!.target)).toHaveLength(1);
      expect((await cp.get("list"))?.checkpoint.values.msgs).toStrictEqual(["hi", FILE]);
    });

    it("never shares a value between tenants, and each tenant reads its own", async () => {
      const cp = checkpointer();
      const acme = checkpointerForTenant(cp, "acme");
      const globex = checkpointerForTenant(cp, "globex");
      await put(acme, "t", undefined, { FILE }, 1);
      await put(globex, "t", undefined, { FILE }, 1);
      await put(cp, "t", undefined, { FILE }, 1);
      const entries = await listed(cp.largeValues!.target);
      expect(entries.map((e) => e.tenant).sort()).toStrictEqual(["", "acme", "globex"]);
      expect(new Set(entries.map((e) => e.hash)).size).toBe(3);
      expect((await globex.get("t"))?.checkpoint.values.file).toStrictEqual({ FILE });
    });

    it("loads lazily: listings without values load none, an unchanged value is read once", async () => {
      const target = counting();
      const cp = checkpointer({ largeValues: { thresholdBytes: THRESHOLD, target } });
      const first = await put(cp, "lazy", undefined, { FILE }, 1);
      await put(cp, "lazy", first, { FILE }, 2);
      expect(target.puts).toBe(1); // the second put found it touched moments ago
      // Another checkpointer on the same storage: a process that has read nothing yet.
      const again = reopen(cp, target);
      for await (const _ of again.list({ threadId: "lazy", includeValues: false })) {
        // headers only
      }
      expect(target.gets).toBe(0);
      expect((await again.get("lazy"))?.checkpoint.values.n).toBe(2);
      expect((await again.get("lazy", { checkpointId: first }))?.checkpoint.values.n).toBe(1);
      expect(target.gets).toBe(1);
    });

    it("a missing or damaged value is a CorruptionError naming thread, checkpoint and channel", async () => {
      const target = counting();
      const cp = checkpointer({ largeValues: { thresholdBytes: THRESHOLD, target } });
      const id = await put(cp, "hurt", undefined, { FILE }, 1);
      const [entry] = await listed(target);
      const reader = () => reopen(cp, target);
      const bytes = (await target.get(entry!.tenant, entry!.hash))!;
      const flipped = bytes.slice();
      flipped[flipped.length - 3]! ^= 0x01;
      await target.remove(entry!.tenant, entry!.hash, Number.POSITIVE_INFINITY);
      await target.put(entry!.tenant, entry!.hash, flipped, Date.now());
      const damaged = await reader()
        .get("hurt")
        .catch((error) => error);
      expect(damaged).toBeInstanceOf(CorruptionError);
      expect(damaged).toMatchObject({ threadId: "hurt", checkpointId: id, channel: "file" });
      expect(damaged.message).toMatch(/damaged large value/);
      await target.remove(entry!.tenant, entry!.hash, Number.POSITIVE_INFINITY);
      const missing = await reader()
        .get("hurt")
        .catch((error) => error);
      expect(missing).toBeInstanceOf(CorruptionError);
      expect(missing).toMatchObject({ threadId: "hurt", checkpointId: id, channel: "file" });
      expect(missing.message).toMatch(/missing/);
    });

    it("collects exactly the unreferenced values once their grace period is over", async () => {
      const cp = checkpointer();
      const kept = await put(cp, "kept", undefined, { FILE }, 1);
      await put(cp, threadKey("gone", "acme"), undefined, { FILE: `${FILE}!` }, 1);
      await put(cp, "gone", undefined, { other: FILE }, 1);
      await cp.deleteThread("gone");
      await cp.deleteThread(threadKey("gone", "acme"));
      expect(await listed(cp.largeValues!.target)).toHaveLength(3);
      // Within the grace period nothing goes; a tenant-scoped run touches only that tenant.
      expect(await collectLargeValues(cp)).toMatchObject({ values: 3, removed: 0 });
      const later = Date.now() + 10_000;
      expect(
        await collectLargeValues(cp, { graceMs: 1_000, now: later, tenant: "acme" }),
      ).toMatchObject({
        values: 1,
        removed: 1,
      });
      const report = await collectLargeValues(cp, { graceMs: 1_000, now: later });
      expect(report).toMatchObject({ values: 2, removed: 1 });
      expect(report.bytesRemoved).toBeGreaterThan(0);
      expect(await listed(cp.largeValues!.target)).toHaveLength(1);
      expect((await cp.get("kept", { checkpointId: kept }))?.checkpoint.values.file).toStrictEqual({
        FILE,
      });
      await expect(collectLargeValues(cp, { graceMs: -1 })).rejects.toBeInstanceOf(
        InvalidInputError,
      );
    });
  });
}

describe("large values through the LangGraph saver", () => {
  it("are stored once by hash and read back whole", async () => {
    const { saver } = saverOn(BACKENDS[0]!);
    const big = "x".repeat(200 * 1024); // above the default threshold
    for (const thread_id of ["s1", "s2"]) {
      const checkpoint = emptyCheckpoint();
      checkpoint.channel_values = { file: big, n: 1 };
      checkpoint.channel_versions = { file: 1, n: 1 };
      await saver.put(
        { configurable: { thread_id, checkpoint_ns: "" } },
        checkpoint,
        { source: "loop", step: 0, parents: {} },
        checkpoint.channel_versions,
      );
    }
    const tuple = await saver.getTuple({ configurable: { thread_id: "s2", checkpoint_ns: "" } });
    expect(tuple?.checkpoint.channel_values).toStrictEqual({ file: big, n: 1 });
    expect(await listed(saver.checkpointer.largeValues!.target)).toHaveLength(1);
    await saver.close();
  });
});

describe("collection tied to retention and erasure", () => {
  const backend = BACKENDS[0]!;

  it("an applied prune collects the values only pruned checkpoints referenced", async () => {
    const cp = backend.checkpointer({ largeValues: { thresholdBytes: THRESHOLD } });
    try {
      let head = await put(cp, "t", undefined, { FILE: `${FILE}old` }, 1);
      for (let n = 2; n <= 4; n++) head = await put(cp, "t", head, { FILE }, n);
      expect(await listed(cp.largeValues!.target)).toHaveLength(2);
      const report = await prune(cp, { keepLast: 1 }, { dryRun: false, largeValueGraceMs: 0 });
      expect(report.largeValues).toMatchObject({ values: 2, removed: 1 });
      expect((await cp.get("t"))?.checkpoint.values.file).toStrictEqual({ FILE });
    } finally {
      await cp.close();
    }
  });

  it("with no grace, a value touched in the very millisecond of the collection goes too", async () => {
    const cp = backend.checkpointer({ largeValues: { thresholdBytes: THRESHOLD } });
    try {
      await put(cp, "t", undefined, { FILE }, 1);
      await cp.deleteThread("t");
      const [entry] = await listed(cp.largeValues!.target);
      // Erasure collects with graceMs 0 right after the writes: often within one millisecond.
      const report = await collectLargeValues(cp, { graceMs: 0, now: entry!.touchedAt });
      expect(report).toMatchObject({ values: 1, removed: 1 });
      expect(await listed(cp.largeValues!.target)).toStrictEqual([]);
    } finally {
      await cp.close();
    }
  });

  it("erasing a tenant removes its values at once and leaves other tenants' alone", async () => {
    const cp = backend.checkpointer({ largeValues: { thresholdBytes: THRESHOLD } });
    try {
      await put(checkpointerForTenant(cp, "acme"), "t", undefined, { FILE }, 1);
      await put(checkpointerForTenant(cp, "globex"), "t", undefined, { FILE }, 1);
      await deleteTenant(cp, "acme");
      const left = await listed(cp.largeValues!.target);
      expect(left.map((e) => e.tenant)).toStrictEqual(["globex"]);
      // Given the backend itself, erasure reaches its own database's values too.
      await deleteTenant(cp.largeValues!.backend, "globex");
      expect(await listed(cp.largeValues!.target)).toStrictEqual([]);
    } finally {
      await cp.close();
    }
  });
});

describe("large values turned off", () => {
  it("keeps every value in its row and refuses a collection", async () => {
    const cp = BACKENDS[0]!.checkpointer({ largeValues: false });
    try {
      await put(cp, "t", undefined, { FILE }, 1);
      expect(cp.largeValues).toBeUndefined();
      expect((await cp.get("t"))?.checkpoint.values.file).toStrictEqual({ FILE });
      await expect(collectLargeValues(cp)).rejects.toBeInstanceOf(InvalidInputError);
    } finally {
      await cp.close();
    }
  });
});
