import { describe, expect, it } from "vitest";
import { POSTGRES_MIGRATIONS, PostgresBackend } from "../../src/backends/postgres/index.js";
import { createCheckpointer } from "../../src/index.js";
import { effectIntent, effectOutcome } from "../../src/testing/checkpoint-cases-effects.js";
import {
  adminPool,
  freshSchema,
  requireConcurrentSessions,
  testPool,
  waitForLockWaiters,
} from "../support/postgres.js";
import { legacySchemaAt } from "../support/postgres-legacy-schema.js";

describe("PostgreSQL effect ledger", () => {
  it("a schema written at version 4 upgrades (the ledger) and keeps its checkpoints", async () => {
    const schema = await legacySchemaAt(4);
    await adminPool().query(
      `SELECT "${schema}".rewind_put_checkpoint('t', '', 'cp-1', NULL, '2026-01-01T00:00:00.000Z',
         '{"x":"cp-1"}', '{"source":"input","step":-1}', NULL, '{}', true, NULL, NULL,
         ARRAY['x'], ARRAY['cp-1'], ARRAY[0]::smallint[], ARRAY[NULL]::text[], ARRAY[0], ARRAY['json'],
         ARRAY[convert_to('41', 'UTF8')])`,
    );
    const checkpointer = createCheckpointer(new PostgresBackend(testPool(), { schema }));
    expect((await checkpointer.get("t"))?.checkpoint.values).toEqual({ x: 41 });
    const intent = effectIntent("t", "a1");
    expect(await checkpointer.door.beginEffect({ effect: intent })).toEqual({
      effect: intent,
      recorded: true,
    });
    const { rows } = await adminPool().query(
      `SELECT max(version) AS v FROM "${schema}".rewind_migrations`,
    );
    expect(rows[0].v).toBe(POSTGRES_MIGRATIONS.length);
    expect(POSTGRES_MIGRATIONS.length).toBeGreaterThanOrEqual(5);
    // The split delete of version 4, replaced by the one current definition, clears the ledger.
    await checkpointer.deleteThread("t");
    expect(await checkpointer.get("t")).toBeUndefined();
    const left = await adminPool().query(
      `SELECT count(*)::int AS n FROM "${schema}".rewind_effects`,
    );
    expect(left.rows[0].n).toBe(0);
    await checkpointer.close();
  });

  it("racing intents and outcomes of one key from eight connections record exactly one each", async (context) => {
    requireConcurrentSessions(context);
    const schema = freshSchema();
    const doors = Array.from(
      { length: 8 },
      () => createCheckpointer(new PostgresBackend(testPool(), { schema })).door,
    );
    await Promise.all(doors.map((door) => door.ready()));
    for (let round = 0; round < 5; round++) {
      const key = `k${round}`;
      const begun = await Promise.all(
        doors.map((door, i) =>
          door.beginEffect({ effect: effectIntent("race", key, { taskId: `task-${i}` }) }),
        ),
      );
      expect(begun.filter((r) => r.recorded)).toHaveLength(1);
      const winner = begun.find((r) => r.recorded)!.effect;
      for (const result of begun) expect(result.effect).toEqual(winner);
      const finished = await Promise.all(
        doors.map((door, i) =>
          door.finishEffect(effectOutcome("race", key, 1, { outcome: `"by ${i}"` })),
        ),
      );
      expect(finished.filter((r) => r?.recorded)).toHaveLength(1);
    }
    const ledger = await doors[0]!.listEffects("race");
    expect(ledger.map((e) => [e.key, e.status, e.attempt])).toEqual(
      Array.from({ length: 5 }, (_, i) => [`k${i}`, "done", 1]),
    );
    await Promise.all(doors.map((door) => door.close()));
  });

  it("an intent that meets an uncommitted insert of its key waits, then returns that entry", async (context) => {
    requireConcurrentSessions(context);
    const schema = freshSchema();
    const checkpointer = createCheckpointer(new PostgresBackend(testPool(), { schema }));
    await checkpointer.door.beginEffect({ effect: effectIntent("t", "other") });
    const holder = await adminPool().connect();
    try {
      await holder.query("BEGIN");
      await holder.query(
        `INSERT INTO "${schema}".rewind_effects (thread_id, key, name, args, status, ns,
           checkpoint_id, task_id, node, attempt, token, started_at)
         VALUES ('t', 'a1', 'book-flight', '{}', 'started', '', 'cp-0', 'holder', 'book', 1, 0,
           '2026-03-01T09:00:00.000Z')`,
      );
      const racing = checkpointer.door.beginEffect({ effect: effectIntent("t", "a1") });
      await waitForLockWaiters(schema, 1);
      await holder.query("COMMIT");
      const result = await racing;
      expect(result.recorded).toBe(false);
      expect(result.effect).toMatchObject({ taskId: "holder", checkpointId: "cp-0", attempt: 1 });
    } finally {
      holder.release();
    }
    await checkpointer.close();
  });
});
