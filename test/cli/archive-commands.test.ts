/**
 * The `rewind` binary as users run it: the package built once per run, spawned with node. export, import (also
 * from LangGraph's SqliteSaver), archive (directory and an S3-compatible server), restore and
 * erase --tenant, with --json, and clear messages and non-zero exits on bad input. Ctrl-C in the
 * middle of an import leaves what was finished, and running it again completes it.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { HumanMessage } from "@langchain/core/messages";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import Database from "better-sqlite3";
import S3rver from "s3rver";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteBackend, SqliteStoreBackend } from "../../src/backends/sqlite/index.js";
import { createCheckpointer } from "../../src/checkpoint/checkpointer.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { newCheckpointId } from "../../src/ids.js";
import { RewindSaver } from "../../src/langgraph/index.js";
import { createStore } from "../../src/store/store.js";
import {
  APPENDING,
  fillHistory,
  fillStore,
  historyKeys,
  threadsOf,
} from "../archive/archive-fixtures.js";
import { ROOT } from "../docs/type-check.js";
import { chatGraph } from "../langgraph/sample-graphs.js";
import { builtBin } from "../support/built-package.js";
import { freshSchema, PG_URL } from "../support/postgres.js";

const work = mkdtempSync(join(ROOT, ".scratch-cli-"));
let bin = "";
let s3: S3rver;
let s3Endpoint = "";

beforeAll(async () => {
  // The real binary: the package's sources compiled as `npm run build` does, once per run.
  bin = await builtBin();
  s3 = new S3rver({
    address: "127.0.0.1",
    port: 0,
    silent: true,
    directory: join(work, "s3"),
    configureBuckets: [{ name: "cli", configs: [] }],
  });
  s3Endpoint = `http://127.0.0.1:${(await s3.run()).port}`;
}, 600_000);

afterAll(async () => {
  await s3?.close();
  rmSync(work, { recursive: true, force: true });
});

/** Each test spawns the binary several times: generous on a loaded machine (no speed asserted). */
const SLOW = 240_000;

