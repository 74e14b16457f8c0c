/**
 * The graph the worker tests run, shared by the test (as a client) and the worker processes: a
 * turn is planned (optionally slowly, so a worker can be killed mid-run), two parallel branches
 * note it, a join ends it, and a turn that asks for approval pauses for a human there. With an
 * `audit` (the chaos test), every node records its execution outside the store and the join
 * delivers the turn once through the effect ledger (before its pause, so a resume replays it).
 */
import {
  appendChannel,
  type Checkpointer,
  END,
  interrupt,
  lastValue,
  type NodeContext,
  START,
  StateGraph,
} from "../../src/index.js";
import type { Audit } from "./chaos-audit.js";

/** Active runs per tenant in this process, and the most seen at once (for the cap test). */
export const activeByTenant = new Map<string, number>();
export const maxByTenant = new Map<string, number>();

/** A turn with `fail` throws in "plan" while `on` (in this process); `attempts` counts them. */
export const failing = { on: true, attempts: 0 };

export function turnGraph(checkpointer: Checkpointer, audit?: Audit) {
  const started = async (ctx: NodeContext) => {
    await audit?.started(ctx);
  };
  return new StateGraph({
    turns: appendChannel<string>(),
    seen: appendChannel<string>(),
    slowMs: lastValue<number>(() => 0),
    tenant: lastValue<string>(() => ""),
    ask: lastValue<boolean>(() => false),
    answers: appendChannel<string>(),
    /** Hold "plan" until the run's signal is aborted (a cancel, a worker stopping). */
    hold: lastValue<boolean>(() => false),
    fail: lastValue<boolean>(() => false),
    /** The effect's receipts, one per turn (with an audit). */
    receipts: appendChannel<string>(),
  })
    .addNode("plan", async (s, ctx) => {
      await started(ctx);
      if (s.fail) {
        failing.attempts++;
        if (failing.on) throw new Error("the plan fails");
      }
      if (s.hold) await stopped(ctx.signal);
      const tenant = s.tenant;
      const now = (activeByTenant.get(tenant) ?? 0) + 1;
      activeByTenant.set(tenant, now);
      maxByTenant.set(tenant, Math.max(now, maxByTenant.get(tenant) ?? 0));
      try {
        if (s.slowMs > 0) await new Promise((r) => setTimeout(r, s.slowMs));
      } finally {
        activeByTenant.set(tenant, (activeByTenant.get(tenant) ?? 1) - 1);
      }
      return { seen: `plan:${s.turns.at(-1)}` };
    })
    .addNode("left", async (s, ctx) => {
      await started(ctx);
      return { seen: `left:${s.turns.at(-1)}` };
    })
    .addNode("right", async (s, ctx) => {
      await started(ctx);
      return { seen: `right:${s.turns.at(-1)}` };
    })
    .addNode("join", async (s, ctx) => {
      await started(ctx);
      const turn = s.turns.at(-1)!;
      const receipts = audit
        ? {
            receipts: await ctx.effect(
              "deliver",
              { turn },
              ({ key }) => audit.deliver(key, ctx.threadId, turn),
              // The "remote API" is idempotent by the key: a call cut off (a worker killed, a
              // connection cut) is made again, and is not recorded as a failure.
              "retry",
            ),
          }
        : {};
      if (!s.ask) return { seen: `join:${turn}`, ...receipts };
      const answer = interrupt<string>({ approve: turn });
      return { seen: `join:${turn}`, answers: answer, ask: false, ...receipts };
    })
    .addEdge(START, "plan")
    .addEdge("plan", "left")
    .addEdge("plan", "right")
    .addEdge(["left", "right"], "join")
    .addEdge("join", END)
    .compile({ checkpointer });
}

/** What a thread's `seen` holds after the given turns all finished. */
export function expectedSeen(turns: readonly string[]): string[] {
  return turns.flatMap((t) => [`plan:${t}`, `left:${t}`, `right:${t}`, `join:${t}`].sort(bySlot));
}

// left and right run in one super-step; their order in the list is by task, not by time.
function bySlot(a: string, b: string): number {
  const order = ["plan", "left", "right", "join"];
  return order.indexOf(a.split(":")[0]!) - order.indexOf(b.split(":")[0]!);
}

/** Resolves once `signal` is aborted (never without one: the test's timeout then fails it). */
function stopped(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) resolve();
    else signal?.addEventListener("abort", () => resolve(), { once: true });
  });
}
