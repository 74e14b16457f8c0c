/**
 * What the saver reads from LangGraph's arguments, and the few rules it applies to them: the
 * thread's storage key (thread and tenant) and namespace from a config, canonical timestamps, the channel versions it hands
 * out, and which head a `put` must find (the racing-writer rule).
 */
import type { RunnableConfig } from "@langchain/core/runnables";
import type { Checkpoint, CheckpointMetadata } from "@langchain/langgraph-checkpoint";
import { isCanonicalIsoTime } from "../checkpoint/iso-time.js";
import { threadKey } from "../checkpoint/thread-key.js";
import { InvalidInputError } from "../errors.js";
import { validateThreadId } from "../ids.js";
import { validateTenantId } from "../store/store-validation.js";

/** Channel versions the saver hands out: zero-padded step, then a random suffix. */
const UNIQUE_VERSION = /^\d{10,}\.[0-9a-f]{8}$/;

/**
 * The version after `current`: the step number zero-padded (so versions compare correctly as
 * strings, which LangGraph's runtime does) and a random suffix that keeps two branches of a
 * thread from sharing a version.
 */
export function nextChannelVersion(current: number | string | undefined): string {
  let step = 0;
  if (typeof current === "number") step = Math.floor(current);
  else if (typeof current === "string" && current !== "") {
    step = Number.parseInt(current.split(".")[0]!, 10);
    if (!Number.isFinite(step)) {
      throw new InvalidInputError(`cannot follow channel version "${current}"`);
    }
  }
  // Uniqueness across branches, not secrecy: Math.random is enough and far cheaper than crypto.
  const suffix = Math.floor(Math.random() * 0x1_0000_0000)
    .toString(16)
    .padStart(8, "0");
  return `${String(step + 1).padStart(10, "0")}.${suffix}`;
}

/** Whether a version is one {@link nextChannelVersion} made (unique to one branch). */
export function isUniqueVersion(version: string): boolean {
  return UNIQUE_VERSION.test(version);
}

/** The rule documented on {@link RewindSaver}: which head a put must find, if any. */
export function headToExpect(
  config: RunnableConfig,
  metadata: CheckpointMetadata,
  parentId: string | undefined,
): string | undefined {
  if (parentId === undefined) return undefined;
  if (metadata?.source === "update" || metadata?.source === "fork") return undefined;
  if (config.metadata?.checkpoint_id === parentId) return undefined;
  return parentId;
}

/**
 * The tenant a config names in `configurable.tenant_id` (validated like the store's tenant ids),
 * or `undefined` for the default tenant.
 */
export function tenantOf(config: RunnableConfig): string | undefined {
  const raw = config.configurable?.tenant_id;
  if (raw === undefined || raw === null) return undefined;
  return validateTenantId(raw);
}

/**
 * The one place a config becomes a thread's storage key: `configurable.thread_id` in the tenant
 * of `configurable.tenant_id` (see `threadKey`); `undefined` when the config names no thread.
 */
export function optionalThreadKey(config: RunnableConfig): string | undefined {
  const raw = config.configurable?.thread_id;
  if (raw === undefined || raw === null || raw === "") return undefined;
  const threadId = validateThreadId(typeof raw === "number" ? String(raw) : raw, "thread_id");
  return threadKey(threadId, tenantOf(config));
}

export function requiredThreadKey(config: RunnableConfig, method: string): string {
  const threadId = optionalThreadKey(config);
  if (threadId === undefined) {
    throw new InvalidInputError(`${method}: config.configurable.thread_id is missing`);
  }
  return threadId;
}

export function namespaceOf(config: RunnableConfig): string | undefined {
  const ns = config.configurable?.checkpoint_ns;
  if (ns === undefined || ns === null) return undefined;
  if (typeof ns !== "string") throw new InvalidInputError("checkpoint_ns must be a string");
  return ns;
}

/** Entries of `versions_seen` that are not nodes: what the input and interrupts saw. */
const NOT_NODES = new Set(["__input__", "__interrupt__"]);

/**
 * Nodes whose pending task a new checkpoint marks as seen without running it: LangGraph does
 * that to the head's unfinished tasks when a new input arrives (it discards them). Empty when
 * the head had none, as at the end of a finished run.
 */
export function discardedNodes(
  parentSeen: Checkpoint["versions_seen"],
  seen: Checkpoint["versions_seen"],
): string[] {
  const nodes: string[] = [];
  for (const [node, channels] of Object.entries(seen)) {
    if (NOT_NODES.has(node)) continue;
    const before = parentSeen[node] ?? {};
    if (Object.entries(channels).some(([channel, version]) => before[channel] !== version)) {
      nodes.push(node);
    }
  }
  return nodes;
}

/** `ts` when it is canonical ISO-8601 text (so backends may store it as a time), else undefined. */
export function canonicalTime(ts: unknown): string | undefined {
  return typeof ts === "string" && isCanonicalIsoTime(ts) ? ts : undefined;
}
