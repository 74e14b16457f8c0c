/**
 * The runtime's in-memory picture of one checkpoint, and how it becomes a storage write:
 * only channels whose version changed since the last saved snapshot are written, and an
 * append channel that only grew is written as the appended items.
 */
import type {
  AppendState,
  ChannelUpdate,
  CheckpointMetadata,
  CheckpointTuple,
} from "../storage/checkpointer.js";
import type { ChannelKind } from "./channels.js";
import { NEXT_CHANNEL } from "./constants.js";

export interface Snapshot {
  readonly id: string;
  readonly parentId: string | undefined;
  readonly step: number;
  /** Stored channel values, the internal ones included. */
  readonly values: Readonly<Record<string, unknown>>;
  readonly versions: Readonly<Record<string, string>>;
  readonly appendState: Readonly<Record<string, AppendState>>;
  readonly metadata: CheckpointMetadata;
  readonly createdAt: string;
}

/** The snapshot of an empty thread. */
export const EMPTY_SNAPSHOT: Snapshot = {
  id: "",
  parentId: undefined,
  step: -2,
  values: {},
  versions: {},
  appendState: {},
  metadata: { source: "input", step: -2 },
  createdAt: "",
};

export function snapshotFromTuple(tuple: CheckpointTuple): Snapshot {
  const c = tuple.checkpoint;
  return {
    id: c.id,
    parentId: c.parentId,
    step: c.metadata.step,
    values: c.values,
    versions: Object.fromEntries(Object.entries(c.channelVersions).map(([k, v]) => [k, String(v)])),
    appendState: c.appendState,
    metadata: c.metadata,
    createdAt: c.createdAt,
  };
}

/** Nodes the snapshot will run next. */
export function nextOf(snapshot: Snapshot): string[] {
  return (snapshot.values[NEXT_CHANNEL] as string[] | undefined) ?? [];
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
    const prevState = saved.appendState[channel];
    if (
      kindOf(channel) === "append" &&
      prevVersion !== undefined &&
      prevState !== undefined &&
      Array.isArray(prev) &&
      Array.isArray(value) &&
      isPrefix(prev, value)
    ) {
      updates.push({
        channel,
        version,
        value,
        append: { prevVersion, items: value.slice(prev.length), prev: prevState },
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
