import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { ToolMessage } from "../../src/agent/messages.js";
import {
  type ApprovalRequest,
  type ChatMessage,
  Command,
  createCheckpointer,
  createMemoryStore,
  createReactAgent,
  InvalidInputError,
  MemoryBackend,
  NodeFailedError,
  ScriptExhaustedError,
  ScriptedModel,
  type ScriptedResponse,
  tool,
  userMessage,
} from "../../src/index.js";

const threadId = "trip-1";

function travelTools() {
  const calls: { name: string; input: unknown; key: string }[] = [];
  const getWeather = tool({
    name: "get_weather",
    description: "Current weather in a city",
    schema: z.object({ city: z.string() }),
    run: ({ city }, ctx) => {
      calls.push({ name: "get_weather", input: { city }, key: ctx.idempotencyKey });
      return `Sunny in ${city}`;
    },
  });
  const bookFlight = tool({
    name: "book_flight",
    description: "Book a flight (charges the card)",
    schema: z.object({ to: z.string(), seats: z.number().int().positive() }),
    requiresApproval: true,
    run: (input, ctx) => {
      calls.push({ name: "book_flight", input, key: ctx.idempotencyKey });
      return { confirmation: `BK-${input.to.toUpperCase()}`, seats: input.seats };
    },
  });
  const flaky = tool({
    name: "flaky",
    description: "Always fails",
    schema: z.object({}),
    run: () => {
      calls.push({ name: "flaky", input: {}, key: "" });
      throw new Error("the airline API is down");
    },
  });
  return { calls, tools: [getWeather, bookFlight, flaky] };
}

function agentWith(script: ScriptedResponse[], systemPrompt?: string) {
  const model = new ScriptedModel(script);
  const { calls, tools } = travelTools();
  const agent = createReactAgent({
    model,
    tools,
    checkpointer: createCheckpointer(new MemoryBackend()),
    ...(systemPrompt ? { systemPrompt } : {}),
  });
  return { agent, model, calls };
}

const ask = (content: string) => ({ messages: [userMessage(content)] });
const toolResults = (messages: readonly ChatMessage[]) =>
  messages.filter((m): m is ToolMessage => m.role === "tool");

