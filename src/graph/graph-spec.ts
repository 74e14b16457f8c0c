/**
 * The shape of a compiled graph and what its runs share: the validated, frozen spec (nodes,
 * edges, joins, conditional edges) and the context a compiled graph hands each run. The builder,
 * the router, the runtime and time travel all depend on this file; it depends on none of them.
 */
import type { Checkpointer } from "../checkpoint/checkpointer.js";
import type { Store } from "../store/store.js";
import type { ChannelMap, StateOf, UpdateOf } from "./channels.js";
import type { Command } from "./command.js";
import type { StateMigration } from "./migrations.js";
import type { NodeContext } from "./node-context.js";
import type { RetryPolicy } from "./retry.js";

/** A node: reads the state, returns a partial update (or a `Command`, or nothing). */
export type NodeFn<C extends ChannelMap> = (
  state: StateOf<C>,
  ctx: NodeContext,
) =>
  | UpdateOf<C>
  | Command<UpdateOf<C>>
  | undefined
  | Promise<UpdateOf<C> | Command<UpdateOf<C>> | undefined>;

/** A router of a conditional edge: the next node or nodes (`END` to stop). */
export type Router<C extends ChannelMap> = (
  state: StateOf<C>,
) => string | readonly string[] | Promise<string | readonly string[]>;

/** Per-node options. */
export interface NodeOptions {
  /** Retry a failing node before recording the error. Default: no retry. */
  retry?: RetryPolicy;
}

export interface NodeSpec {
  readonly name: string;
  readonly fn: NodeFn<any>;
  readonly retry: RetryPolicy | undefined;
}

export interface BranchSpec {
  readonly router: Router<any>;
  readonly pathMap: Readonly<Record<string, string>> | undefined;
}

/** The validated, frozen shape of a graph. */
export interface GraphSpec<C extends ChannelMap> {
  readonly channels: C;
  readonly nodes: ReadonlyMap<string, NodeSpec>;
  readonly edges: ReadonlyMap<string, readonly string[]>;
  readonly joins: readonly { readonly sources: readonly string[]; readonly to: string }[];
  readonly branches: ReadonlyMap<string, readonly BranchSpec[]>;
}

/** What a compiled graph gives each run and each time-travel call. */
export interface RunContext {
  readonly spec: GraphSpec<any>;
  readonly checkpointer: Checkpointer;
  readonly interruptBefore: readonly string[];
  readonly interruptAfter: readonly string[];
  readonly schemaVersion: number;
  readonly migrations: Readonly<Record<number, StateMigration>>;
  readonly store: Store | undefined;
}