interface Ran {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

const env = { ...process.env, AWS_ACCESS_KEY_ID: "S3RVER", AWS_SECRET_ACCESS_KEY: "S3RVER" };

function rewind(...args: string[]): Promise<Ran> {
  return new Promise((resolve) => {
    execFile("node", [bin, ...args], { cwd: work, env }, (error, stdout, stderr) => {
      const code = error ? Number((error as { code?: unknown }).code ?? 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

async function json(...args: string[]): Promise<any> {
  const ran = await rewind(...args, "--json");
  expect(ran.stderr.replace(/\(node:\d+\)[\s\S]*$/, ""), ran.stderr).toBe("");
  expect(ran.code).toBe(0);
  return JSON.parse(ran.stdout);
}

async function database(name: string, label: string) {
  const file = join(work, name);
  const checkpointer = createCheckpointer(new SqliteBackend(file), APPENDING);
  const store = createStore(new SqliteStoreBackend(file));
  await fillHistory(checkpointer, label);
  await fillStore(store, label);
  return { file, checkpointer, store };
}

describe("the rewind binary", () => {
  it(
    "export, import, archive, restore and erase a tenant",
    async () => {
      const app = await database("app.sqlite", "cli");
      const keys = historyKeys("cli");
      const before = await threadsOf(app.checkpointer, keys);

      const manifest = await json(
        "export",
        app.file,
        join(work, "out"),
        "--all",
        "--store-tenant",
        "acme",
      );
      expect(manifest.counts).toMatchObject({ threads: 3, checkpoints: 18, writes: 3, items: 4 });
      const copy = join(work, "copy.sqlite");
      const imported = await json("import", copy, join(work, "out"));
      expect(imported).toMatchObject({ failed: 0, items: 4 });
      const copied = createCheckpointer(new SqliteBackend(copy));
      expect(await threadsOf(copied, keys)).toStrictEqual(before);
      await copied.close();

      const archived = await json("archive", app.file, join(work, "archive"), "--all");
      expect(archived.map((r: { status: string }) => r.status)).toStrictEqual([
        "archived",
        "archived",
        "archived",
      ]);
      expect(await app.checkpointer.get("cli")).toBeUndefined();
      const restored = await json("restore", app.file, join(work, "archive"), "--all");
      expect(restored.map((r: { status: string }) => r.status)).toStrictEqual([
        "restored",
        "restored",
        "restored",
      ]);
      expect(await threadsOf(app.checkpointer, keys)).toStrictEqual(before);

      const toS3 = await json(
        "archive",
        app.file,
        "s3://cli/rewind",
        "--tenant",
        "acme",
        "--s3-endpoint",
        s3Endpoint,
      );
      expect(toS3).toMatchObject([{ threadId: threadKey("cli-t", "acme"), status: "archived" }]);
      const erased = await json(
        "erase",
        app.file,
        "--tenant",
        "acme",
        "--yes",
        "--archive",
        "s3://cli/rewind",
        "--s3-endpoint",
        s3Endpoint,
      );
      expect(erased).toMatchObject({
        threadIds: [threadKey("cli-t", "acme")],
        archives: 1,
        storeItems: 4,
      });
      expect(await app.store.forTenant("acme").search([])).toStrictEqual([]);
      await app.checkpointer.close();
      await app.store.close();
    },
    SLOW,
  );

  it(
    "imports LangGraph's SqliteSaver threads",
    async () => {
      const source = join(work, "langgraph.sqlite");
      const saver = SqliteSaver.fromConnString(source);
      for (const text of ["hi", "again"]) {
        await chatGraph(saver).invoke(
          { messages: [new HumanMessage(text)] },
          { configurable: { thread_id: "lg" } },
        );
      }
      saver.db.close();
      const target = join(work, "from-langgraph.sqlite");
      const result = await json("import", target, source, "--from", "langgraph-sqlite");
      expect(result.threads).toMatchObject([{ threadId: "lg", status: "imported" }]);
      const rewindSaver = new RewindSaver(new SqliteBackend(target));
      const tuple = await rewindSaver.getTuple({ configurable: { thread_id: "lg" } });
      expect(
        (tuple!.checkpoint.channel_values.messages as { content: string }[]).map((m) => m.content),
      ).toStrictEqual(["hi", "seen 1", "again", "seen 3"]);
      await rewindSaver.close();
    },
    SLOW,
  );

  it(
    "works on a PostgreSQL URL: imports PostgresSaver threads, then exports them",
    async () => {
      const sourceSchema = freshSchema("cli_lg");
      const schema = freshSchema("cli_rw");
      const saver = PostgresSaver.fromConnString(PG_URL, { schema: sourceSchema });
      await saver.setup();
      await chatGraph(saver).invoke(
        { messages: [new HumanMessage("over pg")] },
        { configurable: { thread_id: "pg-lg" } },
      );
      await saver.end();
      const imported = await json(
        "import",
        PG_URL,
        PG_URL,
        "--from",
        "langgraph-postgres",
        "--source-schema",
        sourceSchema,
        "--schema",
        schema,
        "--tenant",
        "acme",
      );
      expect(imported.threads).toMatchObject([{ threadId: "pg-lg", status: "imported" }]);
      const manifest = await json(
        "export",
        PG_URL,
        join(work, "pg-out"),
        "--tenant",
        "acme",
        "--schema",
        schema,
      );
      expect(manifest.threads.map((t: { threadId: string }) => t.threadId)).toStrictEqual([
        threadKey("pg-lg", "acme"),
      ]);
      expect(manifest.counts.checkpoints).toBeGreaterThan(1);
    },
    SLOW,
  );

  it(
    "says clearly what is wrong, exits non-zero, and changes nothing",
    async () => {
      const app = await database("bad.sqlite", "bad");
      const cases: [string[], RegExp][] = [
        [
          ["export", join(work, "missing.sqlite"), join(work, "x"), "--all"],
          /there is no SQLite file at/,
        ],
        [
          ["export", "postgres://nobody@127.0.0.1:1/none", join(work, "x"), "--all"],
          /\[CONNECTION\]/,
        ],
        [
          ["export", "mysql://host/db", join(work, "x"), "--all"],
          /unsupported target "mysql:\/\/host\/db": give an SQLite file path or a postgres/,
        ],
        [
          ["export", app.file, join(work, "x"), "--thread", "unknown"],
          /no checkpoints to export.*\[NOT_FOUND\]/,
        ],
        [["restore", app.file, join(work, "archive-bad"), "--thread", "unknown"], /\[NOT_FOUND\]/],
        [
          ["import", app.file, join(work, "not-an-export")],
          /not a readable export.*\[ARCHIVE_DAMAGED\]/,
        ],
        [["import", app.file, join(work, "x"), "--from", "csv"], /--from must be one of/],
        [["erase", app.file, "--tenant", "acme"], /add --yes/],
        [["archive", app.file, "ftp://host/x", "--all"], /unknown archive/],
      ];
      // Bad usage (a malformed target or flag) exits 2, like every command; a failure exits 1.
      const usage = [
        /there is no SQLite file at/,
        /unsupported target "mysql:\/\/host\/db": give an SQLite file path or a postgres/,
        /--from must be one of/,
        /add --yes/,
        /unknown archive/,
      ];
      for (const [args, message] of cases) {
        const ran = await rewind(...args);
        const expected = usage.some((u) => u.source === message.source) ? 2 : 1;
        expect(ran.code, args.join(" ")).toBe(expected);
        expect(ran.stderr, args.join(" ")).toMatch(message);
      }
      expect(await threadsOf(app.checkpointer, historyKeys("bad"))).toHaveLength(3);
      await app.checkpointer.close();
      await app.store.close();
    },
    SLOW,
  );

  it(
    "after Ctrl-C in the middle of an import, running it again completes it",
    async () => {
      const file = join(work, "many.sqlite");
      const many = createCheckpointer(new SqliteBackend(file));
      const ids = Array.from({ length: 60 }, (_, i) => `t${i}`);
      for (const threadId of ids) {
        let parent: string | undefined;
        for (let step = 0; step < 5; step++) {
          const id = newCheckpointId(parent);
          await many.put({
            threadId,
            id,
            parentId: parent,
            channelVersions: { n: id },
            versionsSeen: {},
            metadata: { source: "loop", step },
            updates: [{ channel: "n", version: id, value: { step, text: "x".repeat(2000) } }],
          });
          parent = id;
        }
      }
      const before = await threadsOf(many, ids);
      await many.close();
      await json("export", file, join(work, "many"), "--all");
      const target = join(work, "many-copy.sqlite");
      const child: ChildProcess = spawn("node", [bin, "import", target, join(work, "many")], {
        cwd: work,
        env,
      });
      // Interrupt once the import has written something (or finished): whichever, the rerun completes.
      await waitForRows(target, child);
      child.kill("SIGINT");
      const code = await new Promise<number>((resolve) => child.on("exit", (c) => resolve(c ?? 1)));
      expect([0, 130]).toContain(code);
      const rerun = await json("import", target, join(work, "many"));
      expect(rerun.failed).toBe(0);
      const copy = createCheckpointer(new SqliteBackend(target));
      expect(await threadsOf(copy, ids)).toStrictEqual(before);
      await copy.close();
    },
    SLOW,
  );
});

/** Resolves once `file` has a checkpoint row, or the process has ended. */
async function waitForRows(file: string, child: ChildProcess): Promise<void> {
  let ended = false;
  child.on("exit", () => {
    ended = true;
  });
  for (;;) {
    if (ended) return;
    try {
      const db = new Database(file, { readonly: true, fileMustExist: true });
      try {
        const row = db.prepare("SELECT count(*) AS n FROM rewind_checkpoints").get() as {
          n: number;
        };
        if (row.n > 0) return;
      } finally {
        db.close();
      }
    } catch {
      // not created yet
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}
