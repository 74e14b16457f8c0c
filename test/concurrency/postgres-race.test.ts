import { describe } from "vitest";
import { freshSchema, PG_URL } from "../support/postgres.js";
import { raceCases } from "./race-cases.js";

const schema = freshSchema("rewind_race");

describe("racing processes on one PostgreSQL database", () => {
  raceCases(() => ["postgres", PG_URL, schema]);
});
