/**
 * Builds loaded checkpoints from the rows of the PostgreSQL backend's read queries (see
 * postgres-queries.ts): each row is tagged `c` (a checkpoint), `b` (a blob of its chains) or `w`
 * (a pending write), and `rn` ranks its checkpoint in the query's order.
 */
import { compareWrites } from "../../checkpoint/blob-chain.js";
import type {
  LoadedCheckpoint,
  StoredBlob,
  StoredCheckpoint,
  StoredWrite,
} from "../../checkpoint/checkpoint-backend.js";
import { CorruptionError } from "../../errors.js";
import { toCheckpoint } from "./postgres-queries.js";
import { KIND_NAMES } from "./postgres-values.js";

interface Building {
  checkpoint: StoredCheckpoint;
  /** Set when a row of this checkpoint cannot be read; raised when the checkpoint is reached. */
  damage?: CorruptionError;
  chains: Record<string, { o: number; blob: StoredBlob }[]>;
  writes: StoredWrite[];
}

/**
 * Builds checkpoints from the tagged rows of the read queries, in their rank order. A damaged
 * checkpoint comes back as its error, so the ones before it in a page still load.
 */
export function assemble(rows: any[]): (LoadedCheckpoint | CorruptionError)[] {
  const byRank = new Map<number, Building>();
  for (const r of rows) {
    if (r.k === "c") byRank.set(r.rn, { checkpoint: toCheckpoint(r), chains: {}, writes: [] });
  }
  for (const r of rows) {
    const into = byRank.get(r.rn);
    if (!into || r.k === "c") continue;
    if (r.k === "b") {
      const list = into.chains[r.channel] ?? [];
      into.chains[r.channel] = list;
      const kind = KIND_NAMES[r.kind as number];
      if (kind === undefined) {
        const { threadId, id } = into.checkpoint;
        into.damage ??= new CorruptionError(
          `checkpoint ${id} of thread "${threadId}" has a value of unknown kind ${r.kind} (channel "${r.channel}")`,
          { threadId, checkpointId: id, channel: r.channel },
        );
        continue;
      }
      list.push({
        o: r.o,
        blob: {
          channel: r.channel,
          version: r.version,
          kind,
          prevVersion: r.prev_version,
          depth: r.depth,
          value: r.value === null ? null : { tag: r.tag, bytes: new Uint8Array(r.value) },
        },
      });
    } else {
      into.writes.push({
        taskId: r.task_id,
        taskPath: r.task_path,
        idx: r.idx,
        channel: r.channel,
        value: { tag: r.tag, bytes: new Uint8Array(r.value) },
      });
    }
  }
  return [...byRank.keys()]
    .sort((a, b) => a - b)
    .map((rank) => {
      const { checkpoint, chains, writes, damage } = byRank.get(rank)!;
      if (damage) return damage;
      const blobs: Record<string, StoredBlob[]> = {};
      // Oldest first: the full (or empty) blob, then the appends after it.
      for (const [channel, list] of Object.entries(chains)) {
        blobs[channel] = list.sort((x, y) => y.o - x.o).map((x) => x.blob);
      }
      return { checkpoint, blobs, writes: writes.sort(compareWrites) };
    });
}
