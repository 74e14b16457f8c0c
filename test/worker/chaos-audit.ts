/**
 * What the chaos test counts outside the checkpoint store, in a schema of its own on the same
 * cluster, all on the server's clock: every task execution as it starts (`executions`), every
 * call of the side effect (`calls`) and what it delivered (`deliveries`: the "remote API",
 * idempotent by the effect's key), and, by triggers on the checkpoint store's tables, when each
 * task's result was committed (`committed`: a child checkpoint of the checkpoint a step ran
 * from, or a task's own writes there) and when each effect's outcome was recorded
 * (`recorded`). A trigger's row is rolled back with its transaction, so only committed results
 * are listed.
 */
import pg from "pg";
import type { NodeContext } from "../../src/index.js";

export const AUDIT = "chaos_audit";

/** What the worker processes' nodes call (see worker-graph.ts). */
export interface Audit {
  started(ctx: NodeContext): Promise<void>;
  deliver(key: string, threadId: string, turn: string): Promise<string>;
}

export function createAudit(url: string): Audit {
  const pool = new pg.Pool({ connectionString: url, max: 4 });
  pool.on("error", () => undefined);
  return {
    async started(ctx) {
      await pool.query(
        `INSERT INTO ${AUDIT}.executions (thread_id, checkpoint_id, task_id, node, job, pid)
         VALUES ($1, $2, $3, $4, $5, $6)`,
        [ctx.threadId, ctx.checkpointId, ctx.taskId, ctx.node, ctx.metadata.rewindJob, process.pid],
      );
    },
    async deliver(key, threadId, turn) {
      await pool.query(
        `WITH call AS (INSERT INTO ${AUDIT}.calls (key, pid) VALUES ($1, $4))
         INSERT INTO ${AUDIT}.deliveries (key, thread_id, turn) VALUES ($1, $2, $3)
         ON CONFLICT (key) DO NOTHING`,
        [key, threadId, turn, process.pid],
      );
      return `receipt:${turn}`;
    },
  };
}

/** The audit tables and the triggers on the store's tables (`store`: its schema, migrated). */
export function auditSetup(store: string): string {
  return `
  CREATE SCHEMA ${AUDIT};
  CREATE TABLE ${AUDIT}.executions (thread_id TEXT, checkpoint_id TEXT, task_id TEXT, node TEXT,
    job TEXT, pid INTEGER, at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
  CREATE TABLE ${AUDIT}.calls (key TEXT, pid INTEGER,
    at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
  CREATE TABLE ${AUDIT}.deliveries (key TEXT PRIMARY KEY, thread_id TEXT, turn TEXT);
  CREATE TABLE ${AUDIT}.recorded (key TEXT, at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
  CREATE TABLE ${AUDIT}.committed (thread_id TEXT, checkpoint_id TEXT, task_id TEXT,
    at TIMESTAMPTZ NOT NULL DEFAULT clock_timestamp());
  CREATE FUNCTION ${AUDIT}.on_checkpoint() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.parent_id IS NOT NULL THEN
      INSERT INTO ${AUDIT}.committed (thread_id, checkpoint_id) VALUES (NEW.thread_id, NEW.parent_id);
    END IF; RETURN NULL; END $$;
  CREATE TRIGGER audit AFTER INSERT ON ${store}.rewind_checkpoints
    FOR EACH ROW EXECUTE FUNCTION ${AUDIT}.on_checkpoint();
  -- A pause, an answer or an error is not a finished task: the task runs again after those.
  CREATE FUNCTION ${AUDIT}.on_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.channel NOT IN ('__interrupt__', '__resume__', '__error__') THEN
      INSERT INTO ${AUDIT}.committed (thread_id, checkpoint_id, task_id)
        VALUES (NEW.thread_id, NEW.checkpoint_id, NEW.task_id);
    END IF; RETURN NULL; END $$;
  CREATE TRIGGER audit AFTER INSERT ON ${store}.rewind_writes
    FOR EACH ROW EXECUTE FUNCTION ${AUDIT}.on_write();
  CREATE FUNCTION ${AUDIT}.on_effect() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN
    IF NEW.status <> 'started' THEN INSERT INTO ${AUDIT}.recorded (key) VALUES (NEW.key); END IF;
    RETURN NULL; END $$;
  CREATE TRIGGER audit AFTER INSERT OR UPDATE ON ${store}.rewind_effects
    FOR EACH ROW EXECUTE FUNCTION ${AUDIT}.on_effect();`;
}

/** Executions of a task that started after its result was committed: a finished task redone. */
export const REDONE = `
  SELECT DISTINCT e.thread_id, e.node, e.task_id, e.pid
    FROM ${AUDIT}.executions e JOIN ${AUDIT}.committed c
      ON c.thread_id = e.thread_id AND c.checkpoint_id = e.checkpoint_id
     AND (c.task_id IS NULL OR c.task_id = e.task_id)
   WHERE e.at > c.at`;

/** Calls of the side effect that started after its outcome was recorded: a recorded effect redone. */
export const CALLED_AFTER_RECORDED = `
  SELECT DISTINCT c.key, c.pid FROM ${AUDIT}.calls c JOIN ${AUDIT}.recorded r ON r.key = c.key
   WHERE c.at > r.at`;
