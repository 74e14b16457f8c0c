/**
 * The graph builder: channels, nodes, static edges, join edges and conditional edges.
 * `compile()` validates the shape and returns a runnable {@link CompiledGraph}.
 */
import { InvalidGraphError } from "../errors.js";
import type { ChannelMap } from "./channels.js";
import { CompiledGraph, type CompileOptions } from "./compiled-graph.js";
import { END, RESERVED_NAMES, START } from "./constants.js";
import type { BranchSpec, GraphSpec, NodeFn, NodeOptions, NodeSpec, Router } from "./graph-spec.js";

/**
 * @example
 * const app = new StateGraph({ count: reducer((a: number, b: number) => a + b, () => 0) })
 *   .addNode("inc", () => ({ count: 1 }))
 *   .addEdge(START, "inc")
 *   .addEdge("inc", END)
 *   .compile({ checkpointer });
 */
export class StateGraph<C extends ChannelMap> {
  readonly #channels: C;
  readonly #nodes = new Map<string, NodeSpec>();
  readonly #edges = new Map<string, string[]>();
  readonly #joins: { sources: string[]; to: string }[] = [];
  readonly #branches = new Map<string, BranchSpec[]>();

  constructor(channels: C) {
    for (const name of Object.keys(channels)) {
      if (RESERVED_NAMES.has(name)) throw new InvalidGraphError(`"${name}" is a reserved name`);
    }
    this.#channels = channels;
  }

  addNode(name: string, fn: NodeFn<C>, options: NodeOptions = {}): this {
    if (typeof name !== "string" || name.length === 0) {
      throw new InvalidGraphError("a node needs a non-empty name");
    }
    if (RESERVED_NAMES.has(name)) throw new InvalidGraphError(`"${name}" is a reserved name`);
    if (this.#nodes.has(name)) throw new InvalidGraphError(`node "${name}" is defined twice`);
    if (typeof fn !== "function") throw new InvalidGraphError(`node "${name}" needs a function`);
    this.#nodes.set(name, { name, fn, retry: options.retry });
    return this;
  }

  /** `addEdge("a", "b")` runs b after a; `addEdge(["a", "b"], "c")` runs c once both ran. */
  addEdge(from: string | readonly string[], to: string): this {
    if (Array.isArray(from)) {
      if (from.length === 0) throw new InvalidGraphError("a join edge needs at least one source");
      this.#joins.push({ sources: [...new Set(from)], to });
      return this;
    }
    const list = this.#edges.get(from as string) ?? [];
    list.push(to);
    this.#edges.set(from as string, list);
    return this;
  }

  /** After `from`, `router(state)` picks the next node(s), optionally through `pathMap`. */
  addConditionalEdges(
    from: string,
    router: Router<C>,
    pathMap?: Readonly<Record<string, string>> | readonly string[],
  ): this {
    const map = Array.isArray(pathMap)
      ? Object.fromEntries(pathMap.map((p) => [p, p]))
      : (pathMap as Readonly<Record<string, string>> | undefined);
    const list = this.#branches.get(from) ?? [];
    list.push({ router, pathMap: map });
    this.#branches.set(from, list);
    return this;
  }

  /** Validates the graph and returns the runnable app. */
  compile(options: CompileOptions = {}): CompiledGraph<C> {
    const known = (n: string) => this.#nodes.has(n);
    const checkTarget = (to: string, where: string) => {
      if (to !== END && !known(to))
        throw new InvalidGraphError(`${where} points to unknown node "${to}"`);
    };
    const checkSource = (from: string) => {
      if (from !== START && !known(from))
        throw new InvalidGraphError(`edge from unknown node "${from}"`);
    };
    for (const [from, targets] of this.#edges) {
      checkSource(from);
      for (const to of targets) checkTarget(to, `edge from "${from}"`);
    }
    for (const join of this.#joins) {
      join.sources.forEach(checkSource);
      checkTarget(join.to, "join edge");
    }
    for (const [from, branches] of this.#branches) {
      checkSource(from);
      for (const b of branches) {
        for (const to of Object.values(b.pathMap ?? {}))
          checkTarget(to, `conditional edge from "${from}"`);
      }
    }
    if (!this.#edges.has(START) && !this.#branches.has(START)) {
      throw new InvalidGraphError("the graph has no entry point: add an edge from START");
    }
    for (const name of [...(options.interruptBefore ?? []), ...(options.interruptAfter ?? [])]) {
      if (!known(name)) throw new InvalidGraphError(`breakpoint on unknown node "${name}"`);
    }
    const spec: GraphSpec<C> = {
      channels: this.#channels,
      nodes: new Map(this.#nodes),
      edges: new Map([...this.#edges].map(([k, v]) => [k, [...v]])),
      joins: this.#joins.map((j) => ({ sources: [...j.sources], to: j.to })),
      branches: new Map([...this.#branches].map(([k, v]) => [k, [...v]])),
    };
    return new CompiledGraph(spec, options);
  }
}
