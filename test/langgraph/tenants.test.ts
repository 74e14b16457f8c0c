import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { describe, expect, it } from "vitest";
import {
  createMemoryStore,
  InvalidInputError,
  parseThreadKey,
  ThreadDeletedError,
  threadKey,
} from "../../src/index.js";
import { type RewindSaver, RewindStore } from "../../src/langgraph/index.js";
import { BACKENDS } from "../support/backends.js";
import { saverOn } from "../support/savers.js";

/** Answers with what it saw: the number of messages and the last one. */
const bot = ({ messages }: typeof MessagesAnnotation.State) => {
  const seen = `seen ${messages.length}: ${messages.at(-1)?.content}`;
  return { messages: [new AIMessage(seen)] };
};
const chatGraph = (saver: RewindSaver) =>
  new StateGraph(MessagesAnnotation).addNode("bot", bot).addEdge(START, "bot").compile({
    checkpointer: saver,
  });

const config = (thread_id: string, tenant_id?: string) => ({
  configurable: { thread_id, ...(tenant_id === undefined ? {} : { tenant_id }) },
});
const ACME = config("support-1", "acme");
const GLOBEX = config("support-1", "globex");
const contents = (state: { values: { messages?: { content: unknown }[] } }) =>
  (state.values.messages ?? []).map((m) => String(m.content));

async function collect<T>(items: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of items) out.push(item);
  return out;
}

