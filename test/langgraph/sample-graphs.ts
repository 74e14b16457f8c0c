/** Small LangGraph graphs the adapter and import tests run on any checkpoint saver. */
import { AIMessage } from "@langchain/core/messages";
import {
  Annotation,
  type BaseCheckpointSaver,
  END,
  interrupt,
  MessagesAnnotation,
  START,
  StateGraph,
} from "@langchain/langgraph";

/** A chat graph whose "bot" node answers with the number of messages it saw. */
export function chatGraph(saver: BaseCheckpointSaver) {
  return new StateGraph(MessagesAnnotation)
    .addNode("bot", (state) => ({
      messages: [new AIMessage(`seen ${state.messages.length}`)],
    }))
    .addEdge(START, "bot")
    .addEdge("bot", END)
    .compile({ checkpointer: saver });
}

/** A graph that asks a human before it "sends" a draft. */
export function approvalGraph(saver: BaseCheckpointSaver) {
  const State = Annotation.Root({
    draft: Annotation<string>(),
    sent: Annotation<string | undefined>(),
    log: Annotation<string[]>({ reducer: (a, b) => a.concat(b), default: () => [] }),
  });
  return new StateGraph(State)
    .addNode("write", (s) => ({ draft: `${s.draft}!`, log: ["write"] }))
    .addNode("approve", (s) => {
      const answer = interrupt({ question: "send?", draft: s.draft }) as string;
      return answer === "yes" ? { sent: s.draft, log: ["sent"] } : { log: ["dropped"] };
    })
    .addEdge(START, "write")
    .addEdge("write", "approve")
    .addEdge("approve", END)
    .compile({ checkpointer: saver });
}
