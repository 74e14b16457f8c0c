import { describe, expect, it } from "vitest";
import { z } from "zod";
import type { ToolMessage } from "../../src/agent/messages.js";
import {
  Command,
  createCheckpointer,
  createReactAgent,
  type EffectPolicy,
  type EffectQuestion,
  InvalidInputError,
  MemoryBackend,
  ScriptedModel,
  tool,
  userMessage,
} from "../../src/index.js";

function bookingAgent(policy: EffectPolicy, outcome: "ok" | "throw" = "ok") {
  const bookings: { to: string; key: string }[] = [];
  const book = tool({
    name: "book_flight",
    description: "Book a flight (charges the card)",
    schema: z.object({ to: z.string() }),
    effect: policy,
    run: ({ to }, ctx) => {
      bookings.push({ to, key: ctx.idempotencyKey });
      if (outcome === "throw") throw new Error("card declined");
      return `BK-${to}`;
    },
  });
  const checkpointer = createCheckpointer(new MemoryBackend());
  const model = new ScriptedModel([
    { toolCalls: [{ id: "call-1", name: "book_flight", args: { to: "Rome" } }] },
    (req) => `Done: ${req.messages.at(-1)!.content}`,
    { toolCalls: [{ id: "call-1", name: "book_flight", args: { to: "Rome" } }] },
    (req) => `Done again: ${req.messages.at(-1)!.content}`,
  ]);
  const agent = createReactAgent({ model, tools: [book], checkpointer });
  return { agent, bookings, checkpointer };
}

const lastTool = (messages: readonly { role: string }[]) =>
  messages.filter((m): m is ToolMessage => m.role === "tool").at(-1);

describe("tools as effects", () => {
  it("a replayed tool call returns the recorded result and books nothing twice", async () => {
    const { agent, bookings } = bookingAgent("fail");
    await agent.invoke({ messages: [userMessage("Book Rome")] }, { threadId: "a1" });
    expect(bookings).toHaveLength(1);
    const [effect] = await agent.listEffects({ threadId: "a1" });
    expect(effect).toMatchObject({ name: "book_flight", status: "done", result: "BK-Rome" });
    expect(bookings[0]!.key).toBe(effect!.key);
    let beforeTools: string | undefined;
    for await (const s of agent.getStateHistory({ threadId: "a1" })) {
      if (s.next.includes("tools")) beforeTools = s.checkpointId;
    }
    const replay = await agent.invoke(null, { threadId: "a1", checkpointId: beforeTools! });
    expect(lastTool(replay.values.messages)?.content).toBe("BK-Rome");
    expect(bookings).toHaveLength(1);
  });

  it("a failure is the tool's error result, recorded, and not retried on replay", async () => {
    const { agent, bookings } = bookingAgent("fail", "throw");
    const result = await agent.invoke({ messages: [userMessage("Book Rome")] }, { threadId: "a2" });
    expect(lastTool(result.values.messages)).toMatchObject({
      content: "Error: card declined",
      isError: true,
    });
    let beforeTools: string | undefined;
    for await (const s of agent.getStateHistory({ threadId: "a2" })) {
      if (s.next.includes("tools")) beforeTools = s.checkpointId;
    }
    const replay = await agent.invoke(null, { threadId: "a2", checkpointId: beforeTools! });
    expect(lastTool(replay.values.messages)?.content).toBe("Error: card declined");
    expect(bookings).toHaveLength(1);
  });

  it("a call cut off mid-way asks the human, who says it went through", async () => {
    const { agent, bookings, checkpointer } = bookingAgent("ask");
    const key = checkpointer.effects.key("book_flight", { to: "Rome" });
    await checkpointer.effects.begin({
      threadId: "a3",
      key,
      name: "book_flight",
      args: { to: "Rome" },
      checkpointId: "0",
      taskId: "dead",
      node: "tools",
    });
    const paused = await agent.invoke({ messages: [userMessage("Book Rome")] }, { threadId: "a3" });
    expect(paused.status).toBe("interrupted");
    expect(paused.interrupts[0]!.value as EffectQuestion).toMatchObject({
      type: "effect-outcome-unknown",
      name: "book_flight",
      args: { to: "Rome" },
    });
    const done = await agent.invoke(Command.resume({ status: "done", result: "BK-phone" }), {
      threadId: "a3",
    });
    expect(lastTool(done.values.messages)?.content).toBe("BK-phone");
    expect(bookings).toEqual([]);
  });

  it("refuses a policy that is not one of the allowed ones", () => {
    expect(() =>
      tool({
        name: "x",
        description: "x",
        schema: z.object({}),
        effect: "twice" as unknown as EffectPolicy,
        run: () => 1,
      }),
    ).toThrow(InvalidInputError);
  });
});