describe("the tool-calling loop", () => {
  it("runs the tool the model calls and gives the model its result", async () => {
    const { agent, model, calls } = agentWith([
      { toolCalls: [{ name: "get_weather", args: { city: "Tokyo" } }] },
      (req) => `Weather report: ${req.messages.at(-1)!.content}`,
    ]);
    const result = await agent.invoke(ask("Weather in Tokyo?"), { threadId });
    expect(result.status).toBe("done");
    expect(result.values.messages.map((m) => m.role)).toEqual([
      "user",
      "assistant",
      "tool",
      "assistant",
    ]);
    expect(result.values.messages.at(-1)!.content).toBe("Weather report: Sunny in Tokyo");
    expect(calls).toEqual([
      { name: "get_weather", input: { city: "Tokyo" }, key: expect.any(String) },
    ]);
    expect(model.requests[0]!.tools.map((t) => t.name)).toEqual([
      "get_weather",
      "book_flight",
      "flaky",
    ]);
    expect(model.requests[0]!.tools[0]!.parameters).toMatchObject({
      type: "object",
      properties: { city: { type: "string" } },
      required: ["city"],
    });
  });

  it("runs several calls of one turn in order, each checkpointed before the next starts", async () => {
    const { agent, calls } = agentWith([
      {
        toolCalls: [
          { name: "get_weather", args: { city: "Tokyo" } },
          { name: "get_weather", args: { city: "Osaka" } },
        ],
      },
      "Both sunny.",
    ]);
    await agent.invoke(ask("Weather in Tokyo and Osaka?"), { threadId });
    expect(calls.map((c) => c.input)).toEqual([{ city: "Tokyo" }, { city: "Osaka" }]);
    expect(new Set(calls.map((c) => c.key)).size).toBe(2);
    const toolCheckpoints = [];
    for await (const s of agent.getStateHistory({ threadId })) {
      if (s.metadata.source === "loop" && s.values.messages.at(-1)?.role === "tool") {
        toolCheckpoints.push(toolResults(s.values.messages).length);
      }
    }
    expect(toolCheckpoints.sort()).toEqual([1, 2]);
  });

  it("remembers the thread: a second turn sees the first", async () => {
    const { agent, model } = agentWith([
      "Nice to meet you, Ada.",
      (req) => `Your name is ${/I am (\w+)/.exec(String(req.messages[0]!.content))?.[1]}.`,
    ]);
    await agent.invoke(ask("Hi, I am Ada"), { threadId });
    const second = await agent.invoke(ask("What is my name?"), { threadId });
    expect(second.values.messages.at(-1)!.content).toBe("Your name is Ada.");
    expect(model.requests[1]!.messages.map((m) => m.content)).toEqual([
      "Hi, I am Ada",
      "Nice to meet you, Ada.",
      "What is my name?",
    ]);
  });

  it("sends the system prompt on every call without storing it in the thread", async () => {
    const { agent, model } = agentWith(["Hello."], "You are a travel agent.");
    const result = await agent.invoke(ask("Hi"), { threadId });
    expect(model.requests[0]!.messages[0]).toMatchObject({
      role: "system",
      content: "You are a travel agent.",
    });
    expect(result.values.messages.map((m) => m.role)).toEqual(["user", "assistant"]);
  });

  it("streams the model's tokens as custom events", async () => {
    const { agent } = agentWith(["Have a good trip!"]);
    const tokens: string[] = [];
    for await (const event of agent.stream(ask("Bye"), { threadId })) {
      if (event.type === "custom" && event.node === "model") tokens.push((event.data as any).text);
    }
    expect(tokens.join("")).toBe("Have a good trip!");
    expect(tokens.length).toBeGreaterThan(1);
  });

  it("fails with a named error when the script runs out, and nothing stored is lost", async () => {
    const { agent } = agentWith(["Only one answer."]);
    await agent.invoke(ask("One"), { threadId });
    const error = await agent.invoke(ask("Two"), { threadId }).catch((e) => e);
    expect(error).toBeInstanceOf(NodeFailedError);
    expect(error.cause).toBeInstanceOf(ScriptExhaustedError);
    expect(error.message).toMatch(/assistant turn 2.*only 1 response/);
    const state = await agent.getState({ threadId });
    expect(state!.values.messages.map((m) => m.content)).toEqual([
      "One",
      "Only one answer.",
      "Two",
    ]);
  });

  it("a failed model call resumes without running the finished tool again", async () => {
    let outage = true;
    const { agent, calls } = agentWith([
      { toolCalls: [{ name: "get_weather", args: { city: "Tokyo" } }] },
      () => {
        if (outage) throw new Error("503 from the model server");
        return "Sunny.";
      },
    ]);
    await expect(agent.invoke(ask("Weather?"), { threadId })).rejects.toThrow(/503/);
    outage = false;
    const resumed = await agent.invoke(null, { threadId });
    expect(resumed.values.messages.at(-1)!.content).toBe("Sunny.");
    expect(calls).toHaveLength(1);
  });
});

