import { afterAll, describe, expect, it } from "vitest";
import {
  Command,
  EffectFailedError,
  type EffectPolicy,
  type EffectQuestion,
  EffectUnknownError,
  END,
  InvalidInputError,
  isRewindError,
  lastValue,
  reconcile,
  SerializationError,
  START,
  StateGraph,
} from "../../src/index.js";
import { BACKENDS, type TestBackend } from "../support/backends.js";

interface Calls {
  book: number;
  keys: string[];
  attempts: number[];
}

/** plan -> book (an effect) -> confirm. `fail` makes the booking throw. */
function tripGraph(backend: TestBackend, calls: Calls, policy?: EffectPolicy, fail = false) {
  const checkpointer = backend.checkpointer();
  const app = new StateGraph({
    city: lastValue<string>(() => "Tokyo"),
    booking: lastValue<string | undefined>(),
    done: lastValue<boolean>(() => false),
  })
    .addNode("plan", () => ({}))
    .addNode("book", async (s, ctx) => {
      const booking = await ctx.effect(
        "book_flight",
        { to: s.city, seats: 1 },
        ({ key, attempt }) => {
          calls.book++;
          calls.keys.push(key);
          calls.attempts.push(attempt);
          if (fail) throw new Error("card declined");
          return `BK-${s.city}-${calls.book}`;
        },
        policy,
      );
      return { booking };
    })
    .addNode("confirm", () => ({ done: true }))
    .addEdge(START, "plan")
    .addEdge("plan", "book")
    .addEdge("book", "confirm")
    .addEdge("confirm", END)
    .compile({ checkpointer });
  return { app, checkpointer };
}

const fresh = (): Calls => ({ book: 0, keys: [], attempts: [] });

