/**
 * What a user notices when checkpoint storage fails under a running graph, on every backend of
 * the registry wrapped in the fault-injecting backend: named errors, a thread left exactly at its
 * last durable checkpoint, and resumed runs that do not redo work that was saved.
 */
import { afterEach, describe, expect, it } from "vitest";
import type { CheckpointBackend } from "../../src/checkpoint/checkpoint-backend.js";
import {
  appendChannel,
  Command,
  createCheckpointer,
  interrupt,
  isRewindError,
  lastValue,
  START,
  StateGraph,
} from "../../src/index.js";
import { FaultyCheckpointBackend, InjectedFault } from "../../src/testing/index.js";
import { BACKENDS, type TestBackend } from "../support/backends.js";

const opened: { backend: TestBackend; inner: CheckpointBackend; close(): Promise<void> }[] = [];
afterEach(async () => {
  for (const { backend, inner, close } of opened.splice(0)) {
    await close();
    await backend.checkpoints.destroy?.(inner);
  }
});

/**
 * START -> a1 and a2 in parallel -> b -> c, each node appending its name and counting its runs;
 * `pause` lets a test hold a node until the fault it planned has played out.
 */
async function setup(
  backend: TestBackend,
  pause: Partial<Record<string, () => Promise<void>>> = {},
) {
  const inner = await backend.checkpoints.create();
  const faulty = new FaultyCheckpointBackend(inner);
  const checkpointer = createCheckpointer(faulty);
  opened.push({ backend, inner, close: () => checkpointer.close() });
  const runs: Record<string, number> = { a1: 0, a2: 0, b: 0, c: 0 };
  const node = (name: string) => async () => {
    runs[name]!++;
    await pause[name]?.();
    return { path: name };
  };
  const app = new StateGraph({ path: appendChannel<string>() })
    .addNode("a1", node("a1"))
    .addNode("a2", node("a2"))
    .addNode("b", node("b"))
    .addNode("c", node("c"))
    .addEdge(START, "a1")
    .addEdge(START, "a2")
    .addEdge("a1", "b")
    .addEdge("a2", "b")
    .addEdge("b", "c")
    .compile({ checkpointer });
  /** The newest checkpoint id as the wrapped backend itself holds it: what is durable. */
  const durableHead = async (threadId: string) =>
    (await inner.getCheckpoint(threadId, ""))?.checkpoint.id;
  return { app, faulty, runs, durableHead };
}

function expectStorageError(error: unknown, threadId: string): void {
  expect(isRewindError(error, "STORAGE")).toBe(true);
  expect((error as { threadId?: string }).threadId).toBe(threadId);
  expect((error as Error).cause).toBeInstanceOf(InjectedFault);
}

