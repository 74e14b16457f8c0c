/**
 * What a prune of one namespace writes and deletes besides checkpoint rows: the values every
 * kept checkpoint still needs (the links of its channels' chains back to their full values),
 * full values written to re-base a kept chain whose earlier links go, and the values nothing
 * kept needs any more. Reads kept checkpoints through the door and decodes only the ones whose
 * values a rebase needs, with the checkpointer's codec (so checksums are verified first).
 */
import type {
  BlobFootprint,
  CheckpointFootprint,
  LoadedCheckpoint,
  StoredBlob,
} from "../checkpoint/checkpoint-backend.js";
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { ConflictError } from "../errors.js";

/** The value side of a namespace's prune. */
export interface ValuePlan {
  /** Full values replacing an append at the same version (written before anything goes). */
  readonly rebase: readonly StoredBlob[];
  /** Values nothing kept needs; `bytes` is 0 for a value kept inside its checkpoint's row. */
  readonly drop: readonly BlobFootprint[];
}

/**
 * Plans the values of namespace `ns` of `threadId` (a storage key) when `doomed` go and `kept`
 * stay; `blobs` are the footprint's stored values of that namespace.
 */
export async function planValues(
  checkpointer: Checkpointer,
  threadId: string,
  ns: string,
  kept: readonly CheckpointFootprint[],
  doomed: readonly CheckpointFootprint[],
  blobs: readonly BlobFootprint[],
): Promise<ValuePlan> {
  if (doomed.length === 0) return { rebase: [], drop: [] };
  const tips = new Map<string, Set<string>>();
  for (const c of kept) {
    for (const [channel, version] of Object.entries(c.channelVersions)) {
      const set = tips.get(channel) ?? new Set<string>();
      set.add(String(version));
      tips.set(channel, set);
    }
  }
  const needed = new Set<string>();
  const rebaseAt = new Map<string, string>();
  const loaded = new Map<string, LoadedCheckpoint>();
  for (const c of kept) {
    const raw = await checkpointer.door.getCheckpoint(threadId, ns, c.id);
    if (!raw) {
      throw new ConflictError(
        `checkpoint ${c.id} of thread "${threadId}" went away during the prune`,
        {
          threadId,
          checkpointId: c.id,
        },
      );
    }
    loaded.set(c.id, raw);
    for (const [channel, chain] of Object.entries(raw.blobs)) {
      const links = chainVersions(chain);
      const ours = tips.get(channel) ?? new Set<string>();
      let from = links.length - 1;
      while (from > 0 && ours.has(links[from - 1]!)) from--;
      for (const version of links.slice(from)) needed.add(`${channel}\0${version}`);
      if (from > 0) rebaseAt.set(`${channel}\0${links[from]!}`, channel);
    }
  }
  const rebase: StoredBlob[] = [];
  const decoded = new Map<string, Readonly<Record<string, unknown>>>();
  for (const [key, channel] of rebaseAt) {
    const version = key.slice(channel.length + 1);
    const owner = kept.find((c) => String(c.channelVersions[channel]) === version)!;
    let values = decoded.get(owner.id);
    if (!values) {
      values = checkpointer.decode(loaded.get(owner.id)!, true, false).checkpoint.values;
      decoded.set(owner.id, values);
    }
    const site = { threadId, checkpointId: owner.id };
    rebase.push(
      checkpointer.codec.encodeBlob(
        { kind: "full", channel, version, value: values[channel] },
        site,
      ),
    );
  }
  const drop = new Map<string, BlobFootprint>();
  for (const c of doomed) {
    for (const [channel, v] of Object.entries(c.channelVersions)) {
      const version = String(v);
      const key = `${channel}\0${version}`;
      if (!needed.has(key)) drop.set(key, { ns, channel, version, bytes: 0 });
    }
  }
  for (const b of blobs) {
    const key = `${b.channel}\0${b.version}`;
    if (!needed.has(key)) drop.set(key, b);
  }
  return { rebase, drop: [...drop.values()] };
}

/** The versions a loaded chain is made of, oldest first (a merged run counts each piece). */
export function chainVersions(chain: readonly StoredBlob[]): string[] {
  const out: string[] = [];
  for (const blob of chain) {
    if (blob.pieces && blob.pieces.length > 1) {
      for (let k = 1; k < blob.pieces.length; k++) out.push(blob.pieces[k]!.prevVersion);
    }
    out.push(blob.version);
  }
  return out;
}
