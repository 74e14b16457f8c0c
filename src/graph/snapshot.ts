/**
 * The runtime's in-memory picture of one checkpoint, and how it becomes a storage write:
 * only channels whose version changed since the last saved snapshot are written, and an
 * append channel that only grew is written as the appended items.
 */
import type {
  ChannelUpdate,
  CheckpointMetadata,
  CheckpointTuple,
} from "../checkpoint/checkpointer.js";
import { extended } from "../extended.js";
import type { ChannelKind } from "./channels.js";

export interface Snapshot {
  readonly id: string;
  readonly parentId: string | undefined;
  readonly step: number;
  /** Stored channel values, the internal ones included. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly versions: Readonly<Record<string, string>>;
  readonly metadata: CheckpointMetadata;
  readonly createdAt: string;
  /** Nodes the next super-step runs. */
  readonly next: readonly string[];
  /** Sources seen so far by each join edge (by its index). */
  readonly joins: Readonly<Record<string, readonly string[]>>;
  /**
   * Effect name or key -> epoch, set by a fork that asked for those effects to run anew on its
   * branch; inherited by every checkpoint after it.
   */
  readonly effectEpochs?: Readonly<Record<string, string>> | undefined;
}

/** The snapshot of an empty thread. */
export const EMPTY_SNAPSHOT: Snapshot = {
  id: "",
  parentId: undefined,
  step: -2,
  values: {},
  versions: {},
  metadata: { source: "input", step: -2 },
  createdAt: "",
  next: [],
  joins: {},
};

export function snapshotFromTuple(tuple: CheckpointTuple): Snapshot {
  const c = tuple.checkpoint;
  return {
    id: c.id,
    parentId: c.parentId,
    step: c.metadata.step,
    values: c.values,
    versions: Object.fromEntries(Object.entries(c.channelVersions).map(([k, v]) => [k, String(v)])),
    metadata: c.metadata,
    createdAt: c.createdAt,
    next: (c.extra.next as string[] | undefined) ?? [],
    joins: (c.extra.joins as Record<string, string[]> | undefined) ?? {},
    effectEpochs: c.extra.effectEpochs as Record<string, string> | undefined,
  };
}

/** What a new checkpoint holds beyond its parent's bookkeeping. */
export interface ChildFields {
  readonly id: string;
  readonly step: number;
  readonly values: Readonly<Record<string, unknown>>;
  readonly versions: Readonly<Record<string, string>>;
  readonly next: readonly string[];
  readonly joins: Snapshot["joins"];
  readonly metadata: CheckpointMetadata;
  /** Replaces the parent's effect epochs (a fork that re-executes effects). */
  readonly effectEpochs?: Readonly<Record<string, string>> | undefined;
}

/** The child of `parent` (of nothing, for an empty thread's first checkpoint), made now. */
export function childOf(parent: Snapshot, fields: ChildFields): Snapshot {
  return extended(fields, {
    effectEpochs: fields.effectEpochs ?? parent.effectEpochs,
    parentId: parent.id || undefined,
    createdAt: new Date().toISOString(),
  });
}

/** The runtime fields stored in the checkpoint row. */
export function extraOf(snapshot: Snapshot): Record<string, unknown> {
  const extra: Record<string, unknown> = { next: snapshot.next };
  if (Object.keys(snapshot.joins).length > 0) extra.joins = snapshot.joins;
  if (snapshot.effectEpochs && Object.keys(snapshot.effectEpochs).length > 0) {
    extra.effectEpochs = snapshot.effectEpochs;
  }
  return extra;
}

/** Nodes the snapshot will run next. */
export function nextOf(snapshot: Snapshot): readonly string[] {
  return snapshot.next;
}

/** Channel updates that turn `saved` into `current`. */
export function diffUpdates(
  saved: Snapshot,
  current: Snapshot,
  kindOf: (channel: string) => ChannelKind | undefined,
): ChannelUpdate[] {
  const updates: ChannelUpdate[] = [];
  for (const [channel, version] of Object.entries(current.versions)) {
    const prevVersion = saved.versions[channel];
    if (prevVersion === version) continue;
    if (!(channel in current.values)) {
      updates.push({ channel, version, empty: true });
      continue;
    }
    const value = current.values[channel];
    const prev = saved.values[channel];
    if (
      kindOf(channel) === "append" &&
      prevVersion !== undefined &&
      Array.isArray(prev) &&
      Array.isArray(value) &&
      isPrefix(prev, value)
    ) {
      updates.push({
        channel,
        version,
        value,
        append: { prevVersion, items: value.slice(prev.length) },
      });
    } else updates.push({ channel, version, value });
  }
  return updates;
}

function isPrefix(prefix: readonly unknown[], full: readonly unknown[]): boolean {
  if (prefix.length > full.length) return false;
  for (let i = 0; i < prefix.length; i++) if (prefix[i] !== full[i]) return false;
  return true;
}
