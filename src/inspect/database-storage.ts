/**
 * A database's storage at a glance: threads, checkpoints and bytes, per tenant, the biggest
 * threads, and the large values it keeps. Read a page of thread summaries at a time (no values
 * are read). `rewind stats` prints it; the inspector shows it when no thread is open.
 */
import type { ThreadSummary } from "../checkpoint/checkpoint-backend.js";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import {
  collectsLargeValues,
  type LargeValueStats,
  largeValueStats,
} from "../checkpoint/large-value-gc.js";
import { parseThreadKey, threadKey } from "../checkpoint/thread-key.js";
import type { ThreadRow } from "./inspect-reads.js";

/** Which threads to sum, and how many of the biggest to name. */
export interface StorageQuery {
  readonly tenant?: string | undefined;
  /** One thread only (of `tenant`, when given). */
  readonly thread?: string | undefined;
  readonly top: number;
}

/** The sums, per tenant (`""`: the default tenant), and the biggest threads. */
export interface DatabaseStorage {
  readonly threads: number;
  readonly checkpoints: number;
  readonly bytes: number;
  readonly tenants: Record<string, { threads: number; checkpoints: number; bytes: number }>;
  /** The biggest threads, as the thread list shows them (no status: it is not read). */
  readonly biggest: readonly Omit<ThreadRow, "status">[];
  /** Present when the database keeps large values itself. */
  readonly largeValues?: LargeValueStats;
}

const PAGE = 500;

/** The storage of the threads `query` selects. */
export async function readDatabaseStorage(
  checkpointer: Checkpointer,
  query: StorageQuery,
): Promise<DatabaseStorage> {
  const threads = await readThreads(checkpointer, query);
  return {
    ...summarize(threads, query.top),
    ...(collectsLargeValues(checkpointer)
      ? { largeValues: await largeValueStats(checkpointer) }
      : {}),
  };
}

async function readThreads(checkpointer: Checkpointer, query: StorageQuery) {
  const exact = query.thread === undefined ? undefined : threadKey(query.thread, query.tenant);
  const prefix =
    exact ?? (query.tenant === undefined ? undefined : threadKey("x", query.tenant).slice(0, -1));
  const out: ThreadSummary[] = [];
  let after: string | undefined;
  for (;;) {
    const page = await checkpointer.door.listThreads({ after, prefix, limit: PAGE });
    out.push(...(exact === undefined ? page : page.filter((t) => t.threadId === exact)));
    if (page.length < PAGE) return out;
    after = page.at(-1)!.threadId;
  }
}

function summarize(threads: readonly ThreadSummary[], top: number) {
  const tenants: DatabaseStorage["tenants"] = {};
  let checkpoints = 0;
  let bytes = 0;
  for (const t of threads) {
    checkpoints += t.checkpoints;
    bytes += t.bytes;
    const tenant = parseThreadKey(t.threadId).tenantId ?? "";
    tenants[tenant] ??= { threads: 0, checkpoints: 0, bytes: 0 };
    const into = tenants[tenant];
    into.threads++;
    into.checkpoints += t.checkpoints;
    into.bytes += t.bytes;
  }
  const biggest = [...threads]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top)
    .map((t) => ({
      key: t.threadId,
      ...parseThreadKey(t.threadId),
      checkpoints: t.checkpoints,
      bytes: t.bytes,
      updatedAt: t.updatedAt,
    }));
  return { threads: threads.length, checkpoints, bytes, tenants, biggest };
}
