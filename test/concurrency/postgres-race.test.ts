import { describe } from "vitest";
import { freshSchema, PG_SERIAL_ONLY, PG_URL } from "../support/postgres.js";
import { raceCases } from "./race-cases.js";
import { rollbackCases } from "./rollback-cases.js";

// On the embedded PGlite fallback every connection runs one at a time, so a race there proves
// nothing about the database; the suite is skipped with the fallback's reason.
describe.skipIf(PG_SERIAL_ONLY !== "")(
  `racing processes on one PostgreSQL database${PG_SERIAL_ONLY ? ` (skipped: ${PG_SERIAL_ONLY})` : ""}`,
  () => {
    const schema = freshSchema("rewind_race");
    raceCases(() => ["postgres", PG_URL, schema]);
    rollbackCases(() => ["postgres", PG_URL, schema]);
  },
);
