/**
 * What a user notices when the store's storage fails, on every backend of the registry wrapped
 * in the fault-injecting backend: a named error, and a batch that is either all there or not at
 * all, never half-written.
 */
import { afterEach, describe, expect, it } from "vitest";
import {
  appendChannel,
  createCheckpointer,
  isRewindError,
  MemoryBackend,
  NodeFailedError,
  START,
  StateGraph,
} from "../../src/index.js";
import { createStore, type Store } from "../../src/store/store.js";
import type { StoreBackend } from "../../src/store/store-backend.js";
import type { TenantStore } from "../../src/store/tenant-store.js";
import { FaultyStoreBackend, InjectedFault } from "../../src/testing/index.js";
import { BACKENDS, type TestBackend } from "../support/backends.js";

const opened: { backend: TestBackend; inner: StoreBackend; store: Store }[] = [];
afterEach(async () => {
  for (const { backend, inner, store } of opened.splice(0)) {
    await store.close();
    await backend.stores.destroy?.(inner);
  }
});

async function setup(backend: TestBackend) {
  const inner = await backend.stores.create();
  const faulty = new FaultyStoreBackend(inner);
  const store = createStore(faulty);
  opened.push({ backend, inner, store });
  return { store, faulty, acme: store.forTenant("acme") };
}

/** Every item of the tenant, as key -> value. */
async function contents(t: TenantStore): Promise<Record<string, unknown>> {
  const items = await t.search([], { limit: 100, refreshTtl: false });
  return Object.fromEntries(items.map((i) => [i.key, i.value]));
}

const BATCH = [
  { op: "put" as const, namespace: ["n"], key: "a", value: { v: "new a" } },
  { op: "put" as const, namespace: ["n"], key: "b", value: { v: "new b" } },
  { op: "delete" as const, namespace: ["n"], key: "gone" },
];

function expectStorageError(error: unknown): void {
  expect(isRewindError(error, "STORAGE")).toBe(true);
  expect((error as Error).cause).toBeInstanceOf(InjectedFault);
}

for (const backend of BACKENDS) {
  describe(`store faults on ${backend.name}`, () => {
    it("a batch that fails before storage is a StorageError and writes none of its operations", async () => {
      const { faulty, acme } = await setup(backend);
      await acme.put(["n"], "gone", { v: "old" });
      const before = await contents(acme);
      const rule = faulty.faults.inject("batch", "fail-before");
      const error = await acme.batch(BATCH).catch((e: unknown) => e);
      expect(rule.hits).toBe(1);
      expectStorageError(error);
      expect(await contents(acme)).toEqual(before);
    });

    it("a batch that fails after storage committed it is there whole: every operation, not part", async () => {
      const { faulty, acme } = await setup(backend);
      await acme.put(["n"], "gone", { v: "old" });
      const rule = faulty.faults.inject("batch", "fail-after");
      const error = await acme.batch(BATCH).catch((e: unknown) => e);
      expect(rule.hits).toBe(1);
      expectStorageError(error);
      expect(await contents(acme)).toEqual({ a: { v: "new a" }, b: { v: "new b" } });
    });

    it("a node whose store batch fails fails the run by name; nothing is half-written; the resumed run writes it once", async () => {
      const { store, faulty, acme } = await setup(backend);
      let runs = 0;
      const app = new StateGraph({ log: appendChannel<string>() })
        .addNode("remember", async (_s, ctx) => {
          runs++;
          await ctx.store.batch(BATCH);
          return { log: "remembered" };
        })
        .addEdge(START, "remember")
        .compile({ checkpointer: createCheckpointer(new MemoryBackend()), store });
      await acme.put(["n"], "gone", { v: "old" });
      const rule = faulty.faults.inject("batch", "fail-before");
      const error = await app
        .invoke({}, { threadId: "t", tenantId: "acme" })
        .catch((e: unknown) => e);
      expect(rule.hits).toBe(1);
      expect(error).toBeInstanceOf(NodeFailedError);
      expectStorageError((error as Error).cause);
      expect(await contents(acme)).toEqual({ gone: { v: "old" } });

      const done = await app.invoke(null, { threadId: "t", tenantId: "acme" });
      expect(done.values.log).toEqual(["remembered"]);
      expect(runs).toBe(2);
      expect(await contents(acme)).toEqual({ a: { v: "new a" }, b: { v: "new b" } });
    });

    it("a torn read is a named error, never a wrong value, and the item is intact after", async () => {
      const { faulty, acme } = await setup(backend);
      const value = { name: "Ann", tags: ["a", "b"], since: new Date(0) };
      await acme.put(["n"], "k", value);
      const rule = faulty.faults.inject("batch", "tear", { times: 2 });
      const got = await acme.get(["n"], "k").catch((e: unknown) => e);
      const found = await acme.search(["n"]).catch((e: unknown) => e);
      expect(rule.hits).toBe(2);
      expect(got).toMatchObject({ name: "SerializationError", code: "SERIALIZATION" });
      expect(found).toMatchObject({ name: "SerializationError", code: "SERIALIZATION" });
      expect((await acme.get(["n"], "k"))?.value).toEqual(value);
    });
  });
}
