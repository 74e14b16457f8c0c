/** Conformance cases: semantic search with a pluggable (here, keyword-counting) embedding. */
import { expect } from "vitest";
import type { StoreIndexConfig } from "../store/store-vectors.js";
import type { StoreCase } from "./store-fixtures.js";

const WORDS = ["cat", "dog", "fish"];

/** A deterministic embedding: how often each of {@link WORDS} occurs; records every call. */
function keywordIndex(calls: string[][] = []): StoreIndexConfig {
  return {
    dims: WORDS.length,
    fields: ["text"],
    embed: async (texts) => {
      calls.push([...texts]);
      return texts.map((text) => WORDS.map((w) => text.split(w).length - 1));
    },
  };
}

/** The "semantic search" cases. */
export const semanticSearchCases: readonly StoreCase[] = [
  {
    name: "ranks by similarity to the query, then recency and key, with scores",
    async run(ctx) {
      const calls: string[][] = [];
      const { store, clock } = await ctx.open({ index: keywordIndex(calls) });
      const t = store.forTenant("acme");
      await t.batch([
        { op: "put", namespace: ["pets"], key: "a", value: { text: "cat cat" } },
        { op: "put", namespace: ["pets"], key: "b", value: { text: "cat dog" } },
        { op: "put", namespace: ["pets"], key: "c", value: { text: "dog" } },
      ]);
      clock.advance(10);
      await t.put(["pets"], "d", { text: "fish" });
      expect(calls).toEqual([["cat cat", "cat dog", "dog"], ["fish"]]);
      const hits = await t.search(["pets"], { query: "cat" });
      expect(hits.map((i) => i.key)).toEqual(["a", "b", "d", "c"]);
      const scores = hits.map((i) => i.score ?? Number.NaN);
      expect(scores[0]).toBeCloseTo(1, 6);
      expect(scores[1]).toBeCloseTo(Math.SQRT1_2, 6);
      expect(scores.slice(2)).toEqual([0, 0]);
      expect(hits[0]?.value).toEqual({ text: "cat cat" });
      const page = await t.search(["pets"], { query: "cat", limit: 2, offset: 1 });
      expect(page.map((i) => i.key)).toEqual(["b", "d"]);
      expect((await t.search(["pets"])).every((i) => i.score === undefined)).toBe(true);
    },
  },

  {
    name: "stays within the prefix, the filter and the tenant",
    async run(ctx) {
      const { store } = await ctx.open({ index: keywordIndex() });
      const t = store.forTenant("acme");
      await t.put(["pets", "home"], "a", { text: "cat", indoor: true });
      await t.put(["pets", "home"], "b", { text: "cat dog", indoor: false });
      await t.put(["petsx"], "c", { text: "cat" });
      await store.forTenant("other").put(["pets", "home"], "z", { text: "cat" });
      const keys = async (filter?: Record<string, unknown>) =>
        (await t.search(["pets"], { query: "cat", filter: filter as never })).map((i) => i.key);
      expect(await keys()).toEqual(["a", "b"]);
      expect(await keys({ indoor: false })).toEqual(["b"]);
    },
  },

  {
    name: "leaves out items with nothing to embed, or put with index: false",
    async run(ctx) {
      const { store } = await ctx.open({ index: keywordIndex() });
      const t = store.forTenant("acme");
      await t.put(["n"], "indexed", { text: "cat" });
      await t.put(["n"], "no-text", { title: "cat" });
      await t.put(["n"], "opted-out", { text: "cat" }, { index: false });
      await t.put(["n"], "own-fields", { title: "cat cat", text: "dog" }, { index: ["title"] });
      const hits = await t.search(["n"], { query: "cat" });
      expect(hits.map((i) => i.key)).toEqual(["indexed", "own-fields"]);
      expect(await t.search(["n"], { limit: 10 })).toHaveLength(4);
    },
  },

  {
    name: "stores nothing when embedding fails or answers the wrong shape",
    async run(ctx) {
      for (const embed of [
        async () => {
          throw new Error("embedding service down");
        },
        async (texts: readonly string[]) => texts.map(() => [1, 2]),
        async () => [[1, 0, 0]],
      ]) {
        const { store } = await ctx.open({ index: { dims: 3, embed } });
        const t = store.forTenant("acme");
        await expect(
          t.batch([
            { op: "put", namespace: ["n"], key: "a", value: "cat" },
            { op: "put", namespace: ["n"], key: "b", value: "dog" },
          ]),
        ).rejects.toMatchObject({ name: "StorageError" });
        expect(await t.search(["n"])).toEqual([]);
      }
    },
  },

  {
    name: "refuses a query on a store without an index",
    async run(ctx) {
      const { store } = await ctx.open();
      const t = store.forTenant("acme");
      await expect(t.search(["n"], { query: "cat" })).rejects.toMatchObject({
        name: "InvalidInputError",
      });
    },
  },
];