for (const backend of BACKENDS) {
  describe(`checkpoint faults on ${backend.name}`, () => {
    it("a write that fails before storage is a StorageError; the thread stays at its last durable checkpoint and resumes without redoing saved tasks", async () => {
      const { app, faulty, runs, durableHead } = await setup(backend);
      // The second checkpoint: the one after a1 and a2 (the first records the input).
      const rule = faulty.faults.inject("putCheckpoint", "fail-before", { skip: 1 });
      const error = await app.invoke({}, { threadId: "t" }).catch((e: unknown) => e);
      expect(rule.hits).toBe(1);
      expectStorageError(error, "t");
      const state = await app.getState({ threadId: "t" });
      expect(state?.checkpointId).toBe(await durableHead("t"));
      expect(state?.values.path).toEqual([]);
      // a1 and a2 finished and their writes were saved beside the input checkpoint.
      expect(state?.tasks.map((t) => `${t.node}:${t.status}`)).toEqual(["a1:done", "a2:done"]);

      const done = await app.invoke(null, { threadId: "t" });
      expect(done.values.path).toEqual(["a1", "a2", "b", "c"]);
      expect(runs).toEqual({ a1: 1, a2: 1, b: 1, c: 1 });
    });

    it("a write that fails after storage committed it leaves the thread at that checkpoint; resuming continues after it", async () => {
      const { app, faulty, runs, durableHead } = await setup(backend);
      // The third checkpoint, after b: stored, but the run is told it failed.
      const rule = faulty.faults.inject("putCheckpoint", "fail-after", { skip: 2 });
      const error = await app.invoke({}, { threadId: "t" }).catch((e: unknown) => e);
      expect(rule.hits).toBe(1);
      expectStorageError(error, "t");
      const state = await app.getState({ threadId: "t" });
      expect(state?.checkpointId).toBe(await durableHead("t"));
      expect(state?.values.path).toEqual(["a1", "a2", "b"]);
      expect(state?.next).toEqual(["c"]);

      const done = await app.invoke(null, { threadId: "t" });
      expect(done.values.path).toEqual(["a1", "a2", "b", "c"]);
      expect(runs).toEqual({ a1: 1, a2: 1, b: 1, c: 1 });
    });

    it("a task whose writes failed to save runs again on resume; its sibling whose writes were saved does not", async () => {
      const { app, faulty, runs } = await setup(backend);
      // a1 and a2 save their writes separately; the first save lands, then reports a failure.
      const rule = faulty.faults.inject("putWrites", "fail-after");
      const error = await app.invoke({}, { threadId: "t" }).catch((e: unknown) => e);
      expect(rule.hits).toBe(1);
      expectStorageError(error, "t");
      const tasks = (await app.getState({ threadId: "t" }))?.tasks ?? [];
      const saved = tasks.filter((t) => t.status === "done").map((t) => t.node);
      const unsaved = tasks.filter((t) => t.status !== "done").map((t) => t.node);
      expect(saved).toHaveLength(1);
      expect(unsaved).toHaveLength(1);

      const done = await app.invoke(null, { threadId: "t" });
      expect(done.values.path).toEqual(["a1", "a2", "b", "c"]);
      expect(runs[saved[0]!]).toBe(1);
      expect(runs[unsaved[0]!]).toBe(2);
      expect({ b: runs.b, c: runs.c }).toEqual({ b: 1, c: 1 });
    });

    it("with async durability, a background write that failed stops the run before its next step", async () => {
      let rule: ReturnType<FaultyCheckpointBackend["faults"]["inject"]> | undefined;
      const { app, faulty, runs, durableHead } = await setup(backend, {
        // b runs while the checkpoint before it is written in the background; it returns only
        // once that write has been attempted and has failed.
        b: async () => {
          await rule!.reached;
          for (let i = 0; i < 20; i++) await turn();
        },
      });
      rule = faulty.faults.inject("putCheckpoint", "fail-before", { skip: 1 });
      const error = await app
        .invoke({}, { threadId: "t", durability: "async" })
        .catch((e: unknown) => e);
      expectStorageError(error, "t");
      // c never ran on a state that could not be saved.
      expect(runs.c).toBe(0);
      expect((await app.getState({ threadId: "t" }))?.checkpointId).toBe(await durableHead("t"));

      const done = await app.invoke(null, { threadId: "t", durability: "async" });
      expect(done.values.path).toEqual(["a1", "a2", "b", "c"]);
      expect(runs).toEqual({ a1: 1, a2: 1, b: 2, c: 1 });
    });

    it("a resume whose writes failed after they were stored keeps its answer: invoke(null) finishes with it", async () => {
      const inner = await backend.checkpoints.create();
      const faulty = new FaultyCheckpointBackend(inner);
      const checkpointer = createCheckpointer(faulty);
      opened.push({ backend, inner, close: () => checkpointer.close() });
      const answers: unknown[] = [];
      const app = new StateGraph({ ok: lastValue<string>() })
        .addNode("ask", () => {
          const answer = interrupt("book it?");
          answers.push(answer);
          return { ok: String(answer) };
        })
        .addEdge(START, "ask")
        .compile({ checkpointer });
      await app.invoke({}, { threadId: "t" });
      // The answer's claim is stored, then the write reports a failure.
      const rule = faulty.faults.inject("putWrites", "fail-after");
      const error = await app
        .invoke(Command.resume("yes"), { threadId: "t" })
        .catch((e: unknown) => e);
      expect(rule.hits).toBe(1);
      expectStorageError(error, "t");
      expect(answers).toEqual([]);
      const done = await app.invoke(null, { threadId: "t" });
      expect(done.values.ok).toBe("yes");
      expect(answers).toEqual(["yes"]);
    });

    it("a torn read is a named error, and changes nothing stored", async () => {
      const { app, faulty, durableHead } = await setup(backend);
      await app.invoke({}, { threadId: "t" });
      const before = await app.getState({ threadId: "t" });
      const rule = faulty.faults.inject("getCheckpoint", "tear", { times: Infinity });
      const read = await app.getState({ threadId: "t" }).catch((e: unknown) => e);
      const resumed = await app.invoke({}, { threadId: "t" }).catch((e: unknown) => e);
      expect(rule.hits).toBeGreaterThanOrEqual(2);
      for (const error of [read, resumed]) {
        expect(isRewindError(error)).toBe(true);
        expect((error as { threadId?: string }).threadId).toBe("t");
      }
      faulty.faults.clear();
      expect(await durableHead("t")).toBe(before?.checkpointId);
      expect(await app.getState({ threadId: "t" })).toEqual(before);
    });

    it("a failed read is a StorageError naming the thread; the next read succeeds", async () => {
      const { app, faulty } = await setup(backend);
      await app.invoke({}, { threadId: "t" });
      const read = faulty.faults.inject("getCheckpoint", "fail-before");
      expectStorageError(await app.getState({ threadId: "t" }).catch((e: unknown) => e), "t");
      expect(read.hits).toBe(1);
      expect((await app.getState({ threadId: "t" }))?.values.path).toEqual(["a1", "a2", "b", "c"]);
    });

    it("a history listing that fails, or breaks midway, is a StorageError naming the thread", async () => {
      const { app, faulty } = await setup(backend);
      await app.invoke({}, { threadId: "t" });
      for (const kind of ["fail-before", "fail-after"] as const) {
        const rule = faulty.faults.inject("listCheckpoints", kind);
        const seen: string[] = [];
        const error = await (async () => {
          for await (const state of app.getStateHistory({ threadId: "t" }))
            seen.push(state.checkpointId);
        })().catch((e: unknown) => e);
        expect(rule.hits).toBe(1);
        expect(seen.length).toBeLessThanOrEqual(1);
        expectStorageError(error, "t");
      }
    });

    it("while a checkpoint write is slow, readers see the last durable checkpoint; the run ends once it lands", async () => {
      const { app, faulty } = await setup(backend);
      const rule = faulty.faults.inject("putCheckpoint", "hold", { skip: 2 });
      const running = app.invoke({}, { threadId: "t" });
      await rule.reached;
      const during = await app.getState({ threadId: "t" });
      expect(during?.values.path).toEqual(["a1", "a2"]);
      expect(during?.next).toEqual(["b"]);
      rule.release();
      expect((await running).values.path).toEqual(["a1", "a2", "b", "c"]);
    });
  });
}

/** One event-loop turn: lets every settled promise run its callbacks. */
function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
