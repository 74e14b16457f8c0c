/**
 * `prune`: applies a retention policy to existing threads. The same call plans (a dry run, the
 * default) or carries the plan out. Per thread it computes the live set first (`live-set.ts`),
 * then the values kept checkpoints still need and the rebases that free the rest (`rebase.ts`),
 * and deletes in small batches, each one transaction that re-checks what it deletes. A batch
 * refused because the thread moved (a run forked or pinned meanwhile) makes the thread be planned
 * again. A signal stops it between batches; whatever ran is consistent, and a rerun finishes.
 */

import type { ThreadSummary } from "../checkpoint/checkpoint-backend.js";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { collectLargeValues, collectsLargeValues } from "../checkpoint/large-value-gc.js";
import { parseThreadKey, threadKey } from "../checkpoint/thread-key.js";
import { InvalidInputError, isRewindError, NotFoundError } from "../errors.js";
import { type MetadataFacts, splitThread } from "./live-set.js";
import { type PruneReport, type ThreadPrune, tally } from "./prune-report.js";
import { planValues, type ValuePlan } from "./rebase.js";
import {
  type RetentionPolicy,
  type RetentionRule,
  ruleFor,
  validatePolicy,
} from "./retention-policy.js";

/** Options of {@link prune}. */
export interface PruneOptions {
  /** Only plan (the default): report what would go and change nothing. `false` carries it out. */
  readonly dryRun?: boolean | undefined;
  /** Only this tenant's threads. */
  readonly tenantId?: string | undefined;
  /** Only this thread (of `tenantId`); a thread that has no checkpoints is a `NotFoundError`. */
  readonly threadId?: string | undefined;
  /** Checkpoints deleted per transaction. Default 100. */
  readonly batchSize?: number | undefined;
  /** Stops the prune between batches (the report says `interrupted`). */
  readonly signal?: AbortSignal | undefined;
  /** The clock deciding ages, epoch milliseconds. Default `Date.now`. */
  readonly now?: (() => number) | undefined;
  /** Takes idle threads whose rule says `archive` (without it they are only reported). */
  readonly archive?:
    | ((thread: { threadId: string; tenantId: string | undefined }) => Promise<void>)
    | undefined;
  /**
   * After an applied prune, collect large values nothing references any more, touched longer
   * ago than this (see `collectLargeValues`). Default one hour; `false` skips the collection.
   */
  readonly largeValueGraceMs?: number | false | undefined;
  /** After an applied prune, give the space back (`reclaimSpace`). Default true. */
  readonly reclaimSpace?: boolean | undefined;
  /** Called after each thread, with how many of how many are done. */
  readonly onProgress?:
    | ((done: number, total: number, thread: ThreadPrune | undefined) => void)
    | undefined;
}

const PAGE = 500;
const ATTEMPTS = 3;

/**
 * Plans (by default) or applies `policy` to the threads of `checkpointer`'s storage.
 *
 * @example
 * const plan = await prune(checkpointer, { keepLast: 20 });
 * console.log(plan.total.bytes, plan.threads[0]?.lost);
 * await prune(checkpointer, { keepLast: 20 }, { dryRun: false });
 */
export async function prune(
  checkpointer: Checkpointer,
  policy: RetentionPolicy,
  options: PruneOptions = {},
): Promise<PruneReport> {
  validatePolicy(policy);
  const batchSize = options.batchSize ?? 100;
  if (!Number.isInteger(batchSize) || batchSize < 1) {
    throw new InvalidInputError("batchSize must be a positive integer");
  }
  const dryRun = options.dryRun !== false;
  const summaries = await threadsToVisit(checkpointer, options);
  const threads: ThreadPrune[] = [];
  const run = { checkpointer, dryRun, batchSize, options, now: (options.now ?? Date.now)() };
  let interrupted = false;
  let done = 0;
  for (const summary of summaries) {
    if (await stopped(run)) {
      interrupted = true;
      break;
    }
    const result = await pruneThread(run, summary, ruleFor(policy, summary.threadId));
    if (result) threads.push(result);
    options.onProgress?.(++done, summaries.length, result);
    if (result?.error === INTERRUPTED) {
      interrupted = true;
      break;
    }
  }
  const { total, tenants } = tally(threads);
  const collect =
    !dryRun && options.largeValueGraceMs !== false && collectsLargeValues(checkpointer);
  const largeValues = collect
    ? await collectLargeValues(checkpointer, { graceMs: options.largeValueGraceMs ?? undefined })
    : undefined;
  const reclaim =
    !dryRun &&
    options.reclaimSpace !== false &&
    (total.rows > 0 || (largeValues?.removed ?? 0) > 0);
  const space = reclaim ? await checkpointer.door.reclaimSpace() : undefined;
  return {
    dryRun,
    threads,
    tenants,
    total,
    scanned: done,
    interrupted,
    ...(largeValues ? { largeValues } : {}),
    ...(space ? { space } : {}),
  };
}

