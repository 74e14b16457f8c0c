/**
 * The savers the LangGraph benchmark compares: Rewind's saver and LangGraph's own, on SQLite
 * (a temp file each) and PostgreSQL (a schema each, dropped after). Each opened saver can report
 * the bytes it stores.
 */
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { RunnableConfig } from "@langchain/core/runnables";
import {
  BaseCheckpointSaver,
  type Checkpoint,
  type CheckpointTuple,
} from "@langchain/langgraph-checkpoint";
import { PostgresSaver } from "@langchain/langgraph-checkpoint-postgres";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import Database from "better-sqlite3";
import pg from "pg";
import { SqliteBackend } from "../src/backends/sqlite/index.js";
import { RewindSaver } from "../src/langgraph/index.js";

export type Engine = "sqlite" | "postgres";

export interface OpenSaver {
  readonly saver: BaseCheckpointSaver;
  /** Bytes the engine holds for this saver (file after VACUUM; relations with TOAST and indexes). */
  bytes(): Promise<number>;
  close(): Promise<void>;
}

export interface OpenOptions {
  readonly poolSize?: number;
  /**
   * SQLite only: the `synchronous` setting both savers run at. Default `"normal"`, what
   * LangGraph's `SqliteSaver` runs at (better-sqlite3 builds SQLite with WAL's default at
   * NORMAL); Rewind's own default is `"full"`, so the pair is only comparable when it is set.
   */
  readonly synchronous?: "normal" | "full";
}

export interface SaverKind {
  readonly label: string;
  /** `bound`: a saver that stores nothing, the ceiling no saver can pass. */
  readonly side: "rewind" | "langgraph" | "bound";
  readonly engine: Engine;
  open(options?: OpenOptions): Promise<OpenSaver>;
}

export const PG_URL =
  process.env.REWIND_TEST_PG_URL ?? "postgres://postgres@127.0.0.1:5432/postgres";

let schemas = 0;
const newSchema = () => `lgbench_${process.pid}_${schemas++}`;

