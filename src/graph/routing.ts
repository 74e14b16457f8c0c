/**
 * Which nodes run next: static edges, join edges (run once every source ran), conditional
 * edges evaluated on the state after the barrier, and gotos from commands.
 */
import { InvalidGraphError } from "../errors.js";
import { END } from "./constants.js";
import type { GraphSpec } from "./graph-spec.js";

export interface Routed {
  next: string[];
  /** New value of the joins channel, or undefined when unchanged. */
  joins: Record<string, string[]> | undefined;
}

/**
 * Successors of the nodes that finished this step, in a deterministic order.
 * `gotos` holds per-node `Command.goto` targets (and resume gotos under the empty key).
 */
export async function route(
  spec: GraphSpec<any>,
  finished: readonly string[],
  state: Record<string, unknown>,
  storedJoins: Readonly<Record<string, string[]>> | undefined,
  gotos: readonly string[],
): Promise<Routed> {
  const next: string[] = [];
  const push = (to: string) => {
    if (to === END) return;
    if (!spec.nodes.has(to)) throw new InvalidGraphError(`routing to unknown node "${to}"`);
    if (!next.includes(to)) next.push(to);
  };
  gotos.forEach(push);
  for (const node of finished) {
    for (const to of spec.edges.get(node) ?? []) push(to);
    for (const branch of spec.branches.get(node) ?? []) {
      const result = await branch.router(state);
      const targets = typeof result === "string" ? [result] : result;
      for (const target of targets) {
        const mapped = branch.pathMap ? branch.pathMap[target] : target;
        if (mapped === undefined) {
          throw new InvalidGraphError(
            `conditional edge from "${node}" returned "${target}", which is not in its path map`,
          );
        }
        push(mapped);
      }
    }
  }
  let joins: Record<string, string[]> | undefined;
  spec.joins.forEach((join, i) => {
    const hits = finished.filter((n) => join.sources.includes(n));
    if (hits.length === 0) return;
    joins ??= { ...(storedJoins ?? {}) };
    const seen = new Set([...(joins[i] ?? []), ...hits]);
    if (join.sources.every((s) => seen.has(s))) {
      push(join.to);
      delete joins[i];
    } else joins[i] = [...seen].sort();
  });
  return { next, joins };
}