for (const backend of BACKENDS) {
  describe(`effects on ${backend.name}`, () => {
    const opened: { close(): Promise<void> }[] = [];
    const graph = (calls: Calls, policy?: EffectPolicy, fail = false) => {
      const g = tripGraph(backend, calls, policy, fail);
      opened.push(g.checkpointer);
      return g;
    };
    afterAll(async () => {
      for (const c of opened) await c.close();
    });

    /** The checkpoint the `book` step started from (its `next` is book). */
    async function beforeBook(app: ReturnType<typeof graph>["app"], threadId: string) {
      for await (const s of app.getStateHistory({ threadId })) {
        if (s.next.includes("book")) return s.checkpointId;
      }
      throw new Error("no checkpoint before book");
    }

    /** Records an intent as a process that died mid-call leaves it. */
    async function cutOff(g: ReturnType<typeof graph>, threadId: string, city = "Tokyo") {
      const key = g.checkpointer.effects.key("book_flight", { seats: 1, to: city });
      await g.checkpointer.effects.begin({
        threadId,
        key,
        name: "book_flight",
        args: { to: city, seats: 1 },
        checkpointId: "0",
        taskId: "dead-task",
        node: "book",
      });
      return key;
    }

    it("runs once, records intent and outcome, and lists the effect on the step's checkpoint", async () => {
      const calls = fresh();
      const { app } = graph(calls);
      const result = await app.invoke({ city: "Oslo" }, { threadId: "t1" });
      expect(result.values.booking).toBe("BK-Oslo-1");
      expect(calls.book).toBe(1);
      const [effect] = await app.listEffects({ threadId: "t1" });
      expect(effect).toMatchObject({
        name: "book_flight",
        args: { to: "Oslo", seats: 1 },
        status: "done",
        result: "BK-Oslo-1",
        node: "book",
        attempt: 1,
        key: calls.keys[0],
      });
      const history = [];
      for await (const s of app.getStateHistory({ threadId: "t1" })) history.push(s);
      const booked = history.find(
        (s) => s.values.booking !== undefined && s.next.includes("confirm"),
      );
      expect(booked?.metadata.effects).toEqual([
        { key: calls.keys[0], name: "book_flight", reused: false },
      ]);
      expect(effect?.checkpointId).toBe(booked?.parentCheckpointId);
    });

    it("a replay and a fork with the same arguments reuse the outcome; new arguments fire anew", async () => {
      const calls = fresh();
      const { app } = graph(calls);
      await app.invoke({ city: "Oslo" }, { threadId: "t2" });
      const from = await beforeBook(app, "t2");

      const replay = await app.invoke(null, { threadId: "t2", checkpointId: from });
      expect(replay.values.booking).toBe("BK-Oslo-1");
      expect(calls.book).toBe(1);
      const head = await app.getState({ threadId: "t2" });
      const parent = await app.getState({
        threadId: "t2",
        checkpointId: head!.parentCheckpointId!,
      });
      expect(parent?.metadata.effects).toEqual([
        { key: calls.keys[0], name: "book_flight", reused: true },
      ]);

      const forked = await app.fork({ threadId: "t2", checkpointId: from }, { city: "Rome" });
      const rome = await app.invoke(null, { threadId: "t2", checkpointId: forked.checkpointId });
      expect(rome.values.booking).toBe("BK-Rome-2");
      expect(calls.book).toBe(2);
      expect((await app.listEffects({ threadId: "t2" })).map((e) => e.args)).toEqual([
        { to: "Oslo", seats: 1 },
        { to: "Rome", seats: 1 },
      ]);
    });

    it("a fork can ask to run an effect anew, and says so before it runs", async () => {
      const calls = fresh();
      const { app } = graph(calls);
      await app.invoke({ city: "Oslo" }, { threadId: "t3" });
      const from = await beforeBook(app, "t3");
      const plain = await app.previewFork({ threadId: "t3", checkpointId: from });
      expect(plain.reused.map((e) => e.name)).toEqual(["book_flight"]);
      expect(plain.rerun).toEqual([]);
      const preview = await app.previewFork(
        { threadId: "t3", checkpointId: from },
        { reexecute: ["book_flight"] },
      );
      expect(preview.rerun.map((e) => e.name)).toEqual(["book_flight"]);
      expect(preview.reused).toEqual([]);

      const forked = await app.fork({ threadId: "t3", checkpointId: from }, null, {
        reexecute: ["book_flight"],
      });
      const again = await app.invoke(null, { threadId: "t3", checkpointId: forked.checkpointId });
      expect(again.values.booking).toBe("BK-Oslo-2");
      expect(calls.book).toBe(2);
      expect(calls.keys[1]).not.toBe(calls.keys[0]);
      // Later checkpoints of that branch inherit the new epoch: a replay there reuses booking 2.
      const branchStart = await app.getState({ threadId: "t3", checkpointId: forked.checkpointId });
      expect(branchStart?.metadata.reexecute).toEqual(["book_flight"]);
      const replay = await app.invoke(null, {
        threadId: "t3",
        checkpointId: forked.checkpointId,
      });
      expect(replay.values.booking).toBe("BK-Oslo-2");
      expect(calls.book).toBe(2);
    });

    it("a recorded failure is not run again: the replay throws EffectFailedError", async () => {
      const calls = fresh();
      const { app } = graph(calls, "fail", true);
      await expect(app.invoke({ city: "Oslo" }, { threadId: "t4" })).rejects.toThrow(
        "card declined",
      );
      const [effect] = await app.listEffects({ threadId: "t4" });
      expect(effect).toMatchObject({
        status: "failed",
        error: { name: "Error", message: "card declined" },
      });
      const error = await app.invoke(null, { threadId: "t4" }).catch((e) => e);
      expect(isRewindError(error, "NODE_FAILED") ? error.cause : error).toBeInstanceOf(
        EffectFailedError,
      );
      expect(calls.book).toBe(1);
    });

    it("a retried effect that throws is not recorded as failed and runs again", async () => {
      const calls = fresh();
      const { app } = graph(calls, "retry", true);
      await expect(app.invoke({ city: "Oslo" }, { threadId: "t5" })).rejects.toThrow();
      await expect(app.invoke(null, { threadId: "t5" })).rejects.toThrow();
      expect(calls.attempts).toEqual([1, 2]);
      const [effect] = await app.listEffects({ threadId: "t5" });
      expect(effect).toMatchObject({ status: "started", attempt: 2 });
    });

    describe("an intent with no outcome (the process died mid-call)", () => {
      it('"fail" throws EffectUnknownError; resolveEffect settles it and the run goes on', async () => {
        const calls = fresh();
        const g = graph(calls, "fail");
        const key = await cutOff(g, "u1");
        const error = await g.app.invoke({}, { threadId: "u1" }).catch((e) => e);
        const cause = isRewindError(error, "NODE_FAILED") ? error.cause : error;
        expect(cause).toBeInstanceOf(EffectUnknownError);
        expect((cause as EffectUnknownError).effect.key).toBe(key);
        expect(calls.book).toBe(0);
        const settled = await g.app.resolveEffect(
          { threadId: "u1", key },
          { status: "done", result: "BK-found" },
        );
        expect(settled.status).toBe("done");
        const result = await g.app.invoke(null, { threadId: "u1" });
        expect(result.values).toMatchObject({ booking: "BK-found", done: true });
        expect(calls.book).toBe(0);
        await expect(
          g.app.resolveEffect({ threadId: "u1", key }, { status: "done", result: "again" }),
        ).rejects.toMatchObject({ code: "CONFLICT" });
      });

      it('"retry" runs it again as attempt 2', async () => {
        const calls = fresh();
        const g = graph(calls, "retry");
        await cutOff(g, "u2");
        const result = await g.app.invoke({}, { threadId: "u2" });
        expect(result.values.booking).toBe("BK-Tokyo-1");
        expect(calls.attempts).toEqual([2]);
      });

      it("reconcile asks the remote system; a reconcile that throws records nothing", async () => {
        const calls = fresh();
        const seen: string[] = [];
        const found = graph(
          calls,
          reconcile((effect) => {
            seen.push(effect.name);
            return { status: "done", result: "BK-remote" };
          }),
        );
        await cutOff(found, "u3");
        const result = await found.app.invoke({}, { threadId: "u3" });
        expect(result.values.booking).toBe("BK-remote");
        expect(seen).toEqual(["book_flight"]);
        expect(calls.book).toBe(0);

        const broken = graph(
          calls,
          reconcile(() => {
            throw new Error("remote down");
          }),
        );
        await cutOff(broken, "u4");
        const error = await broken.app.invoke({}, { threadId: "u4" }).catch((e) => e);
        const cause = isRewindError(error, "NODE_FAILED") ? error.cause : error;
        expect(cause).toBeInstanceOf(EffectUnknownError);
        expect((cause as Error).message).toContain("remote down");
        const [effect] = await broken.app.listEffects({ threadId: "u4" });
        expect(effect?.status).toBe("started");
      });

      it('"ask" pauses with the intent shown, and runs it when the human says it never ran', async () => {
        const calls = fresh();
        const g = graph(calls, "ask");
        const key = await cutOff(g, "u5");
        const paused = await g.app.invoke({}, { threadId: "u5" });
        expect(paused.status).toBe("interrupted");
        const question = paused.interrupts[0]!.value as EffectQuestion;
        expect(question).toMatchObject({
          type: "effect-outcome-unknown",
          key,
          name: "book_flight",
          args: { to: "Tokyo", seats: 1 },
          attempt: 1,
        });
        // An answer that is not a resolution is asked again, saying why.
        const again = await g.app.invoke(Command.resume({ status: "maybe" }), { threadId: "u5" });
        expect(again.status).toBe("interrupted");
        expect(again.interrupts[0]!.value).toMatchObject({
          key,
          problem: expect.stringContaining("maybe"),
        });
        expect(calls.book).toBe(0);
        const ran = await g.app.invoke(Command.resume({ status: "not-run" }), {
          threadId: "u5",
        });
        expect(ran.values).toMatchObject({ booking: "BK-Tokyo-1", done: true });
        expect(calls.attempts).toEqual([2]);
      });

      it('"ask" answered with what happened records it without running', async () => {
        const calls = fresh();
        const g = graph(calls);
        await cutOff(g, "u7");
        await g.app.invoke({}, { threadId: "u7" });
        const done = await g.app.invoke(Command.resume({ status: "done", result: "BK-by-phone" }), {
          threadId: "u7",
        });
        expect(done.values).toMatchObject({ booking: "BK-by-phone", done: true });
        expect(calls.book).toBe(0);
        const [effect] = await g.app.listEffects({ threadId: "u7" });
        expect(effect).toMatchObject({ status: "done", result: "BK-by-phone" });
      });
    });

    it("a node retry and a second call in parallel tasks reuse the first run", async () => {
      let runs = 0;
      let failures = 0;
      const checkpointer = backend.checkpointer();
      opened.push(checkpointer);
      const app = new StateGraph({ a: lastValue<string>(), b: lastValue<string>() })
        .addNode(
          "a",
          async (_s, ctx) => {
            const r = await ctx.effect("send", { to: "x" }, async () => `sent-${++runs}`);
            if (failures++ === 0) throw new Error("flaky after the effect");
            return { a: r };
          },
          { retry: { maxAttempts: 2, initialIntervalMs: 1 } },
        )
        .addNode("b", async (_s, ctx) => ({
          b: await ctx.effect("send", { to: "x" }, async () => `sent-${++runs}`),
        }))
        .addEdge(START, "a")
        .addEdge(START, "b")
        .compile({ checkpointer });
      const result = await app.invoke({}, { threadId: "p1" });
      expect(result.values).toEqual({ a: "sent-1", b: "sent-1" });
      expect(runs).toBe(1);
    });

    it("refuses bad input with named errors and records nothing", async () => {
      const checkpointer = backend.checkpointer();
      opened.push(checkpointer);
      let ran = 0;
      const node = (args: unknown, policy?: unknown, fn: unknown = () => ++ran) =>
        new StateGraph({ x: lastValue<number>() })
          .addNode("n", async (_s, ctx) => ({
            x: (await ctx.effect("e", args, fn as () => number, policy as EffectPolicy)) as number,
          }))
          .addEdge(START, "n")
          .compile({ checkpointer });
      const causeOf = (e: unknown) => (isRewindError(e, "NODE_FAILED") ? e.cause : e);
      const circular: Record<string, unknown> = {};
      circular.self = circular;
      for (const [thread, app, expected] of [
        ["b1", node(circular), SerializationError],
        ["b2", node({ f: () => 1 }), SerializationError],
        ["b3", node({}, "sometimes"), InvalidInputError],
        ["b4", node({}, { reconcile: 42 }), InvalidInputError],
        ["b5", node({}, undefined, "not a function"), InvalidInputError],
      ] as const) {
        const error = await app.invoke({}, { threadId: thread }).catch((e) => e);
        expect(causeOf(error), thread).toBeInstanceOf(expected);
        expect(await app.listEffects({ threadId: thread })).toEqual([]);
      }
      expect(ran).toBe(0);
    });

    it("one tenant's ledger is invisible to another", async () => {
      const calls = fresh();
      const { app } = graph(calls);
      await app.invoke({}, { threadId: "shared", tenantId: "acme" });
      expect(await app.listEffects({ threadId: "shared", tenantId: "acme" })).toHaveLength(1);
      expect(await app.listEffects({ threadId: "shared", tenantId: "globex" })).toEqual([]);
      await app.invoke({}, { threadId: "shared", tenantId: "globex" });
      expect(calls.book).toBe(2);
    });

    it("deleting the thread deletes its ledger", async () => {
      const calls = fresh();
      const { app } = graph(calls);
      await app.invoke({}, { threadId: "d1" });
      await app.deleteThread({ threadId: "d1" });
      expect(await app.listEffects({ threadId: "d1" })).toEqual([]);
    });
  });
}
