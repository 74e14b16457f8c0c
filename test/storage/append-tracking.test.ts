/**
 * The Checkpointer, not the runtime, knows where each channel version sits in its append chain:
 * a graph's growing list is stored as appends across invocations and across a restart, and a
 * version whose write failed never anchors an append.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { SqliteBackend } from "../../src/backends/sqlite/index.js";
import {
  appendChannel,
  ConflictError,
  createCheckpointer,
  END,
  START,
  StateGraph,
} from "../../src/index.js";
import { atFileEnd } from "../support/file-cleanup.js";

const dir = mkdtempSync(join(tmpdir(), "rewind-append-tracking-"));
atFileEnd(() => rmSync(dir, { recursive: true, force: true }));

/** No full snapshot within a chain, so every write after the first can be an append. */
const LONG_CHAINS = { minAppendDepth: 1000, appendRatio: 1000, maxAppendDepth: 1000 };

function chat(file: string) {
  const checkpointer = createCheckpointer(new SqliteBackend(file), LONG_CHAINS);
  const app = new StateGraph({ log: appendChannel<string>() })
    .addNode("reply", (s) => ({ log: `reply ${s.log.length}` }))
    .addEdge(START, "reply")
    .addEdge("reply", END)
    .compile({ checkpointer });
  return { checkpointer, app };
}

describe("append bookkeeping in the Checkpointer", () => {
  it("a conversation stays one append chain across invocations and a restart", async () => {
    const file = join(dir, "chat.sqlite");
    const turns = 6;
    const first = chat(file);
    for (let i = 0; i < turns; i++) await first.app.invoke({ log: `user ${i}` }, { threadId: "t" });
    await first.checkpointer.close();
    // A new process: nothing remembered until the head is read.
    const second = chat(file);
    for (let i = turns; i < 2 * turns; i++) {
      await second.app.invoke({ log: `user ${i}` }, { threadId: "t" });
    }
    const headId = await second.checkpointer.headId("t");
    const head = await second.checkpointer.door.getCheckpoint("t", "", headId);
    const chain = head!.blobs.log!;
    expect(chain[0]?.kind).toBe("full");
    expect(chain.slice(1).every((b) => b.kind === "append")).toBe(true);
    // Each turn writes the channel twice (the input, then the reply); only the first is full.
    expect(chain.at(-1)?.depth).toBe(4 * turns - 1);
    const state = await second.app.getState({ threadId: "t" });
    expect(state?.values.log).toHaveLength(4 * turns);
    await second.checkpointer.close();
  });

  it("a version whose write failed is never appended to", async () => {
    const checkpointer = createCheckpointer(
      new SqliteBackend(join(dir, "refused.sqlite")),
      LONG_CHAINS,
    );
    const put = (id: string, parentId: string | undefined, value: string[], prev?: string) =>
      checkpointer.put(
        {
          threadId: "t",
          id,
          parentId,
          channelVersions: { log: id },
          versionsSeen: {},
          metadata: { source: "loop", step: 0 },
          updates: [
            {
              channel: "log",
              version: id,
              value,
              ...(prev ? { append: { prevVersion: prev, items: value.slice(-1) } } : {}),
            },
          ],
        },
        { expectedHead: parentId ?? null },
      );
    await put("c1", undefined, ["a"]);
    await put("c2", "c1", ["a", "b"], "c1");
    // Refused (the head is c2, not c1): version x2 is never stored.
    await expect(put("x2", "c1", ["a", "x"], "c1")).rejects.toBeInstanceOf(ConflictError);
    // A caller that appends to it anyway gets the full value stored, not a dangling delta.
    await put("c3", "c2", ["a", "x", "y"], "x2");
    const raw = await checkpointer.door.getCheckpoint("t", "", "c3");
    expect(raw!.blobs.log!.map((b) => b.kind)).toEqual(["full"]);
    expect((await checkpointer.get("t"))?.checkpoint.values.log).toStrictEqual(["a", "x", "y"]);
    await checkpointer.close();
  });
});
