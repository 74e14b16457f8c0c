/**
 * PostgreSQL connections seen from outside: a dropped connection never crashes the host
 * process, a server that never answers ends in a named error, a wrong target is named, and idle
 * pools do not hold the process open.
 */
import { createServer, type Server, type Socket } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  createPostgresCheckpointer,
  createPostgresStore,
  PostgresBackend,
} from "../../src/backends/postgres/index.js";
import { ClosedError, lastValue, START, StateGraph } from "../../src/index.js";
import { freshSchema, PG_URL, requireConcurrentSessions } from "../support/postgres.js";
import { runWorker } from "../support/process.js";

const WORKER = join(dirname(fileURLToPath(import.meta.url)), "postgres-connection-worker.ts");

const worker = (...args: string[]) => runWorker(WORKER, ...args);

function counter(checkpointer: ReturnType<typeof createPostgresCheckpointer>) {
  return new StateGraph({ n: lastValue<number>() })
    .addNode("inc", (s) => ({ n: (s.n ?? 0) + 1 }))
    .addEdge(START, "inc")
    .compile({ checkpointer });
}

/** A URL like the test server's, with another user, database, host or port. */
function variant(change: (url: URL) => void): string {
  const url = new URL(PG_URL);
  change(url);
  return url.toString();
}

describe("PostgreSQL connections Rewind opens from a URL", () => {
  it("survive the server dropping them: the process lives and the next calls work", async (ctx) => {
    requireConcurrentSessions(ctx);
    const { code, stderr, result } = await worker("dropped", PG_URL, freshSchema());
    expect(stderr).not.toMatch(/terminating connection|Error/);
    expect(code).toBe(0);
    expect(result.first).toEqual({ graph: "n=1", store: "ok t1" });
    expect(result.killed).toBeGreaterThan(0);
    // Each dropped idle connection was reported to onConnectionError, not thrown.
    expect(result.reported).toBeGreaterThan(0);
    expect(result.second).toEqual({ graph: "n=2", store: "ok t1" });
  });

  it("do not hold the process open once the work is done, even without close()", async (ctx) => {
    requireConcurrentSessions(ctx);
    const { code, result } = await worker("idle", PG_URL, freshSchema());
    expect(code).toBe(0);
    expect(result.first).toEqual({ graph: "n=1", store: "ok t1" });
    expect(result.sockets).toBe(0);
  });
});

