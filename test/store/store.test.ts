import { describe, expect, it, vi } from "vitest";
import { MemoryStoreBackend } from "../../src/backends/memory/memory-store.js";
import { Store } from "../../src/store/store.js";
import type { StoreBackend } from "../../src/store/store-backend.js";

/** A real memory backend that counts sweeps and can fail its first setup or every sweep. */
function countingBackend(options: { failSetupOnce?: boolean; failSweeps?: boolean } = {}) {
  const inner = new MemoryStoreBackend();
  const counts = { setups: 0, sweeps: 0 };
  const backend: StoreBackend = {
    name: "counting",
    async setup() {
      counts.setups++;
      if (options.failSetupOnce && counts.setups === 1) throw new Error("disk unplugged");
    },
    batch: (ops, now) => inner.batch(ops, now),
    async sweepExpired(now, limit) {
      counts.sweeps++;
      if (options.failSweeps) throw new Error("sweep refused");
      return inner.sweepExpired(now, limit);
    },
    close: () => inner.close(),
  };
  return { backend, counts };
}

describe("Store wrapper", () => {
  it("sweeps expired items in the background in bounded steps, and stops on close", async () => {
    const { backend, counts } = countingBackend();
    let now = 0;
    const store = new Store(backend, { now: () => now, sweepIntervalMs: 5, sweepLimit: 2 });
    const before = new Store(backend, { now: () => 0, refreshTtlOnRead: false });
    const t = store.forTenant("acme");
    await t.batch(
      Array.from({ length: 5 }, (_, i) => ({
        op: "put" as const,
        namespace: ["n"],
        key: `k${i}`,
        value: i,
        ttlMs: 10,
      })),
    );
    await t.put(["n"], "forever", 0);
    now = 100;
    await vi.waitFor(
      async () => {
        const left = await before.forTenant("acme").search(["n"]);
        expect(left.map((i) => i.key)).toEqual(["forever"]);
      },
      { timeout: 10_000, interval: 10 },
    );
    expect(counts.sweeps).toBeGreaterThanOrEqual(3);
    await store.close();
    const sweeps = counts.sweeps;
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(counts.sweeps).toBe(sweeps);
  });

  it("reports background sweep failures to onSweepError", async () => {
    const { backend } = countingBackend({ failSweeps: true });
    const errors: unknown[] = [];
    const store = new Store(backend, {
      sweepIntervalMs: 5,
      onSweepError: (error) => errors.push(error),
    });
    await store.ready();
    await vi.waitFor(() => expect(errors.length).toBeGreaterThan(0), { timeout: 10_000 });
    expect(errors[0]).toMatchObject({ name: "StorageError", message: /sweep refused/ });
    await store.close();
  });

  it("retries a failed setup on the next call and wraps driver errors as StorageError", async () => {
    const { backend, counts } = countingBackend({ failSetupOnce: true });
    const store = new Store(backend);
    const t = store.forTenant("acme");
    await expect(t.put(["n"], "k", 1)).rejects.toMatchObject({
      name: "StorageError",
      message: /disk unplugged/,
    });
    await t.put(["n"], "k", 1);
    expect((await t.get(["n"], "k"))?.value).toBe(1);
    expect(counts.setups).toBe(2);
    await store.close();
  });

  it("refuses bad options with a named error", () => {
    const { backend } = countingBackend();
    for (const options of [
      { defaultTtlMs: 0 },
      { maxValueBytes: -1 },
      { sweepIntervalMs: Number.NaN },
      { sweepLimit: 1.5 },
    ]) {
      expect(() => new Store(backend, options)).toThrow(
        expect.objectContaining({ name: "InvalidInputError" }),
      );
    }
  });
});
