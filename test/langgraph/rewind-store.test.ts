import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { tool } from "@langchain/core/tools";
import {
  END,
  getStore,
  type LangGraphRunnableConfig,
  MessagesAnnotation,
  START,
  StateGraph,
} from "@langchain/langgraph";
import { createReactAgent } from "@langchain/langgraph/prebuilt";
import { describe, expect, it } from "vitest";
import { z } from "zod";
import { InvalidInputError } from "../../src/errors.js";
import { RewindStore } from "../../src/langgraph/index.js";
import { BACKENDS } from "../support/backends.js";
import { saverOn } from "../support/savers.js";
import { ScriptedChatModel } from "./scripted-chat-model.js";

for (const kind of BACKENDS) {
  describe(`RewindStore on ${kind.name}`, () => {
    it("serves LangGraph's store API; values keep their types", async () => {
      const store = kind.store();
      const lg = new RewindStore(store.forTenant("acme"));
      const since = new Date("2026-03-04T05:06:07.000Z");
      await lg.put(["users", "u1"], "prefs", { theme: "dark", since, tags: new Set(["a"]) });
      await lg.put(["users", "u2"], "prefs", { theme: "light", since });
      await lg.put(["usersx"], "other", { theme: "dark" });
      const item = await lg.get(["users", "u1"], "prefs");
      expect(item?.value).toEqual({ theme: "dark", since, tags: new Set(["a"]) });
      expect(item?.value.since).toBeInstanceOf(Date);
      expect(item?.createdAt).toBeInstanceOf(Date);
      expect(await lg.get(["users", "u1"], "missing")).toBeNull();

      // Whole labels: ["users"] does not reach ["usersx"].
      const dark = await lg.search(["users"], { filter: { theme: "dark" } });
      expect(dark.map((i) => [i.namespace, i.key])).toEqual([[["users", "u1"], "prefs"]]);
      expect((await lg.search(["users"])).length).toBe(2);
      expect(await lg.listNamespaces({ prefix: ["users"] })).toEqual([
        ["users", "u1"],
        ["users", "u2"],
      ]);
      expect(await lg.listNamespaces({ maxDepth: 1 })).toEqual([["users"], ["usersx"]]);
      await lg.delete(["users", "u1"], "prefs");
      expect(await lg.get(["users", "u1"], "prefs")).toBeNull();
      await store.close();
    });

    it("wildcard namespace conditions match label by label", async () => {
      const store = kind.store();
      const lg = new RewindStore(store.forTenant("acme"));
      await lg.put(["a", "x", "mem"], "k", { n: 1 });
      await lg.put(["a", "y", "mem"], "k", { n: 2 });
      await lg.put(["a", "y", "docs"], "k", { n: 3 });
      await lg.put(["b", "x", "mem"], "k", { n: 4 });
      const [hits] = await lg.batch([
        {
          matchConditions: [
            { matchType: "prefix", path: ["a", "*"] },
            { matchType: "suffix", path: ["mem"] },
          ],
          limit: 10,
          offset: 0,
        },
      ]);
      expect(hits).toEqual([
        ["a", "x", "mem"],
        ["a", "y", "mem"],
      ]);
      await store.close();
    });

    it("tenants never see each other's items", async () => {
      const store = kind.store();
      const acme = new RewindStore(store.forTenant("acme"));
      const globex = new RewindStore(store.forTenant("globex"));
      await acme.put(["users", "u1"], "prefs", { theme: "dark" });
      expect(await globex.get(["users", "u1"], "prefs")).toBeNull();
      expect(await globex.search(["users"])).toEqual([]);
      expect(await globex.listNamespaces()).toEqual([]);
      await store.close();
    });

    it("a graph's nodes share memory across threads through the store", async () => {
      const store = kind.store();
      const { saver } = saverOn(kind);
      const lg = new RewindStore(store.forTenant("acme"));
      const app = new StateGraph(MessagesAnnotation)
        .addNode("remember", async (state, config: LangGraphRunnableConfig) => {
          const text = String(state.messages.at(-1)?.content);
          const ns = ["memories", config.configurable?.user_id as string];
          if (text.startsWith("remember ")) {
            await config.store!.put(ns, "fact", { text: text.slice(9) });
            return { messages: [new AIMessage("noted")] };
          }
          const fact = await config.store!.get(ns, "fact");
          return { messages: [new AIMessage(fact ? `you said ${fact.value.text}` : "nothing")] };
        })
        .addEdge(START, "remember")
        .addEdge("remember", END)
        .compile({ checkpointer: saver, store: lg });
      await app.invoke(
        { messages: [new HumanMessage("remember tea")] },
        { configurable: { thread_id: "t1", user_id: "u1" } },
      );
      const other = await app.invoke(
        { messages: [new HumanMessage("what did I say?")] },
        { configurable: { thread_id: "t2", user_id: "u1" } },
      );
      expect(other.messages.map((m) => m.content)).toEqual(["what did I say?", "you said tea"]);
      const stranger = await app.invoke(
        { messages: [new HumanMessage("what did I say?")] },
        { configurable: { thread_id: "t3", user_id: "u2" } },
      );
      expect(stranger.messages.at(-1)?.content).toBe("nothing");
      await store.close();
    });

    it("the prebuilt ReAct agent's tools read and write the store", async () => {
      const store = kind.store();
      const { saver } = saverOn(kind);
      const lg = new RewindStore(store.forTenant("acme"));
      const save = tool(
        async ({ fact }: { fact: string }) => {
          await getStore()!.put(["facts"], "latest", { fact });
          return "saved";
        },
        { name: "save", description: "Save a fact", schema: z.object({ fact: z.string() }) },
      );
      const model = new ScriptedChatModel([
        { content: "", toolCalls: [{ name: "save", args: { fact: "sky is blue" }, id: "c1" }] },
        { content: "Saved it." },
      ]);
      const agent = createReactAgent({
        llm: model,
        tools: [save],
        checkpointSaver: saver,
        store: lg,
      });
      await agent.invoke(
        { messages: [new HumanMessage("remember the sky")] },
        { configurable: { thread_id: "a1" } },
      );
      expect((await lg.get(["facts"], "latest"))?.value).toEqual({ fact: "sky is blue" });
      await store.close();
    });

    it("bad input gets a named error and the batch stores nothing", async () => {
      const store = kind.store();
      const lg = new RewindStore(store.forTenant("acme"));
      await expect(
        lg.batch([
          { namespace: ["ok"], key: "k", value: { a: 1 } },
          { namespace: ["ok"], key: "", value: { a: 2 } },
        ]),
      ).rejects.toThrow(InvalidInputError);
      expect(await lg.get(["ok"], "k")).toBeNull();
      await expect(lg.search(["ok"], { query: "anything" })).rejects.toThrow(InvalidInputError);
      expect(() => new RewindStore(store as never)).toThrow(InvalidInputError);
      await store.close();
    });
  });
}
