/**
 * The PostgreSQL backends, as every test area uses them (see backends.ts): a schema per backend
 * on the test server. Conformance backends open their own pool from the URL (the path an app
 * with a connection string takes) and drop their schema on `destroy`; the others share one pool
 * per test file, like an app sharing its pool, and their schemas are dropped when the file ends.
 */
import pg from "pg";
import { PostgresBackend, PostgresStoreBackend } from "../../src/backends/postgres/index.js";
import { createCheckpointer } from "../../src/index.js";
import { createStore } from "../../src/store/store.js";
import type { TestBackend } from "./backends.js";
import { atFileEnd, closedAtFileEnd } from "./file-cleanup.js";
import { adminPool, freshSchema, PG_URL } from "./postgres.js";

let pool: pg.Pool | undefined;

/** The test file's shared pool, opened on first use and ended when the file ends. */
function sharedPool(): pg.Pool {
  if (!pool) {
    const opened = new pg.Pool({ connectionString: PG_URL, max: 6 });
    pool = opened;
    atFileEnd(async () => {
      pool = undefined;
      await opened.end();
    });
  }
  return pool;
}

/** Schemas of the backends the harnesses created, until they are destroyed. */
const schemaOf = new Map<object, string>();

async function dropSchema(backend: object): Promise<void> {
  const schema = schemaOf.get(backend);
  schemaOf.delete(backend);
  if (schema) await adminPool().query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}

export const postgresEngine: TestBackend = {
  name: "postgres",
  checkpoints: {
    create() {
      const schema = freshSchema("rewind_checkpoints");
      const backend = new PostgresBackend(PG_URL, { schema, maxConnections: 4 });
      schemaOf.set(backend, schema);
      return backend;
    },
    destroy: dropSchema,
    async corrupt(backend, key) {
      const { rowCount } = await adminPool().query(
        `UPDATE "${schemaOf.get(backend)}".rewind_blobs SET value = '\\xff00fe'::bytea
         WHERE thread_id = $1 AND ns = $2 AND version = $3`,
        [key.threadId, key.ns, key.checkpointId],
      );
      if (!rowCount) throw new Error(`nothing to corrupt for checkpoint ${key.checkpointId}`);
    },
  },
  stores: {
    create() {
      const schema = freshSchema("rewind_store");
      const backend = new PostgresStoreBackend(sharedPool(), { schema });
      schemaOf.set(backend, schema);
      return backend;
    },
    destroy: dropSchema,
  },
  checkpointer: (options) =>
    closedAtFileEnd(
      createCheckpointer(
        new PostgresBackend(sharedPool(), { schema: freshSchema("rewind_graph") }),
        options,
      ),
    ),
  saverStorage() {
    const schema = freshSchema("rewind_lg");
    return {
      backend: new PostgresBackend(sharedPool(), { schema }),
      reopen: () => new PostgresBackend(sharedPool(), { schema }),
    };
  },
  store: (options) =>
    closedAtFileEnd(
      createStore(
        new PostgresStoreBackend(sharedPool(), { schema: freshSchema("rewind_store") }),
        options,
      ),
    ),
};
