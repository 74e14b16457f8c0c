/**
 * Bad run options and bad resumes are refused at `invoke` with a named error, before anything
 * is stored: the same answer whichever path the input takes.
 */
import { describe, expect, it } from "vitest";
import { AlreadyResumedError, InvalidInputError } from "../../src/errors.js";
import { appendChannel, Command, END, interrupt, START, StateGraph } from "../../src/index.js";

function graph() {
  return new StateGraph({ log: appendChannel<string>() })
    .addNode("ask", () => ({ log: `answer:${JSON.stringify(interrupt("question"))}` }))
    .addNode("other", () => ({ log: "other" }))
    .addEdge(START, "ask")
    .addEdge("ask", "other")
    .addEdge("other", END)
    .compile();
}

async function historyLength(app: ReturnType<typeof graph>, threadId: string): Promise<number> {
  let n = 0;
  for await (const _ of app.getStateHistory({ threadId })) n++;
  return n;
}

describe("run options are validated at invoke", () => {
  it("an unknown onBusy strategy is InvalidInputError, not ThreadBusyError", async () => {
    const app = graph();
    const error = await app
      .invoke({ log: "x" }, { threadId: "t", onBusy: "bogus" as never })
      .catch((e) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toMatch(/onBusy/);
    expect(await app.getState({ threadId: "t" })).toBeUndefined();
  });

  it.each([
    ["leaseTtlMs", 0],
    ["leaseTtlMs", -5],
    ["leaseTtlMs", Number.NaN],
    ["leaseTtlMs", Number.POSITIVE_INFINITY],
    ["leaseTtlMs", "1000"],
    ["enqueueTimeoutMs", -1],
    ["enqueueTimeoutMs", Number.NaN],
    ["enqueueTimeoutMs", Number.POSITIVE_INFINITY],
    ["busyTimeoutMs", -1],
    ["applyOnce", {}],
    ["applyOnce", { requestId: 17 }],
    ["applyOnce", "r-1"],
  ])("%s = %s is InvalidInputError and stores nothing", async (name, value) => {
    const app = graph();
    const error = await app
      .invoke({ log: "x" }, { threadId: "t", [name]: value } as never)
      .catch((e) => e);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.message).toContain(name);
    expect(await app.getState({ threadId: "t" })).toBeUndefined();
  });

  it("enqueueTimeoutMs bounds the enqueue wait", async () => {
    const app = graph();
    await app.checkpointer.acquireLease("t", "someone-else", 60_000);
    const error = await app
      .invoke({ log: "x" }, { threadId: "t", onBusy: "enqueue", enqueueTimeoutMs: 0 })
      .catch((e) => e);
    expect(error).toMatchObject({ code: "THREAD_BUSY" });
  });

  for (const key of ["interruptBefore", "interruptAfter"] as const) {
    it(`${key} naming a missing node is InvalidInputError at invoke (as compile refuses it)`, async () => {
      const app = graph();
      const error = await app
        .invoke({ log: "x" }, { threadId: "t", [key]: ["nope"] })
        .catch((e) => e);
      expect(error).toBeInstanceOf(InvalidInputError);
      expect(error.message).toContain('"nope"');
      expect(await app.getState({ threadId: "t" })).toBeUndefined();
      // A real node is accepted.
      const paused = await app.invoke({ log: "x" }, { threadId: "t2", [key]: ["other"] });
      expect(paused.status).toBe("interrupted");
    });
  }
});

describe("resume maps", () => {
  it("a map whose keys match no pending interrupt is refused and changes nothing", async () => {
    const app = graph();
    const paused = await app.invoke({ log: "x" }, { threadId: "t" });
    const pendingId = paused.interrupts[0]!.id;
    const stale = "0123456789abcdef0123456789abcdef";
    expect(stale).not.toBe(pendingId);
    const before = await historyLength(app, "t");
    const error = await app
      .invoke(Command.resume({ [stale]: "yes" }), { threadId: "t" })
      .catch((e) => e);
    expect(error).toBeInstanceOf(AlreadyResumedError);
    expect(error.message).toContain(stale);
    expect(await historyLength(app, "t")).toBe(before);
    const state = await app.getState({ threadId: "t" });
    expect(state?.interrupts.map((i) => i.id)).toEqual([pendingId]);
    // The interrupt is still open: a correct answer resumes it.
    const done = await app.invoke(Command.resume({ [pendingId]: "yes" }), { threadId: "t" });
    expect(done.values.log).toEqual(["x", 'answer:"yes"', "other"]);
  });

  it("a plain object that is not a map of interrupt ids is the answer itself", async () => {
    const app = graph();
    await app.invoke({ log: "x" }, { threadId: "t" });
    const done = await app.invoke(Command.resume({ approved: true }), { threadId: "t" });
    expect(done.values.log).toEqual(["x", 'answer:{"approved":true}', "other"]);
  });
});
