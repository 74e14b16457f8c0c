/** Conformance cases: atomic batches, conditional puts, bad input that changes nothing. */
import { expect } from "vitest";
import type { StoreOperation } from "../store/store-api.js";
import type { TenantStore } from "../store/tenant-store.js";
import type { StoreCase } from "./store-fixtures.js";

/** The "batch" cases. */
export const batchCases: readonly StoreCase[] = [
  {
    name: "applies operations in order and returns one result each",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      await t.put(["n"], "gone", 0);
      const [put, got, searched, deleted, missing, listed] = await t.batch([
        { op: "put", namespace: ["n"], key: "a", value: { v: 1 } },
        { op: "get", namespace: ["n"], key: "a" },
        { op: "search", namespacePrefix: ["n"], filter: { v: 1 } },
        { op: "delete", namespace: ["n"], key: "gone" },
        { op: "get", namespace: ["n"], key: "gone" },
        { op: "listNamespaces" },
      ]);
      expect(put).toBeUndefined();
      expect(got?.value).toEqual({ v: 1 });
      expect(searched.map((i) => i.key)).toEqual(["a"]);
      expect(deleted).toBe(true);
      expect(missing).toBeUndefined();
      expect(listed).toEqual([["n"]]);
      expect(await t.batch([])).toEqual([]);
    },
  },

  {
    name: "rolls the whole batch back when an operation conflicts",
    async run(ctx) {
      const { store, clock } = await ctx.open();
      const t = store.forTenant("acme");
      await t.put(["n"], "taken", "original", { ttlMs: 1_000 });
      await t.put(["n"], "victim", "kept");
      const before = await snapshot(t);
      clock.advance(500);
      const failing: StoreOperation[] = [
        { op: "put", namespace: ["n"], key: "new", value: 1 },
        { op: "put", namespace: ["n"], key: "victim", value: "overwritten" },
        { op: "get", namespace: ["n"], key: "taken", refreshTtl: true },
        { op: "delete", namespace: ["n"], key: "taken" },
        { op: "put", namespace: ["n"], key: "taken", value: 2 },
        { op: "put", namespace: ["n"], key: "taken", value: 3, ifAbsent: true },
      ];
      await expect(t.batch(failing)).rejects.toMatchObject({ code: "CONFLICT" });
      expect(await snapshot(t)).toEqual(before);
      expect((await t.get(["n"], "taken", { refreshTtl: false }))?.expiresAt?.getTime()).toBe(
        before.find((i) => i.key === "taken")?.expiresAt,
      );
    },
  },

  {
    name: "writes nothing when any operation is invalid",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      await t.put(["n"], "k", "original");
      const before = await snapshot(t);
      const invalid: unknown[] = [
        { op: "put", namespace: [], key: "k", value: 1 },
        { op: "put", namespace: ["n"], key: "k", value: () => 1 },
        { op: "drop", namespace: ["n"], key: "k" },
        { op: "search", namespacePrefix: ["n"], limit: -1 },
        null,
      ];
      for (const bad of invalid) {
        await expect(
          t.batch([
            { op: "put", namespace: ["n"], key: "k", value: "changed" },
            { op: "delete", namespace: ["n"], key: "k" },
            bad as StoreOperation,
          ]),
        ).rejects.toMatchObject({
          name: expect.stringMatching(/InvalidInputError|SerializationError/),
        });
      }
      expect(await snapshot(t)).toEqual(before);
    },
  },

  {
    name: "refuses to overwrite a live item with ifAbsent",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      await t.put(["n"], "k", "first", { ifAbsent: true });
      await expect(t.put(["n"], "k", "second", { ifAbsent: true })).rejects.toMatchObject({
        code: "CONFLICT",
      });
      expect((await t.get(["n"], "k"))?.value).toBe("first");
      await store.forTenant("other").put(["n"], "k", "elsewhere", { ifAbsent: true });
    },
  },
  {
    name: "lets exactly one of concurrent ifAbsent puts win",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      const attempts = await Promise.allSettled(
        Array.from({ length: 8 }, (_, i) => t.put(["n"], "lock", i, { ifAbsent: true })),
      );
      const winners = attempts.flatMap((a, i) => (a.status === "fulfilled" ? [i] : []));
      expect(winners).toHaveLength(1);
      for (const a of attempts) {
        if (a.status === "rejected") expect(a.reason).toMatchObject({ code: "CONFLICT" });
      }
      expect((await t.get(["n"], "lock"))?.value).toBe(winners[0]);
    },
  },
];

