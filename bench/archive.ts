/**
 * `npm run bench:archive`: archive and restore throughput (threads/s, checkpoints/s) on SQLite
 * and PostgreSQL, to a local directory and to an S3-compatible server (s3rver on loopback), and
 * export/import throughput between the two engines. Each thread is a conversation of
 * BENCH_ARCHIVE_CHECKPOINTS checkpoints whose message list grows by one message per step (stored
 * as appends, as the runtime stores it). Figures depend on the machine.
 *
 * BENCH_ARCHIVE_THREADS (default 200), BENCH_ARCHIVE_CHECKPOINTS (default 20),
 * REWIND_TEST_PG_URL (default the local server).
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import S3rver from "s3rver";
import {
  type ArchiveTarget,
  archiveThreads,
  DirectoryArchive,
  exportThreads,
  importThreads,
  restoreThread,
  S3Archive,
} from "../src/archive/index.js";
import { PostgresBackend } from "../src/backends/postgres/index.js";
import { SqliteBackend } from "../src/backends/sqlite/index.js";
import { newCheckpointId } from "../src/ids.js";
import { type Checkpointer, createCheckpointer } from "../src/index.js";

const THREADS = Number(process.env.BENCH_ARCHIVE_THREADS ?? 200);
const CHECKPOINTS = Number(process.env.BENCH_ARCHIVE_CHECKPOINTS ?? 20);
const PG_URL = process.env.REWIND_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const work = mkdtempSync(join(tmpdir(), "rewind-bench-archive-"));
const POLICY = { minAppendDepth: 0, appendRatio: 1000, maxAppendDepth: 16 };

async function fill(checkpointer: Checkpointer): Promise<string[]> {
  const ids: string[] = [];
  for (let t = 0; t < THREADS; t++) {
    const threadId = `bench-${t}`;
    let parent: string | undefined;
    let messages: { role: string; content: string }[] = [];
    for (let step = 0; step < CHECKPOINTS; step++) {
      const id = newCheckpointId(parent);
      const added = { role: step % 2 ? "ai" : "user", content: `message ${step} `.repeat(20) };
      messages = [...messages, added];
      await checkpointer.put({
        threadId,
        id,
        parentId: parent,
        channelVersions: { messages: id, step: id },
        versionsSeen: {},
        metadata: { source: "loop", step },
        updates: [
          {
            channel: "messages",
            version: id,
            value: messages,
            ...(parent ? { append: { prevVersion: parent, items: [added] } } : {}),
          },
          { channel: "step", version: id, value: step },
        ],
      });
      parent = id;
    }
    ids.push(threadId);
  }
  return ids;
}

interface Row {
  readonly what: string;
  readonly seconds: number;
}

async function timed(what: string, rows: Row[], work: () => Promise<unknown>): Promise<void> {
  const started = performance.now();
  await work();
  rows.push({ what, seconds: (performance.now() - started) / 1000 });
}

async function archiveAndRestore(
  engine: string,
  checkpointer: Checkpointer,
  ids: readonly string[],
  target: ArchiveTarget,
  rows: Row[],
): Promise<void> {
  await timed(`${engine} archive -> ${target.name.split(":")[0]}`, rows, async () => {
    const results = await archiveThreads(checkpointer, target, { all: true });
    if (results.some((r) => r.status !== "archived")) throw new Error("archive failed");
  });
  await timed(`${engine} restore <- ${target.name.split(":")[0]}`, rows, async () => {
    for (const id of ids) await restoreThread(checkpointer, target, id);
  });
}

const rows: Row[] = [];
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory: join(work, "s3"),
  configureBuckets: [{ name: "bench", configs: [] }],
});
const { port } = await server.run();
const s3 = () =>
  new S3Archive({
    bucket: "bench",
    prefix: `run-${Date.now()}/`,
    endpoint: `http://127.0.0.1:${port}`,
    credentials: { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" },
  });

const sqlite = createCheckpointer(new SqliteBackend(join(work, "bench.sqlite")), POLICY);
const schema = `rewind_bench_archive_${process.pid}`;
const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
const postgres = createCheckpointer(new PostgresBackend(pool, { schema }), POLICY);
try {
  console.log(
    `filling ${THREADS} threads x ${CHECKPOINTS} checkpoints on SQLite and PostgreSQL...`,
  );
  const ids = await fill(sqlite);
  await fill(postgres);
  for (const [engine, checkpointer] of [
    ["sqlite", sqlite],
    ["postgres", postgres],
  ] as const) {
    await archiveAndRestore(
      engine,
      checkpointer,
      ids,
      new DirectoryArchive(join(work, `dir-${engine}`)),
      rows,
    );
    const bucket = s3();
    await archiveAndRestore(engine, checkpointer, ids, bucket, rows);
    await bucket.close();
  }
  await timed("export sqlite -> dir", rows, () =>
    exportThreads(sqlite, join(work, "export"), { all: true }),
  );
  const target = createCheckpointer(new PostgresBackend(pool, { schema: `${schema}_import` }));
  await timed("import dir -> postgres", rows, async () => {
    const result = await importThreads(target, join(work, "export"));
    if (result.failed > 0) throw new Error("import failed");
  });
  await target.close();
  console.log(
    `\n${"operation".padEnd(32)} ${"seconds".padStart(9)} ${"threads/s".padStart(10)} ${"checkpoints/s".padStart(14)}`,
  );
  for (const r of rows) {
    console.log(
      `${r.what.padEnd(32)} ${r.seconds.toFixed(2).padStart(9)} ${(THREADS / r.seconds).toFixed(1).padStart(10)} ${((THREADS * CHECKPOINTS) / r.seconds).toFixed(0).padStart(14)}`,
    );
  }
} finally {
  await sqlite.close();
  await postgres.close();
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}_import" CASCADE`);
  await pool.end();
  await server.close();
  rmSync(work, { recursive: true, force: true });
}
