/**
 * Moving threads stored by LangGraph.js's own savers (`SqliteSaver`, `PostgresSaver`, or any
 * `BaseCheckpointSaver`) into Rewind, so that `RewindSaver` serves them: full history in every
 * namespace, metadata, and pending writes. Values are read through the source saver (its serde)
 * and written through a `RewindSaver` on the target, checkpoint by checkpoint, oldest first,
 * storing only the channels whose version changed since the parent, as LangGraph wrote them.
 *
 * LangGraph's savers number channel versions (1, 2, 3...); `RewindSaver` continues a thread
 * with string versions, which LangGraph compares as text, so imported numbers become the same
 * numbers zero-padded as text (`7` -> `"0000000007"`), in `channel_versions` and
 * `versions_seen` alike: the order is kept and the next version sorts after them.
 *
 * Rewind stores one value per (thread, namespace, channel, version). LangGraph's integer
 * versions can repeat on two branches of a thread (a fork from the past) with different values;
 * such a thread is refused with a `ConflictError` before anything of it is written.
 */
import { createHash } from "node:crypto";
import type { RunnableConfig } from "@langchain/core/runnables";
import type {
  BaseCheckpointSaver,
  Checkpoint,
  CheckpointTuple,
  PendingWrite,
} from "@langchain/langgraph-checkpoint";
import type { CheckpointBackend } from "../checkpoint/checkpoint-backend.js";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { threadKey } from "../checkpoint/thread-key.js";
import { ConflictError, InvalidInputError, isRewindError, type RewindError } from "../errors.js";
import { RewindSaver, type RewindSaverOptions } from "./rewind-saver.js";

/** Options of {@link importLangGraphThreads}. */
export interface LangGraphImportOptions {
  /** The threads to move (LangGraph `thread_id`s). Default: every thread of the source. */
  readonly threadIds?: readonly string[] | undefined;
  /** The Rewind tenant the threads go to (`configurable.tenant_id`); default: the default tenant. */
  readonly tenantId?: string | undefined;
  /** Options of the `RewindSaver` that writes (its serializer and serde, as your app uses them). */
  readonly saver?: Omit<RewindSaverOptions, "refuseStaleWrites"> | undefined;
  readonly onProgress?: ((done: number, total: number, checkpoints: number) => void) | undefined;
  readonly signal?: AbortSignal | undefined;
}

/** How one thread fared; `skipped`: Rewind already holds all of its checkpoints. */
export interface LangGraphThreadImport {
  readonly threadId: string;
  readonly status: "imported" | "skipped" | "failed";
  readonly checkpoints: number;
  readonly error?: RewindError | undefined;
}

/**
 * Copies threads from a LangGraph saver into Rewind storage; returns a result per thread (a
 * failed one is written again, completely, by a rerun).
 *
 * @example
 * const source = SqliteSaver.fromConnString("langgraph.sqlite");
 * const results = await importLangGraphThreads(source, new SqliteBackend("rewind.sqlite"));
 */
export async function importLangGraphThreads(
  source: BaseCheckpointSaver,
  target: CheckpointBackend | Checkpointer,
  options: LangGraphImportOptions = {},
): Promise<LangGraphThreadImport[]> {
  const saver = new RewindSaver(target, { ...options.saver, refuseStaleWrites: false });
  const threadIds = options.threadIds ?? (await langGraphThreadIds(source));
  const results: LangGraphThreadImport[] = [];
  let checkpoints = 0;
  for (const threadId of threadIds) {
    options.signal?.throwIfAborted();
    const result = await importOne(source, saver, threadId, options);
    results.push(result);
    checkpoints += result.checkpoints;
    options.onProgress?.(results.length, threadIds.length, checkpoints);
  }
  return results;
}

/**
 * The thread ids a LangGraph saver holds: read from the `checkpoints` table of a `SqliteSaver`
 * (its `db`) or a `PostgresSaver` (its `pool` and schema), else from a full `list`.
 */
export async function langGraphThreadIds(source: BaseCheckpointSaver): Promise<string[]> {
  const saver = source as unknown as {
    db?: { prepare(sql: string): { all(): { thread_id: string }[] } };
    setup?: () => unknown;
    pool?: { query(sql: string): Promise<{ rows: { thread_id: string }[] }> };
    options?: { schema?: string };
  };
  if (saver.db && typeof saver.db.prepare === "function") {
    await saver.setup?.();
    return saver.db
      .prepare("SELECT DISTINCT thread_id FROM checkpoints ORDER BY thread_id")
      .all()
      .map((r) => r.thread_id);
  }
  if (saver.pool && typeof saver.pool.query === "function") {
    const schema = `"${(saver.options?.schema ?? "public").replaceAll('"', '""')}"`;
    const { rows } = await saver.pool.query(
      `SELECT DISTINCT thread_id FROM ${schema}.checkpoints ORDER BY thread_id`,
    );
    return rows.map((r) => r.thread_id);
  }
  const ids = new Set<string>();
  for await (const tuple of source.list({})) ids.add(String(tuple.config.configurable?.thread_id));
  return [...ids].sort();
}

