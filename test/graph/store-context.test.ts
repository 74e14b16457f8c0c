import { describe, expect, it } from "vitest";
import {
  createMemoryStore,
  InvalidInputError,
  lastValue,
  NodeFailedError,
  START,
  StateGraph,
} from "../../src/index.js";

describe("ctx.store in nodes", () => {
  it("is bound to the run's tenant: one tenant's facts never reach another's run", async () => {
    const store = createMemoryStore();
    const app = new StateGraph({
      fact: lastValue<string | undefined>(),
      recalled: lastValue<string | undefined>(),
    })
      .addNode("remember", async (s, ctx) => {
        if (s.fact) await ctx.store.put(["user", "u1"], "fact", { text: s.fact });
        const item = await ctx.store.get<{ text: string }>(["user", "u1"], "fact");
        return { recalled: item?.value.text ?? "nothing" };
      })
      .addEdge(START, "remember")
      .compile({ store });
    await app.invoke({ fact: "likes aisle seats" }, { threadId: "a1", tenantId: "acme" });
    const sameTenant = await app.invoke({}, { threadId: "a2", tenantId: "acme" });
    expect(sameTenant.values.recalled).toBe("likes aisle seats");
    const otherTenant = await app.invoke({}, { threadId: "g1", tenantId: "globex" });
    expect(otherTenant.values.recalled).toBe("nothing");
  });

  it("without a tenant, touching ctx.store is a named error", async () => {
    const app = new StateGraph({ x: lastValue<number>() })
      .addNode("n", async (_s, ctx) => {
        await ctx.store.get(["a"], "b");
        return {};
      })
      .addEdge(START, "n")
      .compile({ store: createMemoryStore() });
    const error = await app.invoke({}, { threadId: "t" }).catch((e) => e);
    expect(error).toBeInstanceOf(NodeFailedError);
    expect(error.cause).toBeInstanceOf(InvalidInputError);
    expect(error.cause.message).toMatch(/tenantId/);
  });
});