/** Namespaces every entry point refuses, by what is wrong with them. */
const BAD_NAMESPACES: [string, unknown][] = [
  ["an empty namespace", []],
  ["a string namespace", "users/u1"],
  ["a number label", ["users", 1]],
  ["a null label", [null]],
  ["an object label", [{}]],
  ["an empty label", ["users", ""]],
  ["a reserved label", ["__rewind_index"]],
  ["a NUL in a label", ["a\u0000b"]],
  ["a lone surrogate", ["\udc00"]],
  ["too many labels", Array.from({ length: 33 }, () => "x")],
  ["a label too long", ["x".repeat(257)]],
];

/** The "bad input" cases. */
export const badInputCases: readonly StoreCase[] = [
  ...BAD_NAMESPACES.map(
    ([title, namespace]): StoreCase => ({
      name: `refuses ${title} with InvalidInputError and changes nothing`,
      async run(ctx) {
        const { store } = await ctx.open();
        const t = store.forTenant("acme");
        await t.put(["users"], "k", "kept");
        const ns = namespace as string[];
        await expect(t.put(ns, "k", 1)).rejects.toMatchObject({ name: "InvalidInputError" });
        await expect(t.get(ns, "k")).rejects.toMatchObject({ code: "INVALID_INPUT" });
        await expect(t.delete(ns, "k")).rejects.toMatchObject({ code: "INVALID_INPUT" });
        expect(await snapshot(t)).toEqual([expect.objectContaining({ key: "k", value: "kept" })]);
      },
    }),
  ),

  {
    name: "refuses bad keys",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      for (const key of ["", 5, null, "k\u0000", "x".repeat(1025)]) {
        await expect(t.put(["n"], key as string, 1)).rejects.toMatchObject({
          code: "INVALID_INPUT",
        });
      }
      expect(await snapshot(t)).toEqual([]);
    },
  },

  {
    name: "refuses oversized and unserializable values and keeps the stored one",
    async run(ctx) {
      const { store } = await ctx.open({ maxValueBytes: 1_000 });
      const t = store.forTenant("acme");
      await t.put(["n"], "k", "kept");
      await expect(t.put(["n"], "k", "x".repeat(1_000))).rejects.toMatchObject({
        name: "InvalidInputError",
      });
      await expect(t.put(["n"], "k", "é".repeat(500))).rejects.toMatchObject({
        code: "INVALID_INPUT",
      });
      const cyclic: Record<string, unknown> = {};
      cyclic.self = cyclic;
      class Unregistered {}
      for (const value of [() => 1, Symbol("s"), cyclic, new Unregistered(), { f: () => 1 }]) {
        await expect(t.put(["n"], "k", value)).rejects.toMatchObject({
          name: "SerializationError",
        });
      }
      expect((await t.get(["n"], "k"))?.value).toBe("kept");
      await t.put(["n"], "k", "x".repeat(990));
    },
  },
];

async function snapshot(t: TenantStore) {
  const items = await t.search([], { limit: 1000, refreshTtl: false });
  return items
    .map((i) => ({
      ...i,
      createdAt: +i.createdAt,
      updatedAt: +i.updatedAt,
      expiresAt: i.expiresAt && +i.expiresAt,
    }))
    .sort((a, b) => (a.key < b.key ? -1 : 1));
}