interface Run {
  readonly checkpointer: Checkpointer;
  readonly dryRun: boolean;
  readonly batchSize: number;
  readonly options: PruneOptions;
  readonly now: number;
}

const INTERRUPTED = "interrupted between batches; a rerun continues";

/** Every thread the options name, with its summary (read before anything is deleted). */
async function threadsToVisit(checkpointer: Checkpointer, options: PruneOptions) {
  const { tenantId, threadId } = options;
  const prefix =
    threadId !== undefined
      ? threadKey(threadId, tenantId)
      : tenantId !== undefined
        ? threadKey("x", tenantId).slice(0, -1)
        : undefined;
  const out: ThreadSummary[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await checkpointer.door.listThreads({ after, prefix, limit: PAGE });
    out.push(...(threadId === undefined ? page : page.filter((t) => t.threadId === prefix)));
    if (page.length < PAGE) break;
    after = page.at(-1)!.threadId;
  }
  if (threadId !== undefined && out.length === 0) {
    throw new NotFoundError(`there is no thread "${threadId}" with checkpoints`, { threadId });
  }
  return out;
}

async function pruneThread(
  run: Run,
  summary: ThreadSummary,
  rule: RetentionRule,
): Promise<ThreadPrune | undefined> {
  const key = summary.threadId;
  const { threadId, tenantId } = parseThreadKey(key);
  const base = { key, threadId, tenantId, writes: 0, rebased: 0, applied: false };
  const idle =
    rule.idleTtlMs !== undefined && run.now - Date.parse(summary.updatedAt) > rule.idleTtlMs;
  if (idle && !(await leased(run, key))) {
    const action = rule.idleAction ?? "delete";
    const result = {
      ...base,
      action,
      checkpoints: summary.checkpoints,
      values: 0,
      bytes: summary.bytes,
      kept: 0,
    };
    if (run.dryRun) return result;
    if (action === "delete") await run.checkpointer.deleteThread(key);
    else if (run.options.archive) await run.options.archive({ threadId, tenantId });
    else return result;
    return { ...result, applied: true };
  }
  // Skipped with the error that stopped it: any but a conflict at once, a conflict (a writer
  // moved the thread under the plan) once every attempt met one.
  const skipped = (error: string): ThreadPrune => ({
    ...base,
    action: "skipped",
    checkpoints: 0,
    values: 0,
    bytes: 0,
    kept: summary.checkpoints,
    error,
  });
  let lastError = "";
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    try {
      return await planAndApply(run, key, rule, base);
    } catch (error) {
      if (!isRewindError(error, "CONFLICT")) {
        return skipped(error instanceof Error ? error.message : String(error));
      }
      lastError = error.message;
    }
  }
  return skipped(lastError);
}

/** Whether a run holds the thread's lease now (an idle thread being resumed is not idle). */
async function leased(run: Run, key: string): Promise<boolean> {
  const lease = await run.checkpointer.door.readLease(key);
  return lease !== undefined && lease.expiresAt > run.now;
}

