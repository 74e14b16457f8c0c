/**
 * Conformance cases: round trips, replacing and deleting, exact namespaces, metacharacters in
 * labels and keys, fixed tenant-isolation cases, lifecycle.
 */
import { expect } from "vitest";
import { isRewindError } from "../errors.js";
import type { StoreCase } from "./store-fixtures.js";

/** Labels and keys that break naive encodings: separators, LIKE/GLOB and quoting characters. */
export const NASTY_STRINGS: readonly string[] = [
  "%",
  "_",
  "\\",
  "'",
  '"',
  "*",
  "?",
  "[a]",
  ".",
  ":",
  "/",
  "|",
  "\u0001",
  "\u0002",
  "a\u0001b",
  "%_\\",
  "' OR '1'='1",
  "é",
  "😀",
  "\uffff",
];

/** The "items" cases. */
export const itemCases: readonly StoreCase[] = [
  {
    name: "round-trips values through the serializer, Dates and Maps included",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      const value = {
        since: new Date("2024-02-03T04:05:06.789Z"),
        tags: new Set(["a", "b"]),
        scores: new Map([["x", 1n]]),
        raw: new Uint8Array([0, 255, 128]),
        nested: { list: [1, "two", null, undefined], nul: "a\u0000b" },
      };
      await t.put(["users", "u1"], "prefs", value);
      const item = await t.get(["users", "u1"], "prefs");
      expect(item?.value).toEqual(value);
      expect((item!.value as typeof value).since).toBeInstanceOf(Date);
      expect(item?.namespace).toEqual(["users", "u1"]);
      expect(item?.key).toBe("prefs");
      expect(item?.createdAt).toBeInstanceOf(Date);
      expect(item?.expiresAt).toBeUndefined();
      for (const scalar of ["text", 42, null, true, undefined]) {
        await t.put(["scalars"], String(scalar), scalar);
        expect((await t.get(["scalars"], String(scalar)))?.value).toEqual(scalar);
      }
    },
  },

  {
    name: "keeps createdAt and moves updatedAt when an item is replaced",
    async run(ctx) {
      const { store, clock } = await ctx.open();
      const t = store.forTenant("acme");
      await t.put(["n"], "k", { v: 1 });
      const first = await t.get(["n"], "k");
      clock.advance(5_000);
      await t.put(["n"], "k", { v: 2 });
      const second = await t.get(["n"], "k");
      expect(second?.value).toEqual({ v: 2 });
      expect(second?.createdAt).toEqual(first?.createdAt);
      expect(second!.updatedAt.getTime() - first!.updatedAt.getTime()).toBe(5_000);
    },
  },

  {
    name: "returns undefined for a missing item and reports whether a delete removed one",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      expect(await t.get(["n"], "missing")).toBeUndefined();
      await t.put(["n"], "k", 1);
      expect(await t.delete(["n"], "k")).toBe(true);
      expect(await t.get(["n"], "k")).toBeUndefined();
      expect(await t.delete(["n"], "k")).toBe(false);
    },
  },

  {
    name: "treats namespaces as exact label lists",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      await t.put(["a"], "k", "a");
      await t.put(["a", "b"], "k", "a/b");
      await t.put(["ab"], "k", "ab");
      await t.put(["a:b"], "k", "a:b");
      expect((await t.get(["a"], "k"))?.value).toBe("a");
      expect((await t.get(["a", "b"], "k"))?.value).toBe("a/b");
      expect((await t.get(["ab"], "k"))?.value).toBe("ab");
      expect((await t.get(["a:b"], "k"))?.value).toBe("a:b");
      expect(await t.get(["b"], "k")).toBeUndefined();
      await t.delete(["a"], "k");
      expect((await t.get(["a", "b"], "k"))?.value).toBe("a/b");
    },
  },

  {
    name: "stores labels and keys holding separators and SQL/LIKE/GLOB metacharacters verbatim",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      for (const s of NASTY_STRINGS) await t.put([s, s], s, s);
      for (const s of NASTY_STRINGS) {
        expect((await t.get([s, s], s))?.value).toBe(s);
        const hits = await t.search([s], { limit: 100 });
        expect(hits.map((h) => h.key)).toEqual([s]);
        expect(hits[0]?.namespace).toEqual([s, s]);
      }
      const namespaces = await t.listNamespaces({ limit: 100 });
      expect(namespaces).toHaveLength(NASTY_STRINGS.length);
      expect(new Set(namespaces.map((ns) => ns[0]))).toEqual(new Set(NASTY_STRINGS));
    },
  },
];

