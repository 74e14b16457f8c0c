import { describe, expect, it } from "vitest";
import { POSTGRES_MIGRATIONS, PostgresBackend } from "../../src/backends/postgres/index.js";
import {
  ConflictError,
  createCheckpointer,
  lastValue,
  MemoryBackend,
  START,
  StateGraph,
  ThreadDeletedError,
} from "../../src/index.js";
import {
  adminPool,
  freshSchema,
  requireConcurrentSessions,
  testPool,
  waitForLockWaiters,
} from "../support/postgres.js";
import { legacySchemaAt } from "../support/postgres-legacy-schema.js";

describe("PostgreSQL backend", () => {
  it("ten backends starting at once on separate pools migrate exactly once, none fails", async (context) => {
    requireConcurrentSessions(context);
    const schema = freshSchema();
    const backends = Array.from({ length: 10 }, () => new PostgresBackend(testPool(), { schema }));
    const results = await Promise.allSettled(backends.map((b) => b.setup()));
    expect(results.filter((r) => r.status === "rejected")).toEqual([]);
    const { rows } = await adminPool().query(`SELECT version FROM "${schema}".rewind_migrations`);
    expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1));
  });

  it("migrates while another session creates the same schema (e.g. the store, sharing it)", async (context) => {
    requireConcurrentSessions(context);
    const schema = freshSchema();
    const other = await adminPool().connect();
    try {
      await other.query("BEGIN");
      await other.query(`CREATE SCHEMA "${schema}"`);
      const setup = new PostgresBackend(testPool(), { schema }).setup();
      await waitForLockWaiters(schema, 1);
      await other.query("COMMIT");
      await setup;
    } finally {
      other.release();
    }
    const { rows } = await adminPool().query(`SELECT version FROM "${schema}".rewind_migrations`);
    expect(rows.map((r) => r.version)).toEqual(POSTGRES_MIGRATIONS.map((_, i) => i + 1));
  });

  it("compare-and-set from many connections at once lets exactly one writer win", async (context) => {
    requireConcurrentSessions(context);
    const schema = freshSchema();
    const writers = Array.from({ length: 8 }, () =>
      createCheckpointer(new PostgresBackend(testPool(), { schema })),
    );
    await writers[0]!.ready();
    const results = await Promise.allSettled(
      writers.map((w, i) =>
        w.put(
          {
            threadId: "race",
            id: `cp-${i}`,
            parentId: undefined,
            channelVersions: { x: `v${i}` },
            versionsSeen: {},
            metadata: { source: "input", step: -1 },
            updates: [{ channel: "x", version: `v${i}`, value: i }],
          },
          { expectedHead: null },
        ),
      ),
    );
    expect(results.filter((r) => r.status === "fulfilled")).toHaveLength(1);
    for (const r of results.filter((r) => r.status === "rejected")) {
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(ConflictError);
    }
    const { rows } = await adminPool().query(
      `SELECT count(*)::int AS n FROM "${schema}".rewind_checkpoints`,
    );
    expect(rows[0].n).toBe(1);
    const { rows: blobs } = await adminPool().query(
      `SELECT count(*)::int AS n FROM "${schema}".rewind_blobs`,
    );
    expect(blobs[0].n).toBe(1);
  });

  it("a write that commits while a delete waits for the thread is deleted too, never resurrected", async (context) => {
    requireConcurrentSessions(context);
    const schema = freshSchema();
    const writer = createCheckpointer(new PostgresBackend(testPool(), { schema }));
    const deleter = createCheckpointer(new PostgresBackend(testPool(), { schema }));
    await writer.put(step("t", "cp-1", 1), { expectedHead: null });
    // Hold the thread row so the write queues first and the delete behind it, deterministically.
    const holder = await adminPool().connect();
    try {
      await holder.query("BEGIN");
      await holder.query(
        `SELECT 1 FROM "${schema}".rewind_threads WHERE thread_id = 't' FOR UPDATE`,
      );
      const write = writer.put(step("t", "cp-2", 2), { expectedHead: "cp-1" });
      await waitForLockWaiters(schema, 1);
      const deletion = deleter.deleteThread("t");
      await waitForLockWaiters(schema, 2);
      await holder.query("COMMIT");
      await write;
      await deletion;
    } finally {
      holder.release();
    }
    expect(await deleter.get("t")).toBeUndefined();
    const { rows } = await adminPool().query(
      `SELECT (SELECT count(*) FROM "${schema}".rewind_checkpoints)::int AS c,
              (SELECT count(*) FROM "${schema}".rewind_blobs)::int AS b`,
    );
    expect(rows[0]).toEqual({ c: 0, b: 0 });
    await expect(writer.put(step("t", "cp-3", 3))).rejects.toBeInstanceOf(ThreadDeletedError);
  });

  it("a schema written at version 1 upgrades in place and keeps its checkpoints readable", async () => {
    const schema = await legacySchemaAt(1);
    const admin = adminPool();
    // A checkpoint as version 1 wrote it: value 41 as tagged JSON bytes.
    await admin.query(
      `SELECT "${schema}".rewind_put_checkpoint('t', '', 'cp-1', NULL, '2026-01-01T00:00:00.000Z',
         '{"x":"v1"}', '{"source":"input","step":-1}', '{}', true, NULL, NULL,
         ARRAY['x'], ARRAY['v1'], ARRAY[0]::smallint[], ARRAY[NULL]::text[], ARRAY[0], ARRAY['json'],
         ARRAY[convert_to('41', 'UTF8')])`,
    );
    const checkpointer = createCheckpointer(new PostgresBackend(testPool(), { schema }));
    const old = await checkpointer.get("t");
    expect(old?.checkpoint.values).toEqual({ x: 41 });
    expect(old?.checkpoint.metadata).toEqual({ source: "input", step: -1 });
    await checkpointer.put(step("t", "cp-2", 42), { expectedHead: "cp-1" });
    expect((await checkpointer.get("t"))?.checkpoint.values).toEqual({ x: 42 });
    await checkpointer.close();
  });

  it("a schema written at version 3 (leases) upgrades to 4 (damage, quarantine) and keeps its checkpoints and lease", async () => {
    const schema = await legacySchemaAt(3);
    const admin = adminPool();
    // A checkpoint and a lease as version 3 wrote them (no checksums).
    await admin.query(
      `SELECT "${schema}".rewind_put_checkpoint('t', '', 'cp-1', NULL, '2026-01-01T00:00:00.000Z',
         '{"x":"cp-1"}', '{"source":"input","step":-1}', NULL, '{}', true, NULL, NULL,
         ARRAY['x'], ARRAY['cp-1'], ARRAY[0]::smallint[], ARRAY[NULL]::text[], ARRAY[0], ARRAY['json'],
         ARRAY[convert_to('41', 'UTF8')])`,
    );
    await admin.query(
      `SELECT * FROM "${schema}".rewind_acquire_lease('t', 'old-owner', 600000, false, NULL, false, NULL, NULL, NULL)`,
    );
    const checkpointer = createCheckpointer(new PostgresBackend(testPool(), { schema }));
    expect((await checkpointer.get("t"))?.checkpoint.values).toEqual({ x: 41 });
    expect(await checkpointer.readLease("t")).toMatchObject({
      owner: "old-owner",
      startedFrom: "cp-1",
    });
    expect(await checkpointer.headId("t")).toBe("cp-1");
    expect((await checkpointer.repairThread("t")).quarantined).toEqual([]);
    expect(await checkpointer.listQuarantined("t")).toEqual([]);
    const { rows } = await admin.query(
      `SELECT max(version) AS v FROM "${schema}".rewind_migrations`,
    );
    expect(rows[0].v).toBe(POSTGRES_MIGRATIONS.length);
    await checkpointer.deleteThread("t");
    expect(await checkpointer.get("t")).toBeUndefined();
    await checkpointer.close();
  });

  it("metadata with NUL and lone surrogates (which jsonb refuses) round-trips and filters exactly", async () => {
    const checkpointer = createCheckpointer(
      new PostgresBackend(testPool(), { schema: freshSchema() }),
    );
    const notes = ["a\u0000b", "a\\u0000b", "x\ud800", "\ud83d\ude00"];
    for (const [i, note] of notes.entries()) {
      await checkpointer.put({
        ...step("t", `cp-${i}`, i),
        metadata: { source: "loop", step: i, note, nested: { note } },
      });
    }
    for (const [i, note] of notes.entries()) {
      const got = await checkpointer.get("t", { checkpointId: `cp-${i}` });
      expect(got?.checkpoint.metadata).toEqual({ source: "loop", step: i, note, nested: { note } });
      const listed = [];
      for await (const t of checkpointer.list({ threadId: "t", filter: { note } })) listed.push(t);
      // The NUL and the literal backslash-u0000 look alike to jsonb's copy, but never match.
      expect(listed.map((t) => t.checkpoint.id)).toEqual([`cp-${i}`]);
    }
    await checkpointer.close();
  });

  it("lists in the memory backend's order for every query shape, across tiny pages", async () => {
    const postgres = createCheckpointer(
      new PostgresBackend(testPool(), { schema: freshSchema(), pageSize: 3 }),
    );
    const memory = createCheckpointer(new MemoryBackend());
    let n = 0;
    for (const threadId of ["a", "b"]) {
      for (const ns of ["", "sub"]) {
        for (let i = 0; i < 5; i++) {
          // Interleaved ids, so pages cut across threads and namespaces.
          const id = `cp-${String(n++ % 7).padStart(2, "0")}-${threadId}-${ns}-${i}`;
          const put = { ...step(threadId, id, i), ns, metadata: { source: "loop", step: i % 2 } };
          await postgres.put(put as never);
          await memory.put(put as never);
        }
      }
    }
    const shapes = [
      { threadId: "a", ns: "" },
      { threadId: "a" },
      { ns: "sub" },
      {},
      { threadId: "b", before: "cp-04" },
      { limit: 7 },
      { filter: { step: 1 } },
      { threadId: "a", filter: { step: 0 }, limit: 4 },
    ];
    for (const shape of shapes) {
      for (const includeValues of [true, false]) {
        const ids = async (c: typeof memory) => {
          const out: string[] = [];
          for await (const t of c.list({ ...shape, includeValues })) {
            out.push(`${t.checkpoint.threadId}/${t.checkpoint.ns}/${t.checkpoint.id}`);
          }
          return out;
        };
        const expected = await ids(memory);
        expect(expected.length).toBeGreaterThan(0);
        expect(await ids(postgres), JSON.stringify(shape)).toEqual(expected);
      }
    }
    await postgres.close();
  });

  it("prepares its statements once per connection, and keeps working when the session drops them", async () => {
    const schema = freshSchema();
    // One connection, so that the admin queries below see the backend's session.
    const pool = testPool(1);
    const checkpointer = createCheckpointer(new PostgresBackend(pool, { schema }));
    const prepared = async () =>
      (
        await pool.query(
          "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE name LIKE 'rewind\\_%' AND position($1 in statement) > 0",
          [schema],
        )
      ).rows[0].n;
    await checkpointer.put(step("t", "c1", 1));
    expect(await prepared()).toBeGreaterThan(0);
    // What `DISCARD ALL` or a transaction-mode pooler does behind the driver's back.
    await pool.query("DEALLOCATE ALL");
    await checkpointer.put(step("t", "c2", 2), { expectedHead: "c1" });
    expect((await checkpointer.get("t"))?.checkpoint.values).toEqual({ x: 2 });

    const plainSchema = freshSchema();
    const plain = createCheckpointer(
      new PostgresBackend(pool, { schema: plainSchema, preparedStatements: false }),
    );
    await plain.put(step("t", "c1", 1));
    expect((await plain.get("t"))?.checkpoint.values).toEqual({ x: 1 });
    expect(
      (
        await pool.query(
          "SELECT count(*)::int AS n FROM pg_prepared_statements WHERE position($1 in statement) > 0",
          [plainSchema],
        )
      ).rows[0].n,
    ).toBe(0);
    await checkpointer.close();
    await plain.close();
  });

  it("sends the values of a checkpoint and of pending writes as bytes, never as hex text in an array, and reads them back exactly", async () => {
    const pool = testPool();
    const sent: unknown[][] = [];
    // The pool as the backend sees it, recording the parameters of every statement.
    const recording = new Proxy(pool, {
      get(target, property) {
        if (property !== "query") {
          const member = Reflect.get(target, property);
          return typeof member === "function" ? member.bind(target) : member;
        }
        return (config: string | { values?: unknown[] }, values?: unknown[]) => {
          sent.push((typeof config === "string" ? values : config.values) ?? []);
          return target.query(config as never, values as never);
        };
      },
    });
    const checkpointer = createCheckpointer(
      new PostgresBackend(recording, { schema: freshSchema() }),
    );
    // Every byte value (NUL, quote and backslash among them), above and below the large-value
    // threshold, an empty value and a cleared channel.
    const file = Uint8Array.from({ length: 100_000 }, (_, i) => (i * 7919) % 256);
    const large = Uint8Array.from({ length: 300_000 }, (_, i) => (i * 104729) % 256);
    const versions = { file: "v1", large: "v1", none: "v1", cleared: "v1" };
    await checkpointer.put({
      threadId: "t",
      id: "cp-1",
      parentId: undefined,
      channelVersions: versions,
      versionsSeen: {},
      metadata: { source: "loop", step: 1 },
      updates: [
        { channel: "file", version: "v1", value: file },
        { channel: "large", version: "v1", value: large },
        { channel: "none", version: "v1", value: new Uint8Array(0) },
        { channel: "cleared", version: "v1", empty: true },
      ],
    });
    const write = (idx: number, value: unknown) => ({
      taskId: "task",
      taskPath: "p",
      idx,
      channel: "out",
      value,
    });
    const writes = [write(0, file), write(1, large), write(2, new Uint8Array(0))];
    await checkpointer.putWrites({ threadId: "t", checkpointId: "cp-1" }, writes);
    const arraysOfBytes = sent
      .flat()
      .filter((value) => Array.isArray(value) && value.some((item) => item instanceof Uint8Array));
    expect(arraysOfBytes).toEqual([]);
    // Compared as hex text: one string comparison instead of one per byte.
    const hex = (value: unknown) =>
      value instanceof Uint8Array ? Buffer.from(value).toString("hex") : value;
    const stored = await checkpointer.get("t");
    const values = Object.entries(stored?.checkpoint.values ?? {});
    expect(Object.fromEntries(values.map(([channel, value]) => [channel, hex(value)]))).toEqual({
      file: hex(file),
      large: hex(large),
      none: "",
    });
    const hexed = (list: readonly { value: unknown }[]) =>
      list.map((w) => ({ ...w, value: hex(w.value) }));
    expect(hexed(stored?.pendingWrites ?? [])).toEqual(hexed(writes));
    await checkpointer.close();
  });

  it("ids and names each within their limits but too long together for an index row: INVALID_INPUT, nothing stored", async () => {
    const checkpointer = createCheckpointer(
      new PostgresBackend(testPool(), { schema: freshSchema() }),
    );
    // Three bytes of UTF-8 per character: 768 + 1,536 + 768 bytes of key, past b-tree's 2,704.
    const wide = (length: number, from: number) =>
      Array.from({ length }, (_, i) => String.fromCodePoint(from + ((i * 7919) % 20_000))).join("");
    const channel = wide(256, 0x4e00);
    const ref = { threadId: wide(512, 0x4e10), tenantId: wide(256, 0x4e20) };
    const app = new StateGraph({ [channel]: lastValue<number>() })
      .addNode("n", () => ({ [channel]: 2 }))
      .addEdge(START, "n")
      .compile({ checkpointer });
    try {
      await expect(app.invoke({ [channel]: 1 }, ref)).rejects.toMatchObject({
        code: "INVALID_INPUT",
        message: expect.stringContaining("too long together"),
      });
      expect(await app.getState(ref)).toBeUndefined();
      const short = await app.invoke({ [channel]: 1 }, { threadId: "t", tenantId: "acme" });
      expect(short.values[channel]).toBe(2);
    } finally {
      await checkpointer.close();
    }
  });

  it("uses the caller's pool without closing it, and refuses a bad schema name", async () => {
    const pool = testPool();
    const checkpointer = createCheckpointer(new PostgresBackend(pool, { schema: freshSchema() }));
    await checkpointer.ready();
    await checkpointer.close();
    expect((await pool.query("SELECT 1 AS one")).rows[0].one).toBe(1);
    expect(() => new PostgresBackend(pool, { schema: 'x"; DROP TABLE y; --' })).toThrow(
      /plain identifier/,
    );
  });
});

function step(threadId: string, id: string, value: number) {
  return {
    threadId,
    id,
    parentId: undefined,
    channelVersions: { x: `v${value}` },
    versionsSeen: {},
    metadata: { source: "loop" as const, step: value },
    updates: [{ channel: "x", version: `v${value}`, value }],
  };
}

/** Resolves once `count` sessions wait on a lock in `schema` (how the tests order racing calls). */
