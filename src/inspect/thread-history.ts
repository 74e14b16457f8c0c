/**
 * A thread's history as the inspector reads it: the checkpoint tree from headers (id, parent,
 * step, source, time), never the channel values. The one place the inspector reads history, so
 * a cheaper header listing on the checkpointer is switched in here alone.
 */
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { type Lineage, readLineage, renderLineage } from "../graph/lineage.js";

/** The lineage of `threadId` (damaged checkpoints listed apart, their neighbours kept). */
export function readHistory(checkpointer: Checkpointer, threadId: string): Promise<Lineage> {
  return readLineage(checkpointer, threadId);
}

/** A lineage as plain JSON (its node map as a list, oldest first). */
export function lineageJson(lineage: Lineage) {
  return {
    currentId: lineage.currentId,
    rootIds: lineage.rootIds,
    forkPoints: lineage.forkPoints,
    branches: lineage.branches,
    nodes: [...lineage.nodes.values()],
    damaged: lineage.damaged ?? [],
  };
}

/** The tree in text, one checkpoint a line: its id, step, source and time; the head marked. */
export function renderHistory(lineage: Lineage): string {
  return renderLineage(
    lineage,
    (n) => `${n.checkpointId}  step ${n.step}  ${n.source}  ${n.createdAt}`,
  );
}
