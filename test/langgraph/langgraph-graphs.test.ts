import { AIMessage, type BaseMessage, HumanMessage, ToolMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import { Command, INTERRUPT, interrupt } from "@langchain/langgraph";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { BACKENDS } from "../support/backends.js";
import { saverOn } from "../support/savers.js";
import { approvalGraph, chatGraph } from "./sample-graphs.js";
import { ScriptedChatModel } from "./scripted-chat-model.js";

const texts = (messages: BaseMessage[]) => messages.map((m) => String(m.content));
/** The interrupts a paused `invoke` returned. */
const interruptsOf = (result: object) =>
  (result as Record<string, { value: unknown }[] | undefined>)[INTERRUPT] ?? [];

for (const backend of BACKENDS) {
  describe(`LangGraph.js on RewindSaver (${backend.name})`, () => {
    it("a StateGraph remembers earlier turns of a thread, also after a restart", async () => {
      const { saver, reopen } = saverOn(backend);
      const config = { configurable: { thread_id: "chat" } };
      await chatGraph(saver).invoke({ messages: [new HumanMessage("hi")] }, config);
      const second = await chatGraph(saver).invoke(
        { messages: [new HumanMessage("again")] },
        config,
      );
      expect(texts(second.messages)).toEqual(["hi", "seen 1", "again", "seen 3"]);

      const restarted = chatGraph(reopen());
      const third = await restarted.invoke({ messages: [new HumanMessage("still?")] }, config);
      expect(texts(third.messages)).toEqual([
        "hi",
        "seen 1",
        "again",
        "seen 3",
        "still?",
        "seen 5",
      ]);
      expect(third.messages[0]).toBeInstanceOf(HumanMessage);
      expect(third.messages[1]).toBeInstanceOf(AIMessage);
      const other = await restarted.invoke(
        { messages: [new HumanMessage("new")] },
        { configurable: { thread_id: "other" } },
      );
      expect(texts(other.messages)).toEqual(["new", "seen 1"]);
    });

    it("interrupt() pauses the run; Command({ resume }) continues it, even from a new process", async () => {
      const { saver, reopen } = saverOn(backend);
      const config = { configurable: { thread_id: "hitl" } };
      const paused = await approvalGraph(saver).invoke({ draft: "hello" }, config);
      expect(interruptsOf(paused)).toHaveLength(1);
      expect(interruptsOf(paused)[0]?.value).toEqual({ question: "send?", draft: "hello!" });
      const state = await approvalGraph(saver).getState(config);
      expect(state.next).toEqual(["approve"]);
      expect(state.tasks[0]?.interrupts[0]?.value).toEqual({ question: "send?", draft: "hello!" });

      const resumed = await approvalGraph(reopen()).invoke(new Command({ resume: "yes" }), config);
      expect(resumed.sent).toBe("hello!");
      expect(resumed.log).toEqual(["write", "sent"]);
      // "write" ran once: the resume re-ran only the interrupted node.
      const after = await approvalGraph(reopen()).getState(config);
      expect(after.next).toEqual([]);
      expect(after.values.log).toEqual(["write", "sent"]);
    });

    it("getStateHistory lists every checkpoint newest first, pages with limit/before, filters", async () => {
      const { saver } = saverOn(backend);
      const app = chatGraph(saver);
      const config = { configurable: { thread_id: "hist" } };
      await app.invoke({ messages: [new HumanMessage("one")] }, config);
      await app.invoke({ messages: [new HumanMessage("two")] }, config);
      const history = [];
      for await (const snapshot of app.getStateHistory(config)) history.push(snapshot);
      // Per turn: an input checkpoint, the __start__ step and the bot step.
      expect(history.map((s) => s.metadata?.source)).toEqual([
        "loop",
        "loop",
        "input",
        "loop",
        "loop",
        "input",
      ]);
      expect(history.map((s) => s.metadata?.step)).toEqual([4, 3, 2, 1, 0, -1]);
      expect(texts(history[0]!.values.messages)).toEqual(["one", "seen 1", "two", "seen 3"]);
      expect(texts(history[3]!.values.messages)).toEqual(["one", "seen 1"]);
      const ids = history.map((s) => s.config.configurable?.checkpoint_id as string);
      expect([...ids].sort().reverse()).toEqual(ids);

      const page = [];
      for await (const s of app.getStateHistory(config, { limit: 2, before: history[1]!.config })) {
        page.push(s.config.configurable?.checkpoint_id);
      }
      expect(page).toEqual(ids.slice(2, 4));
      const inputs = [];
      for await (const s of app.getStateHistory(config, { filter: { source: "input" } })) {
        inputs.push(s.metadata?.step);
      }
      expect(inputs).toEqual([2, -1]);
    });

    it("updateState at an old checkpoint forks: the fork has the edit, the old branch is intact", async () => {
      const { saver } = saverOn(backend);
      const app = chatGraph(saver);
      const config = { configurable: { thread_id: "fork" } };
      await app.invoke({ messages: [new HumanMessage("one")] }, config);
      await app.invoke({ messages: [new HumanMessage("two")] }, config);
      const history = [];
      for await (const snapshot of app.getStateHistory(config)) history.push(snapshot);
      const firstTurnEnd = history[3]!;
      expect(texts(firstTurnEnd.values.messages)).toEqual(["one", "seen 1"]);

      const forkConfig = await app.updateState(firstTurnEnd.config, {
        messages: [new HumanMessage("edited")],
      });
      const fork = await app.getState(forkConfig);
      expect(texts(fork.values.messages)).toEqual(["one", "seen 1", "edited"]);
      expect(fork.parentConfig?.configurable?.checkpoint_id).toBe(
        firstTurnEnd.config.configurable?.checkpoint_id,
      );
      // The first branch still reads as it was.
      const oldHead = await app.getState(history[0]!.config);
      expect(texts(oldHead.values.messages)).toEqual(["one", "seen 1", "two", "seen 3"]);

      // Continuing on the thread now builds on the fork (the newest checkpoint).
      const next = await app.invoke({ messages: [new HumanMessage("three")] }, config);
      expect(texts(next.messages)).toEqual(["one", "seen 1", "edited", "three", "seen 4"]);
      // Replaying from the old head forks again and leaves both branches readable.
      const replay = await app.invoke(
        { messages: [new HumanMessage("from the old head")] },
        history[0]!.config,
      );
      expect(texts(replay.messages)).toEqual([
        "one",
        "seen 1",
        "two",
        "seen 3",
        "from the old head",
        "seen 5",
      ]);
    });

    it("an edit forked right before a step the old branch took is kept (integer versions lose it)", async () => {
      const { saver } = saverOn(backend);
      const app = chatGraph(saver);
      const config = { configurable: { thread_id: "fork-collision" } };
      await app.invoke({ messages: [new HumanMessage("one")] }, config);
      await app.invoke({ messages: [new HumanMessage("two")] }, config);
      const history = [];
      for await (const snapshot of app.getStateHistory(config)) history.push(snapshot);
      // history[1]: "two" is in, the bot has not answered yet. The old branch's next step wrote
      // `messages`; LangGraph's default integer versions give the fork's write the same version,
      // and a per-version blob store (LangGraph's PostgresSaver) then returns "seen 3" here.
      const forkConfig = await app.updateState(
        history[1]!.config,
        { messages: [new AIMessage("edited")] },
        "bot",
      );
      const fork = await app.getState(forkConfig);
      expect(texts(fork.values.messages)).toEqual(["one", "seen 1", "two", "edited"]);
      const oldHead = await app.getState(history[0]!.config);
      expect(texts(oldHead.values.messages)).toEqual(["one", "seen 1", "two", "seen 3"]);
    });

    it("the prebuilt ReAct agent calls tools and remembers the conversation across turns", async () => {
      const { saver, reopen } = saverOn(backend);
      const calls: string[] = [];
      const weather = tool(
        async ({ city }: { city: string }) => {
          calls.push(city);
          return `sunny in ${city}`;
        },
        {
          name: "weather",
          description: "Weather of a city",
          schema: z.object({ city: z.string() }),
        },
      );
      const model = new ScriptedChatModel([
        { content: "", toolCalls: [{ name: "weather", args: { city: "Paris" }, id: "call-1" }] },
        { content: "It is sunny in Paris." },
        { content: "You asked about Paris." },
      ]);
      const config = { configurable: { thread_id: "agent" } };
      const agent = createReactAgent({ llm: model, tools: [weather], checkpointSaver: saver });
      const first = await agent.invoke(
        { messages: [new HumanMessage("Weather in Paris?")] },
        config,
      );
      expect(calls).toEqual(["Paris"]);
      expect(texts(first.messages)).toEqual([
        "Weather in Paris?",
        "",
        "sunny in Paris",
        "It is sunny in Paris.",
      ]);

      // A new process picks the conversation up: the model sees every earlier message.
      const again = createReactAgent({ llm: model, tools: [weather], checkpointSaver: reopen() });
      const second = await again.invoke(
        { messages: [new HumanMessage("What did I ask?")] },
        config,
      );
      expect(texts(second.messages).at(-1)).toBe("You asked about Paris.");
      const seen = model.prompts.at(-1)!;
      expect(texts(seen)).toEqual([
        "Weather in Paris?",
        "",
        "sunny in Paris",
        "It is sunny in Paris.",
        "What did I ask?",
      ]);
      const toolCall = seen[1] as AIMessage;
      expect(toolCall).toBeInstanceOf(AIMessage);
      expect(toolCall.tool_calls?.[0]).toMatchObject({ name: "weather", args: { city: "Paris" } });
      expect(seen[2]).toBeInstanceOf(ToolMessage);
      expect((seen[2] as ToolMessage).tool_call_id).toBe("call-1");
    });

    it("the ReAct agent pauses in a tool for approval and resumes with Command({ resume })", async () => {
      const { saver } = saverOn(backend);
      const sent: string[] = [];
      const send = tool(
        async ({ to }: { to: string }) => {
          const ok = interrupt({ confirm: `send to ${to}?` }) as boolean;
          if (!ok) return "cancelled";
          sent.push(to);
          return `sent to ${to}`;
        },
        { name: "send", description: "Send a mail", schema: z.object({ to: z.string() }) },
      );
      const model = new ScriptedChatModel([
        { content: "", toolCalls: [{ name: "send", args: { to: "bob" }, id: "call-9" }] },
        { content: "Done." },
      ]);
      const agent = createReactAgent({ llm: model, tools: [send], checkpointSaver: saver });
      const config = { configurable: { thread_id: "approve" } };
      const paused = await agent.invoke({ messages: [new HumanMessage("mail bob")] }, config);
      expect(interruptsOf(paused)[0]?.value).toEqual({ confirm: "send to bob?" });
      expect(sent).toEqual([]);
      const done = await agent.invoke(new Command({ resume: true }), config);
      expect(sent).toEqual(["bob"]);
      expect(texts(done.messages)).toEqual(["mail bob", "", "sent to bob", "Done."]);
    });
  });
}
