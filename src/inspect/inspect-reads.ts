/**
 * What the inspector shows, read through an unscoped checkpointer by storage key: a page of
 * threads with their status, one checkpoint's state and pending interrupts, and the diff of two
 * checkpoints. Every read names what it could not find or decode (a `RewindError`), never a raw
 * driver error.
 */
import type { Checkpointer, CheckpointTuple } from "../checkpoint/checkpointer.js";
import { metadataMatches } from "../checkpoint/metadata-filter.js";
import { parseThreadKey } from "../checkpoint/thread-key.js";
import { NotFoundError } from "../errors.js";
import { diffStates, type StateChange } from "../graph/diff.js";
import type { Interrupt } from "../graph/interrupt.js";
import { PendingIndex } from "../graph/pending.js";

/** Where a thread stands, from its head checkpoint. */
export type ThreadStatus = "running" | "interrupted" | "done" | "failed" | "damaged";

/** One row of the thread list. */
export interface ThreadRow {
  /** The storage key (tenant-prefixed for a tenant's thread). */
  readonly key: string;
  readonly threadId: string;
  readonly tenantId: string | undefined;
  readonly checkpoints: number;
  readonly bytes: number;
  readonly updatedAt: string;
  readonly status: ThreadStatus;
}

/** What to list: a page after `after`, optionally one tenant's or matching a search. */
export interface ThreadPageQuery {
  readonly after?: string | undefined;
  /** Storage keys starting with this text (a tenant's keys share a prefix). */
  readonly prefix?: string | undefined;
  readonly limit: number;
  readonly status?: ThreadStatus | undefined;
  /** Only threads whose key contains this text. */
  readonly search?: string | undefined;
  /**
   * Only threads whose head checkpoint's metadata has each key equal to the value (JSON
   * equality, as `list`'s metadata filter).
   */
  readonly metadata?: Readonly<Record<string, unknown>> | undefined;
}

/** How many pages are scanned at most for one filtered page (a filter never reads everything). */
const SCAN_PAGES = 20;

/**
 * A page of threads in key order; `next` continues it. Filters apply to scanned pages, so a
 * sparse filter may return fewer rows than `limit` with a `next` to go on from.
 */
export async function listThreadPage(
  checkpointer: Checkpointer,
  query: ThreadPageQuery,
): Promise<{ threads: ThreadRow[]; next: string | undefined }> {
  const rows: ThreadRow[] = [];
  const filter =
    query.metadata === undefined
      ? undefined
      : Object.fromEntries(Object.entries(query.metadata).map(([k, v]) => [k, JSON.stringify(v)]));
  let after = query.after;
  for (let page = 0; page < SCAN_PAGES && rows.length < query.limit; page++) {
    const batch = await checkpointer.door.listThreads({
      after,
      prefix: query.prefix,
      limit: query.limit,
    });
    for (const summary of batch) {
      after = summary.threadId;
      if (query.search && !summary.threadId.includes(query.search)) continue;
      const { status, metadata } = await headOf(checkpointer, summary.threadId);
      if (query.status !== undefined && status !== query.status) continue;
      if (filter !== undefined && (metadata === undefined || !metadataMatches(metadata, filter))) {
        continue;
      }
      const { threadId, tenantId } = parseThreadKey(summary.threadId);
      rows.push({
        key: summary.threadId,
        threadId,
        tenantId,
        checkpoints: summary.checkpoints,
        bytes: summary.bytes,
        updatedAt: summary.updatedAt,
        status,
      });
      if (rows.length === query.limit) return { threads: rows, next: after };
    }
    if (batch.length < query.limit) return { threads: rows, next: undefined };
  }
  return { threads: rows, next: after };
}

/** The status of a thread from its head: its pending writes, its values left undecoded. */
export async function threadStatus(checkpointer: Checkpointer, key: string): Promise<ThreadStatus> {
  return (await headOf(checkpointer, key)).status;
}

/** A thread's status and its head's metadata text (none when it has no head or is damaged). */
async function headOf(
  checkpointer: Checkpointer,
  key: string,
): Promise<{ status: ThreadStatus; metadata?: string }> {
  try {
    const head = await checkpointer.door.getCheckpoint(key, "", undefined);
    if (head === undefined) return { status: "done" };
    return {
      status: statusOf(checkpointer.decode(head, false)),
      metadata: head.checkpoint.metadata,
    };
  } catch {
    return { status: "damaged" };
  }
}

function statusOf(tuple: CheckpointTuple): ThreadStatus {
  const pending = new PendingIndex(tuple.pendingWrites);
  if (pending.interrupts.length > 0) return "interrupted";
  if (pending.errors.size > 0) return "failed";
  const next = tuple.checkpoint.extra.next;
  return Array.isArray(next) && next.length > 0 ? "running" : "done";
}

/** One checkpoint as the inspector shows it. */
export interface CheckpointView {
  readonly threadKey: string;
  readonly checkpointId: string;
  readonly parentId: string | undefined;
  readonly step: number;
  readonly createdAt: string;
  readonly metadata: Record<string, unknown>;
  /** The nodes the next step runs. */
  readonly next: readonly string[];
  /** The user's channels (internal ones, named `__...__`, left out). */
  readonly state: Record<string, unknown>;
  /** Interrupts waiting for an answer at this checkpoint. */
  readonly interrupts: readonly Interrupt[];
  readonly status: ThreadStatus;
}

/** A checkpoint (the head when `checkpointId` is omitted), or `NotFoundError`. */
export async function readCheckpoint(
  checkpointer: Checkpointer,
  key: string,
  checkpointId?: string | undefined,
): Promise<CheckpointView> {
  const tuple = await checkpointer.get(key, { checkpointId });
  if (!tuple) {
    throw new NotFoundError(
      checkpointId === undefined
        ? `thread "${key}" has no checkpoints (deleted, or never run)`
        : `checkpoint ${checkpointId} not found in thread "${key}"`,
      { threadId: key, checkpointId },
    );
  }
  const c = tuple.checkpoint;
  const pending = new PendingIndex(tuple.pendingWrites);
  return {
    threadKey: key,
    checkpointId: c.id,
    parentId: c.parentId,
    step: c.metadata.step,
    createdAt: c.createdAt,
    metadata: { ...c.metadata },
    next: Array.isArray(c.extra.next) ? (c.extra.next as string[]) : [],
    state: userChannels(c.values),
    interrupts: pending.interrupts,
    status: statusOf(tuple),
  };
}

/** The user's channels of stored values. */
export function userChannels(values: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(values).filter(([k]) => !/^__.*__$/.test(k)));
}

/** What changed in the state from checkpoint `from` to checkpoint `to` of one thread. */
export async function diffCheckpoints(
  checkpointer: Checkpointer,
  key: string,
  from: string,
  to: string,
): Promise<StateChange[]> {
  const [a, b] = await Promise.all([
    readCheckpoint(checkpointer, key, from),
    readCheckpoint(checkpointer, key, to),
  ]);
  return diffStates(a.state, b.state);
}

/**
 * A metadata filter from its JSON text (an object of key -> value), `undefined` when no text is
 * given, or an `Error` saying what is wrong with it.
 */
export function parseMetadataFilter(
  text: string | undefined,
): Readonly<Record<string, unknown>> | undefined | Error {
  if (text === undefined || text === "") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return new Error(`the metadata filter is not JSON: ${text}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    return new Error('the metadata filter must be a JSON object, e.g. {"user":"ana"}');
  }
  return parsed as Record<string, unknown>;
}
