/**
 * The graph the worker tests run, shared by the test (as a client) and the worker processes: a
 * turn is planned (optionally slowly, so a worker can be killed mid-run), two parallel branches
 * note it, a join ends it, and a turn that asks for approval pauses for a human there.
 */
import {
  appendChannel,
  type Checkpointer,
  END,
  interrupt,
  lastValue,
  START,
  StateGraph,
} from "../../src/index.js";

/** Active runs per tenant in this process, and the most seen at once (for the cap test). */
export const activeByTenant = new Map<string, number>();
export const maxByTenant = new Map<string, number>();

export function turnGraph(checkpointer: Checkpointer) {
  return new StateGraph({
    turns: appendChannel<string>(),
    seen: appendChannel<string>(),
    slowMs: lastValue<number>(() => 0),
    tenant: lastValue<string>(() => ""),
    ask: lastValue<boolean>(() => false),
    answers: appendChannel<string>(),
    /** Hold "plan" until the run's signal is aborted (a cancel, a worker stopping). */
    hold: lastValue<boolean>(() => false),
  })
    .addNode("plan", async (s, ctx) => {
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
    .addNode("left", (s) => ({ seen: `left:${s.turns.at(-1)}` }))
    .addNode("right", (s) => ({ seen: `right:${s.turns.at(-1)}` }))
    .addNode("join", (s) => {
      if (!s.ask) return { seen: `join:${s.turns.at(-1)}` };
      const answer = interrupt<string>({ approve: s.turns.at(-1) });
      return { seen: `join:${s.turns.at(-1)}`, answers: answer, ask: false };
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
