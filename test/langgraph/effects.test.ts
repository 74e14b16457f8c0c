/**
 * The effect ledger for LangGraph.js through RewindSaver: a booking tool wrapped with
 * `effectTool` in a real prebuilt ReAct agent (`createReactAgent`, driven by a scripted model)
 * books once however the thread is replayed or forked, and a booking cut off mid-call follows
 * its policy; a node's own effect (`saver.effects.run`) checks its input.
 */
import { AIMessage, type BaseMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import type { RunnableConfig } from "@langchain/core/runnables";
import { tool } from "@langchain/core/tools";
import { Annotation, Command, INTERRUPT, START, StateGraph } from "@langchain/langgraph";
import { createReactAgent, ToolNode } from "@langchain/langgraph/prebuilt";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import {
  EffectUnknownError,
  InvalidInputError,
  isRewindError,
  SerializationError,
} from "../../src/index.js";
import {
  type EffectPolicy,
  type EffectQuestion,
  effectTool,
  type RewindSaver,
  reconcile,
} from "../../src/langgraph/index.js";
import { BACKENDS } from "../support/backends.js";
import { saverOn } from "../support/savers.js";
import { ScriptedChatModel, type ScriptedTurn } from "./scripted-chat-model.js";

/** The model asks to book a flight to `to`, then (as often as the thread runs on) says done. */
function script(to: string, ids: readonly string[] = ["call-1"]): ScriptedTurn[] {
  return [
    { content: "", toolCalls: ids.map((id) => ({ name: "book_flight", args: { to }, id })) },
    ...Array.from({ length: 4 }, () => ({ content: "Booked." })),
  ];
}

interface Booking {
  readonly to: string;
  readonly key: unknown;
}

/** A ReAct agent whose one tool, book_flight, is an effect; `booked` lists its real calls. */
function bookingAgent(
  saver: RewindSaver,
  options: {
    policy?: EffectPolicy;
    to?: string;
    callIds?: readonly string[];
    handleToolErrors?: boolean;
  } = {},
) {
  const booked: Booking[] = [];
  const book = effectTool(
    tool(
      async ({ to }, config) => {
        booked.push({ to, key: config.configurable?.effect_key });
        return `BK-${to}-${booked.length}`;
      },
      {
        name: "book_flight",
        description: "Books a flight",
        schema: z.object({ to: z.string() }),
      },
    ),
    { saver, ...(options.policy === undefined ? {} : { policy: options.policy }) },
  );
  const agent = createReactAgent({
    llm: new ScriptedChatModel(script(options.to ?? "Tokyo", options.callIds)),
    tools:
      options.handleToolErrors === false
        ? new ToolNode([book], { handleToolErrors: false })
        : [book],
    checkpointSaver: saver,
  });
  return { agent, booked };
}

type Agent = ReturnType<typeof bookingAgent>["agent"];

const thread = (thread_id: string, tenant_id?: string) => ({
  configurable: { thread_id, ...(tenant_id === undefined ? {} : { tenant_id }) },
});
const ask = (text: string) => ({ messages: [new HumanMessage(text)] });
const toolResults = (messages: BaseMessage[]) =>
  messages.filter((m) => m instanceof ToolMessage).map((m) => String(m.content));
const interruptsOf = (result: object) =>
  (result as Record<string, { value: unknown }[] | undefined>)[INTERRUPT] ?? [];

/** The checkpoint from which the agent's next step runs the tools (before the booking). */
async function beforeTools(agent: Agent, config: RunnableConfig): Promise<RunnableConfig> {
  for await (const state of agent.getStateHistory(config)) {
    if (state.next.includes("tools")) return state.config;
  }
  throw new Error("no checkpoint before the tools ran");
}

/**
 * Forks the thread at `before` with `updateState`, as if the model had asked to book `to` under
 * tool call `id`, and runs the fork: its messages.
 */
async function forkWithCall(agent: Agent, before: RunnableConfig, to: string, id: string) {
  const call = { name: "book_flight", args: { to }, id, type: "tool_call" as const };
  const fork = await agent.updateState(
    before,
    { messages: [new AIMessage({ content: "", tool_calls: [call] })] },
    "agent",
  );
  return (await agent.invoke(null, fork)).messages;
}

/** Records an intent with no outcome, as a process that died mid-call leaves it. */
async function cutOff(saver: RewindSaver, threadId: string, to: string) {
  const ledger = saver.checkpointer.effects;
  const args = { to };
  const key = ledger.key("book_flight", args);
  await ledger.begin({
    threadId,
    key,
    name: "book_flight",
    args,
    checkpointId: "dead-process-checkpoint",
    taskId: "dead-process-task",
    node: "tools",
  });
  return key;
}

for (const backend of BACKENDS) {
  describe(`effects through RewindSaver in a LangGraph ReAct agent (${backend.name})`, () => {
    it("books once: a replay from before the call and updateState forks reuse the recorded booking", async () => {
      const { saver } = saverOn(backend);
      const { agent, booked } = bookingAgent(saver);
      const config = thread("trip");
      const first = await agent.invoke(ask("Book Tokyo"), config);
      expect(toolResults(first.messages)).toEqual(["BK-Tokyo-1"]);
      const [effect] = await saver.effects.list(config);
      expect(effect).toMatchObject({ name: "book_flight", status: "done", result: "BK-Tokyo-1" });
      expect(booked).toEqual([{ to: "Tokyo", key: effect!.key }]);

      const before = await beforeTools(agent, config);
      expect(effect).toMatchObject({
        node: "tools",
        ns: "",
        checkpointId: before.configurable?.checkpoint_id,
      });
      const replayed = await agent.invoke(null, before);
      expect(toolResults(replayed.messages)).toEqual(["BK-Tokyo-1"]);
      expect(booked).toHaveLength(1);

      // A fork whose model asks again, under a new tool call id: the same booking is reused.
      const forked = await forkWithCall(agent, before, "Tokyo", "call-2");
      const reply = forked.find(
        (m): m is ToolMessage => m instanceof ToolMessage && m.tool_call_id === "call-2",
      );
      expect(String(reply?.content)).toBe("BK-Tokyo-1");
      expect(booked).toHaveLength(1);

      // Other arguments are another effect: it runs.
      expect(toolResults(await forkWithCall(agent, before, "Paris", "call-3"))).toContain(
        "BK-Paris-2",
      );
      expect(booked.map((b) => b.to)).toEqual(["Tokyo", "Paris"]);
      expect((await saver.effects.list(config)).map((e) => e.result)).toEqual([
        "BK-Tokyo-1",
        "BK-Paris-2",
      ]);
    });

    it("the same booking asked twice in one model turn runs once; both calls get its result", async () => {
      const { saver } = saverOn(backend);
      const { agent, booked } = bookingAgent(saver, { callIds: ["call-1", "call-2"] });
      const result = await agent.invoke(ask("Book Tokyo, twice"), thread("twice"));
      expect(toolResults(result.messages)).toEqual(["BK-Tokyo-1", "BK-Tokyo-1"]);
      expect(booked).toHaveLength(1);
    });

    it("reconcile(fn) asks the remote system about a cut-off booking, and a throw is EffectUnknownError", async () => {
      const { saver } = saverOn(backend);
      const asked: unknown[] = [];
      const found = reconcile((effect) => {
        asked.push(effect.args);
        return { status: "done", result: "BK-found" };
      });
      const { agent, booked } = bookingAgent(saver, { policy: found });
      await cutOff(saver, "reconciled", "Tokyo");
      const result = await agent.invoke(ask("Book Tokyo"), thread("reconciled"));
      expect(toolResults(result.messages)).toEqual(["BK-found"]);
      expect(asked).toEqual([{ to: "Tokyo" }]);
      expect(booked).toEqual([]);

      const broken = reconcile(() => {
        throw new Error("provider down");
      });
      const strict = bookingAgent(saver, { policy: broken, handleToolErrors: false });
      await cutOff(saver, "unreachable", "Tokyo");
      const error = await strict.agent
        .invoke(ask("Book Tokyo"), thread("unreachable"))
        .catch((e) => e);
      expect(error).toBeInstanceOf(EffectUnknownError);
      expect(strict.booked).toEqual([]);
      expect(await saver.effects.list(thread("unreachable"))).toMatchObject([
        { status: "started" },
      ]);
    });

    it('"ask": a booking cut off mid-call pauses with a LangGraph interrupt that a Command settles', async () => {
      const { saver } = saverOn(backend);
      const { agent, booked } = bookingAgent(saver);
      const config = thread("cut-off");
      const key = await cutOff(saver, "cut-off", "Tokyo");

      const paused = await agent.invoke(ask("Book Tokyo"), config);
      const [question] = interruptsOf(paused);
      expect(question?.value).toMatchObject({
        type: "effect-outcome-unknown",
        key,
        name: "book_flight",
        args: { to: "Tokyo" },
        attempt: 1,
      } satisfies Partial<EffectQuestion>);
      expect(booked).toEqual([]);

      // An answer that is not a resolution is asked again, with the reason.
      const reasked = await agent.invoke(new Command({ resume: "yes" }), config);
      expect(interruptsOf(reasked)[0]?.value).toMatchObject({ key, problem: expect.any(String) });

      const done = await agent.invoke(
        new Command({ resume: { status: "done", result: "BK-by-phone" } }),
        config,
      );
      expect(toolResults(done.messages)).toEqual(["BK-by-phone"]);
      expect(booked).toEqual([]);
      expect(await saver.effects.list(config)).toMatchObject([
        { key, status: "done", result: "BK-by-phone", attempt: 1 },
      ]);
    });

    it('"ask" answered { status: "not-run" } runs the booking, as attempt 2', async () => {
      const { saver } = saverOn(backend);
      const { agent, booked } = bookingAgent(saver);
      const config = thread("never-ran");
      const key = await cutOff(saver, "never-ran", "Tokyo");
      expect(interruptsOf(await agent.invoke(ask("Book Tokyo"), config))).toHaveLength(1);
      const done = await agent.invoke(new Command({ resume: { status: "not-run" } }), config);
      expect(toolResults(done.messages)).toEqual(["BK-Tokyo-1"]);
      expect(booked).toEqual([{ to: "Tokyo", key }]);
      expect(await saver.effects.list(config)).toMatchObject([{ status: "done", attempt: 2 }]);
    });

    it('"fail" throws EffectUnknownError without booking; saver.effects.resolve settles it', async () => {
      const { saver } = saverOn(backend);
      const { agent, booked } = bookingAgent(saver, { policy: "fail", handleToolErrors: false });
      const config = thread("strict");
      const key = await cutOff(saver, "strict", "Tokyo");
      const error = await agent.invoke(ask("Book Tokyo"), config).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(EffectUnknownError);
      expect((error as EffectUnknownError).effect.key).toBe(key);
      expect((error as EffectUnknownError).threadId).toBe("strict");
      expect(booked).toEqual([]);

      await saver.effects.resolve(config, key, { status: "done", result: "BK-settled" });
      const resumed = await agent.invoke(null, config);
      expect(toolResults(resumed.messages)).toEqual(["BK-settled"]);
      expect(booked).toEqual([]);
      // The first outcome stands.
      await expect(
        saver.effects.resolve(config, key, { status: "done", result: "BK-other" }),
      ).rejects.toSatisfy((e) => isRewindError(e, "CONFLICT"));
    });

    it('"fail" under ToolNode\'s default error handling tells the model, and books nothing', async () => {
      const { saver } = saverOn(backend);
      const { agent, booked } = bookingAgent(saver, { policy: "fail" });
      await cutOff(saver, "told", "Tokyo");
      const result = await agent.invoke(ask("Book Tokyo"), thread("told"));
      const [reply] = result.messages.filter((m) => m instanceof ToolMessage) as ToolMessage[];
      expect(reply?.status).toBe("error");
      expect(String(reply?.content)).toContain('policy is "fail"');
      expect(booked).toEqual([]);
      expect(await saver.effects.list(thread("told"))).toMatchObject([{ status: "started" }]);
    });

    it("two tenants' ledgers are separate, also under the same thread id", async () => {
      const { saver } = saverOn(backend);
      const acme = bookingAgent(saver);
      const globex = bookingAgent(saver);
      await acme.agent.invoke(ask("Book Tokyo"), thread("trip", "acme"));
      await globex.agent.invoke(ask("Book Tokyo"), thread("trip", "globex"));
      expect(acme.booked).toHaveLength(1);
      expect(globex.booked).toHaveLength(1);
      const acmeLedger = await saver.effects.list(thread("trip", "acme"));
      expect(acmeLedger).toMatchObject([{ result: "BK-Tokyo-1" }]);
      expect(await saver.effects.list(thread("trip"))).toEqual([]);
      // A tenant cannot settle another tenant's effect: it has none under that key.
      await expect(
        saver.effects.resolve(thread("trip", "globex-2"), acmeLedger[0]!.key, {
          status: "done",
        }),
      ).rejects.toSatisfy((e) => isRewindError(e, "NOT_FOUND"));
    });

    describe("saver.effects.run in a node", () => {
      const State = Annotation.Root({ sent: Annotation<string | undefined>() });
      /** A graph whose one node sends a notice with `args` as an effect. */
      function notifyGraph(saver: RewindSaver, args: () => unknown, policy?: unknown) {
        const sent: unknown[] = [];
        const app = new StateGraph(State)
          .addNode("notify", async (_s, config) => ({
            sent: await saver.effects.run(
              config,
              "notify",
              args(),
              () => {
                sent.push(args());
                return "sent";
              },
              policy as EffectPolicy,
            ),
          }))
          .addEdge(START, "notify")
          .compile({ checkpointer: saver });
        return { app, sent };
      }

      it("non-serializable arguments throw SerializationError and record nothing", async () => {
        const { saver } = saverOn(backend);
        const { app, sent } = notifyGraph(saver, () => ({ onDone: () => 1 }));
        await expect(app.invoke({}, thread("bad-args"))).rejects.toBeInstanceOf(SerializationError);
        expect(sent).toEqual([]);
        expect(await saver.effects.list(thread("bad-args"))).toEqual([]);
      });

      it("a policy that is not one of the allowed ones throws InvalidInputError", async () => {
        const { saver } = saverOn(backend);
        const { app, sent } = notifyGraph(saver, () => ({ to: "ops" }), "sometimes");
        await expect(app.invoke({}, thread("bad-policy"))).rejects.toBeInstanceOf(
          InvalidInputError,
        );
        expect(sent).toEqual([]);
        expect(await saver.effects.list(thread("bad-policy"))).toEqual([]);
      });

      it("runs once per thread, and outside a running node says what it needs", async () => {
        const { saver } = saverOn(backend);
        const { app, sent } = notifyGraph(saver, () => ({ to: "ops" }));
        expect((await app.invoke({}, thread("node"))).sent).toBe("sent");
        expect((await app.invoke({}, thread("node"))).sent).toBe("sent");
        expect(sent).toHaveLength(1);
        await expect(
          saver.effects.run(thread("node"), "notify", {}, () => "x"),
        ).rejects.toBeInstanceOf(InvalidInputError);
      });
    });
  });
}

describe("effectTool checks its input", () => {
  const backend = BACKENDS[0]!;
  it("refuses what is not a tool, a missing saver and a bad policy", () => {
    const { saver } = saverOn(backend);
    const book = tool(async () => "ok", {
      name: "book",
      description: "Books",
      schema: z.object({}),
    });
    expect(() => effectTool({} as never, { saver })).toThrow(InvalidInputError);
    expect(() => effectTool(book, {} as never)).toThrow(InvalidInputError);
    expect(() => effectTool(book, { saver, policy: "later" as never })).toThrow(InvalidInputError);
    expect(effectTool(book, { saver }).name).toBe("book");
  });
});
