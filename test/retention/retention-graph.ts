/**
 * The graph the retention tests build histories with: each turn appends to a growing list
 * (an append chain), counts, and may pause for a human (an interrupt) before it ends.
 */
import {
  appendChannel,
  type Checkpointer,
  END,
  interrupt,
  lastValue,
  START,
  StateGraph,
} from "../../src/index.js";

export function retentionGraph(checkpointer: Checkpointer) {
  return new StateGraph({
    log: appendChannel<string>(),
    turns: lastValue<number>(() => 0),
    ask: lastValue<boolean>(() => false),
  })
    .addNode("work", (s) => ({ log: `turn ${s.turns} ${"x".repeat(40)}`, turns: s.turns + 1 }))
    .addNode("review", (s) => {
      if (!s.ask) return {};
      const answer = interrupt<string>({ question: `ok after ${s.turns}?` });
      return { log: `answer ${answer}`, ask: false };
    })
    .addEdge(START, "work")
    .addEdge("work", "review")
    .addEdge("review", END)
    .compile({ checkpointer });
}

export type RetentionApp = ReturnType<typeof retentionGraph>;
