import { describe, expect, it } from "vitest";
import {
  appendChannel,
  END,
  InvalidGraphError,
  InvalidInputError,
  isRewindError,
  lastValue,
  MemoryBackend,
  type Message,
  messagesChannel,
  RecursionLimitError,
  reducer,
  removeMessage,
  START,
  StateGraph,
} from "../../src/index.js";

describe("reducers", () => {
  it("last value, append, custom and messages reducers fold node updates", async () => {
    const app = new StateGraph({
      last: lastValue<string>(() => "none"),
      items: appendChannel<number>(),
      total: reducer(
        (a: number, b: number) => a + b,
        () => 0,
      ),
      messages: messagesChannel(),
    })
      .addNode("a", () => ({
        last: "a",
        items: [1, 2],
        total: 5,
        messages: { id: "m1", role: "user", content: "hi" },
      }))
      .addNode("b", () => ({
        last: "b",
        items: 3,
        total: 7,
        messages: [
          { id: "m1", role: "user", content: "edited" },
          { id: "m2", role: "assistant", content: "yo" },
        ],
      }))
      .addEdge(START, "a")
      .addEdge("a", "b")
      .addEdge("b", END)
      .compile();
    const result = await app.invoke({}, { threadId: "t" });
    expect(result.status).toBe("done");
    expect(result.values.last).toBe("b");
    expect(result.values.items).toEqual([1, 2, 3]);
    expect(result.values.total).toBe(12);
    expect(result.values.messages.map((m: Message) => [m.id, m.content])).toEqual([
      ["m1", "edited"],
      ["m2", "yo"],
    ]);
  });

  it("messages reducer removes by id and assigns ids to messages without one", async () => {
    const app = new StateGraph({ messages: messagesChannel() })
      .addNode("drop", (s) => ({
        messages: [removeMessage(s.messages[0]!.id!), { role: "assistant", content: "new" }],
      }))
      .addEdge(START, "drop")
      .compile();
    const result = await app.invoke(
      { messages: [{ role: "user", content: "old" }] },
      { threadId: "t" },
    );
    expect(result.values.messages).toHaveLength(1);
    expect(result.values.messages[0]).toMatchObject({ role: "assistant", content: "new" });
    expect(typeof result.values.messages[0]!.id).toBe("string");
  });
});

describe("edges and super-steps", () => {
  it("conditional edges loop until the router says END", async () => {
    const app = new StateGraph({
      n: reducer(
        (a: number, b: number) => a + b,
        () => 0,
      ),
    })
      .addNode("inc", () => ({ n: 1 }))
      .addEdge(START, "inc")
      .addConditionalEdges("inc", (s) => (s.n < 4 ? "inc" : END))
      .compile();
    expect((await app.invoke({}, { threadId: "t" })).values.n).toBe(4);
  });

  it("parallel nodes run in one super-step and their writes apply in a deterministic order", async () => {
    const order: string[] = [];
    const app = new StateGraph({ log: appendChannel<string>() })
      .addNode("fan", () => ({ log: "fan" }))
      .addNode("slow", async () => {
        await new Promise((r) => setTimeout(r, 30));
        order.push("slow");
        return { log: "slow" };
      })
      .addNode("fast", async () => {
        order.push("fast");
        return { log: "fast" };
      })
      .addNode("join", (s) => ({ log: `join saw ${s.log.length}` }))
      .addEdge(START, "fan")
      .addEdge("fan", "slow")
      .addEdge("fan", "fast")
      .addEdge(["slow", "fast"], "join")
      .compile();
    const events = [];
    for await (const e of app.stream({}, { threadId: "p" })) events.push(e);
    expect(order).toEqual(["fast", "slow"]);
    const values = events.filter((e) => e.type === "values").at(-1);
    expect(values && values.type === "values" && values.values.log).toEqual([
      "fan",
      "slow",
      "fast",
      "join saw 3",
    ]);
    const steps = events
      .filter((e) => e.type === "values")
      .map((e) => (e.type === "values" ? e.step : -1));
    expect(steps).toEqual([-1, 0, 1, 2]);
    expect(
      events.filter((e) => e.type === "updates").map((e) => (e.type === "updates" ? e.node : "")),
    ).toEqual(["fan", "slow", "fast", "join"]);
  });

  it("the recursion limit ends a runaway loop with a named error", async () => {
    const app = new StateGraph({
      n: reducer(
        (a: number, b: number) => a + b,
        () => 0,
      ),
    })
      .addNode("loop", () => ({ n: 1 }))
      .addEdge(START, "loop")
      .addEdge("loop", "loop")
      .compile();
    const error = await app.invoke({}, { threadId: "t", recursionLimit: 5 }).catch((e) => e);
    expect(error).toBeInstanceOf(RecursionLimitError);
    expect(isRewindError(error, "RECURSION_LIMIT")).toBe(true);
    expect((await app.getState({ threadId: "t" }))?.values.n).toBe(5);
  });

  it("rejects malformed graphs and bad input by name", async () => {
    expect(() =>
      new StateGraph({ a: lastValue() }).addNode("x", () => undefined).compile(),
    ).toThrow(InvalidGraphError);
    expect(() =>
      new StateGraph({ a: lastValue() })
        .addNode("x", () => undefined)
        .addEdge(START, "y")
        .compile(),
    ).toThrow(InvalidGraphError);
    const app = new StateGraph({ a: lastValue() })
      .addNode("x", () => undefined)
      .addEdge(START, "x")
      .compile();
    await expect(app.invoke({ nope: 1 } as never, { threadId: "t" })).rejects.toThrow(
      InvalidInputError,
    );
    await expect(app.invoke({}, { threadId: "" })).rejects.toThrow(InvalidInputError);
  });
});

describe("threads", () => {
  it("a second invoke continues the thread; another thread starts empty", async () => {
    const backend = new MemoryBackend();
    const app = new StateGraph({ messages: messagesChannel() })
      .addNode("echo", (s) => ({
        messages: { role: "assistant", content: `you said ${s.messages.length} things` },
      }))
      .addEdge(START, "echo")
      .compile({ checkpointer: backend });
    await app.invoke({ messages: { role: "user", content: "one" } }, { threadId: "a" });
    const second = await app.invoke(
      { messages: { role: "user", content: "two" } },
      { threadId: "a" },
    );
    expect(second.values.messages.map((m: Message) => m.content)).toEqual([
      "one",
      "you said 1 things",
      "two",
      "you said 3 things",
    ]);
    const other = await app.invoke({ messages: { role: "user", content: "x" } }, { threadId: "b" });
    expect(other.values.messages).toHaveLength(2);
    const history = [];
    for await (const s of app.getStateHistory({ threadId: "a" })) history.push(s);
    expect(history.map((h) => h.metadata.source)).toEqual(["loop", "input", "loop", "input"]);
  });
});
