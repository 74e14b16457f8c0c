/** Conformance cases: search by prefix with filters and paging, namespace listings. */
import { expect } from "vitest";
import type { StoreFilter } from "../store/store-filter.js";
import type { TenantStore } from "../store/tenant-store.js";
import type { StoreCase, StoreCaseContext } from "./store-fixtures.js";

const PEOPLE: Record<string, unknown> = {
  ann: { age: 31, name: "Ann", profile: { city: "Lyon", zip: "69001" }, vip: true, nick: null },
  bob: { age: 17, name: "Bob", profile: { city: "Paris" }, vip: false },
  cid: { age: 45, name: "cid", profile: { city: "Lyon" }, tags: ["x"] },
  dee: { age: "31", name: "Dee", profile: "Lyon", vip: 1 },
  eve: { age: 31.5, name: "Éve", profile: { city: "Ly" }, since: new Date(0) },
  fay: { name: "\ud83d\ude00 Fay", profile: { city: "\uffff" } },
  gus: "just a string",
  hal: { age: 2e21, name: "Hal", profile: { city: { nested: "Lyon" } } },
};

/** The "search" cases. */
export const searchCases: readonly StoreCase[] = [
  {
    name: "matches prefixes on whole labels only",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      for (const ns of [["a"], ["a", "b"], ["a", "b", "c"], ["ab"], ["ab", "a"], ["b", "a"]]) {
        await t.put(ns, "k", ns.join("/"));
      }
      const values = async (prefix: string[]) =>
        (await t.search(prefix, { limit: 50 })).map((i) => i.value).sort();
      expect(await values(["a"])).toEqual(["a", "a/b", "a/b/c"]);
      expect(await values(["a", "b"])).toEqual(["a/b", "a/b/c"]);
      expect(await values(["ab"])).toEqual(["ab", "ab/a"]);
      expect(await values(["a", "b", "c", "d"])).toEqual([]);
      expect(await values([])).toHaveLength(6);
    },
  },

  {
    name: "orders by most recent update, then namespace and key, and pages with limit and offset",
    async run(ctx) {
      const { store, clock } = await ctx.open();
      const t = store.forTenant("acme");
      await t.put(["n", "b"], "k2", 1);
      await t.put(["n", "b"], "k1", 2);
      await t.put(["n", "a"], "k9", 3);
      clock.advance(10);
      await t.put(["n", "z"], "old-then-new", 4);
      const keys = (await t.search(["n"])).map((i) => i.key);
      expect(keys).toEqual(["old-then-new", "k9", "k1", "k2"]);
      expect((await t.search(["n"], { limit: 2 })).map((i) => i.key)).toEqual(keys.slice(0, 2));
      expect((await t.search(["n"], { limit: 2, offset: 2 })).map((i) => i.key)).toEqual(
        keys.slice(2),
      );
      expect(await t.search(["n"], { offset: 10 })).toEqual([]);
      expect(await t.search(["n"], { limit: 0 })).toEqual([]);
      const many = Array.from({ length: 12 }, (_, i) => ({
        op: "put" as const,
        namespace: ["m"],
        key: `k${i}`,
        value: i,
      }));
      await t.batch(many);
      expect(await t.search(["m"])).toHaveLength(10);
    },
  },
];

/** Filters over {@link PEOPLE} and the keys each must match. */
const FILTERS: [string, StoreFilter, string[]][] = [
  ["top-level equality", { name: "Ann" }, ["ann"]],
  ["nested equality", { "profile.city": "Lyon" }, ["ann", "cid"]],
  ["equality is typed", { age: 31 }, ["ann"]],
  ["string equality is typed", { age: "31" }, ["dee"]],
  ["boolean equality is typed", { vip: true }, ["ann"]],
  ["null matches a stored null only", { nick: null }, ["ann"]],
  ["$eq", { name: { $eq: "Bob" } }, ["bob"]],
  [
    "$ne matches missing fields",
    { "profile.city": { $ne: "Lyon" } },
    ["bob", "dee", "eve", "fay", "gus", "hal"],
  ],
  ["$gt on numbers", { age: { $gt: 31 } }, ["cid", "eve", "hal"]],
  ["$gte on numbers", { age: { $gte: 31 } }, ["ann", "cid", "eve", "hal"]],
  ["$lt on numbers", { age: { $lt: 31 } }, ["bob"]],
  ["$lte with a fraction", { age: { $lte: 31.5 } }, ["ann", "bob", "eve"]],
  ["a range", { age: { $gt: 17, $lt: 45 } }, ["ann", "eve"]],
  ["$gt on strings in code-point order", { name: { $gt: "Zed" } }, ["cid", "eve", "fay"]],
  ["$lt on strings", { name: { $lt: "Bob" } }, ["ann"]],
  ["$gte on strings at the top of the BMP", { "profile.city": { $gte: "\uffff" } }, ["fay"]],
  ["$gt puts astral characters above U+FFFF", { name: { $gt: "\uffff" } }, ["fay"]],
  ["$in", { "profile.city": { $in: ["Paris", "Ly", 3] } }, ["bob", "eve"]],
  ["$in is typed", { age: { $in: ["31", 45] } }, ["cid", "dee"]],
  [
    "$nin matches missing fields",
    { age: { $nin: [31, 17, "31"] } },
    ["cid", "eve", "fay", "gus", "hal"],
  ],
  ["$in with an empty list", { age: { $in: [] } }, []],
  ["$exists true includes null", { nick: { $exists: true } }, ["ann"]],
  ["$exists false", { age: { $exists: false } }, ["fay", "gus"]],
  ["paths do not walk into arrays", { "tags.0": { $exists: true } }, []],
  ["a tagged value (a Date) exists but equals no scalar", { since: { $exists: true } }, ["eve"]],
  ["several fields all hold", { "profile.city": "Lyon", age: { $gte: 40 } }, ["cid"]],
  ["a path through a scalar is missing", { "profile.city": { $exists: false } }, ["dee", "gus"]],
];

