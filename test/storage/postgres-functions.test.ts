/**
 * The PostgreSQL stored functions are defined once and applied after the numbered migrations:
 * a schema an older Rewind left (with the function bodies of its time, up to versions 5 and 6
 * as first released, which still created them in numbered migrations) ends with exactly the
 * current definitions, an unchanged definition is never rewritten, a changed one is applied at
 * the next start, and a definition PostgreSQL cannot replace fails the migration as a whole.
 */
import { describe, expect, it } from "vitest";
import {
  POSTGRES_FUNCTIONS,
  POSTGRES_MIGRATIONS,
  PostgresBackend,
  PostgresClient,
} from "../../src/backends/postgres/index.js";
import { createCheckpointer, LeaseLostError, MigrationError, pin } from "../../src/index.js";
import { effectIntent } from "../../src/testing/checkpoint-cases-effects.js";
import { checkpointStep } from "../support/checkpoints.js";
import {
  adminPool,
  freshSchema,
  requireConcurrentSessions,
  testPool,
} from "../support/postgres.js";
import { legacySchemaAt } from "../support/postgres-legacy-schema.js";

const DEFINED = POSTGRES_FUNCTIONS.map((fn) => fn.name).sort();

/** Every function in `schema` as `name(arguments)`, sorted. */
async function functionsIn(schema: string): Promise<string[]> {
  const { rows } = await adminPool().query(
    `SELECT p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS f
     FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1`,
    [schema],
  );
  return rows.map((r) => r.f as string).sort();
}

/** The catalog row version of each function: it changes whenever a function is replaced. */
async function catalogVersions(schema: string): Promise<Record<string, string>> {
  const { rows } = await adminPool().query(
    `SELECT p.proname AS name, p.xmin::text AS x FROM pg_proc p
     JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1`,
    [schema],
  );
  return Object.fromEntries(rows.map((r) => [r.name, r.x]));
}

const write = { taskId: "task", taskPath: "p", idx: 0, channel: "x", value: 1 };

