/**
 * Export and import between every pair of backends: each export, imported into each backend,
 * holds exactly the same checkpoints (ids, parents, metadata, rebuilt values), pending writes
 * and store items. A damaged export writes nothing; an interrupted import completes on a rerun;
 * an import never merges into a thread with another history.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { exportThreads } from "../../src/archive/export-threads.js";
import { importThreads } from "../../src/archive/import-threads.js";
import { MemoryStoreBackend } from "../../src/backends/memory/memory-store.js";
import { createCheckpointer } from "../../src/checkpoint/checkpointer.js";
import { ArchiveDamagedError, ConflictError } from "../../src/errors.js";
import { Store } from "../../src/store/store.js";
import { FaultyCheckpointBackend } from "../../src/testing/fault/index.js";
import { BACKENDS } from "../support/backends.js";
import {
  APPENDING,
  expectSameThreads,
  fillHistory,
  fillStore,
  historyKeys,
  itemsOf,
} from "./archive-fixtures.js";

const root = mkdtempSync(join(tmpdir(), "rewind-export-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe("export and import between backends", () => {
  for (const from of BACKENDS) {
    it(`exports from ${from.name} and imports exactly into ${BACKENDS.map((b) => b.name).join(", ")}`, async () => {
      const source = from.checkpointer(APPENDING);
      const sourceStore = from.store();
      await fillHistory(source, "h");
      await fillStore(sourceStore, "h");
      const dir = join(root, `from-${from.name}`);
      const manifest = await exportThreads(source, dir, {
        all: true,
        store: sourceStore,
        storeTenants: ["acme"],
      });
      expect(manifest.counts).toMatchObject({ threads: 3, checkpoints: 18, writes: 3, items: 4 });
      expect(manifest.threads.map((t) => t.threadId)).toStrictEqual(historyKeys("h"));
      // The history's append chains travel as appends (SQLite reads them merged: split back).
      const appends = readFileSync(join(dir, "data.jsonl"), "utf8").match(/"kind":"append"/g);
      expect(appends?.length).toBeGreaterThan(8);
      for (const to of BACKENDS) {
        const target = to.checkpointer();
        const targetStore = to.store();
        const result = await importThreads(target, dir, { store: targetStore });
        expect(result.failed).toBe(0);
        expect(result.items).toBe(4);
        await expectSameThreads(source, target, historyKeys("h"));
        expect(await itemsOf(targetStore, "acme")).toStrictEqual(
          await itemsOf(sourceStore, "acme"),
        );
        // A second run finds every thread complete and changes nothing.
        const again = await importThreads(target, dir);
        expect(again.threads.map((t) => t.status)).toStrictEqual(["skipped", "skipped", "skipped"]);
        await expectSameThreads(source, target, historyKeys("h"));
        await target.close();
        await targetStore.close();
      }
      await source.close();
      await sourceStore.close();
    });
  }
});

describe("import refusals and reruns", () => {
  async function exported(label: string) {
    const source = createCheckpointer(new FaultyCheckpointBackend(), APPENDING);
    await fillHistory(source, label);
    const dir = join(root, label);
    await exportThreads(source, dir, { all: true });
    return { source, dir };
  }

  it("refuses a damaged export with ArchiveDamagedError and writes nothing", async () => {
    const { dir } = await exported("damaged");
    const manifest = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8"));
    const section = manifest.threads.find((t: { threadId: string }) => t.threadId === "damaged");
    const data = join(dir, "data.jsonl");
    const bytes = readFileSync(data);
    // One character of a value in the middle of the thread's section, as a bad disk would.
    const at = bytes.indexOf('"b64":"', section.offset + Math.floor(section.bytes / 2)) + 9;
    bytes[at] = bytes[at] === 65 ? 66 : 65;
    writeFileSync(data, bytes);
    const target = createCheckpointer(new FaultyCheckpointBackend());
    const error = await importThreads(target, dir).catch((e) => e);
    expect(error).toBeInstanceOf(ArchiveDamagedError);
    expect(error.message).toContain('thread "damaged"');
    const rows = [];
    for await (const row of target.list({})) rows.push(row);
    expect(rows).toStrictEqual([]);
    const missing = await importThreads(target, join(root, "nowhere")).catch((e) => e);
    expect(missing).toBeInstanceOf(ArchiveDamagedError);
  });

  it("refuses store items kept by reference where the store has large values off", async () => {
    const backend = new MemoryStoreBackend();
    await fillStore(new Store(backend), "refs");
    const dir = join(root, "refs");
    const checkpointer = createCheckpointer(new FaultyCheckpointBackend());
    // Read through a store that keeps no large values: it cannot carry the file.
    const off = new Store(backend, { largeValues: false });
    const exporting = exportThreads(checkpointer, join(root, "refs-off"), {
      all: true,
      store: off,
      storeTenants: ["acme"],
    });
    await expect(exporting).rejects.toMatchObject({
      name: "InvalidInputError",
      message: expect.stringContaining("largeValues: false"),
    });
    await exportThreads(checkpointer, dir, {
      all: true,
      store: new Store(backend),
      storeTenants: ["acme"],
    });
    const target = new Store(new MemoryStoreBackend(), { largeValues: false });
    const importing = await importThreads(checkpointer, dir, { store: target }).catch((e) => e);
    expect(String(importing?.message ?? importing)).toContain("largeValues: false");
    // The item that needs large values is not stored (those before it in the section are).
    expect(await target.forTenant("acme").get(["files", "refs"], "notes.txt")).toBeUndefined();
  });

  it("reports a thread that failed part-way, and a rerun completes it exactly", async () => {
    const { source, dir } = await exported("rerun");
    const backend = new FaultyCheckpointBackend();
    backend.faults.inject("putCheckpoint", "fail-before", { skip: 5, times: 1 });
    const target = createCheckpointer(backend);
    const first = await importThreads(target, dir);
    expect(first.failed).toBe(1);
    expect(first.threads.find((t) => t.status === "failed")?.threadId).toBe("rerun");
    const second = await importThreads(target, dir);
    expect(second.failed).toBe(0);
    expect(second.threads.find((t) => t.threadId === "rerun")?.status).toBe("imported");
    await expectSameThreads(source, target, historyKeys("rerun"));
  });

  it("refuses to merge into a thread that has another history", async () => {
    const { dir } = await exported("foreign");
    const target = createCheckpointer(new FaultyCheckpointBackend(), APPENDING);
    await fillHistory(target, "foreign", 4);
    const result = await importThreads(target, dir);
    const main = result.threads.find((t) => t.threadId === "foreign");
    expect(main?.status).toBe("failed");
    expect(main?.error).toBeInstanceOf(ConflictError);
  });
});
