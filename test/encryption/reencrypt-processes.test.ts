/**
 * An interrupted re-encryption, with real processes on SQLite and PostgreSQL: a process is
 * killed (SIGKILL) in the middle of a run; the values it reached are under the new key, the
 * others under the old one, every value still reads back, and running again finishes the job.
 */
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { PostgresBackend } from "../../src/backends/postgres/index.js";
import { SqliteBackend } from "../../src/backends/sqlite/index.js";
import type { CheckpointBackend } from "../../src/checkpoint/checkpoint-backend.js";
import { type Checkpointer, createCheckpointer } from "../../src/checkpoint/checkpointer.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { reencrypt } from "../../src/encryption/index.js";
import { newCheckpointId } from "../../src/ids.js";
import { valueStep } from "../support/checkpoints.js";
import { adminPool, freshSchema, PG_URL } from "../support/postgres.js";
import { runWorker } from "../support/process.js";
import { nodeArgs } from "../support/ts-entry.js";
import { openKeys, tempKeyring } from "./reencrypt-fixtures.js";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "reencrypt-worker.ts");
const THREADS = 8;
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Runs the worker until it pauses after `pauseAt` items, then kills it. */
function killMidway(args: string[], pauseAt: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs(WORKER, ...args, String(pauseAt)), {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    let done = 0;
    child.stdout.on("data", (chunk) => {
      out += chunk;
      if (out.includes("paused\n") && child.exitCode === null && !child.killed) {
        done = out.split("\n").filter((line) => line.startsWith("{")).length;
        child.kill("SIGKILL");
      }
    });
    child.stderr.on("data", (chunk) => {
      err += chunk;
    });
    child.on("error", reject);
    child.on("close", (_code, signal) => {
      if (signal === "SIGKILL") resolve(done);
      else reject(new Error(`the worker was not killed: ${err || out}`));
    });
  });
}

async function versions(checkpointer: Checkpointer): Promise<number[]> {
  const report = await reencrypt(checkpointer, { check: true });
  return report.versions.map((v) => v.version);
}

const ENGINES: {
  name: string;
  open: (dir: string) => { backend: () => CheckpointBackend; database: string; schema: string };
}[] = [
  {
    name: "sqlite",
    open(dir) {
      const database = join(dir, "app.sqlite");
      return { backend: () => new SqliteBackend(database), database, schema: "-" };
    },
  },
  {
    name: "postgres",
    open() {
      const schema = freshSchema("rewind_reencrypt");
      afterAll(() => adminPool().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`));
      return { backend: () => new PostgresBackend(PG_URL, { schema }), database: PG_URL, schema };
    },
  },
];

for (const engine of ENGINES) {
  describe(`an interrupted re-encryption on ${engine.name}`, () => {
    it("keeps what it finished, reads everything back, and finishes when run again", async () => {
      const { keys, directory, keyFile } = await tempKeyring(dirs);
      const storage = engine.open(dirs.at(-1)!);
      const open = async () =>
        createCheckpointer(storage.backend(), {
          encryption: { keys: await openKeys(keyFile, directory) },
        });
      const writer = createCheckpointer(storage.backend(), { encryption: { keys } });
      const heads: [string, string][] = [];
      for (let i = 0; i < THREADS; i++) {
        const thread = threadKey(`t${i}`, "acme");
        const id = newCheckpointId();
        await writer.put(valueStep(thread, id, `value ${i} `.repeat(i * 100 + 1)));
        heads.push([thread, id]);
      }
      await keys.rotate("acme");
      await writer.close();

      const args = [storage.database, storage.schema, keyFile, directory];
      expect(await killMidway(args, 3)).toBe(3);
      const reader = await open();
      try {
        // Three threads reached the new key, the rest kept the old one; all of them read.
        expect(await versions(reader)).toEqual([1, 2]);
        const counted = (await reencrypt(reader, { check: true })).versions;
        expect(counted).toEqual([
          { tenant: "acme", version: 1, values: THREADS - 3 },
          { tenant: "acme", version: 2, values: 3 },
        ]);
        for (const [i, [thread]] of heads.entries()) {
          expect((await reader.get(thread))?.checkpoint.values.x).toBe(
            `value ${i} `.repeat(i * 100 + 1),
          );
        }
        const again = await runWorker(WORKER, ...args, "0");
        expect(again.code, again.stderr).toBe(0);
        expect(again.result).toMatchObject({ threads: THREADS, rewritten: THREADS - 3 });
        expect(await versions(reader)).toEqual([2]);
        for (const [i, [thread]] of heads.entries()) {
          expect((await reader.get(thread))?.checkpoint.values.x).toBe(
            `value ${i} `.repeat(i * 100 + 1),
          );
        }
      } finally {
        await reader.close();
      }
    }, 120_000);
  });
}
