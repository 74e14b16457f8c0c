/**
 * The graph the inspector tests build threads with: an agent message, then a pause asking a
 * human to approve booking the destination; the answer decides the last message.
 */
import {
  type Checkpointer,
  END,
  interrupt,
  lastValue,
  type Message,
  messagesChannel,
  START,
  StateGraph,
} from "../../src/index.js";

export function tripGraph(checkpointer: Checkpointer) {
  return new StateGraph({
    messages: messagesChannel<Message & { content: string }>(),
    destination: lastValue<string>(() => "Tokyo"),
    approved: lastValue<boolean | undefined>(),
  })
    .addNode("agent", (s) => ({
      messages: {
        id: `a${s.messages.length}`,
        role: "assistant",
        content: `Flights to ${s.destination}: KX71 at $640`,
      },
    }))
    .addNode("approve", (s) => {
      const answer = interrupt<{ approved: boolean }>({ question: `Book ${s.destination}?` });
      return {
        approved: answer.approved,
        messages: {
          id: `b${s.messages.length}`,
          role: "assistant",
          content: answer.approved ? `Booked ${s.destination}` : "Not booked",
        },
      };
    })
    .addEdge(START, "agent")
    .addEdge("agent", "approve")
    .addEdge("approve", END)
    .compile({ checkpointer });
}

/** The first input of a trip (the destination stored, so a fork without the graph may set it). */
export const ask = (text: string, destination = "Tokyo") => ({
  messages: [{ id: "u0", role: "user", content: text }],
  destination,
});
