/**
 * Shared fixtures of the checkpoint conformance suite: the per-test context, a registered class,
 * and small builders that keep the cases readable.
 */
import { randomBytes } from "node:crypto";
import type { CheckpointBackend } from "../checkpoint/checkpoint-backend.js";
import type {
  Checkpointer,
  CheckpointMetadata,
  CheckpointTuple,
  ListOptions,
  PutOptions,
} from "../checkpoint/checkpointer.js";
import { newCheckpointId } from "../ids.js";
import { JsonSerializer } from "../serde/serializer.js";
import type { NamedCase } from "./conformance-suite.js";

/** A user class the suite registers with its serializer, to check registered classes round-trip. */
export class ConformanceMoney {
  constructor(
    readonly amount: bigint,
    readonly currency: string,
  ) {}

  format(): string {
    return `${this.amount} ${this.currency}`;
  }
}

/** The serializer every conformance checkpointer uses. */
export function conformanceSerializer(): JsonSerializer {
  return new JsonSerializer().register("ConformanceMoney", ConformanceMoney);
}

/**
 * Options of the suite's checkpointer: a short append policy, so that full snapshots happen
 * within a few steps and the append chains the suite builds cross them.
 */
export const CONFORMANCE_APPEND_POLICY = { minAppendDepth: 3, appendRatio: 1, maxAppendDepth: 5 };

/** What each case gets: a fresh backend, its checkpointer, and names unique to the test. */
export interface CaseContext {
  readonly backend: CheckpointBackend;
  readonly checkpointer: Checkpointer;
  /** Random per test; put into metadata so cross-thread queries ignore other tests' data. */
  readonly tag: string;
  /** A thread id unique to this test. */
  thread(label: string): string;
  /** Present when the harness can corrupt a stored checkpoint in a backend-specific way. */
  readonly corrupt:
    | ((key: { threadId: string; ns: string; checkpointId: string }) => Promise<void>)
    | undefined;
}

/** One named checkpoint conformance case. */
export type ConformanceCase = NamedCase<CaseContext>;

/** A unique tag for one test. */
export function newTag(): string {
  return randomBytes(6).toString("hex");
}

/** `n` checkpoint ids in increasing order. */
export function ids(n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(newCheckpointId(out.at(-1)));
  return out;
}

/** Options of {@link putFull}. */
export interface PutFullOptions extends PutOptions {
  readonly ns?: string;
  readonly parentId?: string | undefined;
  readonly metadata?: Partial<CheckpointMetadata> & Record<string, unknown>;
  /** Channels carried over unchanged: channel -> version already stored. */
  readonly carried?: Readonly<Record<string, string>>;
  readonly createdAt?: string;
}

/**
 * Stores checkpoint `id` whose every channel in `values` is written in full at version `id`,
 * plus `carried` channels that point at versions stored earlier.
 */
export async function putFull(
  ctx: CaseContext,
  threadId: string,
  id: string,
  values: Readonly<Record<string, unknown>>,
  options: PutFullOptions = {},
): Promise<void> {
  const channelVersions: Record<string, string> = { ...options.carried };
  for (const channel of Object.keys(values)) channelVersions[channel] = id;
  return ctx.checkpointer.put(
    {
      threadId,
      ns: options.ns ?? "",
      id,
      parentId: options.parentId,
      createdAt: options.createdAt,
      channelVersions,
      versionsSeen: {},
      metadata: { source: "loop", step: 0, tag: ctx.tag, ...options.metadata },
      updates: Object.entries(values).map(([channel, value]) => ({ channel, version: id, value })),
    },
    { expectedHead: options.expectedHead, fence: options.fence, release: options.release },
  );
}

/** Every item of an async iterable. */
export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of iterable) out.push(item);
  return out;
}

/** Ids of the checkpoints `list(options)` yields, in order. */
export async function listIds(ctx: CaseContext, options: ListOptions): Promise<string[]> {
  return (await collect(ctx.checkpointer.list(options))).map((t) => t.checkpoint.id);
}

/** The tuple at `id`, failing the test when it is missing. */
export async function mustGet(
  ctx: CaseContext,
  threadId: string,
  id?: string,
  ns = "",
): Promise<CheckpointTuple> {
  const tuple = await ctx.checkpointer.get(threadId, { ns, checkpointId: id });
  if (!tuple) throw new Error(`checkpoint ${id ?? "(latest)"} of "${threadId}" is missing`);
  return tuple;
}

/** Waits `ms` milliseconds (lease expiry only; never used to assert speed). */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** What `attempt` rejected with, or `undefined` if it resolved (started lazily, so no rejection goes unhandled). */
export async function caught(attempt: () => Promise<unknown>): Promise<any> {
  try {
    await attempt();
    return undefined;
  } catch (error) {
    return error;
  }
}
