import { describe, expect, it } from "vitest";
import {
  appendChannel,
  type Checkpointer,
  NodeFailedError,
  reducer,
  START,
  StateGraph,
} from "../../src/index.js";
import { BACKENDS } from "../support/backends.js";

async function count<T>(it: AsyncIterable<T>): Promise<number> {
  let n = 0;
  for await (const _ of it) n++;
  return n;
}

for (const backend of BACKENDS) {
  describe(`on ${backend.name}`, () => {
    describe("failures and retries", () => {
      it("a failing task is recorded; retrying the thread reruns only it, siblings' results are reused", async () => {
        const runs = { ok: 0, flaky: 0 };
        let fail = true;
        const app = new StateGraph({ out: appendChannel<string>() })
          .addNode("ok", () => {
            runs.ok++;
            return { out: "ok" };
          })
          .addNode("flaky", () => {
            runs.flaky++;
            if (fail) throw new Error("upstream 503");
            return { out: "flaky" };
          })
          .addEdge(START, "ok")
          .addEdge(START, "flaky")
          .compile({ checkpointer: backend.checkpointer() });
        const error = await app.invoke({}, { threadId: "t" }).catch((e) => e);
        expect(error).toBeInstanceOf(NodeFailedError);
        expect(error.node).toBe("flaky");
        expect(error.message).toContain("upstream 503");
        const state = await app.getState({ threadId: "t" });
        expect(state?.tasks.map((t) => [t.node, t.status])).toEqual([
          ["ok", "done"],
          ["flaky", "failed"],
        ]);
        expect(state?.tasks[1]?.error?.message).toBe("upstream 503");
        fail = false;
        const done = await app.invoke(null, { threadId: "t" });
        expect(done.values.out).toEqual(["ok", "flaky"]);
        expect(runs).toEqual({ ok: 1, flaky: 2 });
      });

      it("a retry policy retries the chosen errors with backoff", async () => {
        let attempts = 0;
        const app = new StateGraph({
          n: reducer(
            (a: number, b: number) => a + b,
            () => 0,
          ),
        })
          .addNode(
            "call",
            (_s, ctx) => {
              attempts++;
              if (ctx.attempt < 3) throw new Error("timeout");
              return { n: ctx.attempt };
            },
            {
              retry: {
                maxAttempts: 3,
                initialIntervalMs: 1,
                retryOn: (e) => (e as Error).message === "timeout",
              },
            },
          )
          .addEdge(START, "call")
          .compile({ checkpointer: backend.checkpointer() });
        expect((await app.invoke({}, { threadId: "t" })).values.n).toBe(3);
        expect(attempts).toBe(3);

        let permanent = 0;
        const strict = new StateGraph({
          n: reducer(
            (a: number, b: number) => a + b,
            () => 0,
          ),
        })
          .addNode(
            "call",
            () => {
              permanent++;
              throw new Error("bad request");
            },
            {
              retry: {
                maxAttempts: 5,
                initialIntervalMs: 1,
                retryOn: (e) => (e as Error).message === "timeout",
              },
            },
          )
          .addEdge(START, "call")
          .compile({ checkpointer: backend.checkpointer() });
        await expect(strict.invoke({}, { threadId: "t" })).rejects.toThrow(NodeFailedError);
        expect(permanent).toBe(1);
      });
    });

    describe("durability modes", () => {
      const build = (checkpointer: Checkpointer) =>
        new StateGraph({ path: appendChannel<string>() })
          .addNode("a", () => ({ path: "a" }))
          .addNode("b", () => ({ path: "b" }))
          .addNode("c", () => ({ path: "c" }))
          .addEdge(START, "a")
          .addEdge("a", "b")
          .addEdge("b", "c")
          .compile({ checkpointer });

      it("sync and async write every super-step; exit writes only the final state", async () => {
        for (const [durability, checkpoints] of [
          ["sync", 4],
          ["async", 4],
          ["exit", 1],
        ] as const) {
          const app = build(backend.checkpointer());
          const result = await app.invoke({}, { threadId: "t", durability });
          expect(result.values.path).toEqual(["a", "b", "c"]);
          expect((await app.getState({ threadId: "t" }))?.values.path).toEqual(["a", "b", "c"]);
          expect(await count(app.getStateHistory({ threadId: "t" }))).toBe(checkpoints);
          const next = await app.invoke({ path: "again" }, { threadId: "t", durability });
          expect(next.values.path).toEqual(["a", "b", "c", "again", "a", "b", "c"]);
        }
      });
    });
  });
}