function sqliteFile(): { path: string; done: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "rewind-lgbench-"));
  return {
    path: join(dir, "bench.sqlite"),
    done: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function vacuumedSize(path: string): number {
  const db = new Database(path);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.exec("VACUUM");
  db.close();
  return statSync(path).size;
}

async function schemaBytes(pool: pg.Pool, schema: string): Promise<number> {
  const { rows } = await pool.query(
    `SELECT COALESCE(SUM(pg_total_relation_size(c.oid)), 0)::bigint AS n
       FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relkind = 'r'`,
    [schema],
  );
  return Number(rows[0].n);
}

export const rewindSqlite: SaverKind = {
  label: "Rewind saver",
  side: "rewind",
  engine: "sqlite",
  async open({ synchronous = "normal" } = {}) {
    const file = sqliteFile();
    const saver = new RewindSaver(new SqliteBackend(file.path, { synchronous }));
    let closed = false;
    const close = async () => {
      if (!closed) await saver.close();
      closed = true;
    };
    return {
      saver,
      bytes: async () => {
        await close();
        return vacuumedSize(file.path);
      },
      close: async () => {
        await close();
        file.done();
      },
    };
  },
};

const langgraphSqlite: SaverKind = {
  label: "@langchain/langgraph-checkpoint-sqlite",
  side: "langgraph",
  engine: "sqlite",
  async open({ synchronous = "normal" } = {}) {
    const file = sqliteFile();
    const saver = SqliteSaver.fromConnString(file.path);
    // Its setup (WAL) runs on first use; the setting is checked afterwards, not assumed.
    await saver.getTuple({ configurable: { thread_id: "setup" } });
    saver.db.pragma(`synchronous = ${synchronous.toUpperCase()}`);
    const actual = saver.db.pragma("synchronous", { simple: true });
    if (actual !== (synchronous === "full" ? 2 : 1)) {
      throw new Error(`SqliteSaver runs at synchronous=${String(actual)}, not ${synchronous}`);
    }
    let closed = false;
    const close = () => {
      if (!closed) saver.db.close();
      closed = true;
    };
    return {
      saver,
      bytes: async () => {
        close();
        return vacuumedSize(file.path);
      },
      close: async () => {
        close();
        file.done();
      },
    };
  },
};

const langgraphPostgres: SaverKind = {
  label: "@langchain/langgraph-checkpoint-postgres",
  side: "langgraph",
  engine: "postgres",
  async open({ poolSize = 10 } = {}) {
    const pool = new pg.Pool({ connectionString: PG_URL, max: poolSize });
    const schema = newSchema();
    const saver = new PostgresSaver(pool, undefined, { schema });
    await saver.setup();
    return {
      saver,
      bytes: () => schemaBytes(pool, schema),
      close: async () => {
        await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
        await pool.end();
      },
    };
  },
};

/**
 * A saver that keeps nothing: `put` hands back the checkpoint's config, reads find nothing. What
 * LangGraph costs with any saver at all, so what no saver, Rewind's included, can do better than.
 */
class NullSaver extends BaseCheckpointSaver {
  async getTuple(): Promise<CheckpointTuple | undefined> {
    return undefined;
  }
  async *list(): AsyncGenerator<CheckpointTuple> {}
  async put(config: RunnableConfig, checkpoint: Checkpoint): Promise<RunnableConfig> {
    return { configurable: { ...config.configurable, checkpoint_id: checkpoint.id } };
  }
  async putWrites(): Promise<void> {}
  async deleteThread(): Promise<void> {}
}

/**
 * A kind whose `open` hands out `saver`, already open, and whose `close` leaves it open: for a
 * workload run on a saver the caller set up and closes itself (after it stopped measuring).
 */
export function openedSaver(saver: BaseCheckpointSaver, label: string): SaverKind {
  return {
    label,
    side: "rewind",
    engine: "sqlite",
    open: async () => ({ saver, bytes: async () => 0, close: async () => {} }),
  };
}

export const nullSaver: SaverKind = {
  label: "a saver that stores nothing",
  side: "bound",
  engine: "sqlite",
  async open() {
    return { saver: new NullSaver(), bytes: async () => 0, close: async () => {} };
  },
};

/** Rewind's PostgreSQL backend, when this checkout has it (loaded lazily: it may not exist yet). */
async function rewindPostgres(): Promise<SaverKind | undefined> {
  let mod: Record<string, any>;
  try {
    mod = await import(`../src/backends/postgres/${"index.js"}`);
  } catch {
    return undefined;
  }
  return {
    label: "Rewind saver",
    side: "rewind",
    engine: "postgres",
    async open({ poolSize = 10 } = {}) {
      const pool = new pg.Pool({ connectionString: PG_URL, max: poolSize });
      const schema = newSchema();
      const saver = new RewindSaver(new mod.PostgresBackend(pool, { schema }));
      await saver.checkpointer.ready();
      return {
        saver,
        bytes: () => schemaBytes(pool, schema),
        close: async () => {
          await saver.close();
          await pool.query(`DROP SCHEMA IF EXISTS ${schema} CASCADE`);
          await pool.end();
        },
      };
    },
  };
}

/** Pairs of (Rewind, LangGraph) savers per engine; PostgreSQL only if the server answers. */
export async function saverPairs(): Promise<
  { engine: Engine; rewind: SaverKind; langgraph: SaverKind }[]
> {
  const pairs: { engine: Engine; rewind: SaverKind; langgraph: SaverKind }[] = [
    { engine: "sqlite", rewind: rewindSqlite, langgraph: langgraphSqlite },
  ];
  const rewindPg = await rewindPostgres();
  if (rewindPg && (await postgresAnswers())) {
    pairs.push({ engine: "postgres", rewind: rewindPg, langgraph: langgraphPostgres });
  } else {
    console.log(
      `(PostgreSQL skipped: ${rewindPg ? "no server answers" : "no Rewind PostgreSQL backend in this checkout"})`,
    );
  }
  return pairs;
}

async function postgresAnswers(): Promise<boolean> {
  const client = new pg.Client({ connectionString: PG_URL });
  try {
    await client.connect();
    await client.query("SELECT 1");
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}
