/** Graph entry and exit markers, and the reserved channel names the runtime stores. */

/** The virtual node every run starts from. */
export const START = "__start__";
/** The virtual node that ends a run. */
export const END = "__end__";

/** Internal channel: the nodes the next super-step runs. */
export const NEXT_CHANNEL = "__next__";
/** Internal channel: sources seen so far by join edges (`addEdge(["a", "b"], "c")`). */
export const JOINS_CHANNEL = "__joins__";

/** Special pending-write channels; their `idx` is negative, so the storage upserts them. */
export const ERROR_CHANNEL = "__error__";
export const INTERRUPT_CHANNEL = "__interrupt__";
export const RESUME_CHANNEL = "__resume__";
/** Marks a task that finished without writing anything, so a resumed step does not rerun it. */
export const DONE_CHANNEL = "__done__";
/** Routing decided by a finished task (its conditional edges and `Command.goto`). */
export const ROUTE_CHANNEL = "__route__";

export const ERROR_IDX = -1;
export const INTERRUPT_IDX = -3;

/** Pseudo task ids for writes that do not come from a node. */
export const COMMAND_TASK = "__command__";
export const BREAKPOINT_TASK = "__breakpoint__";

export const RESERVED_NAMES: ReadonlySet<string> = new Set([
  START,
  END,
  NEXT_CHANNEL,
  JOINS_CHANNEL,
  ERROR_CHANNEL,
  INTERRUPT_CHANNEL,
  RESUME_CHANNEL,
  DONE_CHANNEL,
  ROUTE_CHANNEL,
]);
