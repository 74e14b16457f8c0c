/**
 * What the package test writes into its fresh consumer project: a plain-Node script that
 * imports and uses every subpath, and a TypeScript file that must type-check against the
 * published types.
 */

/** `[moduleResolution, module]` pairs Rewind supports (the README names them). */
export const MODULE_RESOLUTIONS: readonly (readonly [string, string])[] = [
  ["node16", "node16"],
  ["nodenext", "nodenext"],
  ["bundler", "preserve"],
];

/** Prints one JSON report on stdout. */
export const CONSUMER_CHECK = `
import * as core from "rewind";
import * as sqlite from "rewind/sqlite";
import * as postgres from "rewind/postgres";
import * as backend from "rewind/backend";
import * as testing from "rewind/testing";
import * as langgraph from "rewind/langgraph";
import * as archive from "rewind/archive";
import * as encryption from "rewind/encryption";

const modules = { rewind: core, "rewind/sqlite": sqlite, "rewind/postgres": postgres, "rewind/backend": backend, "rewind/testing": testing, "rewind/langgraph": langgraph, "rewind/archive": archive, "rewind/encryption": encryption };
const exports = Object.fromEntries(Object.entries(modules).map(([name, m]) => [name, Object.keys(m)]));

function compile(checkpointer) {
  return new core.StateGraph({ count: core.lastValue(() => 0) })
    .addNode("add", (state) => ({ count: state.count + 1 }))
    .addEdge(core.START, "add")
    .addEdge("add", core.END)
    .compile({ checkpointer });
}
const writer = sqlite.createSqliteCheckpointer("check.sqlite");
const { status } = await compile(writer).invoke({ count: 1 }, { threadId: "package-check" });
await writer.close();
const reader = sqlite.createSqliteCheckpointer("check.sqlite");
const stored = await compile(reader).getState({ threadId: "package-check" });
await reader.close();

let withoutOpenai;
try {
  await new core.OpenAIChatModel({ model: "m", apiKey: "k" }).generate({ messages: [], tools: [] });
} catch (error) {
  withoutOpenai = { code: error.code, peer: error.peer };
}

console.log(JSON.stringify({ exports, sqliteRun: { status, count: stored?.values.count }, withoutOpenai }));
`;

/** Uses each subpath's main types; the expect-error lines fail if the types decay to `any`. */
export const CONSUMER_TS = `
import { END, isRewindError, lastValue, MemoryBackend, START, StateGraph } from "rewind";
import { createSqliteCheckpointer, createSqliteStore } from "rewind/sqlite";
import { createPostgresCheckpointer } from "rewind/postgres";
import { type CheckpointBackend, encodeNamespace } from "rewind/backend";
import { describeCheckpointBackend, describeStoreBackend } from "rewind/testing";
import { RewindSaver } from "rewind/langgraph";
import { fileKeyProvider, Keyring } from "rewind/encryption";

const app = new StateGraph({ count: lastValue<number>(() => 0) })
  .addNode("add", (state) => ({ count: state.count + 1 }))
  .addEdge(START, "add")
  .addEdge("add", END)
  .compile({ checkpointer: createSqliteCheckpointer("consumer.sqlite"), store: createSqliteStore("consumer.sqlite") });

try {
  const result = await app.invoke({ count: 1 }, { threadId: "consumer" });
  const count: number = result.values.count;
  // @ts-expect-error the state has no such channel
  result.values.missing;
  console.log(count);
} catch (error) {
  if (isRewindError(error, "THREAD_BUSY")) console.log(error.threadId);
}

export const saver: RewindSaver = new RewindSaver(new MemoryBackend());
export const encrypted = async () => {
  const keys = await Keyring.open({ provider: fileKeyProvider("rewind.kek"), directory: "keys" });
  return createSqliteCheckpointer("consumer.sqlite", { encryption: { keys } });
};
export const postgres = () => createPostgresCheckpointer("postgres://localhost/db", { schema: "agents" });
export const seam: CheckpointBackend = new MemoryBackend();
export const path: string = encodeNamespace(["a", "b"]);
// @ts-expect-error a namespace is a list of labels
encodeNamespace("a");
export const suites = [describeCheckpointBackend, describeStoreBackend] as const;
// @ts-expect-error a checkpointer is not a number
export const wrong: number = createSqliteCheckpointer("consumer.sqlite");
`;
