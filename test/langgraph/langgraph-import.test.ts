/**
 * Moving threads from LangGraph.js's own savers into Rewind: real graphs run on the real
 * `SqliteSaver` and `PostgresSaver`, their threads are imported into every Rewind backend, and
 * `RewindSaver` then serves the same history (getTuple, list, pending writes; LangGraph's
 * numbered versions as zero-padded text) and continues the graphs where LangGraph left them.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { HumanMessage } from "@langchain/core/messages";
import { type BaseCheckpointSaver, Command } from "@langchain/langgraph";
import type { CheckpointTuple } from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import { afterAll, describe, expect, it } from "vitest";
import { ConflictError } from "../../src/errors.js";
import { importLangGraphThreads, RewindSaver } from "../../src/langgraph/index.js";
import { textVersion } from "../../src/langgraph/langgraph-import.js";
import { BACKENDS } from "../support/backends.js";
import { freshSchema, PG_URL } from "../support/postgres.js";
import { saverOn } from "../support/savers.js";
import { approvalGraph, chatGraph } from "./sample-graphs.js";

const root = mkdtempSync(join(tmpdir(), "rewind-lg-import-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

const cfg = (thread_id: string) => ({ configurable: { thread_id } });

/** Two chat threads of three turns, and an approval stopped at its interrupt. */
async function runOn(saver: BaseCheckpointSaver): Promise<void> {
  for (const thread of ["chat-1", "chat-2"]) {
    for (const turn of ["hi", "and?", "bye"]) {
      await chatGraph(saver).invoke(
        { messages: [new HumanMessage(`${turn} ${thread}`)] },
        cfg(thread),
      );
    }
  }
  await approvalGraph(saver).invoke({ draft: "hello" }, cfg("ask"));
}

/**
 * What LangGraph sees of a tuple, in a form both savers must agree on. Values of channels that
 * have no version are left out: SqliteSaver keeps them (a reducer's default `[]`, an empty task
 * topic) though nothing wrote them; Rewind stores values by version, and LangGraph recreates
 * those from the graph's defaults (the continued runs below check that).
 */
function view(tuple: CheckpointTuple) {
  const text = (v: Record<string, string | number>) =>
    Object.fromEntries(Object.entries(v).map(([ch, x]) => [ch, textVersion(x)]));
  const versions = text(tuple.checkpoint.channel_versions);
  const values = Object.fromEntries(
    Object.entries(tuple.checkpoint.channel_values).filter(([ch]) => Object.hasOwn(versions, ch)),
  );
  const sorted = [...(tuple.pendingWrites ?? [])].sort((a, b) =>
    `${a[0]}${a[1]}` < `${b[0]}${b[1]}` ? -1 : 1,
  );
  return {
    id: tuple.checkpoint.id,
    ns: tuple.config.configurable?.checkpoint_ns ?? "",
    parent: tuple.parentConfig?.configurable?.checkpoint_id,
    values,
    versions,
    seen: Object.fromEntries(
      Object.entries(tuple.checkpoint.versions_seen).map(([node, v]) => [node, text(v)]),
    ),
    metadata: tuple.metadata,
    pendingWrites: sorted,
  };
}

async function history(saver: BaseCheckpointSaver, thread: string) {
  const out = [];
  for await (const tuple of saver.list(cfg(thread))) out.push(view(tuple));
  return out;
}

const sources: [string, () => Promise<BaseCheckpointSaver>][] = [
  ["SqliteSaver", async () => SqliteSaver.fromConnString(join(root, `lg-${Date.now()}.sqlite`))],
  [
    "PostgresSaver",
    async () => {
      const saver = PostgresSaver.fromConnString(PG_URL, { schema: freshSchema("lg_import") });
      await saver.setup();
      return saver;
    },
  ],
];

for (const [sourceName, open] of sources) {
  describe(`import from LangGraph's ${sourceName}`, () => {
    for (const backend of BACKENDS) {
      it(`moves every thread into ${backend.name}; RewindSaver serves and continues them`, async () => {
        const source = await open();
        await runOn(source);
        const { saver, backend: storage } = saverOn(backend);
        const results = await importLangGraphThreads(source, storage);
        expect(results.map((r) => [r.threadId, r.status])).toStrictEqual([
          ["ask", "imported"],
          ["chat-1", "imported"],
          ["chat-2", "imported"],
        ]);
        for (const thread of ["ask", "chat-1", "chat-2"]) {
          const expected = await history(source, thread);
          expect(expected.length).toBeGreaterThan(2);
          expect(await history(saver, thread)).toStrictEqual(expected);
          expect(view((await saver.getTuple(cfg(thread)))!)).toStrictEqual(
            view((await source.getTuple(cfg(thread)))!),
          );
        }
        const pending = await saver.getTuple(cfg("ask"));
        expect(pending?.pendingWrites?.some(([, channel]) => channel === "__interrupt__")).toBe(
          true,
        );
        // A rerun finds everything there.
        const again = await importLangGraphThreads(source, storage);
        expect(again.every((r) => r.status === "skipped")).toBe(true);

        // LangGraph continues on Rewind where it stopped on its own saver.
        const resumed = await approvalGraph(saver).invoke(
          new Command({ resume: "yes" }),
          cfg("ask"),
        );
        expect(resumed).toMatchObject({ sent: "hello!", log: ["write", "sent"] });
        const next = await chatGraph(saver).invoke(
          { messages: [new HumanMessage("back")] },
          cfg("chat-1"),
        );
        expect(next.messages.map((m: { content: unknown }) => m.content)).toStrictEqual([
          "hi chat-1",
          "seen 1",
          "and? chat-1",
          "seen 3",
          "bye chat-1",
          "seen 5",
          "back",
          "seen 7",
        ]);
        expect(next.messages[0]).toBeInstanceOf(HumanMessage);
        await saver.close();
        await (source as { end?: () => Promise<void> }).end?.();
      });
    }
  });
}

describe("a LangGraph thread Rewind cannot hold exactly", () => {
  it("is refused with ConflictError when a fork reused a version with another value", async () => {
    const source = SqliteSaver.fromConnString(join(root, "fork.sqlite"));
    const app = chatGraph(source);
    await app.invoke({ messages: [new HumanMessage("one")] }, cfg("forked"));
    await app.invoke({ messages: [new HumanMessage("two")] }, cfg("forked"));
    const states = [];
    for await (const state of app.getStateHistory(cfg("forked"))) states.push(state);
    const early = states.find((s) => s.values.messages?.length === 2)!;
    await app.updateState(early.config, { messages: [new HumanMessage("other")] });
    const [result] = await importLangGraphThreads(
      source,
      new RewindSaver(BACKENDS[0]!.checkpointer()).checkpointer,
    );
    expect(result?.status).toBe("failed");
    expect(result?.error).toBeInstanceOf(ConflictError);
  });
});