/** The "tenants" cases. */
export const tenantCases: readonly StoreCase[] = [
  {
    name: "keeps the same namespace and key apart in different tenants",
    async run(ctx) {
      const { store } = await ctx.open();
      const a = store.forTenant("a");
      const a1 = store.forTenant("a\u0001");
      const pct = store.forTenant("%");
      await a.put(["n"], "k", "from a");
      await a1.put(["n"], "k", "from a\\1");
      expect((await a.get(["n"], "k"))?.value).toBe("from a");
      expect((await a1.get(["n"], "k"))?.value).toBe("from a\\1");
      expect(await pct.get(["n"], "k")).toBeUndefined();
      expect(await pct.search([])).toEqual([]);
      expect(await pct.listNamespaces()).toEqual([]);
      expect(await pct.delete(["n"], "k")).toBe(false);
      expect(await a1.delete(["n"], "k")).toBe(true);
      expect((await a.get(["n"], "k"))?.value).toBe("from a");
    },
  },

  {
    name: "keeps the unscoped space apart from every tenant",
    async run(ctx) {
      const { store } = await ctx.open();
      const shared = store.unscoped();
      expect(shared.tenantId).toBeUndefined();
      await shared.put(["config"], "k", "shared");
      await store.forTenant("t").put(["config"], "k", "tenant");
      expect((await shared.get(["config"], "k"))?.value).toBe("shared");
      expect((await store.forTenant("t").get(["config"], "k"))?.value).toBe("tenant");
      expect((await shared.search([])).map((i) => i.value)).toEqual(["shared"]);
      expect(() => store.forTenant("")).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
    },
  },

  {
    name: "refuses tenant ids that are not non-empty well-formed strings",
    async run(ctx) {
      const { store } = await ctx.open();
      for (const bad of ["", "a\u0000", "\ud800", 7, null, undefined, ["a"]]) {
        expect(() => store.forTenant(bad as string)).toThrow(
          expect.objectContaining({ code: "INVALID_INPUT" }),
        );
      }
    },
  },
];

/** The "lifecycle" cases. */
export const lifecycleCases: readonly StoreCase[] = [
  {
    name: "sets up lazily, closes twice, and refuses calls after close",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      await Promise.all([t.put(["n"], "a", 1), t.put(["n"], "b", 2), store.ready()]);
      expect((await t.search(["n"])).length).toBe(2);
      await store.close();
      await store.close();
      const error = await t.get(["n"], "a").catch((e: unknown) => e);
      expect(isRewindError(error, "CLOSED")).toBe(true);
      await expect(store.sweepExpired()).rejects.toMatchObject({ code: "CLOSED" });
    },
  },
  {
    name: "close() lets the calls made before it finish",
    async run(ctx) {
      // An embedding that answers a little later keeps a put under way while close() runs.
      const embed = async (texts: readonly string[]) => {
        await new Promise((resolve) => setTimeout(resolve, 50));
        return texts.map(() => [1, 0, 0]);
      };
      const { store } = await ctx.open({ index: { dims: 3, embed } });
      const t = store.forTenant("acme");
      await t.put(["n"], "a", 1);
      await t.put(["n"], "c", 3);
      // Calls made together run in no set order (on PostgreSQL each may take a connection of
      // its own): the get and the delete touch different items.
      const under = [
        t.put(["n"], "b", { text: "slow to embed" }),
        t.get(["n"], "a"),
        t.delete(["n"], "c"),
        t.search(["n"]),
      ];
      await store.close();
      const settled = await Promise.allSettled(under);
      expect(settled.map((r) => r.status)).toEqual(under.map(() => "fulfilled"));
      expect((settled[1] as PromiseFulfilledResult<{ value: unknown }>).value.value).toBe(1);
    },
  },
];