describe("tool errors become results the model reads", () => {
  it("a throwing tool", async () => {
    const { agent, model } = agentWith([{ toolCalls: [{ name: "flaky" }] }, "Sorry, try later."]);
    const result = await agent.invoke(ask("Go"), { threadId });
    expect(result.status).toBe("done");
    const [failed] = toolResults(result.values.messages);
    expect(failed).toMatchObject({ isError: true, content: "Error: the airline API is down" });
    expect(model.requests[1]!.messages.at(-1)).toMatchObject({ role: "tool", isError: true });
  });

  it("invalid arguments: the tool is not called and the error names the field", async () => {
    const { agent, calls } = agentWith([
      { toolCalls: [{ name: "get_weather", args: { town: "Tokyo" } }] },
      "Let me fix that.",
    ]);
    const result = await agent.invoke(ask("Weather?"), { threadId });
    expect(calls).toEqual([]);
    expect(toolResults(result.values.messages)[0]!.content).toMatch(
      /invalid arguments for get_weather: city: /,
    );
  });

  it("an unknown tool: the error lists the tools that exist", async () => {
    const { agent } = agentWith([{ toolCalls: [{ name: "teleport" }] }, "Oops."]);
    const result = await agent.invoke(ask("Beam me"), { threadId });
    expect(toolResults(result.values.messages)[0]).toMatchObject({
      isError: true,
      content: expect.stringMatching(/unknown tool "teleport".*get_weather, book_flight, flaky/),
    });
  });

  it("tool() refuses a malformed definition with a named error", () => {
    const schema = z.object({});
    expect(() => tool({ name: "has space", description: "", schema, run: () => 1 })).toThrow(
      InvalidInputError,
    );
    expect(() => tool({ name: "ok", description: "", schema: {} as any, run: () => 1 })).toThrow(
      /safeParse/,
    );
  });
});

describe("approval before a tool runs", () => {
  const bookTurn: ScriptedResponse = {
    toolCalls: [
      { name: "get_weather", args: { city: "Tokyo" } },
      { name: "book_flight", args: { to: "Tokyo", seats: 2 } },
    ],
  };
  const after: ScriptedResponse = (req) => `Done: ${req.messages.at(-1)!.content}`;

  it("pauses before the call, shows it, and runs it once after approval", async () => {
    const { agent, calls } = agentWith([bookTurn, after]);
    const paused = await agent.invoke(ask("Book 2 seats to Tokyo"), { threadId });
    expect(paused.status).toBe("interrupted");
    const request = paused.interrupts[0]!.value as ApprovalRequest;
    expect(request).toMatchObject({
      type: "tool_approval",
      toolCall: { name: "book_flight", args: { to: "Tokyo", seats: 2 } },
      description: "Book a flight (charges the card)",
    });
    expect(calls.map((c) => c.name)).toEqual(["get_weather"]);
    expect((await agent.getState({ threadId }))!.next).toEqual(["approve"]);

    const done = await agent.invoke(Command.resume({ decision: "approve" }), { threadId });
    expect(done.status).toBe("done");
    expect(done.values.messages.at(-1)!.content).toBe(
      'Done: {"confirmation":"BK-TOKYO","seats":2}',
    );
    // The weather call finished before the pause and is not run again by the resume.
    expect(calls.map((c) => c.name)).toEqual(["get_weather", "book_flight"]);
    expect(done.values.reviews[request.toolCall.id]).toEqual({ decision: "approved" });
  });

  it("edit: the tool runs with the human's arguments, and the transcript shows them", async () => {
    const { agent, calls } = agentWith([bookTurn, after]);
    const paused = await agent.invoke(ask("Book 2 seats to Tokyo"), { threadId });
    const callId = (paused.interrupts[0]!.value as ApprovalRequest).toolCall.id;
    const done = await agent.invoke(
      Command.resume({ decision: "edit", args: { to: "Osaka", seats: 1 } }),
      { threadId },
    );
    expect(calls.at(-1)).toMatchObject({ name: "book_flight", input: { to: "Osaka", seats: 1 } });
    expect(done.values.messages.at(-1)!.content).toBe(
      'Done: {"confirmation":"BK-OSAKA","seats":1}',
    );
    const asked = done.values.messages.find((m) => m.role === "assistant")!;
    expect(asked.role === "assistant" && asked.toolCalls[1]!.args).toEqual({
      to: "Osaka",
      seats: 1,
    });
    expect(done.values.reviews[callId]).toEqual({
      decision: "edited",
      originalArgs: { to: "Tokyo", seats: 2 },
    });
  });

  it("an edit the schema refuses is asked again with the reason; nothing runs", async () => {
    const { agent, calls } = agentWith([bookTurn, after]);
    await agent.invoke(ask("Book"), { threadId });
    const again = await agent.invoke(
      Command.resume({ decision: "edit", args: { to: "Osaka", seats: -1 } }),
      { threadId },
    );
    expect(again.status).toBe("interrupted");
    expect((again.interrupts[0]!.value as ApprovalRequest).error).toMatch(/seats/);
    const typo = await agent.invoke(Command.resume({ decision: "yes" }), { threadId });
    expect((typo.interrupts[0]!.value as ApprovalRequest).error).toMatch(/decision: "approve"/);
    expect(calls.map((c) => c.name)).toEqual(["get_weather"]);
    const done = await agent.invoke(Command.resume({ decision: "approve" }), { threadId });
    expect(done.status).toBe("done");
    expect(calls.map((c) => c.name)).toEqual(["get_weather", "book_flight"]);
  });

  it("reject: the tool does not run and the model is told why", async () => {
    const { agent, model, calls } = agentWith([bookTurn, "Understood, I did not book it."]);
    await agent.invoke(ask("Book"), { threadId });
    const done = await agent.invoke(
      Command.resume({ decision: "reject", reason: "too expensive" }),
      { threadId },
    );
    expect(calls.map((c) => c.name)).toEqual(["get_weather"]);
    expect(model.requests.at(-1)!.messages.at(-1)).toMatchObject({
      role: "tool",
      name: "book_flight",
      isError: true,
      content: "The user rejected this call to book_flight: too expensive. It was not run.",
    });
    expect(done.values.messages.at(-1)!.content).toBe("Understood, I did not book it.");
  });
});

