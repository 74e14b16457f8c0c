/**
 * `signal` on a run: aborted, the run stops between super-steps. The step running when it was
 * aborted finishes and is saved, the lease is released (another run can start at once), and
 * `invoke(null)` continues from there without running a finished node again.
 */
import { describe, expect, it } from "vitest";
import {
  appendChannel,
  InvalidInputError,
  RunStoppedError,
  START,
  StateGraph,
} from "../../src/index.js";
import { BACKENDS } from "../support/backends.js";

for (const backend of BACKENDS) {
  describe(`a run's signal on ${backend.name}`, () => {
    it("stops at the next checkpoint; the thread continues from it, nothing redone", async () => {
      const stop = new AbortController();
      const ran: string[] = [];
      const node = (name: string) => (s: { log: string[] }) => {
        ran.push(name);
        if (name === "b") stop.abort();
        return { log: `${name} after ${s.log.length}` };
      };
      const checkpointer = backend.checkpointer();
      const app = new StateGraph({ log: appendChannel<string>() })
        .addNode("a", node("a"))
        .addNode("b", node("b"))
        .addNode("c", node("c"))
        .addEdge(START, "a")
        .addEdge("a", "b")
        .addEdge("b", "c")
        .compile({ checkpointer });

      const stopped = await app
        .invoke({ log: "in" }, { threadId: "t", signal: stop.signal, leaseTtlMs: 60_000 })
        .catch((error: unknown) => error);
      expect(stopped).toBeInstanceOf(RunStoppedError);
      expect((stopped as RunStoppedError).code).toBe("RUN_STOPPED");
      // "b" (the step running when the signal fired) finished and was saved; "c" never started.
      expect(ran).toEqual(["a", "b"]);
      const saved = (await app.getState({ threadId: "t" }))!;
      expect(saved.values.log).toEqual(["in", "a after 1", "b after 2"]);
      expect(saved.next).toEqual(["c"]);
      expect((stopped as RunStoppedError).checkpointId).toBe(saved.checkpointId);

      // The lease went with it: a run under onBusy "reject" starts at once and finishes the thread.
      const done = await app.invoke(null, { threadId: "t", onBusy: "reject" });
      expect(done.status).toBe("done");
      expect(ran).toEqual(["a", "b", "c"]);
      expect(done.values.log).toEqual(["in", "a after 1", "b after 2", "c after 3"]);
      await checkpointer.close();
    });

    it("an already aborted signal stops before the first step; a signal that is not one is refused", async () => {
      const checkpointer = backend.checkpointer();
      const app = new StateGraph({ log: appendChannel<string>() })
        .addNode("a", () => ({ log: "a" }))
        .addEdge(START, "a")
        .compile({ checkpointer });
      await expect(
        app.invoke({ log: "in" }, { threadId: "early", signal: AbortSignal.abort() }),
      ).rejects.toBeInstanceOf(RunStoppedError);
      // The input was saved; nothing ran.
      expect((await app.getState({ threadId: "early" }))!.next).toEqual(["a"]);
      const finished = await app.invoke(null, { threadId: "early" });
      expect(finished.values.log).toEqual(["in", "a"]);
      await expect(
        app.invoke(null, { threadId: "early", signal: "stop" as never }),
      ).rejects.toBeInstanceOf(InvalidInputError);
      await checkpointer.close();
    });
  });
}
