/**
 * The root export is what an application needs; helpers for backend authors live at
 * `rewind/backend`, and internals are exported from neither. Names are read with the TypeScript
 * checker, so type-only exports count too.
 */
import { join } from "node:path";
import Database from "better-sqlite3";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as root from "../src/index.js";
import { ROOT } from "./docs/type-check.js";

/** Internals of the store, the checkpointer, the runtime and the agent: no entry point exports them. */
const INTERNALS = [
  "prepareOp",
  "embedOps",
  "decodeItem",
  "PrepareContext",
  "validateThreadKey",
  "executeToolCall",
  "validateToolInput",
  "pendingToolCalls",
  "mergeMessages",
  "isCommand",
  "isApproved",
  "buildLineage",
  "diffValues",
  "agentChannels",
];

/** What a backend author needs, reachable from `rewind/backend` and not from the root. */
const BACKEND_ONLY = [
  "CheckpointBackend",
  "LargeValueTarget",
  "StoreBackend",
  "StoredBlob",
  "StoreOp",
  "encodeNamespace",
  "upperBound",
  "PATH_TERMINATOR",
  "compareCodePoints",
  "rankBySimilarity",
  "vectorToBytes",
  "matchesFilter",
  "compareWrites",
  "CheckpointCodec",
  "CheckpointDoor",
  "asRewindError",
  "CheckpointTuple",
  "CheckpointMetadata",
  "StoreOperation",
  "MemoryStoreBackend",
  "defaultSerializer",
  "ClassCodec",
  "toolSpec",
  "ChatOptions",
];

/** What the README and examples/ import from the root, and the errors an application catches. */
const APPLICATION = [
  "StateGraph",
  "START",
  "END",
  "Command",
  "interrupt",
  "lastValue",
  "messagesChannel",
  "renderLineage",
  "createCheckpointer",
  "Checkpointer",
  "MemoryBackend",
  "createStore",
  "checkpointerForTenant",
  "threadKey",
  "parseThreadKey",
  "createReactAgent",
  "OpenAIChatModel",
  "ScriptedModel",
  "tool",
  "userMessage",
  "StateSnapshot",
  "RunResult",
  "StateOf",
  "ChatModel",
  "ChatRequest",
  "ToolContext",
  "isRewindError",
  "ConflictError",
  "ThreadBusyError",
  // Side effects that happen once (ctx.effect, tools, forks) and their errors.
  "reconcile",
  "EffectPolicy",
  "EffectResolution",
  "EffectCall",
  "EffectQuestion",
  "EffectRunner",
  "ReconcilePolicy",
  "EffectRecord",
  "ForkPreview",
  "EffectFailedError",
  "EffectUnknownError",
  // Archived threads and damaged exports (rewind/archive raises them; an app catches them).
  "ThreadArchivedError",
  "ArchiveDamagedError",
  // Retention: prune by policy, pins, the background sweeper.
  "prune",
  "pin",
  "unpin",
  "startSweeper",
  "RetentionPolicy",
  "RetentionRule",
  "PruneReport",
  "Sweeper",
];

/** Option and part types of the retention API: rarely named, so on no entry point. */
const UNLISTED = ["PruneOptions", "SweeperOptions", "PruneTally", "ThreadPrune"];

