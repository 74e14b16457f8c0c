/**
 * The LangGraph saver writes through the same codec as the runtime, checksums included: what it
 * stores is sealed, what it reads is verified (each piece of a merged SQLite run too), and a
 * row or value that is not the one written there is a CorruptionError naming the checkpoint.
 */
import { AIMessage, HumanMessage } from "@langchain/core/messages";
import { type Checkpoint, emptyCheckpoint, uuid6 } from "@langchain/langgraph-checkpoint";
import { describe, expect, it } from "vitest";
import { isRewindError } from "../../src/errors.js";
import { BACKENDS } from "../support/backends.js";
import { saverOn } from "../support/savers.js";

const SEALED = /^~[0-9a-f]{8}~/;
const cfg = (thread_id: string, checkpoint_id?: string) => ({
  configurable: { thread_id, checkpoint_ns: "", ...(checkpoint_id ? { checkpoint_id } : {}) },
});
const loop = { source: "loop" as const, step: 0, parents: {} };

function checkpoint(values: Record<string, unknown>, versions: Record<string, string>): Checkpoint {
  return {
    ...emptyCheckpoint(),
    id: uuid6(-1),
    channel_values: values,
    channel_versions: versions,
  };
}

for (const backend of BACKENDS) {
  describe(`RewindSaver on ${backend.name}: checksums`, () => {
    it("seals every row, value and write it stores, and reads a long append chain back", async () => {
      const { saver, backend: raw } = saverOn(backend);
      const messages: unknown[] = [];
      let config: Parameters<typeof saver.put>[0] = cfg("sealed");
      for (let turn = 1; turn <= 6; turn++) {
        messages.push(new HumanMessage(`question ${turn}`), new AIMessage(`answer ${turn}`));
        const v = String(turn);
        config = await saver.put(
          config,
          checkpoint({ messages: [...messages], turn }, { messages: v, turn: v }),
          { ...loop, step: turn },
          { messages: v, turn: v },
        );
      }
      await saver.putWrites(config, [["turn", 7]], "task");
      const tuple = await saver.getTuple(config);
      expect((tuple!.checkpoint.channel_values.messages as unknown[]).length).toBe(12);
      expect(tuple!.pendingWrites).toEqual([["task", "turn", 7]]);
      const id = tuple!.checkpoint.id;
      const loaded = await raw.getCheckpoint("sealed", "", id);
      expect(loaded!.checkpoint.body).toMatch(SEALED);
      for (const blob of Object.values(loaded!.blobs).flat()) {
        for (const tag of blob.pieces?.map((p) => p.tag) ?? [blob.value!.tag]) {
          expect(tag).toMatch(SEALED);
        }
      }
      expect(loaded!.writes[0]!.value.tag).toMatch(SEALED);
    });

    it("a row or a value stored where it was not written is a CorruptionError naming it", async () => {
      const { saver, backend: raw } = saverOn(backend);
      const put = await saver.put(
        cfg("moved"),
        checkpoint({ state: { n: 1 } }, { state: "1" }),
        loop,
        { state: "1" },
      );
      const id = put.configurable!.checkpoint_id as string;
      const original = (await raw.getCheckpoint("moved", "", id))!;
      // The same row under another id.
      const copied = uuid6(-1);
      await raw.putCheckpoint({ checkpoint: { ...original.checkpoint, id: copied }, blobs: [] });
      // The same value under another channel version.
      const misdirected = uuid6(-1);
      await raw.putCheckpoint({
        checkpoint: {
          ...original.checkpoint,
          id: misdirected,
          channelVersions: { state: "2" },
          body: JSON.stringify({}),
        },
        blobs: [{ ...original.blobs.state![0]!, version: "2" }],
      });
      for (const bad of [copied, misdirected]) {
        const error = await saver.getTuple(cfg("moved", bad)).catch((e: unknown) => e);
        expect(isRewindError(error, "CORRUPTED")).toBe(true);
        expect(error).toMatchObject({ threadId: "moved", checkpointId: bad });
      }
      expect((await saver.getTuple(put))!.checkpoint.channel_values).toEqual({ state: { n: 1 } });
    });
  });
}
