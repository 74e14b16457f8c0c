/**
 * Thread tenancy as a property: random tenants (and the default tenant) and thread ids drawn
 * from separators, escapes, look-alikes of the key separator, control characters a tenant id
 * may hold, and unicode; random runs, reads, histories, forks, deletes and cross-thread
 * listings through a compiled graph must answer exactly what a per-(tenant, thread) model says.
 * So no tenant ever sees, continues, forks, deletes or lists another tenant's thread, and every
 * backend stores and lists the keys faithfully.
 */
import { describe, expect, it } from "vitest";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { checkpointerForTenant } from "../checkpoint/tenant-checkpointer.js";
import { NotFoundError, ThreadDeletedError } from "../errors.js";
import { appendChannel, lastValue } from "../graph/channels.js";
import { END, START } from "../graph/constants.js";
import { StateGraph } from "../graph/state-graph.js";
import { validateThreadId } from "../ids.js";
import { importOptionalPeer } from "../optional-peer.js";
import { validateTenantId } from "../store/store-validation.js";

/** What the property runs against. */
export interface ThreadTenancyHarness {
  /** Names the describe block. */
  readonly name: string;
  /** A fresh checkpointer; one serves many cases (they keep apart by a tag). */
  create(): Checkpointer | Promise<Checkpointer>;
  /** Cases to try (REWIND_PROPERTY_RUNS in Rewind's own suite). */
  readonly propertyRuns: number;
}

type FastCheck = typeof import("fast-check");

const valid = (check: (s: string) => unknown) => (s: string) => {
  try {
    check(s);
    return true;
  } catch {
    return false;
  }
};

/** The random scenarios; fast-check is an optional peer, loaded only when the property runs. */
function scenarios(fc: FastCheck) {
  const threadUnit = fc.constantFrom(
    ..."a/%=|:. é😀\u00a0\u200b\u241f".split(/(?:)/u),
    "\u{10ffff}",
  );
  const tenantUnit = fc.oneof(threadUnit, fc.constantFrom("\u0001", "\u001f", "\u007f"));
  const thread = fc
    .string({ unit: threadUnit, minLength: 1, maxLength: 4 })
    .filter(valid(validateThreadId));
  const tenant = fc
    .string({ unit: tenantUnit, minLength: 1, maxLength: 4 })
    .filter(valid(validateTenantId));
  const who = fc.nat(3);
  const operation = fc.oneof(
    fc.record({ op: fc.constant("invoke" as const), who, thread: fc.nat(2) }),
    fc.record({ op: fc.constant("read" as const), who, thread: fc.nat(2) }),
    fc.record({ op: fc.constant("fork" as const), who, thread: fc.nat(2), from: fc.nat() }),
    fc.record({ op: fc.constant("delete" as const), who, thread: fc.nat(2) }),
    fc.record({ op: fc.constant("list" as const), who }),
  );
  return fc.record({
    tenants: fc.uniqueArray(tenant, { minLength: 1, maxLength: 3 }),
    threads: fc.uniqueArray(thread, { minLength: 1, maxLength: 3 }),
    ops: fc.array(operation, { minLength: 1, maxLength: 10 }),
  });
}

interface ThreadModel {
  log: string[];
  deleted: boolean;
  /** Every marker ever written to the thread (any branch). */
  readonly written: Set<string>;
}

interface KnownCheckpoint {
  readonly id: string;
  readonly owner: string;
  readonly log: readonly string[];
}

const CASES_PER_STORAGE = 50;

/** Appends each input to `log`; `seen` is the thread id the node saw. */
function noteGraph(checkpointer: Checkpointer) {
  return new StateGraph({ log: appendChannel<string>(), seen: lastValue<string>() })
    .addNode("note", (_s, ctx) => ({ seen: ctx.threadId }))
    .addEdge(START, "note")
    .addEdge("note", END)
    .compile({ checkpointer });
}

