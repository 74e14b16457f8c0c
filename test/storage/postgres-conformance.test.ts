import { PostgresBackend } from "../../src/storage/postgres/index.js";
import { describeCheckpointBackend } from "../../src/testing/index.js";
import { adminPool, freshSchema, PG_URL } from "../support/postgres.js";

const schemas = new Map<unknown, string>();
describeCheckpointBackend("postgres", {
  create: () => {
    const schema = freshSchema();
    const backend = new PostgresBackend(PG_URL, { schema, maxConnections: 4 });
    schemas.set(backend, schema);
    return backend;
  },
  corrupt: async (backend, key) => {
    const schema = schemas.get(backend)!;
    const { rowCount } = await adminPool().query(
      `UPDATE "${schema}".rewind_blobs SET value = '\\xff00fe'::bytea WHERE thread_id = $1 AND ns = $2 AND version = $3`,
      [key.threadId, key.ns, key.checkpointId],
    );
    if (!rowCount) throw new Error(`nothing to corrupt for checkpoint ${key.checkpointId}`);
  },
});
