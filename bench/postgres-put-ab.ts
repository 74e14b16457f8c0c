/**
 * PostgreSQL: the checkpoint put function (`rewind_put_checkpoint`) as defined now, against an
 * earlier form of it, in one process: two schemas, one with each definition, take turns with
 * rounds of puts (three small values each, one thread per schema, one connection each), and the
 * medians of the rounds are compared. A ratio above 1 means the earlier form was slower.
 *
 *   npx tsx bench/postgres-put-ab.ts [variant] [puts per round] [rounds]
 *
 * `BENCH_CHANNELS=n` puts n values per checkpoint instead of three.
 *
 * Variants: `unnest-blobs` (the values inserted by one `INSERT ... SELECT FROM unnest(...) ON
 * CONFLICT DO NOTHING`, before the look-then-insert per value). `BENCH_SYNC=1` keeps the
 * server's `synchronous_commit` (off by default here, so the commit's flush does not drown the
 * function's own time). Server: REWIND_TEST_PG_URL or the local one.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { PostgresBackend } from "../src/backends/postgres/index.js";
import { createCheckpointer } from "../src/index.js";
import { median } from "./workloads.js";

const PG_URL = process.env.REWIND_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/postgres";

/**
 * Each earlier form: the span of the current definition it replaced (from its first line to its
 * last, as found in the definition the schema holds) and the text it had then.
 */
const VARIANTS: Record<string, { from: string; to: string; text: string }> = {
  "unnest-blobs": {
    from: "    FOR i IN 1 .. coalesce(array_length(p_channels, 1), 0) LOOP",
    to: "    END LOOP;",
    text: `    INSERT INTO SCHEMA.rewind_blobs (thread_id, ns, channel, version, kind, prev_version, depth, tag, value)
      SELECT p_thread, p_ns, b.channel, b.version, b.kind, b.prev, b.depth, b.tag,
        substring(p_values FROM b.start FOR b.length)
      FROM unnest(p_channels, p_bversions, p_kinds, p_prevs, p_depths, p_tags, p_starts, p_lengths)
        AS b (channel, version, kind, prev, depth, tag, start, length)
      ON CONFLICT DO NOTHING;`,
  },
};

const [variantName = "unnest-blobs", perArg = "400", roundsArg = "10"] = process.argv.slice(2);
const variant = VARIANTS[variantName];
if (!variant) throw new Error(`no variant "${variantName}": ${Object.keys(VARIANTS).join(", ")}`);
const PER_ROUND = Number(perArg);
/** Values per put: `BENCH_CHANNELS` (default 3), a number, a short string and a short list in turn. */
const CHANNELS = Array.from({ length: Number(process.env.BENCH_CHANNELS ?? 3) }, (_, k) => `c${k}`);
const ROUNDS = Number(roundsArg);

/** A schema of its own with the current definition or, with `earlier`, the variant's. */
async function side(earlier: boolean) {
  const options = process.env.BENCH_SYNC === "1" ? undefined : "-c synchronous_commit=off";
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1, options });
  const schema = `rewind_bench_${randomBytes(5).toString("hex")}`;
  const backend = new PostgresBackend(pool, { schema });
  const checkpointer = createCheckpointer(backend);
  await checkpointer.ready();
  if (earlier) {
    const { rows } = await pool.query(
      `SELECT pg_get_functiondef(p.oid) AS def FROM pg_proc p
         JOIN pg_namespace n ON n.oid = p.pronamespace
       WHERE n.nspname = $1 AND p.proname = 'rewind_put_checkpoint'`,
      [schema],
    );
    const definition = String(rows[0].def);
    const start = definition.indexOf(variant!.from);
    const end = definition.indexOf(variant!.to, start);
    if (start < 0 || end < 0)
      throw new Error(`the current definition no longer holds the span "${variantName}" replaces`);
    const then = variant!.text.replaceAll("SCHEMA", `"${schema}"`);
    await pool.query(
      definition.slice(0, start) + then + definition.slice(end + variant!.to.length),
    );
  }
  let parentId: string | undefined;
  let n = 0;
  const put = async () => {
    const i = n++;
    const id = `00000000-0000-6000-8000-${String(i).padStart(12, "0")}`;
    const encoded = checkpointer.encode({
      threadId: "t",
      id,
      parentId,
      channelVersions: Object.fromEntries(CHANNELS.map((channel) => [channel, id])),
      versionsSeen: {},
      metadata: { source: "loop", step: i, parents: {} },
      updates: CHANNELS.map((channel, k) => ({
        channel,
        version: id,
        value: k % 3 === 0 ? i : k % 3 === 1 ? "x".repeat(20) : [1, 2],
      })),
    });
    parentId = id;
    await backend.putCheckpoint({ checkpoint: encoded.checkpoint, blobs: encoded.blobs });
  };
  const close = async () => {
    await pool.query(`DROP SCHEMA "${schema}" CASCADE`);
    await pool.end();
  };
  return { put, close };
}

const current = await side(false);
const earlier = await side(true);
try {
  for (let i = 0; i < 100; i++) {
    await current.put();
    await earlier.put();
  }
  const times: [number[], number[]] = [[], []];
  for (let round = 0; round < ROUNDS; round++) {
    for (const [k, s] of [current, earlier].entries()) {
      const start = process.hrtime.bigint();
      for (let i = 0; i < PER_ROUND; i++) await s.put();
      times[k]!.push(Number(process.hrtime.bigint() - start) / 1000 / PER_ROUND);
    }
  }
  const [now, then] = times.map(median) as [number, number];
  console.log(
    `put, median of ${ROUNDS} rounds of ${PER_ROUND}: current ${now.toFixed(0)} us, ` +
      `${variantName} ${then.toFixed(0)} us, ratio ${(then / now).toFixed(2)}`,
  );
} finally {
  await current.close();
  await earlier.close();
}