async function importOne(
  source: BaseCheckpointSaver,
  saver: RewindSaver,
  threadId: string,
  options: LangGraphImportOptions,
): Promise<LangGraphThreadImport> {
  try {
    if (typeof threadId !== "string" || threadId.length === 0) {
      throw new InvalidInputError("a LangGraph thread id must be a non-empty string");
    }
    const key = threadKey(threadId, options.tenantId);
    const tuples: CheckpointTuple[] = [];
    for await (const tuple of source.list({ configurable: { thread_id: threadId } })) {
      tuples.push(tuple);
    }
    tuples.sort((a, b) => (a.checkpoint.id < b.checkpoint.id ? -1 : 1));
    await refuseVersionClashes(source, key, tuples);
    const present = new Set<string>();
    for await (const row of saver.checkpointer.door.listCheckpoints({
      threadId: key,
      includeValues: false,
    })) {
      present.add(`${row.checkpoint.ns}\0${row.checkpoint.id}`);
    }
    const wanted = new Set(tuples.map((t) => `${nsOf(t)}\0${t.checkpoint.id}`));
    if ([...present].some((id) => !wanted.has(id))) {
      throw new ConflictError(
        `thread "${threadId}" already exists in Rewind with checkpoints LangGraph does not have`,
        { threadId },
      );
    }
    if (present.size === wanted.size && tuples.length > 0) {
      return { threadId, status: "skipped", checkpoints: 0 };
    }
    const versions = new Map<string, Record<string, unknown>>();
    for (const tuple of tuples) {
      options.signal?.throwIfAborted();
      await writeTuple(saver, threadId, options.tenantId, tuple, versions);
    }
    return { threadId, status: "imported", checkpoints: tuples.length };
  } catch (error) {
    if (options.signal?.aborted || !isRewindError(error)) throw error;
    return { threadId, status: "failed", checkpoints: 0, error };
  }
}

function nsOf(tuple: CheckpointTuple): string {
  return (tuple.config.configurable?.checkpoint_ns as string | undefined) ?? "";
}

/** Writes one checkpoint: its pending writes (per task, in order), then the checkpoint. */
async function writeTuple(
  saver: RewindSaver,
  threadId: string,
  tenantId: string | undefined,
  tuple: CheckpointTuple,
  versions: Map<string, Record<string, unknown>>,
): Promise<void> {
  const ns = nsOf(tuple);
  const checkpoint = withTextVersions(tuple.checkpoint);
  const parentId = tuple.parentConfig?.configurable?.checkpoint_id as string | undefined;
  const base = {
    thread_id: threadId,
    checkpoint_ns: ns,
    ...(tenantId ? { tenant_id: tenantId } : {}),
  };
  const byTask = new Map<string, PendingWrite[]>();
  for (const [taskId, channel, value] of tuple.pendingWrites ?? []) {
    const list = byTask.get(taskId) ?? [];
    list.push([channel, value]);
    byTask.set(taskId, list);
  }
  const own: RunnableConfig = { configurable: { ...base, checkpoint_id: checkpoint.id } };
  for (const [taskId, writes] of byTask) await saver.putWrites(own, writes, taskId);
  const before = parentId === undefined ? undefined : versions.get(`${ns}\0${parentId}`);
  const changed = Object.fromEntries(
    Object.entries(checkpoint.channel_versions).filter(([ch, v]) => before?.[ch] !== v),
  );
  const parent: RunnableConfig = {
    configurable: { ...base, ...(parentId ? { checkpoint_id: parentId } : {}) },
  };
  await saver.put(
    parent,
    checkpoint,
    tuple.metadata ?? { source: "loop", step: -1, parents: {} },
    changed,
  );
  versions.set(`${ns}\0${checkpoint.id}`, { ...checkpoint.channel_versions });
}

/** Refuses a thread where one (namespace, channel, version) holds two different values. */
async function refuseVersionClashes(
  source: BaseCheckpointSaver,
  threadId: string,
  tuples: readonly CheckpointTuple[],
): Promise<void> {
  const seen = new Map<string, string>();
  for (const tuple of tuples) {
    const values = tuple.checkpoint.channel_values as Record<string, unknown>;
    for (const [channel, version] of Object.entries(tuple.checkpoint.channel_versions)) {
      const key = `${nsOf(tuple)}\0${channel}\0${version}`;
      const present = Object.hasOwn(values, channel);
      const [, bytes] = present ? await source.serde.dumpsTyped(values[channel]) : ["", ""];
      const print = `${present}:${createHash("sha256").update(bytes).digest("hex")}`;
      const earlier = seen.get(key);
      if (earlier !== undefined && earlier !== print) {
        throw new ConflictError(
          `thread "${threadId}" has two different values of channel "${channel}" at version ${version} (LangGraph reused the version on a fork); Rewind keeps one value per version, so it is not imported`,
          { threadId, checkpointId: tuple.checkpoint.id },
        );
      }
      seen.set(key, print);
    }
  }
}

/** A version as RewindSaver continues it: numbers zero-padded as text, text unchanged. */
export function textVersion(version: string | number): string {
  return typeof version === "number" ? String(version).padStart(10, "0") : version;
}

function withTextVersions(checkpoint: Checkpoint): Checkpoint {
  const text = (versions: Record<string, string | number>) =>
    Object.fromEntries(Object.entries(versions).map(([ch, v]) => [ch, textVersion(v)]));
  return {
    ...checkpoint,
    channel_versions: text(checkpoint.channel_versions),
    versions_seen: Object.fromEntries(
      Object.entries(checkpoint.versions_seen).map(([node, seen]) => [node, text(seen)]),
    ),
  };
}