describe("a server that accepts connections and never answers", () => {
  let server: Server;
  let port = 0;
  const sockets = new Set<Socket>();
  beforeAll(async () => {
    server = createServer((socket) => {
      sockets.add(socket);
      socket.on("close", () => sockets.delete(socket));
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    port = (server.address() as { port: number }).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  const silent = () => `postgres://rewind:secret-pw@127.0.0.1:${port}/agents`;

  it("ends the first invoke in a ConnectionError after connectTimeoutMs", async () => {
    const checkpointer = createPostgresCheckpointer(silent(), { connectTimeoutMs: 300 });
    const error = await counter(checkpointer)
      .invoke({}, { threadId: "t" })
      .catch((e: unknown) => e);
    await checkpointer.close();
    expect(error).toMatchObject({ name: "ConnectionError", code: "CONNECTION" });
    expect((error as Error).message).toContain("rewind@127.0.0.1");
    expect((error as Error).message).toContain("300 ms");
    expect((error as Error).message).not.toContain("secret-pw");
    expect((error as Error).cause).toBeInstanceOf(Error);
  });

  it("honours the URL's connect_timeout (seconds), for the store too", async () => {
    const store = createPostgresStore(`${silent()}?connect_timeout=1`);
    const error = await store
      .forTenant("acme")
      .get(["n"], "k")
      .catch((e: unknown) => e);
    await store.close();
    expect(error).toMatchObject({ code: "CONNECTION" });
    expect((error as Error).message).toContain("1000 ms");
  });
});

describe("a query the server does not finish", () => {
  it("ends in a TimeoutError after queryTimeoutMs, and the next call works", async (ctx) => {
    requireConcurrentSessions(ctx);
    const schema = freshSchema();
    // The schema and the thread are made without the limit: on a loaded machine a migration
    // may itself take longer than a short one. Only the blocked query must reach it.
    const first = createPostgresCheckpointer(PG_URL, { schema });
    await counter(first).invoke({}, { threadId: "t" });
    await first.close();
    const checkpointer = createPostgresCheckpointer(PG_URL, { schema, queryTimeoutMs: 2000 });
    await checkpointer.ready();
    const app = counter(checkpointer);
    const pg = (await import("pg")).default;
    const locker = new pg.Client({ connectionString: PG_URL });
    await locker.connect();
    try {
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE "${schema}".rewind_threads IN ACCESS EXCLUSIVE MODE`);
      const error = await app.invoke({}, { threadId: "t" }).catch((e: unknown) => e);
      expect(error).toMatchObject({ name: "TimeoutError", code: "TIMEOUT" });
      expect((error as Error).message).toContain("2000 ms");
    } finally {
      await locker.query("ROLLBACK");
      await locker.end();
    }
    expect((await app.invoke({}, { threadId: "t" })).values.n).toBe(2);
    await checkpointer.close();
  });
});

describe("a wrong PostgreSQL target is a named error", () => {
  const cases: [string, (url: URL) => void][] = [
    ["a port nobody listens on", (u) => (u.port = "1")],
    ["a host that does not resolve", (u) => (u.hostname = "no-such-host.invalid")],
    ["a role that does not exist", (u) => (u.username = "rewind_no_such_role")],
    ["a database that does not exist", (u) => (u.pathname = "/rewind_no_such_db")],
  ];
  for (const [what, change] of cases) {
    it(`${what}: ConnectionError naming the target, never the password`, async () => {
      const url = variant((u) => {
        change(u);
        u.password = "pw-never-shown";
      });
      const checkpointer = createPostgresCheckpointer(url, { connectTimeoutMs: 5000 });
      const store = createPostgresStore(url, { connectTimeoutMs: 5000 });
      const [a, b] = await Promise.all([
        checkpointer.ready().catch((e: unknown) => e),
        store.ready().catch((e: unknown) => e),
      ]);
      await Promise.all([checkpointer.close(), store.close()]);
      const tried = new URL(url);
      for (const error of [a, b]) {
        expect(error).toMatchObject({ name: "ConnectionError", code: "CONNECTION" });
        const message = (error as Error).message;
        expect(message).toContain(
          `${tried.username}@${tried.hostname}:${tried.port}${tried.pathname}`,
        );
        expect(message).not.toContain("pw-never-shown");
        expect((error as Error).cause).toBeInstanceOf(Error);
      }
    });
  }
  it("a pool passed in is named by the settings it was made with, never the password", async () => {
    const url = variant((u) => {
      u.port = "1";
      u.password = "pw-never-shown";
    });
    for (const config of [
      { connectionString: url },
      { host: "127.0.0.1", port: 1, user: "someone", database: "db", password: "pw-never-shown" },
    ]) {
      const pool = new pg.Pool({ ...config, connectionTimeoutMillis: 5000 });
      pool.on("error", () => undefined);
      const checkpointer = createPostgresCheckpointer(pool as never);
      const error = await checkpointer.ready().catch((e: unknown) => e);
      await checkpointer.close();
      await pool.end();
      expect(error).toMatchObject({ name: "ConnectionError", code: "CONNECTION" });
      const message = (error as Error).message;
      const tried = new URL(url);
      const named =
        "connectionString" in config
          ? `${tried.username}@${tried.hostname}:1${tried.pathname}`
          : "someone@127.0.0.1:1/db";
      expect(message).toContain(`could not use PostgreSQL at ${named}:`);
      expect(message).not.toContain("pw-never-shown");
    }
  });
});

describe("a closed PostgreSQL backend", () => {
  it("refuses later calls with ClosedError instead of opening a pool nobody would end", async () => {
    const schema = freshSchema();
    const backend = new PostgresBackend(PG_URL, { schema, maxConnections: 2 });
    await backend.setup();
    await backend.close();
    // Before, the call found no pool and opened a new one, which nothing would end.
    await expect(backend.getCheckpoint("t", "")).rejects.toBeInstanceOf(ClosedError);
    await expect(backend.close()).resolves.toBeUndefined();
  });
});
