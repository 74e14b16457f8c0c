/**
 * Archive as a tier, on a local directory: archived threads leave only a stub; getState and
 * invoke either throw ThreadArchivedError saying how to restore, or restore on first use; a
 * restore puts back exactly what was archived; a copy that does not verify, or a crash before
 * the rows are removed, leaves the thread readable as it was.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { ArchiveTarget } from "../../src/archive/archive-target.js";
import { archiveThreads, restoreThread } from "../../src/archive/archive-threads.js";
import { DirectoryArchive } from "../../src/archive/directory-archive.js";
import {
  archiveStoreItems,
  deleteTenant,
  restoreOnUse,
  restoreStoreItems,
} from "../../src/archive/index.js";
import { createCheckpointer } from "../../src/checkpoint/checkpointer.js";
import { newCheckpointId } from "../../src/ids.js";
import {
  ArchiveDamagedError,
  ConflictError,
  lastValue,
  START,
  StateGraph,
  ThreadArchivedError,
  ThreadBusyError,
} from "../../src/index.js";
import { FaultyCheckpointBackend } from "../../src/testing/fault/index.js";
import { BACKENDS } from "../support/backends.js";
import {
  APPENDING,
  fillHistory,
  fillStore,
  historyKeys,
  itemsOf,
  threadsOf,
} from "./archive-fixtures.js";

const root = mkdtempSync(join(tmpdir(), "rewind-archive-test-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const counter = new StateGraph({ count: lastValue<number>(() => 0) })
  .addNode("count", (state) => ({ count: state.count + 1 }))
  .addEdge(START, "count");

describe("archive to a directory and restore", () => {
  for (const backend of BACKENDS) {
    it(`${backend.name}: archives with a stub, restores exactly, and the runtime sees the stub`, async () => {
      const checkpointer = backend.checkpointer(APPENDING);
      await fillHistory(checkpointer, "a");
      const before = await threadsOf(checkpointer, historyKeys("a"));
      const target = new DirectoryArchive(join(root, backend.name));
      const results = await archiveThreads(checkpointer, target, { all: true });
      expect(results.map((r) => r.status)).toStrictEqual(["archived", "archived", "archived"]);
      for (const key of historyKeys("a")) {
        expect(await checkpointer.get(key)).toBeUndefined();
        expect((await checkpointer.door.readArchive(key))?.state).toBe("archived");
      }
      // Archived twice: nothing to do.
      const again = await archiveThreads(checkpointer, target, { all: true });
      expect(again).toStrictEqual([]);
      for (const key of historyKeys("a")) {
        expect(await restoreThread(checkpointer, target, key)).toBe(true);
      }
      expect(await threadsOf(checkpointer, historyKeys("a"))).toStrictEqual(before);
      expect(readdirSync(join(root, backend.name))).toStrictEqual([]);

      // The runtime: a graph thread archived, then read and run.
      const app = counter.compile({ checkpointer });
      await app.invoke({}, { threadId: "c", tenantId: "acme" });
      await archiveThreads(checkpointer, target, { threadIds: ["c"], tenantId: "acme" });
      const refused = await app.getState({ threadId: "c", tenantId: "acme" }).catch((e) => e);
      expect(refused).toBeInstanceOf(ThreadArchivedError);
      expect(refused.threadId).toBe("c");
      expect(refused.message).toContain("restoreThread");
      expect(
        await app.invoke({}, { threadId: "c", tenantId: "acme" }).catch((e) => e),
      ).toBeInstanceOf(ThreadArchivedError);
      const restoring = counter.compile({ checkpointer, archive: restoreOnUse(target) });
      expect((await restoring.getState({ threadId: "c", tenantId: "acme" }))?.values.count).toBe(1);
      await archiveThreads(checkpointer, target, { threadIds: ["c"], tenantId: "acme" });
      const ran = await restoring.invoke({}, { threadId: "c", tenantId: "acme" });
      expect(ran.values.count).toBe(2);
      await checkpointer.close();
    });
  }
});

describe("archive of a tenant's store items", () => {
  it("moves them out with their times, restores them exactly, and erasure removes the copy", async () => {
    const store = BACKENDS[0]!.store();
    await fillStore(store, "items");
    await store.forTenant("globex").put(["x"], "stays", { n: 1 });
    const before = await itemsOf(store, "acme");
    const dir = join(root, "store-items");
    const target = new DirectoryArchive(dir);
    expect(await archiveStoreItems(store, target, "acme")).toBe(4);
    expect(await itemsOf(store, "acme")).toStrictEqual([]);
    expect(await itemsOf(store, "globex")).toHaveLength(1);
    const listed = [];
    for await (const key of target.list()) listed.push(key);
    expect(listed).toStrictEqual([]);
    expect(await restoreStoreItems(store, target, "acme")).toBe(4);
    expect(await itemsOf(store, "acme")).toStrictEqual(before);
    await archiveStoreItems(store, target, "acme");
    const checkpointer = createCheckpointer(new FaultyCheckpointBackend());
    await deleteTenant(checkpointer, "acme", { store, archive: target });
    expect(readdirSync(dir)).toStrictEqual([]);
    await store.close();
  });
});

describe("archive safety", () => {
  it("archives only idle threads when asked, and leaves a leased thread alone", async () => {
    const checkpointer = createCheckpointer(new FaultyCheckpointBackend(), APPENDING);
    await fillHistory(checkpointer, "idle");
    const target = new DirectoryArchive(join(root, "idle"));
    const none = await archiveThreads(checkpointer, target, { all: true, idleDays: 1 });
    expect(none).toStrictEqual([]);
    const later = () => Date.now() + 2 * 86_400_000;
    await checkpointer.acquireLease("idle-side", "run", 60_000);
    const results = await archiveThreads(checkpointer, target, {
      all: true,
      idleDays: 1,
      now: later,
    });
    const busy = results.find((r) => r.threadId === "idle-side");
    expect(busy?.status).toBe("failed");
    expect(busy?.error).toBeInstanceOf(ThreadBusyError);
    expect(await checkpointer.get("idle-side")).toBeDefined();
    expect(results.filter((r) => r.status === "archived")).toHaveLength(2);
  });

  it("keeps the thread when the copy does not verify or the process stops before the rows go", async () => {
    const backend = new FaultyCheckpointBackend();
    const checkpointer = createCheckpointer(backend, APPENDING);
    await fillHistory(checkpointer, "safe");
    const before = await threadsOf(checkpointer, ["safe"]);
    const dir = new DirectoryArchive(join(root, "safe"));
    // A target whose stored copy is damaged on the way: its verification fails.
    const damaging: ArchiveTarget = {
      name: "damaging",
      locationOf: (key) => dir.locationOf(key),
      async upload(key, from) {
        const data = join(from, "data.jsonl");
        const bytes = readFileSync(data);
        const at = Math.floor(bytes.length / 2);
        bytes[at] = bytes[at]! ^ 1;
        writeFileSync(data, bytes);
        await dir.upload(key, from);
      },
      download: (key, to) => dir.download(key, to),
      remove: (key) => dir.remove(key),
      list: () => dir.list(),
    };
    // A writer without a lease (a LangGraph app) adds a checkpoint while the copy is made.
    await fillHistory(checkpointer, "raced");
    const racedBefore = (await threadsOf(checkpointer, ["raced"]))[0]!.length;
    const racing: ArchiveTarget = {
      ...damaging,
      async upload(key, from) {
        await dir.upload(key, from);
        const id = newCheckpointId();
        await checkpointer.put({
          threadId: key,
          id,
          parentId: undefined,
          channelVersions: { late: id },
          versionsSeen: {},
          metadata: { source: "update", step: 99 },
          updates: [{ channel: "late", version: id, value: "written meanwhile" }],
        });
      },
    };
    const raced = await archiveThreads(checkpointer, racing, { threadIds: ["raced"] });
    expect(raced[0]?.error).toBeInstanceOf(ConflictError);
    expect(await checkpointer.door.readArchive("raced")).toBeUndefined();
    expect((await threadsOf(checkpointer, ["raced"]))[0]).toHaveLength(racedBefore + 1);
    const failed = await archiveThreads(checkpointer, damaging, { threadIds: ["safe"] });
    expect(failed[0]?.status).toBe("failed");
    expect(failed[0]?.error).toBeInstanceOf(ArchiveDamagedError);
    expect(await threadsOf(checkpointer, ["safe"])).toStrictEqual(before);
    // Stopped after the copy was stored and verified, before the rows were removed.
    backend.faults.inject("archiveThread", "fail-before", { times: 1 });
    const stopped = await archiveThreads(checkpointer, dir, { threadIds: ["safe"] });
    expect(stopped[0]?.status).toBe("failed");
    expect(await threadsOf(checkpointer, ["safe"])).toStrictEqual(before);
    expect(await checkpointer.readLease("safe")).toBeUndefined();
    // The rerun archives it; the restore is exact.
    expect((await archiveThreads(checkpointer, dir, { threadIds: ["safe"] }))[0]?.status).toBe(
      "archived",
    );
    // A restore stopped half-way (mark "restoring") is completed by the next one.
    backend.faults.inject("putCheckpoint", "fail-before", { skip: 4, times: 1 });
    expect(await restoreThread(checkpointer, dir, "safe").catch((e) => e)).toBeInstanceOf(Error);
    expect((await checkpointer.door.readArchive("safe"))?.state).toBe("restoring");
    expect(await restoreThread(checkpointer, dir, "safe")).toBe(true);
    expect(await threadsOf(checkpointer, ["safe"])).toStrictEqual(before);
  });
});
