/**
 * Tenant isolation as a property: random tenants, namespaces and keys drawn from separators,
 * escapes, quotes and LIKE/GLOB wildcards; every get, search, listing and delete, through every
 * tenant (and the unscoped view), must answer exactly what a per-tenant model says. So no
 * operation ever returns, lists or deletes another tenant's item.
 */
import { expect } from "vitest";
import { importOptionalPeer } from "../optional-peer.js";
import { compareCodePoints } from "../store/namespace-path.js";
import type { StoreOperation } from "../store/store-api.js";
import type { TenantStore } from "../store/tenant-store.js";
import type { StoreCase } from "./store-fixtures.js";

type FastCheck = typeof import("fast-check");

/** The random scenarios; fast-check is an optional peer, loaded only when the property runs. */
function scenarios(fc: FastCheck) {
  const unit = fc.constantFrom(
    ..."ab%_\\'\"*?[]:/.| é😀".split(/(?:)/u),
    "\u0001",
    "\u0002",
    "a\u0001",
  );
  const text = fc.string({ unit, minLength: 1, maxLength: 4 });
  const namespace = fc.array(text, { minLength: 1, maxLength: 3 });
  return fc.record({
    tenants: fc.uniqueArray(text, { minLength: 2, maxLength: 3 }),
    puts: fc.array(fc.record({ tenant: fc.nat(), namespace, key: text, batched: fc.boolean() }), {
      minLength: 1,
      maxLength: 8,
    }),
    deletes: fc.array(fc.record({ tenant: fc.nat(), put: fc.nat() }), { maxLength: 4 }),
    probes: fc.array(namespace, { maxLength: 2 }),
  });
}

type Key = { namespace: string[]; key: string };

/** The "tenant isolation (property)" cases. */
export const tenantIsolationPropertyCases: readonly StoreCase[] = [
  {
    name: "answers every tenant exactly from its own items",
    async run(ctx) {
      const fc = await importOptionalPeer(
        "fast-check",
        "the tenant-isolation property of rewind/testing",
        () => import("fast-check"),
      );
      const { store } = await ctx.open({ refreshTtlOnRead: false });
      let run = 0;
      await fc.assert(
        fc.asyncProperty(scenarios(fc), async (s) => {
          // A per-case tag keeps cases apart; within a case tenants differ only randomly.
          const tag = `${run++}:`;
          const views = [...s.tenants.map((t) => store.forTenant(tag + t)), store.unscoped()];
          const model = new Map<string, { view: number } & Key & { value: string }>();
          const id = (view: number, k: Key) => JSON.stringify([view, k.namespace, k.key]);
          const unscopedTag = `${tag}unscoped`;
          // Batched puts are stored after the direct ones, so the model learns them then too.
          const pending = views.map(() => [] as (Key & { value: string })[]);
          for (const [i, p] of s.puts.entries()) {
            const view = p.tenant % views.length;
            const value = `${view === views.length - 1 ? unscopedTag : tag}${view}#${i}`;
            const entry = { namespace: p.namespace, key: p.key, value };
            if (p.batched) pending[view]!.push(entry);
            else {
              await views[view]!.put(p.namespace, p.key, value);
              model.set(id(view, p), { view, ...entry });
            }
          }
          for (const [view, entries] of pending.entries()) {
            await views[view]!.batch(entries.map((e) => ({ op: "put" as const, ...e })));
            for (const e of entries) model.set(id(view, e), { view, ...e });
          }
          for (const d of s.deletes) {
            const view = d.tenant % views.length;
            const target = s.puts[d.put % s.puts.length]!;
            const existed = model.delete(id(view, target));
            expect(await views[view]!.delete(target.namespace, target.key)).toBe(existed);
          }
          const prefixes = uniquePrefixes([...s.puts.map((p) => p.namespace), ...s.probes]);
          try {
            for (const [view, t] of views.entries()) {
              const own = [...model.values()].filter((m) => m.view === view);
              await checkView(t, own, s.puts, prefixes);
            }
          } finally {
            // The unscoped space is shared by all cases: empty it for the next one.
            const shared = views.at(-1)!;
            const left = await shared.search([], { limit: 1000 });
            await shared.batch(
              left.map((i) => ({ op: "delete" as const, namespace: i.namespace, key: i.key })),
            );
          }
        }),
        { numRuns: ctx.propertyRuns },
      );
    },
  },
];

async function checkView(
  t: TenantStore,
  own: readonly (Key & { value: string })[],
  probes: readonly Key[],
  prefixes: readonly string[][],
): Promise<void> {
  const ops: StoreOperation[] = [
    ...probes.map((p) => ({ op: "get" as const, namespace: p.namespace, key: p.key })),
    ...prefixes.map((prefix) => ({ op: "search" as const, namespacePrefix: prefix, limit: 1000 })),
    ...prefixes.map((prefix) => ({ op: "listNamespaces" as const, prefix, limit: 1000 })),
    ...prefixes
      .filter((p) => p.length > 0)
      .map((suffix) => ({ op: "listNamespaces" as const, suffix, maxDepth: 1, limit: 1000 })),
  ];
  const results = await t.batch(ops);
  const expected: unknown[] = [
    ...probes.map((p) => own.find((m) => sameKey(m, p))?.value),
    ...prefixes.map((prefix) => sortedValues(own.filter((m) => startsWith(m.namespace, prefix)))),
    ...prefixes.map((prefix) =>
      distinct(own.filter((m) => startsWith(m.namespace, prefix)).map((m) => m.namespace)),
    ),
    ...prefixes
      .filter((p) => p.length > 0)
      .map((suffix) =>
        distinct(
          own.filter((m) => endsWith(m.namespace, suffix)).map((m) => m.namespace.slice(0, 1)),
        ),
      ),
  ];
  const actual = results.map((result, i) => {
    const op = ops[i]!;
    if (op.op === "get") return (result as { value: unknown } | undefined)?.value;
    if (op.op === "search") return sortedValues(result as { value: unknown }[]);
    return result;
  });
  expect(actual).toEqual(expected);
}

function uniquePrefixes(namespaces: readonly string[][]): string[][] {
  const seen = new Map<string, string[]>([["[]", []]]);
  for (const ns of namespaces) {
    for (let n = 1; n <= ns.length; n++) seen.set(JSON.stringify(ns.slice(0, n)), ns.slice(0, n));
  }
  return [...seen.values()];
}

function sameKey(a: Key, b: Key): boolean {
  return a.key === b.key && JSON.stringify(a.namespace) === JSON.stringify(b.namespace);
}

function startsWith(ns: readonly string[], prefix: readonly string[]): boolean {
  return prefix.length <= ns.length && prefix.every((label, i) => ns[i] === label);
}

function endsWith(ns: readonly string[], suffix: readonly string[]): boolean {
  const offset = ns.length - suffix.length;
  return offset >= 0 && suffix.every((label, i) => ns[offset + i] === label);
}

function sortedValues(items: readonly { value: unknown }[]): unknown[] {
  return items.map((i) => i.value).sort();
}

/** Distinct namespaces in the store's order: label by label, in code-point order. */
function distinct(namespaces: readonly string[][]): string[][] {
  const unique = new Map(namespaces.map((ns) => [JSON.stringify(ns), ns]));
  return [...unique.values()].sort((a, b) => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) {
      const order = compareCodePoints(a[i]!, b[i]!);
      if (order !== 0) return order;
    }
    return a.length - b.length;
  });
}
