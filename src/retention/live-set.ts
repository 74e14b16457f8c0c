/**
 * The live set of a thread, computed from its footprint before anything is deleted: every
 * branch head (a checkpoint without children in its namespace), every fork point, every pause
 * point (an interrupt among its writes), every pinned checkpoint, and, in a subgraph namespace,
 * every checkpoint whose parent-graph checkpoint is kept. The policy then keeps what its limits
 * keep; everything else of the thread is doomed. Nothing here reads values or touches storage.
 */
import type { CheckpointFootprint, ThreadFootprint } from "../checkpoint/checkpoint-backend.js";
import type { RetentionRule } from "./retention-policy.js";

/** The channel of a pending write that pauses a run (the runtime's and LangGraph's name). */
export const INTERRUPT_WRITE_CHANNEL = "__interrupt__";

/** What a prune reads from a checkpoint's metadata. */
export interface MetadataFacts {
  readonly step?: number | undefined;
  /** LangGraph's `parents`: namespace -> checkpoint id of the enclosing graph's checkpoint. */
  readonly parents?: Readonly<Record<string, string>> | undefined;
}

/** One namespace of a thread, split. Both lists ascend by id. */
export interface NamespaceSplit {
  readonly ns: string;
  readonly kept: readonly CheckpointFootprint[];
  readonly doomed: readonly CheckpointFootprint[];
}

/** Why a checkpoint is kept regardless of the policy, or undefined. */
export type LiveReason = "branch head" | "fork point" | "interrupt" | "pinned" | "parent kept";

/**
 * Splits a thread into what stays and what may go under `rule` at time `now` (epoch ms).
 * `facts` reads a checkpoint's metadata (it may return `{}` when unreadable, which only
 * forgoes the subgraph rule for it).
 */
export function splitThread(
  print: ThreadFootprint,
  rule: RetentionRule,
  now: number,
  facts: (c: CheckpointFootprint) => MetadataFacts,
): NamespaceSplit[] {
  const byNs = new Map<string, CheckpointFootprint[]>();
  for (const c of print.checkpoints) {
    const list = byNs.get(c.ns) ?? [];
    list.push(c);
    byNs.set(c.ns, list);
  }
  const pins = new Set(print.pins);
  const kept = new Map<string, Set<string>>();
  const splits: NamespaceSplit[] = [];
  // Parents before children: an enclosing graph's namespace is a prefix of its subgraphs'.
  for (const ns of [...byNs.keys()].sort((a, b) => a.length - b.length || (a < b ? -1 : 1))) {
    const list = [...byNs.get(ns)!].sort((a, b) => (a.id < b.id ? -1 : 1));
    const keep = new Set<string>();
    const children = new Map<string, number>();
    for (const c of list) {
      if (c.parentId !== null) children.set(c.parentId, (children.get(c.parentId) ?? 0) + 1);
    }
    for (const c of list) {
      if (liveReason(c, children.get(c.id) ?? 0, pins, ns === "" ? undefined : facts(c), kept)) {
        keep.add(c.id);
      }
    }
    for (const c of keptByPolicy(list, rule, now)) keep.add(c.id);
    kept.set(ns, keep);
    splits.push({
      ns,
      kept: list.filter((c) => keep.has(c.id)),
      doomed: list.filter((c) => !keep.has(c.id)),
    });
  }
  return rule.maxBytesPerThread === undefined
    ? splits
    : capBytes(splits, print, rule.maxBytesPerThread);
}

/** Why `c` belongs to the live set whatever the policy says, or undefined. */
export function liveReason(
  c: CheckpointFootprint,
  children: number,
  pins: ReadonlySet<string>,
  meta: MetadataFacts | undefined,
  kept: ReadonlyMap<string, ReadonlySet<string>>,
): LiveReason | undefined {
  if (children === 0) return "branch head";
  if (children > 1) return "fork point";
  if (c.writeChannels.includes(INTERRUPT_WRITE_CHANNEL)) return "interrupt";
  if (pins.has(c.id)) return "pinned";
  for (const [ns, id] of Object.entries(meta?.parents ?? {})) {
    if (kept.get(ns)?.has(id)) return "parent kept";
  }
  return undefined;
}

/** The checkpoints the policy's count and age limits keep (all of them when it sets neither). */
function keptByPolicy(
  list: readonly CheckpointFootprint[],
  rule: RetentionRule,
  now: number,
): CheckpointFootprint[] {
  if (rule.keepLast === undefined && rule.maxAgeMs === undefined) return [...list];
  const newest = list.length - (rule.keepLast ?? list.length);
  return list.filter((c, i) => {
    if (i < newest) return false;
    if (rule.maxAgeMs === undefined) return true;
    return now - Date.parse(c.createdAt) <= rule.maxAgeMs;
  });
}

/**
 * Under a byte cap, the oldest kept checkpoints that are not live go too (across namespaces,
 * oldest first) until the thread's estimated size fits. A checkpoint is estimated to free its
 * row, its writes and the values it introduced (versions its parent did not have).
 */
function capBytes(
  splits: NamespaceSplit[],
  print: ThreadFootprint,
  maxBytes: number,
): NamespaceSplit[] {
  const blobBytes = new Map(
    print.blobs.map((b) => [`${b.ns}\0${b.channel}\0${b.version}`, b.bytes]),
  );
  const byId = new Map(print.checkpoints.map((c) => [`${c.ns}\0${c.id}`, c]));
  const frees = (c: CheckpointFootprint) => {
    const parent = c.parentId === null ? undefined : byId.get(`${c.ns}\0${c.parentId}`);
    let bytes = c.bytes + c.writeBytes;
    for (const [channel, version] of Object.entries(c.channelVersions)) {
      if (parent && String(parent.channelVersions[channel]) === String(version)) continue;
      bytes += blobBytes.get(`${c.ns}\0${channel}\0${String(version)}`) ?? 0;
    }
    return bytes;
  };
  let total = print.blobs.reduce((sum, b) => sum + b.bytes, 0);
  for (const c of print.checkpoints) total += c.bytes + c.writeBytes;
  for (const split of splits) for (const c of split.doomed) total -= frees(c);
  if (total <= maxBytes) return splits;
  const pins = new Set(print.pins);
  const candidates: { split: number; c: CheckpointFootprint }[] = [];
  splits.forEach((split, i) => {
    const children = new Map<string, number>();
    for (const c of [...split.kept, ...split.doomed]) {
      if (c.parentId !== null) children.set(c.parentId, (children.get(c.parentId) ?? 0) + 1);
    }
    for (const c of split.kept) {
      if (!liveReason(c, children.get(c.id) ?? 0, pins, undefined, new Map())) {
        candidates.push({ split: i, c });
      }
    }
  });
  candidates.sort((a, b) => (a.c.id < b.c.id ? -1 : 1));
  const extra = splits.map(() => new Set<string>());
  for (const { split, c } of candidates) {
    if (total <= maxBytes) break;
    extra[split]!.add(c.id);
    total -= frees(c);
  }
  return splits.map((split, i) => {
    const more = extra[i]!;
    if (more.size === 0) return split;
    return {
      ns: split.ns,
      kept: split.kept.filter((c) => !more.has(c.id)),
      doomed: [...split.doomed, ...split.kept.filter((c) => more.has(c.id))].sort((a, b) =>
        a.id < b.id ? -1 : 1,
      ),
    };
  });
}
