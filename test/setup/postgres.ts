/**
 * Vitest global setup: finds the PostgreSQL server the tests run on and hands its URL to every
 * test file (`inject("pgUrl")`, and `REWIND_TEST_PG_URL` for child processes).
 *
 * - `REWIND_TEST_PG_URL` set: that server, which must answer.
 * - otherwise the local server (`REWIND_TEST_PG_DEFAULT`, default postgres@127.0.0.1:5432).
 * - no server and `CI` unset: an embedded PGlite server on a free port, so `npm test` still runs
 *   the PostgreSQL suites on a machine without PostgreSQL. PGlite has one session that the socket
 *   server multiplexes, so tests that need truly concurrent sessions skip there, saying why.
 * - no server and `CI` set: the run fails; CI must test against a real server.
 */
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** URL of the PostgreSQL server the tests use. */
    pgUrl: string;
    /** Why truly concurrent PostgreSQL tests cannot run here; empty on a real server. */
    pgSerialOnly: string;
  }
}

const LOCAL_URL = "postgres://postgres@127.0.0.1:5432/postgres";

/** Set in the environment when the tests run on the embedded server (read by child processes too). */
export const SERIAL_ONLY_ENV = "REWIND_TEST_PG_SERIAL_ONLY";

const EMBEDDED_REASON =
  "no PostgreSQL server answered, so these tests run on embedded PGlite, whose single session " +
  "serializes every connection: truly concurrent sessions cannot be tested there " +
  "(set REWIND_TEST_PG_URL or start PostgreSQL to run them)";

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | void> {
  const explicit = process.env.REWIND_TEST_PG_URL;
  const url = explicit || process.env.REWIND_TEST_PG_DEFAULT || LOCAL_URL;
  const problem = await probe(url);
  if (problem === undefined) {
    publish(project, url, "");
    return;
  }
  const where = redact(url);
  if (problem.kind === "refused") {
    // A server that answers but refuses us is a configuration mistake, never a reason to fall back.
    throw new Error(
      `PostgreSQL at ${where} answered but refused the test connection: ${problem.message}`,
    );
  }
  if (explicit) {
    throw new Error(
      `REWIND_TEST_PG_URL points at ${where}, which does not answer (${problem.message}); ` +
        "start that server or unset REWIND_TEST_PG_URL to use the local or embedded one",
    );
  }
  if (isCi()) {
    throw new Error(
      `CI is set and no PostgreSQL server answers at ${where} (${problem.message}): CI must test ` +
        "against a real PostgreSQL, never the embedded fallback. Start it or set REWIND_TEST_PG_URL.",
    );
  }
  const { PGlite } = await import("@electric-sql/pglite");
  const { PGLiteSocketServer } = await import("@electric-sql/pglite-socket");
  const db = await PGlite.create();
  // Test files open several pools at once (the conformance suite alone holds a few connections).
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port: 0, maxConnections: 64 });
  await server.start();
  const embedded = `postgres://postgres@${server.getServerConn()}/postgres`;
  console.warn(`[rewind tests] ${EMBEDDED_REASON}; PGlite listens at ${embedded}`);
  publish(project, embedded, EMBEDDED_REASON);
  return async () => {
    await server.stop();
    await db.close();
  };
}

function publish(project: TestProject, url: string, serialOnly: string): void {
  project.provide("pgUrl", url);
  project.provide("pgSerialOnly", serialOnly);
  // Test workers and the processes tests spawn inherit the environment.
  process.env.REWIND_TEST_PG_URL = url;
  if (serialOnly) process.env[SERIAL_ONLY_ENV] = serialOnly;
  else delete process.env[SERIAL_ONLY_ENV];
}

interface Problem {
  /** `unreachable`: nothing answered; `refused`: a server answered with an error. */
  kind: "unreachable" | "refused";
  message: string;
}

async function probe(url: string): Promise<Problem | undefined> {
  const pg = await import("pg");
  const client = new pg.default.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  // An error after connecting (e.g. the server going away) must not crash the setup process.
  client.on("error", () => {});
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (error) {
    const e = error as Error & { code?: string };
    // A DatabaseError came from a server; anything else (ECONNREFUSED, a timeout) means none answered.
    const refused = error instanceof pg.default.DatabaseError;
    return { kind: refused ? "refused" : "unreachable", message: e.message || String(e.code) };
  } finally {
    await client.end().catch(() => {});
  }
}

function isCi(): boolean {
  const ci = process.env.CI;
  return ci !== undefined && ci !== "" && ci !== "0" && ci.toLowerCase() !== "false";
}

/** The URL without its password, for messages. */
function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = "***";
    return parsed.toString();
  } catch {
    return "(unparsable URL)";
  }
}