async function planAndApply(
  run: Run,
  key: string,
  rule: RetentionRule,
  base: Pick<ThreadPrune, "key" | "threadId" | "tenantId">,
): Promise<ThreadPrune | undefined> {
  const { checkpointer } = run;
  const print = await checkpointer.door.footprint(key);
  if (!print) return undefined;
  const facts = (text: string): MetadataFacts => {
    try {
      const meta = checkpointer.serializer.parse(text) as Record<string, unknown>;
      const step = typeof meta.step === "number" ? meta.step : undefined;
      const parents =
        typeof meta.parents === "object" && meta.parents !== null ? meta.parents : undefined;
      return { step, parents: parents as Record<string, string> | undefined };
    } catch {
      return {};
    }
  };
  const splits = splitThread(print, rule, run.now, (c) => facts(c.metadata));
  const work = splits.filter((s) => s.doomed.length > 0);
  if (work.length === 0) return undefined;
  const plans: [(typeof work)[number], ValuePlan][] = [];
  for (const split of work) {
    const blobs = print.blobs.filter((b) => b.ns === split.ns);
    plans.push([
      split,
      await planValues(checkpointer, key, split.ns, split.kept, split.doomed, blobs),
    ]);
  }
  let checkpoints = 0;
  let writes = 0;
  let values = 0;
  let bytes = 0;
  let rebased = 0;
  for (const [split, plan] of plans) {
    checkpoints += split.doomed.length;
    writes += split.doomed.reduce((n, c) => n + c.writes, 0);
    values += plan.drop.length;
    bytes += split.doomed.reduce((n, c) => n + c.bytes + c.writeBytes, 0);
    bytes += plan.drop.reduce((n, b) => n + b.bytes, 0);
    bytes -= plan.rebase.reduce((n, b) => n + (b.value?.bytes.byteLength ?? 0), 0);
    rebased += plan.rebase.length;
  }
  const root = splits.find((s) => s.ns === "");
  const keptSteps = (root?.kept ?? [])
    .map((c) => facts(c.metadata).step)
    .filter((s) => s !== undefined);
  const oldestStepKept =
    root && root.doomed.length > 0 && keptSteps.length > 0 ? Math.min(...keptSteps) : undefined;
  const kept = splits.reduce((n, s) => n + s.kept.length, 0);
  const result: ThreadPrune = {
    ...base,
    action: "prune",
    checkpoints,
    writes,
    values,
    bytes: Math.max(0, bytes),
    kept,
    rebased,
    applied: false,
    ...(oldestStepKept !== undefined
      ? { oldestStepKept, lost: `time travel before step ${oldestStepKept}` }
      : {}),
  };
  if (run.dryRun) return result;
  const interrupted = await applyPlans(run, key, plans);
  return interrupted
    ? { ...result, applied: true, error: INTERRUPTED }
    : { ...result, applied: true };
}

/**
 * Carries the plans out: per namespace, the rebases with the first batch, then the checkpoints
 * oldest first, then the values (only once no checkpoint that might read them is left, so a
 * stop between batches leaves every remaining checkpoint loadable). True when stopped early.
 */
async function applyPlans(
  run: Run,
  key: string,
  plans: readonly [{ ns: string; doomed: readonly { id: string }[] }, ValuePlan][],
): Promise<boolean> {
  const { door } = run.checkpointer;
  const size = run.batchSize;
  for (const [split, plan] of plans) {
    const ids = split.doomed.map((c) => c.id);
    const batches = Math.max(1, Math.ceil(ids.length / size));
    for (let b = 0; b < batches; b++) {
      if (b > 0 && (await stopped(run))) return true;
      await door.pruneCheckpoints({
        threadId: key,
        ns: split.ns,
        checkpointIds: ids.slice(b * size, (b + 1) * size),
        blobs: [],
        rebase: b === 0 ? plan.rebase : [],
      });
    }
    const drop = plan.drop.map(({ channel, version }) => ({ channel, version }));
    for (let at = 0; at < drop.length; at += size * 4) {
      if (await stopped(run)) return true;
      await door.pruneCheckpoints({
        threadId: key,
        ns: split.ns,
        checkpointIds: [],
        blobs: drop.slice(at, at + size * 4),
        rebase: [],
      });
    }
  }
  return false;
}

/**
 * Whether the signal asked to stop. With a signal, first lets the event loop run: a backend
 * that works synchronously (SQLite) would otherwise keep a SIGINT handler from ever running.
 */
async function stopped(run: Run): Promise<boolean> {
  const { signal } = run.options;
  if (!signal) return false;
  await new Promise<void>((resolve) => setImmediate(resolve));
  return signal.aborted;
}
