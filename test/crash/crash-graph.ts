/**
 * The graph the crash suite kills: a fan-out of three parallel fetches, a join, a human
 * approval (interrupt) and a booking. Every node records its start and end through `record`.
 */
import { appendChannel, interrupt, lastValue, START, StateGraph } from "../../src/index.js";

export function crashGraph(record: (line: string) => void) {
  const step =
    (name: string, delayMs = 0) =>
    async (_state: unknown, ctx: { taskId: string }) => {
      record(`start ${name} ${ctx.taskId}`);
      if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
      record(`end ${name} ${ctx.taskId}`);
      return { log: name };
    };
  return new StateGraph({ log: appendChannel<string>(), approved: lastValue<boolean>(() => false) })
    .addNode("plan", step("plan"))
    .addNode("fetchA", step("fetchA"))
    .addNode("fetchB", step("fetchB", 5))
    .addNode("fetchC", step("fetchC", 2))
    .addNode("merge", step("merge"))
    .addNode("approve", async (_state, ctx) => {
      record(`start approve ${ctx.taskId}`);
      const approved = interrupt<boolean>({ question: "book it?" });
      record(`end approve ${ctx.taskId}`);
      return { approved, log: "approve" };
    })
    .addNode("book", step("book"))
    .addEdge(START, "plan")
    .addEdge("plan", "fetchA")
    .addEdge("plan", "fetchB")
    .addEdge("plan", "fetchC")
    .addEdge(["fetchA", "fetchB", "fetchC"], "merge")
    .addEdge("merge", "approve")
    .addEdge("approve", "book");
}

/** The final log of an uninterrupted run. */
export const EXPECTED_LOG = [
  "input",
  "plan",
  "fetchA",
  "fetchB",
  "fetchC",
  "merge",
  "approve",
  "book",
];
