/**
 * A thread's checkpoints as a tree: forks are branches; the newest checkpoint is the current
 * head; every leaf is a branch head.
 */
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import { scanThread } from "../checkpoint/repair.js";

export interface LineageNode {
  readonly checkpointId: string;
  readonly parentId: string | undefined;
  readonly step: number;
  readonly source: string;
  readonly createdAt: string;
  readonly children: readonly string[];
}

export interface Branch {
  /** The branch's newest checkpoint (a leaf of the tree). */
  readonly headId: string;
  /** Where this branch left its parent branch (undefined for the root branch). */
  readonly forkedFrom: string | undefined;
  /** Checkpoint ids from the branch's first checkpoint to its head. */
  readonly checkpointIds: readonly string[];
  readonly isCurrent: boolean;
}

export interface Lineage {
  readonly nodes: ReadonlyMap<string, LineageNode>;
  readonly rootIds: readonly string[];
  /** Checkpoints with more than one child. */
  readonly forkPoints: readonly string[];
  readonly branches: readonly Branch[];
  /** The thread's head: its newest checkpoint. */
  readonly currentId: string | undefined;
  /**
   * Checkpoints whose stored header cannot be read (see `repairThread`), newest first; they are
   * not in `nodes`. Absent or empty when nothing is damaged.
   */
  readonly damaged?: readonly { readonly checkpointId: string; readonly reason: string }[];
}

/** Builds the tree from checkpoint headers (any order). */
export function buildLineage(headers: readonly Omit<LineageNode, "children">[]): Lineage {
  const children = new Map<string, string[]>();
  for (const h of headers) {
    if (h.parentId !== undefined) {
      const list = children.get(h.parentId) ?? [];
      list.push(h.checkpointId);
      children.set(h.parentId, list);
    }
  }
  const nodes = new Map<string, LineageNode>();
  for (const h of [...headers].sort((a, b) => (a.checkpointId < b.checkpointId ? -1 : 1))) {
    nodes.set(h.checkpointId, { ...h, children: (children.get(h.checkpointId) ?? []).sort() });
  }
  const rootIds = [...nodes.values()]
    .filter((n) => n.parentId === undefined || !nodes.has(n.parentId))
    .map((n) => n.checkpointId);
  const forkPoints = [...nodes.values()]
    .filter((n) => n.children.length > 1)
    .map((n) => n.checkpointId);
  const currentId = [...nodes.keys()].at(-1);
  const branches: Branch[] = [];
  const leaves = [...nodes.values()].filter((n) => n.children.length === 0);
  for (const leaf of leaves) {
    const ids: string[] = [];
    let cursor: LineageNode | undefined = leaf;
    let forkedFrom: string | undefined;
    while (cursor) {
      ids.push(cursor.checkpointId);
      const parent: LineageNode | undefined =
        cursor.parentId === undefined ? undefined : nodes.get(cursor.parentId);
      // A branch starts where its parent has another, older child: the first child continues the parent's branch.
      if (parent && parent.children.length > 1 && parent.children[0] !== cursor.checkpointId) {
        forkedFrom = parent.checkpointId;
        break;
      }
      cursor = parent;
    }
    branches.push({
      headId: leaf.checkpointId,
      forkedFrom,
      checkpointIds: ids.reverse(),
      isCurrent: leaf.checkpointId === currentId,
    });
  }
  branches.sort((a, b) => (a.checkpointIds[0]! < b.checkpointIds[0]! ? -1 : 1));
  return { nodes, rootIds, forkPoints, branches, currentId };
}

/** A text rendering of the tree, one checkpoint per line, the current head marked. */
export function renderLineage(
  lineage: Lineage,
  label: (node: LineageNode) => string = defaultLabel,
): string {
  const from = (id: string): string[] => {
    const lines: string[] = [];
    let cursor: LineageNode | undefined = lineage.nodes.get(id);
    while (cursor) {
      lines.push(
        `${label(cursor)}${cursor.checkpointId === lineage.currentId ? "  <- current" : ""}`,
      );
      const kids = cursor.children;
      if (kids.length === 1) {
        cursor = lineage.nodes.get(kids[0]!);
        continue;
      }
      kids.forEach((kid, i) => {
        const last = i === kids.length - 1;
        from(kid).forEach((line, j) => {
          lines.push(`${j === 0 ? (last ? "└─ " : "├─ ") : last ? "   " : "│  "}${line}`);
        });
      });
      break;
    }
    return lines;
  };
  return lineage.rootIds.flatMap(from).join("\n");
}

function defaultLabel(node: LineageNode): string {
  return `${node.checkpointId.slice(-8)} step ${node.step} (${node.source})`;
}

/**
 * A thread's lineage read from its checkpoint headers; a checkpoint whose header cannot be read
 * is listed in `damaged` and the history below it is still read.
 */
export async function readLineage(checkpointer: Checkpointer, threadId: string): Promise<Lineage> {
  const headers = [];
  const damaged: { checkpointId: string; reason: string }[] = [];
  for await (const scanned of scanThread(checkpointer, threadId, { includeValues: false })) {
    if (scanned.damage) {
      damaged.push({ checkpointId: scanned.id, reason: scanned.damage.message });
      continue;
    }
    const c = scanned.tuple.checkpoint;
    headers.push({
      checkpointId: c.id,
      parentId: c.parentId,
      step: c.metadata.step,
      source: c.metadata.source,
      createdAt: c.createdAt,
    });
  }
  return { ...buildLineage(headers), damaged };
}