describe("PostgreSQL stored functions", () => {
  it.each([1, 2, 3, 4, 5, 6])(
    "a schema left at version %i, old function bodies and all, ends with exactly the current functions, which behave as such",
    async (version) => {
      const schema = await legacySchemaAt(version);
      const checkpointer = createCheckpointer(new PostgresBackend(testPool(), { schema }));
      await checkpointer.ready();
      // One definition per function: no old overload, no retired helper left behind.
      const names = (await functionsIn(schema)).map((f) => f.slice(0, f.indexOf("(")));
      expect(names).toEqual(DEFINED);
      const { rows } = await adminPool().query(
        `SELECT max(version) AS v, (SELECT count(*)::int FROM "${schema}".rewind_functions) AS f
         FROM "${schema}".rewind_migrations`,
      );
      expect(rows[0]).toEqual({ v: POSTGRES_MIGRATIONS.length, f: DEFINED.length });

      await checkpointer.put(checkpointStep("t", "cp-1", 1), { expectedHead: null });
      const lost = (await checkpointer.acquireLease("t", "first", 60_000))!;
      const taker = (await checkpointer.acquireLease("t", "second", 60_000, { steal: true }))!;
      // The current grant records where the holder's work starts (versions 1 and 2 did not).
      expect(taker).toMatchObject({ stolenFrom: "first", startedFrom: "cp-1" });
      await expect(
        checkpointer.put(checkpointStep("t", "cp-2", 2), { expectedHead: "cp-1", fence: lost }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await expect(
        checkpointer.putWrites({ threadId: "t", checkpointId: "cp-1" }, [write], lost),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await checkpointer.put(checkpointStep("t", "cp-2", 2), {
        expectedHead: "cp-1",
        fence: taker,
      });
      expect(await checkpointer.headId("t")).toBe("cp-2");

      // Version 5's effect functions, now defined once, still gate on the lease.
      const intent = effectIntent("t", "k1");
      await expect(
        checkpointer.door.beginEffect({ effect: intent, fence: lost }),
      ).rejects.toBeInstanceOf(LeaseLostError);
      await checkpointer.door.beginEffect({ effect: intent, fence: taker });
      await pin(checkpointer, "t", "cp-1");

      // The current delete clears the thread's quarantine, effects and pins too (the delete of
      // versions 1 to 3 knew no quarantine; version 4 split it in two, 5 and 6 extended that).
      await adminPool().query(
        `INSERT INTO "${schema}".rewind_quarantine (thread_id, ns, id, reason, quarantined_at)
         VALUES ('t', '', 'cp-0', 'damaged', 0)`,
      );
      await checkpointer.deleteThread("t");
      const { rows: left } = await adminPool().query(
        `SELECT (SELECT count(*) FROM "${schema}".rewind_quarantine)::int AS q,
                (SELECT count(*) FROM "${schema}".rewind_checkpoints)::int AS c,
                (SELECT count(*) FROM "${schema}".rewind_effects)::int AS e,
                (SELECT count(*) FROM "${schema}".rewind_pins)::int AS p`,
      );
      expect(left[0]).toEqual({ q: 0, c: 0, e: 0, p: 0 });
      await checkpointer.close();
    },
  );

  it("a process of the previous version (its put has no p_release argument) still writes to an upgraded schema", async () => {
    const schema = freshSchema();
    const backend = new PostgresBackend(testPool(), { schema });
    await backend.setup();
    // The previous version's call, as its backend sent it: 21 arguments.
    const { rows } = await adminPool().query(
      `SELECT "${schema}".rewind_put_checkpoint($1,$2,$3,$4,$5,$6::jsonb,$7::jsonb,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21) AS status`,
      [
        ...["t", "", "01a00000-0000-7000-8000-000000000001", null, "2026-01-01T00:00:00.000Z"],
        ...["{}", '{"source":"input","step":-1}', "{}", "{}", false, null, null],
        ...[[], [], [], [], [], [], null, [], []],
      ],
    );
    expect(rows[0].status).toBe("ok");
    const { rows: heads } = await adminPool().query(
      `SELECT head_id FROM "${schema}".rewind_heads WHERE thread_id = 't'`,
    );
    expect(heads).toEqual([{ head_id: "01a00000-0000-7000-8000-000000000001" }]);
    await backend.close();
  });

  it("leaves unchanged definitions alone, and applies a changed one at the next start, once, with many starting together", async (context) => {
    requireConcurrentSessions(context);
    const schema = freshSchema();
    await new PostgresBackend(testPool(), { schema }).setup();
    const before = await catalogVersions(schema);
    expect(Object.keys(before).sort()).toEqual(DEFINED);
    await new PostgresBackend(testPool(), { schema }).setup();
    expect(await catalogVersions(schema)).toEqual(before);

    // What an older Rewind's definition looks like to a newer one: another body, another digest.
    // This one ignores fences, so a write with a lost lease would go through.
    await adminPool().query(
      `CREATE OR REPLACE FUNCTION "${schema}".rewind_put_writes(
         p_thread TEXT, p_ns TEXT, p_checkpoint TEXT, p_fence BIGINT, p_tasks TEXT[], p_paths TEXT[],
         p_idx INTEGER[], p_channels TEXT[], p_tags TEXT[], p_values BYTEA, p_starts INTEGER[],
         p_lengths INTEGER[]
       ) RETURNS TEXT LANGUAGE sql AS $fn$ SELECT 'ok' $fn$;
       UPDATE "${schema}".rewind_functions SET digest = 'older' WHERE name = 'rewind_put_writes'`,
    );
    const backends = Array.from({ length: 4 }, () => new PostgresBackend(testPool(), { schema }));
    const started = await Promise.allSettled(backends.map((b) => b.setup()));
    expect(started.filter((r) => r.status === "rejected")).toEqual([]);
    const after = await catalogVersions(schema);
    expect(after.rewind_put_writes).not.toBe(before.rewind_put_writes);
    expect({ ...after, rewind_put_writes: "" }).toEqual({ ...before, rewind_put_writes: "" });

    const checkpointer = createCheckpointer(backends[0]!);
    await checkpointer.put(checkpointStep("t", "cp-1", 1));
    const lost = (await checkpointer.acquireLease("t", "first", 60_000))!;
    await checkpointer.acquireLease("t", "second", 60_000, { steal: true });
    await expect(
      checkpointer.putWrites({ threadId: "t", checkpointId: "cp-1" }, [write], lost),
    ).rejects.toBeInstanceOf(LeaseLostError);
    await checkpointer.close();
  });

  it("a definition that PostgreSQL cannot replace (another result type) fails the migration, which changes nothing", async () => {
    const schema = freshSchema();
    const client = new PostgresClient(testPool(), {}, "test");
    const spec = (result: string) => ({
      table: "test_migrations",
      lockKey: (name: string) => `test:${name}`,
      migrations: (s: string) => [`CREATE TABLE ${s}.t (n INTEGER)`],
      functions: {
        table: "test_functions",
        definitions: [
          {
            name: "f",
            definition: (s: string) =>
              `CREATE OR REPLACE FUNCTION ${s}.f() RETURNS ${result} LANGUAGE sql AS $fn$ SELECT 1::${result} $fn$`,
          },
        ],
      },
      label: "test",
    });
    expect(await client.migrate(schema, spec("INTEGER"))).toBe(1);
    const error = await client.migrate(schema, spec("TEXT")).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MigrationError);
    expect((error as Error).message).toMatch(/return type/);
    expect(await functionsIn(schema)).toEqual(["f()"]);
    const { rows } = await adminPool().query(`SELECT "${schema}".f() AS v`);
    expect(rows[0].v).toBe(1);
    await client.close();
  });
});
