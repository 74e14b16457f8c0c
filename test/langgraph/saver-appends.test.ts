/**
 * The LangGraph saver keeps no append memory of its own: it shares the storage's one memory with
 * the runtime's checkpointer (one bound per storage, whoever writes), and that memory holds the
 * arrays it compares against weakly, never keeping a stored value alive.
 */
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import type { RunnableConfig } from "@langchain/core/runnables";
import { type Checkpoint, emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { describe, expect, it } from "vitest";
import { MemoryBackend } from "../../src/backends/memory/index.js";
import { AppendTracker } from "../../src/checkpoint/append-tracker.js";
import { createCheckpointer, InvalidInputError } from "../../src/index.js";
import { RewindSaver } from "../../src/langgraph/index.js";

const loop = { source: "loop" as const, step: 0, parents: {} };

/** A chat of `turns` messages of its own (fresh objects, as LangGraph's reducer builds them). */
const messages = (turns: number) =>
  Array.from({ length: turns }, (_, i) => ({ id: `m${i}`, text: `message ${i}` }));

/** Puts each list in turn on thread `t`, each a new version of channel `messages`. */
async function chat(saver: RewindSaver, lists: unknown[][]): Promise<string[]> {
  const versions: string[] = [];
  let config: RunnableConfig = { configurable: { thread_id: "t", checkpoint_ns: "" } };
  for (const list of lists) {
    const version = String(saver.getNextVersion(versions.at(-1) as never));
    versions.push(version);
    const checkpoint: Checkpoint = {
      ...emptyCheckpoint(),
      id: uuid6(-1),
      channel_values: { messages: list },
      channel_versions: { messages: version },
    };
    config = await saver.put(config, checkpoint, loop, { messages: version });
  }
  return versions;
}

/** How each version of thread `t`'s `messages` channel is stored. */
async function kinds(backend: MemoryBackend, versions: string[]): Promise<string[]> {
  const found = new Map<string, string>();
  for await (const loaded of backend.listCheckpoints({ threadId: "t" })) {
    for (const blob of loaded.blobs.messages ?? []) found.set(blob.version, blob.kind);
  }
  return versions.map((v) => found.get(v) ?? "missing");
}

/** A runtime write of an array channel on another thread: one entry of the shared memory. */
function runtimeWrite(id: string) {
  return {
    threadId: "runtime",
    id,
    parentId: undefined,
    channelVersions: { log: id },
    versionsSeen: {},
    metadata: { source: "loop" as const, step: 0 },
    updates: [{ channel: "log", version: id, value: [id] }],
  };
}

describe("RewindSaver's append memory", () => {
  it("is the checkpointer's: one bound per storage, whoever writes", async () => {
    const backend = new MemoryBackend();
    const checkpointer = createCheckpointer(backend, { appendCacheSize: 2 });
    const saver = new RewindSaver(checkpointer);
    const all = messages(4);
    const lists = [all.slice(0, 1), all.slice(0, 2)];
    const first = await chat(saver, lists);
    expect(await kinds(backend, first)).toEqual(["full", "append"]);
    // The runtime's writes on the same storage take the two places the memory has.
    await checkpointer.put(runtimeWrite("r1"));
    await checkpointer.put(runtimeWrite("r2"));
    const second = await chat(saver, [all.slice(0, 3)]);
    expect(await kinds(backend, second)).toEqual(["full"]);
  });

  it("is switched off by appendCacheSize 0, on the saver's own storage or a checkpointer's", async () => {
    for (const make of [
      (backend: MemoryBackend) => new RewindSaver(backend, { appendCacheSize: 0 }),
      (backend: MemoryBackend) =>
        new RewindSaver(createCheckpointer(backend), { appendCacheSize: 0 }),
    ]) {
      const backend = new MemoryBackend();
      const all = messages(3);
      const versions = await chat(make(backend), [all.slice(0, 1), all.slice(0, 2), all]);
      expect(await kinds(backend, versions)).toEqual(["full", "full", "full"]);
    }
  });

  it("cannot be sized by the saver when it is a checkpointer's", () => {
    const checkpointer = createCheckpointer(new MemoryBackend());
    expect(() => new RewindSaver(checkpointer, { appendCacheSize: 10 })).toThrow(InvalidInputError);
    expect(() => new RewindSaver(new MemoryBackend(), { appendCacheSize: -1 })).toThrow(
      InvalidInputError,
    );
  });

  it("holds a stored list's elements weakly: they are collected once the caller drops them", async () => {
    setFlagsFromString("--expose_gc");
    const gc = runInNewContext("gc") as () => void;
    const tracker = new AppendTracker(8);
    let list: { id: string }[] | undefined = [{ id: "a" }, { id: "b" }];
    const watched = new WeakRef(list[0]!);
    tracker.recordArray("k", "v1", list, { depth: 0, baseLength: 2 });
    expect(tracker.grownFrom("k", "v2", [...list, { id: "c" }])?.items).toEqual([{ id: "c" }]);
    // The same ids on other objects are another list (a message replaced by id).
    expect(tracker.grownFrom("k", "v2", [{ id: "a" }, { id: "b" }, { id: "c" }])).toBeUndefined();
    list = undefined;
    // A weak reference keeps its target until the current job ends.
    await new Promise((resolve) => setImmediate(resolve));
    gc();
    expect(watched.deref()).toBeUndefined();
    expect(tracker.grownFrom("k", "v2", [{ id: "a" }, { id: "b" }])).toBeUndefined();
  });
});