describe("what tools reach through their context", () => {
  it("the store: a preference saved on one thread is read on another of the same tenant", async () => {
    const remember = tool({
      name: "remember",
      description: "Save a preference",
      schema: z.object({ seat: z.string() }),
      run: async ({ seat }, ctx) => {
        await ctx.store.put(["prefs"], "seat", { seat });
        return "saved";
      },
    });
    const recall = tool({
      name: "recall",
      description: "Read the saved preference",
      schema: z.object({}),
      run: async (_input, ctx) =>
        (await ctx.store.get<{ seat: string }>(["prefs"], "seat"))?.value.seat ?? "none",
    });
    const model = new ScriptedModel([
      (req) =>
        req.messages[0]!.content === "save"
          ? { toolCalls: [{ name: "remember", args: { seat: "aisle" } }] }
          : { toolCalls: [{ name: "recall" }] },
      (req) => `Seat: ${req.messages.at(-1)!.content}`,
    ]);
    const agent = createReactAgent({
      model,
      tools: [remember, recall],
      store: createMemoryStore(),
    });
    await agent.invoke(ask("save"), { threadId: "monday", tenantId: "acme" });
    const later = await agent.invoke(ask("load"), { threadId: "friday", tenantId: "acme" });
    expect(later.values.messages.at(-1)!.content).toBe("Seat: aisle");
    const other = await agent.invoke(ask("load"), { threadId: "other", tenantId: "globex" });
    expect(other.values.messages.at(-1)!.content).toBe("Seat: none");
  });

  it("emit: a tool's progress reaches stream() as a custom event naming the call", async () => {
    const slow = tool({
      name: "upload",
      description: "Upload documents",
      schema: z.object({}),
      run: (_input, ctx) => {
        ctx.emit({ percent: 50 });
        ctx.emit({ percent: 100 });
        return "uploaded";
      },
    });
    const agent = createReactAgent({
      model: new ScriptedModel([{ toolCalls: [{ id: "up-1", name: "upload" }] }, "Done."]),
      tools: [slow],
    });
    const progress: unknown[] = [];
    for await (const event of agent.stream(ask("Upload"), { threadId })) {
      if (event.type === "custom" && event.node === "tools") progress.push(event.data);
    }
    expect(progress).toEqual([
      { type: "tool", toolCallId: "up-1", data: { percent: 50 } },
      { type: "tool", toolCallId: "up-1", data: { percent: 100 } },
    ]);
  });
});
