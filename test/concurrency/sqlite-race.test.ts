import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe } from "vitest";
import { raceCases } from "./race-cases.js";
import { rollbackCases } from "./rollback-cases.js";

const dir = mkdtempSync(join(tmpdir(), "rewind-race-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe("racing processes on one SQLite file", () => {
  raceCases(() => ["sqlite", join(dir, "race.sqlite")]);
  rollbackCases(() => ["sqlite", join(dir, "race.sqlite")]);
});
