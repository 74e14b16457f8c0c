/**
 * Conformance cases: large values in store items. Long strings of a value are kept once per
 * tenant by hash and put back on read; filters on the other fields still work; collection
 * removes only what no item references; a missing value is named; a store without large values
 * refuses an item that holds one by reference.
 */
import { expect } from "vitest";
import { collectLargeValues, largeValueStats } from "../checkpoint/large-value-gc.js";
import type { StoredItem } from "../store/store-backend.js";
import type { StoreCase } from "./store-fixtures.js";

/** Values of 1 KiB or more are kept by reference in these cases. */
const LARGE = { thresholdBytes: 1024 } as const;

/** A long string with characters JSON escapes, quotes and non-ASCII in it. */
function longText(seed: string, chars = 4000): string {
  let text = `${seed} "quoted" back\\slash new\nline é 中 😀 `;
  while (text.length < chars) text += `${seed}-${text.length};`;
  return text;
}

/** An item as the backend holds it (no TTL refresh). */
async function rawItem(
  backend: { batch: (ops: never[], now: number) => Promise<unknown[]> },
  tenant: string,
  namespace: string[],
  key: string,
): Promise<StoredItem | undefined> {
  const [item] = await backend.batch(
    [{ kind: "get", tenant, namespace, key, refreshTtl: false } as never],
    Date.now(),
  );
  return item as StoredItem | undefined;
}

/** The "large values" cases. */
export const largeValueCases: readonly StoreCase[] = [
  {
    name: "keeps each long string once by hash and reads every item back exactly",
    async run(ctx) {
      const { store, backend } = await ctx.open({ largeValues: LARGE });
      const t = store.forTenant("acme");
      const file = longText("file");
      const bytes = new Uint8Array(3000).map((_, i) => (i * 7) % 256);
      const first = { title: "report", body: file, size: file.length, tags: ["a", "b"] };
      const second = { title: "copy", body: file, image: bytes, nested: { body: file } };
      await t.put(["docs"], "first", first);
      await t.put(["docs", "more"], "second", second);
      await t.put(["docs"], "small", { title: "small", body: "short" });
      await t.put(["docs"], "top", file);
      expect((await t.get(["docs"], "first"))?.value).toEqual(first);
      expect((await t.get(["docs", "more"], "second"))?.value).toEqual(second);
      expect((await t.get(["docs"], "top"))?.value).toBe(file);
      // The rows hold references: a short text and the hashes it names.
      const raw = await rawItem(backend as never, "acme", ["docs", "more"], "second");
      expect(raw!.value.length).toBeLessThan(600);
      expect(raw!.refs).toHaveLength(2);
      expect((await rawItem(backend as never, "acme", ["docs"], "small"))!.refs).toBeUndefined();
      // One file in three items (twice in one of them): stored once; the image once.
      const stats = await largeValueStats(store);
      expect(stats.values).toBe(2);
      expect(stats.references).toBe(4);
      // Filters on the fields kept in the row still work; search puts values back.
      const found = await t.search(["docs"], { filter: { title: "copy" } });
      expect(found.map((item) => item.value)).toEqual([second]);
      expect((await t.search(["docs"], { filter: { size: file.length } }))[0]?.value).toEqual(
        first,
      );
    },
  },

  {
    name: "names one tenant's values apart from another's, and neither reads the other's",
    async run(ctx) {
      const { store, backend } = await ctx.open({ largeValues: LARGE });
      const file = longText("shared");
      await store.forTenant("acme").put(["docs"], "k", { body: file });
      await store.forTenant("globex").put(["docs"], "k", { body: file });
      const acme = await rawItem(backend as never, "acme", ["docs"], "k");
      const globex = await rawItem(backend as never, "globex", ["docs"], "k");
      expect(acme!.refs![0]).not.toBe(globex!.refs![0]);
      expect((await largeValueStats(store)).values).toBe(2);
      await store.forTenant("acme").delete(["docs"], "k");
      await collectLargeValues(store, { graceMs: 0, tenant: "acme" });
      expect((await store.forTenant("globex").get(["docs"], "k"))?.value).toEqual({ body: file });
      expect(await store.forTenant("acme").get(["docs"], "k")).toBeUndefined();
    },
  },

  {
    name: "collects a value once no item references it, and only after the grace period",
    async run(ctx) {
      const { store, clock } = await ctx.open({ largeValues: LARGE });
      const t = store.forTenant("acme");
      const kept = longText("kept");
      const dropped = longText("dropped");
      await t.put(["n"], "a", { body: kept });
      await t.put(["n"], "b", { body: kept, other: dropped });
      await t.put(["n"], "b", { body: kept });
      const now = clock.now();
      expect(await collectLargeValues(store, { now, graceMs: 60_000 })).toMatchObject({
        values: 2,
        removed: 0,
      });
      const report = await collectLargeValues(store, { now: now + 60_001, graceMs: 60_000 });
      expect(report).toMatchObject({ values: 2, removed: 1 });
      expect((await t.get(["n"], "b"))?.value).toEqual({ body: kept });
      await t.delete(["n"], "a");
      await t.put(["n"], "b", { body: "small now" });
      expect(await collectLargeValues(store, { graceMs: 0 })).toMatchObject({ removed: 1 });
      expect((await largeValueStats(store)).values).toBe(0);
    },
  },

  {
    name: "names the item whose value is missing, and refuses it without large values",
    async run(ctx) {
      const { store, backend } = await ctx.open({ largeValues: LARGE });
      const t = store.forTenant("acme");
      await t.put(["n"], "gone", { body: longText("gone") });
      await t.put(["n"], "kept", { body: longText("kept") });
      const raw = await rawItem(backend as never, "acme", ["n"], "gone");
      await store.largeValues!.target.remove("acme", raw!.refs![0]!, Number.MAX_SAFE_INTEGER);
      await expect(t.get(["n"], "gone")).rejects.toMatchObject({
        name: "CorruptionError",
        message: expect.stringContaining('"gone"'),
      });
      const plain = (await ctx.open({ backend, largeValues: false })).store.forTenant("acme");
      await expect(plain.get(["n"], "kept")).rejects.toMatchObject({
        name: "StorageError",
        message: expect.stringContaining("largeValues: false"),
      });
      // A store without large values keeps long strings in the row.
      await plain.put(["n"], "inline", { body: longText("inline") });
      expect((await rawItem(backend as never, "acme", ["n"], "inline"))!.refs).toBeUndefined();
      expect((await t.get(["n"], "inline"))?.value).toEqual({ body: longText("inline") });
    },
  },
];
