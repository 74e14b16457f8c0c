/**
 * A worker process for the tests: `node --import tsx worker-process.ts <url> <schema> <ttlMs>
 * [audit]`. Registers the turn graph (with `audit`, counting its executions and delivering its
 * effect: chaos-audit.ts), stops gracefully on SIGTERM, prints "ready" once it claims jobs.
 */
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { createWorker } from "../../src/worker/index.js";
import { createAudit } from "./chaos-audit.js";
import { turnGraph } from "./worker-graph.js";

const [url, schema, ttl, audit] = process.argv.slice(2) as [string, string, string, string?];
const checkpointer = createPostgresCheckpointer(url, { schema });
await createWorker({
  database: url,
  schema: `${schema}_queue`,
  graphs: { turns: turnGraph(checkpointer, audit ? createAudit(url) : undefined) },
  leaseTtlMs: Number(ttl),
  recoveryIntervalMs: 250,
  pollIntervalMs: 500,
  handleSignals: true,
});
process.stdout.write("ready\n");
