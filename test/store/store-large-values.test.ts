/**
 * Splitting a store item's text into what stays in the row and the long strings kept by hash,
 * and putting them back: for any value the serializer writes (keys as long as values, escapes,
 * non-ASCII, lone surrogates, nesting, a string alone), the text read back is the text written,
 * only string values of the threshold's length or more are taken out, and the stored text is
 * JSON that names each of them.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { MemoryStoreBackend } from "../../src/backends/memory/memory-store.js";
import { createCheckpointer } from "../../src/checkpoint/checkpointer.js";
import { collectLargeValues } from "../../src/checkpoint/large-value-gc.js";
import { MemoryBackend } from "../../src/checkpoint/memory-backend.js";
import { LargeValueStore } from "../../src/offload/large-value-store.js";
import { MemoryLargeValues } from "../../src/offload/large-value-target.js";
import { defaultSerializer } from "../../src/serde/serializer.js";
import { Store } from "../../src/store/store.js";
import {
  holdsReferences,
  ItemLargeValues,
  referencedBy,
} from "../../src/store/store-large-values.js";
import { PROPERTY_RUNS } from "../support/trial-count.js";

const MIN = 64;
const ITEM = { namespace: ["n"], key: "k" };

function largeValues(): ItemLargeValues {
  const backend = new MemoryStoreBackend();
  const values = new LargeValueStore(
    backend,
    backend.largeValueTarget(),
    { thresholdBytes: MIN },
    false,
  );
  return new ItemLargeValues(values, undefined);
}

/** Strings short and long, with characters JSON escapes and ones it writes as they are. */
const text = fc
  .array(
    fc.oneof(
      fc.constantFrom('"', "\\", "\n", "\u0000", "é", "😀", "\ud800", "a", "b", ":", ",", "{"),
      fc.string({ maxLength: 8 }),
    ),
    { maxLength: 40 },
  )
  .map((parts) => parts.join(""));
const long = fc.tuple(text, fc.integer({ min: 0, max: 3 })).map(([t, n]) => t + "x".repeat(n * 40));
const value = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: "small" },
    long,
    fc.integer(),
    fc.constant(null),
    fc.array(tie("node"), { maxLength: 4 }),
    fc.dictionary(long, tie("node"), { maxKeys: 4 }),
  ),
})).node;

describe("store items' large values, split and put back", () => {
  it("reads back the text written, taking out only long string values", async () => {
    await fc.assert(
      fc.asyncProperty(value, async (input) => {
        const written = defaultSerializer.stringify(input);
        const lv = largeValues();
        const offloaded = lv.offload("acme", written);
        if (!offloaded) {
          expect(holdsReferences(written)).toBe(false);
          return;
        }
        // The row's text is JSON; every placeholder names a stored frame.
        expect(() => JSON.parse(offloaded.text)).not.toThrow();
        expect(new Set(referencedBy(offloaded.text))).toEqual(new Set(offloaded.frames.keys()));
        await lv.store("acme", offloaded.frames);
        expect(await lv.restore("acme", offloaded.text, ITEM)).toBe(written);
        expect(defaultSerializer.parse(await lv.restore("acme", offloaded.text, ITEM))).toEqual(
          input,
        );
      }),
      { numRuns: PROPERTY_RUNS * 4 },
    );
  });

  it("keeps keys and short strings in the row, and one frame per distinct string", () => {
    const key = "k".repeat(MIN * 2);
    const body = "v".repeat(MIN);
    const written = defaultSerializer.stringify({ [key]: "short", a: body, b: [body], c: "y" });
    const offloaded = largeValues().offload("acme", written)!;
    expect(offloaded.frames.size).toBe(1);
    expect(offloaded.text).toContain(`"${key}":"short"`);
    expect(offloaded.text).toContain('"c":"y"');
    expect(referencedBy(offloaded.text)).toHaveLength(2);
    expect(
      largeValues().offload("acme", defaultSerializer.stringify({ a: "v".repeat(MIN - 3) })),
    ).toBeUndefined();
  });

  it("names the same string apart for two tenants", () => {
    const written = defaultSerializer.stringify("s".repeat(MIN));
    const lv = largeValues();
    const [acme] = lv.offload("acme", written)!.frames.keys();
    const [globex] = lv.offload("globex", written)!.frames.keys();
    expect(acme).not.toBe(globex);
  });
});

describe("a large-value target shared by a store and a checkpointer of different databases", () => {
  it("keeps the store's values when the checkpointer collects with the store named", async () => {
    const target = new MemoryLargeValues();
    const checkpointer = createCheckpointer(new MemoryBackend(), { largeValues: { target } });
    const store = new Store(new MemoryStoreBackend(), {
      largeValues: { target, thresholdBytes: MIN },
    });
    const docs = store.forTenant("acme");
    await docs.put(["docs"], "a", { body: "b".repeat(MIN * 2) });
    expect(
      await collectLargeValues(checkpointer, { graceMs: 0, referencedBy: [store] }),
    ).toMatchObject({ values: 1, removed: 0 });
    expect((await docs.get(["docs"], "a"))?.value).toEqual({ body: "b".repeat(MIN * 2) });
    await docs.delete(["docs"], "a");
    expect(
      await collectLargeValues(checkpointer, { graceMs: 0, referencedBy: [store] }),
    ).toMatchObject({ values: 1, removed: 1 });
  });
});
