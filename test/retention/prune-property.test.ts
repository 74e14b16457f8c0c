/**
 * The lineage-safety property of prune: random histories built with the real runtime (turns
 * with append chains, forks through updateState, interrupts, pins), pruned with random
 * policies, keep every kept checkpoint loading exactly as before, every pending interrupt
 * resumable and every branch head able to continue; and the live set survives whole.
 * Cases: REWIND_PROPERTY_RUNS / 10 (at least 4), so `npm test` stays small and the soak runs 100.
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type Checkpointer, Command, pin, prune, type RetentionPolicy } from "../../src/index.js";
import { BACKENDS } from "../support/backends.js";
import { type RetentionApp, retentionGraph } from "./retention-graph.js";

const RUNS = Math.max(4, Math.round(Number(process.env.REWIND_PROPERTY_RUNS ?? 40) / 10));

type Op =
  | { kind: "turn"; ask: boolean }
  | { kind: "fork"; pick: number }
  | { kind: "pin"; pick: number };

const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("turn" as const), ask: fc.boolean() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("fork" as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("pin" as const), pick: fc.nat() }) },
);

const policy: fc.Arbitrary<RetentionPolicy> = fc.record(
  {
    keepLast: fc.integer({ min: 1, max: 6 }),
    maxAgeMs: fc.constantFrom(0, 60_000),
    maxBytesPerThread: fc.integer({ min: 0, max: 20_000 }),
  },
  { requiredKeys: [] },
);

interface Seen {
  values: unknown;
  writes: unknown;
}

async function history(app: RetentionApp, threadId: string) {
  const out = new Map<string, Seen>();
  const parents = new Map<string, string | undefined>();
  for await (const t of app.checkpointer.list({ threadId, ns: "" })) {
    out.set(t.checkpoint.id, { values: t.checkpoint.values, writes: t.pendingWrites });
    parents.set(t.checkpoint.id, t.checkpoint.parentId);
  }
  const hasChild = new Set([...parents.values()].filter((p) => p !== undefined));
  const leaves = [...parents.keys()].filter((id) => !hasChild.has(id));
  return { out, leaves };
}

async function build(app: RetentionApp, threadId: string, ops: readonly Op[]) {
  const pins: string[] = [];
  for (const o of ops) {
    const state = await app.getState({ threadId });
    if (o.kind === "turn") {
      const paused = (state?.interrupts.length ?? 0) > 0;
      await app.invoke(paused ? Command.resume("yes") : { ask: o.ask }, { threadId });
      continue;
    }
    const ids = [...(await history(app, threadId)).out.keys()];
    if (ids.length === 0) continue;
    const id = ids[o.pick % ids.length]!;
    if (o.kind === "pin") {
      await pin(app.checkpointer, threadId, id);
      pins.push(id);
    } else {
      await app.updateState(
        { threadId, checkpointId: id },
        { turns: 100 + o.pick },
        { asNode: "work" },
      );
    }
  }
  return pins;
}

async function check(
  app: RetentionApp,
  threadId: string,
  ops: readonly Op[],
  rule: RetentionPolicy,
): Promise<number> {
  const pins = await build(app, threadId, ops);
  const before = await history(app, threadId);
  const interrupted = new Map<string, number>();
  for (const leaf of before.leaves) {
    const state = await app.getState({ threadId, checkpointId: leaf });
    if (state && state.interrupts.length > 0) interrupted.set(leaf, state.interrupts.length);
  }
  const report = await prune(app.checkpointer, rule, {
    dryRun: false,
    batchSize: 3,
    now: () => Date.now() + 120_000,
  });
  expect(report.threads.filter((t) => t.action === "skipped")).toEqual([]);
  const after = await history(app, threadId);
  for (const [id, seen] of after.out) expect(seen, `checkpoint ${id}`).toEqual(before.out.get(id));
  for (const id of [...before.leaves, ...pins]) expect(after.out.has(id), `kept ${id}`).toBe(true);
  const planned = report.threads[0];
  if (planned) expect(after.out.size).toBe(before.out.size - planned.checkpoints);
  const pruned = planned?.checkpoints ?? 0;
  // The head resumes (or runs on); every other branch head keeps its pause, or runs on as a fork.
  const head = await app.checkpointer.headId(threadId);
  for (const leaf of [head!, ...before.leaves.filter((id) => id !== head)]) {
    const paused = interrupted.get(leaf);
    if (paused !== undefined && leaf !== head) {
      const state = await app.getState({ threadId, checkpointId: leaf });
      expect(state?.interrupts).toHaveLength(paused);
      continue;
    }
    const input = paused === undefined ? { ask: false } : Command.resume("later");
    const done = await app.invoke(input, { threadId, checkpointId: leaf });
    expect(done.status).toBe("done");
  }
  return pruned;
}

for (const backend of BACKENDS) {
  describe(`prune property on ${backend.name}`, () => {
    it("keeps every kept checkpoint identical, interrupts resumable and branch heads alive", async () => {
      let n = 0;
      let pruned = 0;
      await fc.assert(
        fc.asyncProperty(
          fc.array(op, { minLength: 1, maxLength: 14 }),
          policy,
          fc.boolean(),
          async (ops, rule, shortChains) => {
            const checkpointer: Checkpointer = backend.checkpointer(
              shortChains ? { minAppendDepth: 2, appendRatio: 1, maxAppendDepth: 4 } : {},
            );
            try {
              pruned += await check(retentionGraph(checkpointer), `t${n++}`, ops, rule);
            } finally {
              await checkpointer.close();
            }
          },
        ),
        { numRuns: RUNS },
      );
      // The histories were long enough for the policies to delete something.
      expect(pruned).toBeGreaterThan(0);
    }, 600_000);
  });
}
