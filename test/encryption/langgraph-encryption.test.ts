/**
 * The LangGraph saver with encryption at rest: LangGraph's own checkpointer validation suite
 * passes on SQLite with every value sealed, and a LangGraph graph's messages are stored sealed.
 */
import "../langgraph/vitest-globals.js";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HumanMessage } from "@langchain/core/messages";
import { END, MessagesAnnotation, START, StateGraph } from "@langchain/langgraph";
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import { afterAll, describe, expect, it } from "vitest";
import type { CheckpointBackend } from "../../src/checkpoint/checkpoint-backend.js";
import { generateKek, Keyring, localKeyProvider } from "../../src/encryption/index.js";
import { RewindSaver } from "../../src/langgraph/index.js";
import { sqliteEngine } from "../support/sqlite-engine.js";

const directory = mkdtempSync(join(tmpdir(), "rewind-lg-keys-"));
afterAll(() => rmSync(directory, { recursive: true, force: true }));
const keys = await Keyring.open({
  provider: localKeyProvider([Buffer.from(generateKek(), "base64")]),
  directory,
});

const backends = new WeakMap<RewindSaver, CheckpointBackend>();
const initializer = {
  checkpointerName: "rewind-sqlite-encrypted",
  beforeAllTimeout: 30_000,
  createCheckpointer: async () => {
    const backend = await sqliteEngine.checkpoints.create();
    const saver = new RewindSaver(backend, { encryption: { keys } });
    backends.set(saver, backend);
    return saver;
  },
  destroyCheckpointer: async (saver: RewindSaver) => {
    await saver.close();
    await sqliteEngine.checkpoints.destroy?.(backends.get(saver)!);
  },
};
validate(initializer);
deltaChannelHistoryTests(initializer);

describe("a LangGraph graph on an encrypted saver", () => {
  it("stores messages sealed and reads them back", async () => {
    const backend = await sqliteEngine.checkpoints.create();
    const saver = new RewindSaver(backend, { encryption: { keys } });
    const app = new StateGraph(MessagesAnnotation)
      .addNode("echo", (state) => ({ messages: [`echo: ${state.messages.at(-1)?.content}`] }))
      .addEdge(START, "echo")
      .addEdge("echo", END)
      .compile({ checkpointer: saver });
    const config = { configurable: { thread_id: "chat" } };
    await app.invoke({ messages: [new HumanMessage("my password is hunter2")] }, config);
    const state = await app.getState(config);
    expect(state.values.messages.map((m: { content: unknown }) => m.content)).toEqual([
      "my password is hunter2",
      "echo: my password is hunter2",
    ]);
    for await (const loaded of backend.listCheckpoints({ threadId: "chat" })) {
      for (const chain of Object.values(loaded.blobs)) {
        for (const blob of chain) {
          if (blob.value === null) continue;
          expect(blob.value.tag).toContain("@e1:");
          expect(Buffer.from(blob.value.bytes).toString("latin1")).not.toContain("hunter2");
        }
      }
      for (const write of loaded.writes) {
        expect(Buffer.from(write.value.bytes).toString("latin1")).not.toContain("hunter2");
      }
    }
    await saver.close();
    await sqliteEngine.checkpoints.destroy?.(backend);
  });
});
