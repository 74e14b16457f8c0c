import "./vitest-globals.js";
import { randomBytes } from "node:crypto";
import { deltaChannelHistoryTests, validate } from "@langchain/langgraph-checkpoint-validation";
import pg from "pg";
import { RewindSaver } from "../../src/langgraph/index.js";
import { PostgresBackend } from "../../src/storage/postgres/index.js";
import { PG_URL } from "../support/postgres.js";

// One schema per checkpointer (the suite's list tests count rows across all threads), dropped
// when the suite is done with it.
const pool = new pg.Pool({ connectionString: PG_URL, max: 4 });
const schemas = new WeakMap<RewindSaver, string>();

const initializer = {
  checkpointerName: "rewind-postgres",
  beforeAllTimeout: 30_000,
  createCheckpointer: () => {
    const schema = `rewind_lg_${randomBytes(6).toString("hex")}`;
    const saver = new RewindSaver(new PostgresBackend(pool, { schema }));
    schemas.set(saver, schema);
    return saver;
  },
  destroyCheckpointer: async (saver: RewindSaver) => {
    await saver.close();
    await pool.query(`DROP SCHEMA IF EXISTS "${schemas.get(saver)}" CASCADE`);
  },
  afterAll: () => pool.end(),
};

validate(initializer);
deltaChannelHistoryTests(initializer);
