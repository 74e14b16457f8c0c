/**
 * The cost of encryption at rest on the write path: checkpoints carrying a fresh 1 KB value,
 * written serially (`checkpointer.put`, awaited), with encryption on and off on the same engine
 * in the same run, in alternating blocks so that machine noise falls on both sides alike. Puts
 * per second (the median block of each side); target: encryption costs at most 15%.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { createPostgresCheckpointer } from "../src/backends/postgres/index.js";
import { createSqliteCheckpointer } from "../src/backends/sqlite/index.js";
import type { Checkpointer } from "../src/checkpoint/checkpointer.js";
import { threadKey } from "../src/checkpoint/thread-key.js";
import { generateKek, Keyring, localKeyProvider } from "../src/encryption/index.js";
import { newCheckpointId } from "../src/ids.js";
import type { Row } from "./sqlite-bench.js";
import { median } from "./workloads.js";

const PG_URL = process.env.REWIND_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const BLOCK = Number(process.env.BENCH_CRYPT_BLOCK ?? 25);
const BLOCKS = Number(process.env.BENCH_CRYPT_BLOCKS ?? 40);
/** A 1 KB JSON value: text that changes on every put. */
const value = (i: number) => ({ turn: i, text: `${i} `.repeat(1024).slice(0, 1000) });

/** Writes checkpoints of one thread, a block at a time, each block timed. */
function writer(checkpointer: Checkpointer, thread: string) {
  let parent: string | undefined;
  let step = 0;
  return async (): Promise<number> => {
    const started = performance.now();
    for (let i = 0; i < BLOCK; i++) {
      const id = newCheckpointId(parent);
      await checkpointer.put({
        threadId: thread,
        id,
        parentId: parent,
        channelVersions: { state: id },
        versionsSeen: {},
        metadata: { source: "loop", step },
        updates: [{ channel: "state", version: id, value: value(step++) }],
      });
      parent = id;
    }
    return (BLOCK * 1000) / (performance.now() - started);
  };
}

async function compare(
  engine: string,
  open: (encryption: { keys: Keyring } | undefined) => Checkpointer,
): Promise<Row> {
  const dir = mkdtempSync(join(tmpdir(), "rewind-crypt-bench-keys-"));
  const keys = await Keyring.open({
    provider: localKeyProvider([Buffer.from(generateKek(), "base64")]),
    directory: dir,
  });
  const plain = open(undefined);
  const sealed = open({ keys });
  const on: number[] = [];
  const off: number[] = [];
  try {
    // Short blocks, alternating, so load changes on the shared machine hit both sides alike;
    // the first block of each side warms up and is not counted.
    const writePlain = writer(plain, "plain");
    const writeSealed = writer(sealed, threadKey("sealed", "bench"));
    for (let block = 0; block <= BLOCKS; block++) {
      const a = await writePlain();
      const b = await writeSealed();
      if (block > 0) {
        off.push(a);
        on.push(b);
      }
    }
  } finally {
    await plain.close();
    await sealed.close();
    rmSync(dir, { recursive: true, force: true });
  }
  return {
    metric: `${engine}: 1 KB puts/s, encryption on (ref: off)`,
    rewind: median(on),
    reference: median(off),
    unit: "/s",
    target: ">= 0.85x",
  };
}

/** SQLite (two files, same settings) and PostgreSQL (two schemas), encryption on against off. */
export async function encryptionCost(): Promise<Row[]> {
  const root = mkdtempSync(join(tmpdir(), "rewind-crypt-bench-"));
  const rows: Row[] = [];
  try {
    let files = 0;
    rows.push(
      await compare("SQLite", (encryption) =>
        createSqliteCheckpointer(join(root, `db-${files++}.sqlite`), { encryption }),
      ),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
  const admin = new pg.Pool({ connectionString: PG_URL, max: 1 });
  const schemas: string[] = [];
  try {
    rows.push(
      await compare("PostgreSQL", (encryption) => {
        const schema = `rewind_crypt_bench_${process.pid}_${schemas.length}`;
        schemas.push(schema);
        return createPostgresCheckpointer(PG_URL, { schema, encryption });
      }),
    );
  } finally {
    for (const schema of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await admin.end();
  }
  return rows;
}
