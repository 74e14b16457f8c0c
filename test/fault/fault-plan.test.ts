import { describe, expect, it } from "vitest";
import { underFault } from "../../src/testing/fault/fault-plan.js";
import { FaultPlan, FaultyCheckpointBackend, InjectedFault } from "../../src/testing/index.js";

type Method = "read" | "write";

/** Runs `count` calls of `method` through the plan, each answering its index or failing. */
async function call(plan: FaultPlan<Method>, method: Method, count: number) {
  const out: (number | string)[] = [];
  for (let i = 0; i < count; i++) {
    out.push(await underFault(plan.decide(method), async () => i).catch((e: Error) => e.message));
  }
  return out;
}

describe("FaultPlan", () => {
  it("lets `skip` calls through, fires on the next `times`, and counts every call", async () => {
    const plan = new FaultPlan<Method>(["read"]);
    const rule = plan.inject("write", "fail-before", { skip: 1, times: 2 });
    expect(await call(plan, "write", 5)).toEqual([
      0,
      "injected fault: write failed before reaching storage",
      "injected fault: write failed before reaching storage",
      3,
      4,
    ]);
    expect(await call(plan, "read", 2)).toEqual([0, 1]);
    expect(rule.hits).toBe(2);
    expect(plan.calls("write")).toBe(5);
    expect(plan.calls("read")).toBe(2);
  });

  it("fails after the wrapped call has run, with the error asked for", async () => {
    const plan = new FaultPlan<Method>(["read"]);
    const ran: number[] = [];
    plan.inject("write", "fail-after", { error: (m) => new RangeError(`${m} lost`) });
    const error = await underFault(plan.decide("write"), async () => {
      ran.push(1);
    }).catch((e: unknown) => e);
    expect(ran).toEqual([1]);
    expect(error).toEqual(new RangeError("write lost"));
  });

  it("holds a call until released, and clear() releases what it holds", async () => {
    const plan = new FaultPlan<Method>(["read"]);
    const rule = plan.inject("write", "hold", { times: Infinity });
    let finished = 0;
    const first = call(plan, "write", 1).then(() => finished++);
    await rule.reached;
    for (let i = 0; i < 10; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(finished).toBe(0);
    rule.release();
    await first;
    const second = call(plan, "write", 1).then(() => finished++);
    await second;
    expect(finished).toBe(2);
    const held = plan.inject("read", "hold");
    const third = call(plan, "read", 1);
    await held.reached;
    plan.clear();
    expect(await third).toEqual([0]);
  });

  it("refuses to tear a method that is not a read, and counts that are not whole calls", () => {
    const plan = new FaultPlan<Method>(["read"]);
    expect(() => plan.inject("write", "tear")).toThrow("only a read can be torn");
    expect(() => plan.inject("write", "fail-before", { skip: -1 })).toThrow(RangeError);
    expect(() => plan.inject("write", "fail-before", { times: 1.5 })).toThrow(RangeError);
  });

  it("throws a plain error by default, as a raw driver would", async () => {
    const backend = new FaultyCheckpointBackend();
    backend.faults.inject("deleteThread", "fail-before");
    const error = await backend.deleteThread("t").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InjectedFault);
    expect(backend.faults.calls("deleteThread")).toBe(1);
  });
});
