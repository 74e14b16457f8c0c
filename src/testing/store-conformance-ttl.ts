/** Conformance cases: TTLs under a fake clock, refresh on read, bounded sweeps. */
import { expect } from "vitest";
import type { StoreCase } from "./store-fixtures.js";

/** The "ttl" cases. */
export const ttlCases: readonly StoreCase[] = [
  {
    name: "hides an item the moment it expires",
    async run(ctx) {
      const { store, clock } = await ctx.open({ refreshTtlOnRead: false });
      const t = store.forTenant("acme");
      await t.put(["n", "m"], "k", 1, { ttlMs: 1_000 });
      await t.put(["n", "m"], "keep", 2);
      const item = await t.get(["n", "m"], "k");
      expect(item?.expiresAt?.getTime()).toBe(item!.createdAt.getTime() + 1_000);
      clock.advance(999);
      expect((await t.get(["n", "m"], "k"))?.value).toBe(1);
      clock.advance(1);
      expect(await t.get(["n", "m"], "k")).toBeUndefined();
      expect((await t.search(["n"])).map((i) => i.key)).toEqual(["keep"]);
      expect(await t.delete(["n", "m"], "k")).toBe(false);
      await t.delete(["n", "m"], "keep");
      expect(await t.listNamespaces()).toEqual([]);
    },
  },

  {
    name: "applies the store default unless a put gives its own TTL or null",
    async run(ctx) {
      const { store, clock } = await ctx.open({ defaultTtlMs: 100, refreshTtlOnRead: false });
      const t = store.forTenant("acme");
      await t.put(["n"], "default", 1);
      await t.put(["n"], "long", 2, { ttlMs: 1_000 });
      await t.put(["n"], "forever", 3, { ttlMs: null });
      clock.advance(100);
      expect((await t.search(["n"])).map((i) => i.key).sort()).toEqual(["forever", "long"]);
      clock.advance(10_000_000);
      expect((await t.search(["n"])).map((i) => i.key)).toEqual(["forever"]);
      expect((await t.get(["n"], "forever"))?.expiresAt).toBeUndefined();
    },
  },

  {
    name: "refreshes the TTL on read by default, and not when asked not to",
    async run(ctx) {
      const { store, clock } = await ctx.open();
      const t = store.forTenant("acme");
      await t.put(["n"], "a", 1, { ttlMs: 100 });
      await t.put(["n"], "b", 2, { ttlMs: 100 });
      for (let i = 0; i < 5; i++) {
        clock.advance(60);
        expect((await t.get(["n"], "a"))?.value).toBe(1);
      }
      expect(await t.get(["n"], "b", { refreshTtl: false })).toBeUndefined();
      clock.advance(60);
      const [hit] = await t.search(["n"]);
      expect(hit?.expiresAt?.getTime()).toBe(clock.now() + 100);
      clock.advance(60);
      expect(await t.search(["n"], { refreshTtl: false })).toHaveLength(1);
      clock.advance(60);
      expect(await t.search(["n"])).toEqual([]);
    },
  },

  {
    name: "replaces an expired item as a new one",
    async run(ctx) {
      const { store, clock } = await ctx.open();
      const t = store.forTenant("acme");
      await t.put(["n"], "k", "old", { ttlMs: 10 });
      clock.advance(50);
      await t.put(["n"], "k", "new", { ifAbsent: true });
      const item = await t.get(["n"], "k");
      expect(item?.value).toBe("new");
      expect(item?.createdAt.getTime()).toBe(clock.now());
      expect(item?.expiresAt).toBeUndefined();
    },
  },

  {
    name: "sweeps expired items in bounded steps and never a live one",
    async run(ctx) {
      const { store, clock, backend } = await ctx.open();
      const early = await ctx.open({ backend, refreshTtlOnRead: false });
      const t = store.forTenant("acme");
      const ops = Array.from({ length: 7 }, (_, i) => ({
        op: "put" as const,
        namespace: ["n"],
        key: `short${i}`,
        value: i,
        ttlMs: 10,
      }));
      await t.batch([...ops, { op: "put", namespace: ["n"], key: "long", value: 0, ttlMs: 1e9 }]);
      await store.forTenant("other").put(["n"], "short", 0, { ttlMs: 10 });
      await t.put(["n"], "forever", 0);
      clock.advance(10);
      expect(await store.sweepExpired({ limit: 3 })).toBe(3);
      // Through a clock that has not reached the expiry, the rows still on disk are visible.
      const onDisk = async () =>
        (await early.store.forTenant("acme").search(["n"], { limit: 100 })).length +
        (await early.store.forTenant("other").search(["n"])).length;
      expect(await onDisk()).toBe(10 - 3);
      expect(await store.sweepExpired({ limit: 3 })).toBe(3);
      expect(await store.sweepExpired({ limit: 3 })).toBe(2);
      expect(await store.sweepExpired({ limit: 3 })).toBe(0);
      expect(await early.store.forTenant("other").get(["n"], "short")).toBeUndefined();
      const left = await early.store.forTenant("acme").search(["n"], { limit: 100 });
      expect(left.map((i) => i.key).sort()).toEqual(["forever", "long"]);
    },
  },

  {
    name: "refuses TTLs that are not positive numbers",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      for (const ttlMs of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "10"]) {
        await expect(t.put(["n"], "k", 1, { ttlMs: ttlMs as number })).rejects.toMatchObject({
          code: "INVALID_INPUT",
        });
      }
      expect(await t.get(["n"], "k")).toBeUndefined();
    },
  },
];
