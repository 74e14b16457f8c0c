import { describe, expect, it } from "vitest";
import {
  END,
  lastValue,
  type Message,
  messagesChannel,
  NotFoundError,
  renderLineage,
  START,
  StateGraph,
} from "../../src/index.js";
import { BACKENDS, type TestBackend } from "../support/backends.js";

function tripGraph(backend: TestBackend) {
  return new StateGraph({
    city: lastValue<string>(() => ""),
    messages: messagesChannel(),
    plan: lastValue<string>(() => ""),
  })
    .addNode("choose", (s) => ({ city: s.city || "Tokyo" }))
    .addNode("plan", (s) => ({
      plan: `3 days in ${s.city}`,
      messages: { role: "assistant", content: `planned ${s.city}` },
    }))
    .addEdge(START, "choose")
    .addEdge("choose", "plan")
    .addEdge("plan", END)
    .compile({ checkpointer: backend.checkpointer() });
}

async function collect<T>(it: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of it) out.push(x);
  return out;
}

for (const backend of BACKENDS) {
  describe(`on ${backend.name}`, () => {
    describe("time travel", () => {
      it("history is newest first, paged with before/limit, filterable by metadata", async () => {
        const app = tripGraph(backend);
        await app.invoke(
          { messages: { role: "user", content: "trip" } },
          { threadId: "t", metadata: { turn: 1 } },
        );
        await app.invoke(
          { messages: { role: "user", content: "again" } },
          { threadId: "t", metadata: { turn: 2 } },
        );
        const all = await collect(app.getStateHistory({ threadId: "t" }));
        expect(all).toHaveLength(6);
        expect(all.map((s) => s.step)).toEqual([4, 3, 2, 1, 0, -1]);
        const page1 = await collect(app.getStateHistory({ threadId: "t" }, { limit: 2 }));
        const page2 = await collect(
          app.getStateHistory({ threadId: "t" }, { limit: 2, before: page1.at(-1)!.checkpointId }),
        );
        expect([...page1, ...page2].map((s) => s.checkpointId)).toEqual(
          all.slice(0, 4).map((s) => s.checkpointId),
        );
        const turn1 = await collect(
          app.getStateHistory({ threadId: "t" }, { filter: { turn: 1 } }),
        );
        expect(turn1.map((s) => s.step)).toEqual([1, 0, -1]);
        const inputs = await collect(
          app.getStateHistory({ threadId: "t" }, { filter: { source: "input", turn: 2 } }),
        );
        expect(inputs).toHaveLength(1);
      });

      it("fork from an earlier checkpoint with edited state runs a new branch; the old branch is kept", async () => {
        const app = tripGraph(backend);
        await app.invoke({ messages: { role: "user", content: "trip" } }, { threadId: "t" });
        const history = await collect(app.getStateHistory({ threadId: "t" }));
        const afterChoose = history.find((s) => s.next[0] === "plan")!;
        expect(afterChoose.values.city).toBe("Tokyo");

        const fork = await app.updateState(
          { threadId: "t", checkpointId: afterChoose.checkpointId },
          { city: "Osaka" },
          { asNode: "choose" },
        );
        const forkState = await app.getState({ threadId: "t", checkpointId: fork.checkpointId });
        expect(forkState?.parentCheckpointId).toBe(afterChoose.checkpointId);
        expect(forkState?.next).toEqual(["plan"]);
        const done = await app.invoke(null, { threadId: "t" });
        expect(done.values.plan).toBe("3 days in Osaka");
        expect(done.values.messages.map((m: Message) => m.content)).toEqual([
          "trip",
          "planned Osaka",
        ]);

        const oldHead = history[0]!;
        expect(
          (await app.getState({ threadId: "t", checkpointId: oldHead.checkpointId }))?.values.plan,
        ).toBe("3 days in Tokyo");

        const lineage = await app.getLineage({ threadId: "t" });
        expect(lineage.forkPoints).toEqual([afterChoose.checkpointId]);
        expect(lineage.branches).toHaveLength(2);
        const current = lineage.branches.find((b) => b.isCurrent)!;
        expect(current.headId).toBe(done.checkpointId);
        expect(current.forkedFrom).toBe(afterChoose.checkpointId);
        const tree = renderLineage(lineage);
        expect(tree.split("\n")).toHaveLength(5);
        expect(tree).toContain("<- current");
        expect(tree).toMatch(/├─ .*\n.*└─ /s);

        const changes = await app.diff({
          threadId: "t",
          from: oldHead.checkpointId,
          to: done.checkpointId!,
        });
        expect(changes).toEqual(
          expect.arrayContaining([
            { path: ["city"], kind: "changed", before: "Tokyo", after: "Osaka" },
            {
              path: ["plan"],
              kind: "changed",
              before: "3 days in Tokyo",
              after: "3 days in Osaka",
            },
            {
              path: ["messages", 1, "content"],
              kind: "changed",
              before: "planned Tokyo",
              after: "planned Osaka",
            },
          ]),
        );
      });

      it("invoke(null, { checkpointId }) replays from that checkpoint on a new branch", async () => {
        const app = tripGraph(backend);
        await app.invoke(
          { city: "Rome", messages: { role: "user", content: "go" } },
          { threadId: "t" },
        );
        const history = await collect(app.getStateHistory({ threadId: "t" }));
        const input = history.find((s) => s.metadata.source === "input")!;
        const replay = await app.invoke(null, { threadId: "t", checkpointId: input.checkpointId });
        expect(replay.values.plan).toBe("3 days in Rome");
        const after = await collect(app.getStateHistory({ threadId: "t" }));
        expect(after).toHaveLength(history.length + 3);
        expect(after.find((s) => s.metadata.source === "fork")?.parentCheckpointId).toBe(
          input.checkpointId,
        );
        const lineage = await app.getLineage({ threadId: "t" });
        expect(lineage.branches).toHaveLength(2);
      });

      it("updateState at the head patches the state; unknown checkpoints and nodes are named errors", async () => {
        const app = tripGraph(backend);
        await app.invoke({}, { threadId: "t" });
        await app.updateState({ threadId: "t" }, { plan: "edited" });
        expect((await app.getState({ threadId: "t" }))?.values.plan).toBe("edited");
        expect((await app.getState({ threadId: "t" }))?.metadata.source).toBe("update");
        await expect(
          app.updateState({ threadId: "t", checkpointId: "nope" }, { plan: "x" }),
        ).rejects.toThrow(NotFoundError);
        await expect(
          app.updateState({ threadId: "t" }, { plan: "x" }, { asNode: "ghost" }),
        ).rejects.toThrow(/not a node/);
      });
    });
  });
}