/** The "filters" cases. */
export const filterCases: readonly StoreCase[] = [
  ...FILTERS.map(
    ([title, filter, expected]): StoreCase => ({
      name: title,
      async run(ctx) {
        const t = await seeded(ctx);
        const hits = await t.search(["people"], { filter, limit: 100 });
        expect(hits.map((i) => i.key).sort()).toEqual(expected);
      },
    }),
  ),

  {
    name: "refuses malformed filters with a named error",
    async run(ctx) {
      const t = await seeded(ctx);
      const bad: unknown[] = [
        { age: { $regex: "x" } },
        { age: { $gt: true } },
        { since: { $lt: new Date() } },
        { age: Number.NaN },
        { "a..b": 1 },
        { profile: { city: "Lyon" } },
        { age: { $in: "31" } },
        { age: { $exists: 1 } },
        { age: {} },
        "name = 'Ann'",
      ];
      for (const filter of bad) {
        await expect(
          t.search(["people"], { filter: filter as StoreFilter }),
          JSON.stringify(filter),
        ).rejects.toMatchObject({ code: "INVALID_INPUT" });
      }
    },
  },
];

/** The "listNamespaces" cases. */
export const listNamespacesCases: readonly StoreCase[] = [
  {
    name: "lists distinct namespaces with prefix, suffix, depth and paging",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      const all = [
        ["a"],
        ["a", "b"],
        ["a", "b", "c"],
        ["a", "x", "c"],
        ["ab", "c"],
        ["b", "ac"],
        ["b", "c"],
      ];
      for (const ns of all) {
        await t.put(ns, "k1", 1);
        await t.put(ns, "k2", 2);
      }
      expect(await t.listNamespaces()).toEqual(all);
      expect(await t.listNamespaces({ prefix: ["a"] })).toEqual(all.slice(0, 4));
      expect(await t.listNamespaces({ suffix: ["c"] })).toEqual([
        ["a", "b", "c"],
        ["a", "x", "c"],
        ["ab", "c"],
        ["b", "c"],
      ]);
      expect(await t.listNamespaces({ prefix: ["a"], suffix: ["b"] })).toEqual([["a", "b"]]);
      expect(await t.listNamespaces({ maxDepth: 1 })).toEqual([["a"], ["ab"], ["b"]]);
      expect(await t.listNamespaces({ maxDepth: 2, prefix: ["a"] })).toEqual([
        ["a"],
        ["a", "b"],
        ["a", "x"],
      ]);
      expect(await t.listNamespaces({ maxDepth: 1, suffix: ["c"] })).toEqual([
        ["a"],
        ["ab"],
        ["b"],
      ]);
      expect(await t.listNamespaces({ limit: 2, offset: 1 })).toEqual(all.slice(1, 3));
      expect(await t.listNamespaces({ maxDepth: 1, limit: 1, offset: 1 })).toEqual([["ab"]]);
      expect(await t.listNamespaces({ prefix: ["zz"] })).toEqual([]);
      await expect(t.listNamespaces({ maxDepth: 0 })).rejects.toMatchObject({
        code: "INVALID_INPUT",
      });
    },
  },
];

async function seeded(ctx: StoreCaseContext): Promise<TenantStore> {
  const { store } = await ctx.open();
  const t = store.forTenant("acme");
  await t.batch(
    Object.entries(PEOPLE).map(([key, value]) => ({
      op: "put" as const,
      namespace: ["people"],
      key,
      value,
    })),
  );
  // Same values in another tenant and namespace: a filter must never reach them.
  await store.forTenant("other").put(["people"], "ann", PEOPLE.ann);
  await t.put(["peoplex"], "ann", PEOPLE.ann);
  return t;
}