/** Registers the property for one backend. */
export function registerThreadTenancyProperty(harness: ThreadTenancyHarness): void {
  describe(`thread tenancy (property): ${harness.name}`, () => {
    it(
      `a tenant only ever sees its own threads (${harness.propertyRuns} cases)`,
      async () => {
        const fc = await importOptionalPeer(
          "fast-check",
          "the thread-tenancy property of rewind/testing",
          () => import("fast-check"),
        );
        let checkpointer!: Checkpointer;
        let app!: ReturnType<typeof noteGraph>;
        let run = 0;
        await fc.assert(
          fc.asyncProperty(scenarios(fc), async (s) => {
            // Listing across threads scans every case's threads: fresh storage now and then keeps
            // a long run linear.
            if (run % CASES_PER_STORAGE === 0) {
              checkpointer = await harness.create();
              app = noteGraph(checkpointer);
            }
            const tag = `p${run++}~`;
            // Index 0 is the default tenant; named tenants are tagged so cases stay apart.
            const who = [undefined, ...s.tenants.map((t) => tag + t)];
            const model = new Map<string, ThreadModel>();
            const known: KnownCheckpoint[] = [];
            const owner = (w: number, h: number) => JSON.stringify([w, h]);
            const thread = (w: number, h: number) => {
              const key = owner(w, h);
              if (!model.has(key)) model.set(key, { log: [], deleted: false, written: new Set() });
              return model.get(key)!;
            };
            const ref = (w: number, h: number) => ({
              threadId: tag + s.threads[h]!,
              tenantId: who[w],
            });
            for (const [i, op] of s.ops.entries()) {
              if (op.op === "list") {
                await checkListing(op.who % who.length);
                continue;
              }
              const w = op.who % who.length;
              const h = op.thread % s.threads.length;
              const t = thread(w, h);
              const marker = `${tag}${i}`;
              if (op.op === "invoke") {
                const outcome = await app.invoke({ log: marker }, ref(w, h)).catch((e) => e);
                if (t.deleted) {
                  expect(outcome).toBeInstanceOf(ThreadDeletedError);
                  continue;
                }
                t.log.push(marker);
                t.written.add(marker);
                expect(outcome.threadId).toBe(ref(w, h).threadId);
                expect(outcome.values).toEqual({ log: t.log, seen: ref(w, h).threadId });
                known.push({ id: outcome.checkpointId, owner: owner(w, h), log: [...t.log] });
              } else if (op.op === "read") {
                const state = await app.getState(ref(w, h));
                if (t.deleted || t.log.length === 0) expect(state).toBeUndefined();
                else expect(state?.values.log).toEqual(t.log);
                for await (const snapshot of app.getStateHistory(ref(w, h))) {
                  expect(snapshot.threadId).toBe(ref(w, h).threadId);
                  for (const m of snapshot.values.log) expect(t.written.has(m)).toBe(true);
                }
              } else if (op.op === "fork") {
                const from = known[op.from % Math.max(known.length, 1)];
                if (!from) continue;
                const outcome = await app
                  .fork({ ...ref(w, h), checkpointId: from.id }, { log: marker })
                  .catch((e) => e);
                if (from.owner !== owner(w, h) || t.deleted) {
                  expect(outcome).toBeInstanceOf(NotFoundError);
                  continue;
                }
                expect(outcome.threadId).toBe(ref(w, h).threadId);
                t.log = [...from.log, marker];
                t.written.add(marker);
              } else {
                await app.deleteThread(ref(w, h));
                t.deleted = true;
              }
            }

            async function checkListing(w: number): Promise<void> {
              const seen = new Map<string, Set<string>>();
              const view = checkpointerForTenant(checkpointer, who[w]);
              for await (const tuple of view.list({ ns: "" })) {
                const id = tuple.checkpoint.threadId;
                if (!id.startsWith(tag)) continue; // the default tenant's threads of other cases
                const h = s.threads.indexOf(id.slice(tag.length));
                expect(h).toBeGreaterThanOrEqual(0);
                const t = model.get(owner(w, h));
                expect(t?.deleted).toBe(false);
                const log = (tuple.checkpoint.values.log ?? []) as string[];
                for (const m of log) expect(t!.written.has(m)).toBe(true);
                seen.set(id, new Set([...(seen.get(id) ?? []), ...log]));
              }
              const expected = [...model.entries()]
                .filter(([k, t]) => JSON.parse(k)[0] === w && !t.deleted && t.written.size > 0)
                .map(([k]) => tag + s.threads[JSON.parse(k)[1]]!);
              expect(new Set(seen.keys())).toEqual(new Set(expected));
            }
          }),
          { numRuns: harness.propertyRuns },
        );
      },
      Math.max(120_000, harness.propertyRuns * 1000),
    );
  });
}
