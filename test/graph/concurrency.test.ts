import { describe, expect, it } from "vitest";
import {
  appendChannel,
  LeaseLostError,
  RunStoppedError,
  START,
  StateGraph,
  ThreadBusyError,
} from "../../src/index.js";
import { BACKENDS, type TestBackend } from "../support/backends.js";

/** A graph whose "slow" node waits until released, so a second run can arrive mid-run. */
function gatedGraph(backend: TestBackend) {
  let release: () => void = () => undefined;
  let entered: () => void = () => undefined;
  const gate = {
    open: new Promise<void>((r) => (release = r)),
    reached: new Promise<void>((r) => (entered = r)),
  };
  const checkpointer = backend.checkpointer();
  const app = new StateGraph({ log: appendChannel<string>() })
    .addNode("fast", (s) => ({ log: `fast after ${s.log.length}` }))
    .addNode("slow", async (s) => {
      if (s.log.at(-2) === "A") {
        entered();
        await gate.open;
      }
      return { log: "slow" };
    })
    .addEdge(START, "fast")
    .addEdge("fast", "slow")
    .compile({ checkpointer });
  return { app, checkpointer, release: () => release(), reached: gate.reached };
}

for (const backend of BACKENDS) {
  describe(`on ${backend.name}`, () => {
    describe("one active run per thread", () => {
      it("reject: a second run on a busy thread fails at once; nothing interleaves", async () => {
        const { app, release, reached } = gatedGraph(backend);
        const a = app.invoke({ log: "A" }, { threadId: "t" });
        await reached;
        await expect(app.invoke({ log: "B" }, { threadId: "t" })).rejects.toThrow(ThreadBusyError);
        release();
        expect((await a).values.log).toEqual(["A", "fast after 1", "slow"]);
      });

      it("enqueue: the second run waits its turn and runs on the new head; no turn is lost", async () => {
        const { app, release, reached } = gatedGraph(backend);
        const a = app.invoke({ log: "A" }, { threadId: "t" });
        await reached;
        const b = app.invoke({ log: "B" }, { threadId: "t", onBusy: "enqueue" });
        setTimeout(release, 20);
        await a;
        expect((await b).values.log).toEqual([
          "A",
          "fast after 1",
          "slow",
          "B",
          "fast after 4",
          "slow",
        ]);
      });

      it("applyOnce: a retry arriving while the first attempt still runs does not apply the input again", async () => {
        const { app, release, reached } = gatedGraph(backend);
        const once = { applyOnce: { requestId: "r-1" } };
        const first = app.invoke({ log: "A" }, { threadId: "t", ...once });
        await reached;
        // The retry looks before the first attempt has written its input's checkpoint ends:
        // it must decide once it holds the thread, not before.
        const retry = app.invoke({ log: "A" }, { threadId: "t", onBusy: "enqueue", ...once });
        setTimeout(release, 20);
        const done = ["A", "fast after 1", "slow"];
        expect((await first).values.log).toEqual(done);
        expect((await retry).values.log).toEqual(done);
        // Another request applies its input; its key is in the metadata of what it writes.
        const other = await app.invoke(
          { log: "A" },
          { threadId: "t", applyOnce: { requestId: "r-2" } },
        );
        expect(other.values.log).toEqual([...done, "A", "fast after 4", "slow"]);
        for await (const head of app.getStateHistory({ threadId: "t" }, { limit: 1 }))
          expect(head.metadata).toMatchObject({ requestId: "r-2" });
        // A late retry of the first request, after another one wrote the head: its input is
        // found applied further back in the thread's history, not applied again.
        const late = await app.invoke({ log: "A" }, { threadId: "t", ...once });
        expect(late.values.log).toEqual(other.values.log);
      });

      it("enqueue: an aborted signal ends the wait with RunStoppedError; nothing is written", async () => {
        const { app, release, reached } = gatedGraph(backend);
        const a = app.invoke({ log: "A" }, { threadId: "t" });
        await reached;
        const stop = new AbortController();
        const b = app.invoke(
          { log: "B" },
          { threadId: "t", onBusy: "enqueue", signal: stop.signal },
        );
        stop.abort();
        await expect(b).rejects.toThrow(RunStoppedError);
        release();
        expect((await a).values.log).toEqual(["A", "fast after 1", "slow"]);
        expect((await app.getState({ threadId: "t" }))?.values.log).toEqual([
          "A",
          "fast after 1",
          "slow",
        ]);
      });

      it("interrupt: the running run is stopped at its next step boundary; the new run continues from its state", async () => {
        const { app, release, reached } = gatedGraph(backend);
        const a = app.invoke({ log: "A" }, { threadId: "t" });
        await reached;
        const b = await app.invoke({ log: "B" }, { threadId: "t", onBusy: "interrupt" });
        expect(b.values.log).toEqual(["A", "fast after 1", "B", "fast after 3", "slow"]);
        release();
        await expect(a).rejects.toThrow(LeaseLostError);
        expect((await app.getState({ threadId: "t" }))?.values.log).toEqual(b.values.log);
      });

      it("rollback: the running run is stopped and what it wrote is dropped from the thread's state", async () => {
        const { app, release, reached } = gatedGraph(backend);
        await app.invoke({ log: "first" }, { threadId: "t" });
        const a = app.invoke({ log: "A" }, { threadId: "t" });
        await reached;
        const b = await app.invoke({ log: "B" }, { threadId: "t", onBusy: "rollback" });
        expect(b.values.log).toEqual([
          "first",
          "fast after 1",
          "slow",
          "B",
          "fast after 4",
          "slow",
        ]);
        release();
        await expect(a).rejects.toThrow(LeaseLostError);
        const lineage = await app.getLineage({ threadId: "t" });
        expect(lineage.branches).toHaveLength(2);
      });

      it("a crashed holder's lease expires and the thread becomes usable again", async () => {
        const { app, checkpointer } = gatedGraph(backend);
        // Held (a TTL no loaded machine outlives): the thread is busy.
        await checkpointer.acquireLease("held", "crashed-process", 600_000);
        await expect(app.invoke({ log: "x" }, { threadId: "held" })).rejects.toThrow(
          ThreadBusyError,
        );
        // Expired: a holder that never renews stops blocking once its TTL has passed.
        await checkpointer.acquireLease("t", "crashed-process", 20);
        await new Promise((r) => setTimeout(r, 60));
        expect((await app.invoke({ log: "x" }, { threadId: "t" })).status).toBe("done");
      });
    });
  });
}
