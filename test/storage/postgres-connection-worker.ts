/**
 * A separate OS process for the PostgreSQL connection tests, so that a crash of the process is
 * seen as a crash (exit code, stderr) and not as the test runner dying. Prints one JSON line.
 *
 *   dropped <url> <schema>: a checkpointer and a store opened from the URL do work, their server
 *     connections are killed from another connection, the process sits a while, then both work
 *     again. Prints what the second round gave.
 *   idle <url> <schema>: does work and, without close(), reports the sockets still holding the
 *     process open once the work is done.
 */
import pg from "pg";
import {
  createPostgresCheckpointer,
  createPostgresStore,
} from "../../src/backends/postgres/index.js";
import { lastValue, START, StateGraph } from "../../src/index.js";

const [mode, baseUrl, schema] = process.argv.slice(2) as [string, string, string];
const appName = `rewind_conn_${process.pid}`;
const url = `${baseUrl}${baseUrl.includes("?") ? "&" : "?"}application_name=${appName}`;

function graph(checkpointer: ReturnType<typeof createPostgresCheckpointer>) {
  return new StateGraph({ n: lastValue<number>() })
    .addNode("inc", (s) => ({ n: (s.n ?? 0) + 1 }))
    .addEdge(START, "inc")
    .compile({ checkpointer });
}

async function round(
  app: ReturnType<typeof graph>,
  store: ReturnType<typeof createPostgresStore>,
  threadId: string,
) {
  const out = { graph: "", store: "" };
  try {
    out.graph = `n=${(await app.invoke({}, { threadId })).values.n}`;
  } catch (error) {
    out.graph = `error ${(error as { code?: string }).code ?? (error as Error).name}`;
  }
  try {
    await store.forTenant("acme").put(["n"], threadId, { at: threadId });
    out.store = `ok ${(await store.forTenant("acme").get<{ at: string }>(["n"], threadId))?.value.at}`;
  } catch (error) {
    out.store = `error ${(error as { code?: string }).code ?? (error as Error).name}`;
  }
  return out;
}

let reported = 0;
const onConnectionError = () => {
  reported++;
};
const checkpointer = createPostgresCheckpointer(url, {
  schema,
  maxConnections: 3,
  onConnectionError,
});
const store = createPostgresStore(url, { schema, maxConnections: 3, onConnectionError });
const app = graph(checkpointer);

if (mode === "dropped") {
  const first = await round(app, store, "t1");
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  const killed = await admin.query(
    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
    [appName],
  );
  // Wait (bounded by count) until the server has really ended those sessions...
  for (let i = 0; i < 200; i++) {
    const { rows } = await admin.query(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE application_name = $1",
      [appName],
    );
    if (rows[0].n === 0) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await admin.end();
  // ...then let the process sit while their goodbye reaches the idle connections' sockets.
  for (let i = 0; i < 10; i++) await new Promise((resolve) => setTimeout(resolve, 100));
  const second = await round(app, store, "t1");
  await checkpointer.close();
  await store.close();
  console.log(JSON.stringify({ first, killed: killed.rowCount, reported, second }));
} else if (mode === "idle") {
  const first = await round(app, store, "t1");
  await new Promise((resolve) => setImmediate(resolve));
  const sockets = process.getActiveResourcesInfo().filter((r) => r === "TCPSocketWrap").length;
  console.log(JSON.stringify({ first, sockets }));
  // No close(): the process must be free to exit by itself.
}