/** Every name (value or type) each entry point exports. */
function exportedNames(...files: string[]): Map<string, string[]> {
  const paths = files.map((file) => join(ROOT, file));
  const program = ts.createProgram(paths, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  return new Map(
    files.map((file, i) => {
      const symbol = checker.getSymbolAtLocation(program.getSourceFile(paths[i]!)!)!;
      return [file, checker.getExportsOfModule(symbol).map((s) => s.name)];
    }),
  );
}

describe("public surface", () => {
  const names = exportedNames(
    "src/index.ts",
    "src/backend.ts",
    "src/langgraph/index.ts",
    "src/worker/index.ts",
  );
  const rootNames = names.get("src/index.ts")!;
  const backendNames = names.get("src/backend.ts")!;
  const langgraphNames = names.get("src/langgraph/index.ts")!;

  it("keeps the root to what an application needs (63 values and 33 types)", () => {
    expect(Object.keys(root).length).toBeLessThanOrEqual(63);
    expect(rootNames.length).toBeLessThanOrEqual(96);
    for (const name of APPLICATION) expect(rootNames, name).toContain(name);
    for (const name of UNLISTED) expect(rootNames, name).not.toContain(name);
  });

  it("moves the seams and backend helpers to rewind/backend", () => {
    for (const name of BACKEND_ONLY) {
      expect(backendNames, name).toContain(name);
      expect(rootNames, name).not.toContain(name);
    }
  });

  it("rewind/langgraph: the saver, the store, their serializer and the effect ledger's names", () => {
    expect([...langgraphNames].sort()).toEqual([
      "AppendPolicy",
      "EffectCall",
      "EffectPolicy",
      "EffectQuestion",
      "EffectRecord",
      "EffectResolution",
      "EffectToolOptions",
      "LANGGRAPH_TAG_PREFIX",
      "LangGraphImportOptions",
      "LangGraphThreadImport",
      "LangGraphValueCodec",
      "ReconcilePolicy",
      "RewindSaver",
      "RewindSaverOptions",
      "RewindStore",
      "SaverEffects",
      "createLangGraphSerializer",
      "effectTool",
      "importLangGraphThreads",
      "langGraphThreadIds",
      "reconcile",
      "registerLangChainClasses",
    ]);
    // The effect types are the root's own: one policy works in both runtimes.
    for (const name of ["EffectPolicy", "EffectResolution", "EffectQuestion", "reconcile"]) {
      expect(rootNames, name).toContain(name);
    }
  });

  it("rewind/worker: the worker, the client, their options and outcome, and the run error", () => {
    expect([...names.get("src/worker/index.ts")!].sort()).toEqual([
      "DEFAULT_QUEUE_SCHEMA",
      "QueueConnection",
      "RunClient",
      "RunClientOptions",
      "RunFailedError",
      "RunHandle",
      "RunInfo",
      "RunOutcome",
      "RunState",
      "SubmitOptions",
      "Worker",
      "WorkerOptions",
      "createRunClient",
      "createWorker",
    ]);
    expect(rootNames).not.toContain("createWorker");
  });

  it("exports no internals", () => {
    for (const name of [...INTERNALS, "runEffectAt", "EffectHost", "settleEffect"]) {
      expect(rootNames, name).not.toContain(name);
      expect(backendNames, name).not.toContain(name);
      expect(langgraphNames, name).not.toContain(name);
    }
  });
});

describe("migrations, exported one way by every engine", () => {
  it("lists each seam's migrations as an array and runs them with a migrate function", async () => {
    const sqlite = await import("../src/backends/sqlite/index.js");
    const postgres = await import("../src/backends/postgres/index.js");
    const lists = {
      SQLITE_MIGRATIONS: sqlite.SQLITE_MIGRATIONS,
      SQLITE_STORE_MIGRATIONS: sqlite.SQLITE_STORE_MIGRATIONS,
      POSTGRES_MIGRATIONS: postgres.POSTGRES_MIGRATIONS,
      POSTGRES_STORE_MIGRATIONS: postgres.POSTGRES_STORE_MIGRATIONS,
    };
    for (const [name, list] of Object.entries(lists)) {
      expect(Array.isArray(list), name).toBe(true);
      expect(list.length, name).toBeGreaterThan(0);
    }
    for (const migration of [...lists.POSTGRES_MIGRATIONS, ...lists.POSTGRES_STORE_MIGRATIONS]) {
      expect(typeof migration).toBe("function");
    }
    const db = new Database(":memory:");
    try {
      expect(sqlite.migrateSqlite(db)).toBe(sqlite.SQLITE_MIGRATIONS.length);
      expect(sqlite.migrateSqliteStore(db)).toBe(sqlite.SQLITE_STORE_MIGRATIONS.length);
      expect(sqlite.migrateSqliteStore(db)).toBe(0);
    } finally {
      db.close();
    }
  });
});