for (const backend of BACKENDS) {
  describe(`RewindSaver tenants (${backend.name})`, () => {
    async function acmeThread() {
      const { saver } = saverOn(backend);
      const app = chatGraph(saver);
      await app.invoke({ messages: [new HumanMessage("acme: my invoice")] }, ACME);
      return { saver, app };
    }

    it("config.configurable.tenant_id scopes the thread: another tenant's thread of the same id is its own", async () => {
      const { app } = await acmeThread();
      expect(contents(await app.getState(GLOBEX))).toEqual([]);
      const globex = await app.invoke({ messages: [new HumanMessage("globex: hello")] }, GLOBEX);
      expect(globex.messages.map((m) => String(m.content))).toEqual([
        "globex: hello",
        "seen 1: globex: hello",
      ]);
      const acme = await app.invoke({ messages: [new HumanMessage("acme: thanks")] }, ACME);
      expect(acme.messages.map((m) => String(m.content))).toEqual([
        "acme: my invoice",
        "seen 1: acme: my invoice",
        "acme: thanks",
        "seen 3: acme: thanks",
      ]);
      const noTenant = await app.getState(config("support-1"));
      expect(contents(noTenant)).toEqual([]);
    });

    it("states and tuples name the caller's thread and tenant, so their config leads back to the same thread", async () => {
      const { app, saver } = await acmeThread();
      const state = await app.getState(ACME);
      expect(state.config.configurable).toMatchObject({
        thread_id: "support-1",
        tenant_id: "acme",
      });
      const tuple = await saver.getTuple(ACME);
      expect(tuple?.config.configurable).toMatchObject({
        thread_id: "support-1",
        tenant_id: "acme",
      });
      expect(tuple?.parentConfig?.configurable).toMatchObject({ tenant_id: "acme" });
      await app.updateState(state.config, { messages: [new HumanMessage("acme: edited")] });
      expect(contents(await app.getState(ACME)).at(-1)).toBe("acme: edited");
      expect(contents(await app.getState(GLOBEX))).toEqual([]);
      // Another tenant cannot reach acme's checkpoint by naming its id.
      const foreign = {
        configurable: {
          ...GLOBEX.configurable,
          checkpoint_id: state.config.configurable?.checkpoint_id,
        },
      };
      expect(await saver.getTuple(foreign)).toBeUndefined();
      expect(await collect(saver.list(foreign))).toEqual([]);
    });

    it("listing without a thread lists only the tenant's threads; without a tenant only the default tenant's", async () => {
      const { app, saver } = await acmeThread();
      await app.invoke(
        { messages: [new HumanMessage("acme: billing")] },
        config("billing", "acme"),
      );
      await app.invoke({ messages: [new HumanMessage("globex: hi")] }, GLOBEX);
      await app.invoke({ messages: [new HumanMessage("default: hi")] }, config("support-1"));
      const threadsOf = async (tenant_id?: string, limit?: number) =>
        (
          await collect(saver.list(tenant_id ? { configurable: { tenant_id } } : {}, { limit }))
        ).map(
          (t) => `${t.config.configurable?.tenant_id ?? "-"}/${t.config.configurable?.thread_id}`,
        );
      expect(new Set(await threadsOf("acme"))).toEqual(new Set(["acme/support-1", "acme/billing"]));
      expect(await threadsOf("acme", 2)).toHaveLength(2);
      expect(new Set(await threadsOf("globex"))).toEqual(new Set(["globex/support-1"]));
      expect(new Set(await threadsOf())).toEqual(new Set(["-/support-1"]));
      const keys = await collect(saver.checkpointer.list({ includeValues: false }));
      const owners = new Set(keys.map((t) => parseThreadKey(t.checkpoint.threadId).tenantId));
      expect(owners).toEqual(new Set(["acme", "globex", undefined]));
    });

    it("deleteThread takes the storage key: a tenant's thread is deleted by threadKey, no other", async () => {
      const { app, saver } = await acmeThread();
      await app.invoke({ messages: [new HumanMessage("globex: hi")] }, GLOBEX);
      await app.invoke({ messages: [new HumanMessage("default: hi")] }, config("support-1"));
      await saver.deleteThread(threadKey("support-1", "acme"));
      expect(contents(await app.getState(ACME))).toEqual([]);
      expect(contents(await app.getState(GLOBEX))).toHaveLength(2);
      expect(contents(await app.getState(config("support-1")))).toHaveLength(2);
      const late = await app
        .invoke({ messages: [new HumanMessage("acme: again")] }, ACME)
        .catch((e) => e);
      expect(late).toBeInstanceOf(ThreadDeletedError);
      expect(late.threadId).toBe("support-1");
      expect(late.message).not.toContain("\u001f");
    });

    it("the default tenant's threads stay under their own id", async () => {
      const { saver } = saverOn(backend);
      await chatGraph(saver).invoke({ messages: [new HumanMessage("hi")] }, config("support-1"));
      const head = await saver.getTuple(config("support-1"));
      const raw = await collect(
        saver.checkpointer.list({ threadId: "support-1", includeValues: false, limit: 1 }),
      );
      expect(raw.map((t) => t.checkpoint.id)).toEqual([head?.checkpoint.id]);
    });

    it("a bad tenant_id is a named error", async () => {
      const { saver } = saverOn(backend);
      const app = chatGraph(saver);
      for (const tenant_id of ["", "a\u0000b", "x".repeat(257), 42]) {
        const bad = { configurable: { thread_id: "t", tenant_id } };
        await expect(
          app.invoke({ messages: [new HumanMessage("x")] }, bad as never),
        ).rejects.toBeInstanceOf(InvalidInputError);
      }
      expect(await collect(saver.checkpointer.list())).toEqual([]);
    });
  });
}

describe("RewindStore with tenants", () => {
  it("a RewindStore of the run's tenant, passed with its config, keeps tenants' memories apart", async () => {
    const { saver } = saverOn(BACKENDS[0]!);
    const store = createMemoryStore();
    const app = new StateGraph(MessagesAnnotation)
      .addNode("bot", async (state, config) => {
        const said = String(state.messages.at(-1)?.content);
        if (said.startsWith("remember ")) {
          await config.store!.put(["facts"], "fact", { text: said.slice(9) });
        }
        const fact = await config.store!.get(["facts"], "fact");
        return { messages: [new AIMessage(`fact: ${fact?.value.text ?? "none"}`)] };
      })
      .addEdge(START, "bot")
      .compile({ checkpointer: saver });
    const run = (tenant: string, thread: string, text: string) =>
      app.invoke(
        { messages: [new HumanMessage(text)] },
        { ...config(thread, tenant), store: new RewindStore(store.forTenant(tenant)) },
      );
    await run("acme", "support-1", "remember aisle seats");
    const acme = await run("acme", "support-2", "what do you know?");
    const globex = await run("globex", "support-1", "what do you know?");
    expect(String(acme.messages.at(-1)?.content)).toBe("fact: aisle seats");
    expect(String(globex.messages.at(-1)?.content)).toBe("fact: none");
  });
});
