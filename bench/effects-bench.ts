/**
 * The cost of one effect (`ctx.effect`: intent and outcome) per super-step, against the same
 * super-step without it, on SQLite (synchronous full) and PostgreSQL: milliseconds per step,
 * backend writes (each its own transaction) per step, and the storage calls a replay makes to
 * find a completed effect beyond reading its checkpoint.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import type { CheckpointBackend } from "../src/backend.js";
import { PostgresBackend } from "../src/backends/postgres/index.js";
import { SqliteBackend } from "../src/backends/sqlite/index.js";
import { createCheckpointer, lastValue, START, StateGraph } from "../src/index.js";
import { type Row, tempDb } from "./sqlite-bench.js";
import { NODES, timeMs } from "./workloads.js";

const PG_URL = process.env.REWIND_TEST_PG_URL || "postgres://postgres@127.0.0.1:5432/postgres";
const THREADS = Number(process.env.BENCH_EFFECT_THREADS ?? 50);
const WRITES = new Set(["putCheckpoint", "putWrites", "beginEffect", "finishEffect"]);
const READS = new Set(["getCheckpoint", "listCheckpoints", "listEffects"]);

/** Counts the backend's write and read calls (each write is one transaction). */
function counted(inner: CheckpointBackend) {
  const counts = { writes: 0, reads: 0, effects: 0 };
  const backend = new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      const name = String(property);
      return (...args: unknown[]) => {
        if (WRITES.has(name)) counts.writes++;
        if (READS.has(name)) counts.reads++;
        if (name === "beginEffect" || name === "finishEffect") counts.effects++;
        return value.apply(target, args);
      };
    },
  });
  return { backend, counts };
}

/** A 10-node linear graph; with `effects`, each node runs one effect of its own. */
function graph(backend: CheckpointBackend, effects: boolean) {
  const g = new StateGraph({ count: lastValue<number>(() => 0) });
  for (let i = 0; i < NODES; i++) {
    g.addNode(`n${i}`, async (s, ctx) => {
      if (effects) await ctx.effect("notify", { node: i, thread: ctx.threadId }, () => i);
      return { count: s.count + 1 };
    });
    g.addEdge(i === 0 ? START : `n${i - 1}`, `n${i}`);
  }
  return g.compile({ checkpointer: createCheckpointer(backend) });
}

async function measure(engine: string, open: () => CheckpointBackend): Promise<Row[]> {
  const result: Record<string, { ms: number; writes: number }> = {};
  let replayCalls = 0;
  for (const effects of [false, true]) {
    const { backend, counts } = counted(open());
    const app = graph(backend, effects);
    let round = 0;
    const ms = await timeMs(async () => {
      round++;
      for (let t = 0; t < THREADS; t++) await app.invoke({}, { threadId: `r${round}-t${t}` });
    });
    const steps = round * THREADS * NODES;
    result[String(effects)] = { ms: ms / (THREADS * NODES), writes: counts.writes / steps };
    if (effects) {
      // Replay a finished thread from its first checkpoint: every effect is found, none runs.
      let first: string | undefined;
      for await (const s of app.getStateHistory({ threadId: "r1-t0" })) first = s.checkpointId;
      const before = { ...counts };
      await app.invoke(null, { threadId: "r1-t0", checkpointId: first! });
      replayCalls = (counts.effects - before.effects) / NODES;
    }
    await app.checkpointer.close();
  }
  const plain = result.false!;
  const withEffect = result.true!;
  return [
    {
      metric: `${engine}: ms per super-step, one effect vs none`,
      rewind: withEffect.ms,
      reference: plain.ms,
      unit: "ms",
      target: "report",
    },
    {
      metric: `${engine}: extra transactions per effect`,
      rewind: withEffect.writes - plain.writes,
      reference: 1,
      unit: "n",
      target: "<= 1 (target)",
    },
    {
      metric: `${engine}: ledger calls per effect found on replay`,
      rewind: replayCalls,
      reference: 1,
      unit: "n",
      target: "0 beyond the checkpoint read (target)",
    },
  ];
}

export async function effectCost(): Promise<Row[]> {
  const rows: Row[] = [];
  const tmp = tempDb("effects.sqlite");
  let n = 0;
  rows.push(...(await measure("SQLite full", () => new SqliteBackend(`${tmp.path}.${n++}`))));
  tmp.done();
  const schemas: string[] = [];
  try {
    rows.push(
      ...(await measure("PostgreSQL", () => {
        const schema = `rewind_bench_${randomBytes(5).toString("hex")}`;
        schemas.push(schema);
        return new PostgresBackend(PG_URL, { schema });
      })),
    );
  } finally {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    for (const s of schemas) await admin.query(`DROP SCHEMA IF EXISTS "${s}" CASCADE`);
    await admin.end();
  }
  return rows;
}
