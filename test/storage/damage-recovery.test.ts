/**
 * A damaged head must not make a thread unrecoverable: fork, replay and lineage work from any
 * intact checkpoint, and `repairThread` moves the head back to the newest intact checkpoint,
 * keeping the damaged rows aside for inspection.
 */
import { describe, expect, it } from "vitest";
import { checkpointerForTenant, type Message, threadKey } from "../../src/index.js";
import { chatGraph, DAMAGE_BACKENDS, threeTurns } from "./damage-support.js";

for (const backend of DAMAGE_BACKENDS) {
  describe(`a damaged head on ${backend.name}`, () => {
    it("fork, replay and lineage still work from an intact older checkpoint", async () => {
      const { checkpointer, damage } = backend.create();
      const app = chatGraph(checkpointer);
      const threadId = "damaged-values";
      const [head, beforeThree, afterTwo] = await threeTurns(app, threadId);
      await damage(threadId, head!, "values");
      const error = await app.getState({ threadId }).catch((e) => e);
      expect(error).toMatchObject({ threadId, checkpointId: head });

      const lineage = await app.getLineage({ threadId });
      expect(lineage.nodes.has(head!)).toBe(true);

      const forked = await app.fork({ threadId, checkpointId: afterTwo! }, { turns: 10 });
      const fork = await app.getState({ threadId, checkpointId: forked.checkpointId });
      expect(fork?.values.turns).toBe(10);
      expect(fork?.values.messages.map((m: Message) => m.content)).toEqual([
        "one",
        "reply 1",
        "two",
        "reply 2",
      ]);

      const replay = await app.invoke(null, { threadId, checkpointId: beforeThree! });
      expect(replay.values.turns).toBe(3);
      expect(replay.values.messages.map((m: Message) => m.content)).toEqual([
        "one",
        "reply 1",
        "two",
        "reply 2",
        "three",
        "reply 3",
      ]);
    });

    it("lineage lists a checkpoint whose header is unreadable as damaged and shows the rest", async () => {
      const { checkpointer, damage } = backend.create();
      const app = chatGraph(checkpointer);
      const threadId = "damaged-header";
      const ids = await threeTurns(app, threadId);
      await damage(threadId, ids[0]!, "header");
      const lineage = await app.getLineage({ threadId });
      expect(lineage.damaged?.map((d) => d.checkpointId)).toEqual([ids[0]]);
      expect([...lineage.nodes.keys()].sort()).toEqual(ids.slice(1).sort());
      const forked = await app.fork({ threadId, checkpointId: ids[1]! }, { turns: 7 });
      expect((await app.getState({ threadId }))?.checkpointId).toBe(forked.checkpointId);
    });

    it("replay and fork work under a head whose header is unreadable", async () => {
      const { checkpointer, damage } = backend.create();
      const app = chatGraph(checkpointer);
      const threadId = "damaged-head-header";
      const [head, beforeThree] = await threeTurns(app, threadId);
      await damage(threadId, head!, "header");
      const replay = await app.invoke(null, { threadId, checkpointId: beforeThree! });
      expect(replay.values.turns).toBe(3);
      const forked = await app.fork({ threadId, checkpointId: beforeThree! }, { turns: 9 });
      expect(forked.checkpointId > head!).toBe(true);
    });

    it("repairThread moves the head back to the newest intact checkpoint and keeps the damaged ones aside", async () => {
      const { checkpointer, damage } = backend.create();
      const app = chatGraph(checkpointer);
      const threadId = "repair-me";
      const other = "repair-neighbour";
      const ids = await threeTurns(app, threadId);
      await threeTurns(app, other);
      expect(await app.repairThread({ threadId })).toEqual({
        threadId,
        ns: "",
        headId: ids[0],
        quarantined: [],
      });
      await damage(threadId, ids[0]!, "values");
      await damage(threadId, ids[1]!, "header");
      const result = await app.repairThread({ threadId });
      expect(result.headId).toBe(ids[2]);
      expect(result.quarantined.map((q) => q.checkpointId)).toEqual([ids[0], ids[1]]);

      const state = await app.getState({ threadId });
      expect(state?.checkpointId).toBe(ids[2]);
      const aside = await checkpointer.listQuarantined(threadId);
      expect(aside.map((q) => q.checkpointId)).toEqual([ids[0], ids[1]]);
      expect(aside[1]!.metadata).toBe("{not json");
      expect(aside[0]!.reason).toContain(ids[0]);
      expect(await checkpointer.listQuarantined(other)).toEqual([]);

      // The thread runs on from the repaired head; the neighbour never noticed.
      const next = await app.invoke({ messages: { role: "user", content: "again" } }, { threadId });
      expect(next.values.turns).toBe(3);
      expect((await app.getState({ threadId: other }))?.values.turns).toBe(3);
      await checkpointer.deleteThread(threadId);
      expect(await checkpointer.listQuarantined(threadId)).toEqual([]);
    });

    it("a tenant's repair, head and quarantine are its own, shown with its own thread id", async () => {
      const { checkpointer, damage } = backend.create();
      const app = chatGraph(checkpointer);
      const threadId = "tenant-repair";
      const tenantId = "acme";
      for (const content of ["one", "two"]) {
        await app.invoke({ messages: { role: "user", content } }, { threadId, tenantId });
      }
      await app.invoke({ messages: { role: "user", content: "other" } }, { threadId });
      const acme = checkpointerForTenant(checkpointer, tenantId);
      const ids: string[] = [];
      for await (const s of app.getStateHistory({ threadId, tenantId })) ids.push(s.checkpointId);
      await damage(threadKey(threadId, tenantId), ids[0]!, "header");
      expect(await acme.headId(threadId)).toBe(ids[0]);

      const result = await app.repairThread({ threadId, tenantId });
      expect(result).toMatchObject({ threadId, headId: ids[1] });
      expect(result.quarantined.map((q) => q.checkpointId)).toEqual([ids[0]]);
      const aside = await acme.listQuarantined(threadId);
      expect(aside.map((q) => [q.threadId, q.checkpointId])).toEqual([[threadId, ids[0]]]);
      for (const text of [result.quarantined[0]!.reason, aside[0]!.reason]) {
        expect(text).toContain(threadId);
        expect(text).not.toContain(tenantId);
      }
      // The default tenant's thread of the same id is another thread: untouched, nothing aside.
      expect(await checkpointer.listQuarantined(threadId)).toEqual([]);
      expect((await app.getState({ threadId }))?.values.turns).toBe(1);
      expect(await acme.headId(threadId)).toBe(ids[1]);
    });
  });
}
