/**
 * A long-lived worker process for the multi-process race tests. It reads one JSON command per
 * line on stdin and answers one JSON line per command on stdout:
 *   {"op":"invoke","trial":1,"threadId":"race-1","onBusy":"reject","input":"w0"}
 *   {"op":"hold","threadId":"t","leaseTtlMs":500}  (starts a run that never ends: kill me)
 * Usage: race-worker sqlite <file> | race-worker postgres <url> <schema>
 */
import { createInterface } from "node:readline";
import {
  appendChannel,
  type Checkpointer,
  isRewindError,
  START,
  StateGraph,
} from "../../src/index.js";

const [kind, target, schema] = process.argv.slice(2);

async function open(): Promise<Checkpointer> {
  if (kind === "sqlite") {
    const { createSqliteCheckpointer } = await import("../../src/storage/sqlite/index.js");
    return createSqliteCheckpointer(target!);
  }
  const { createPostgresCheckpointer } = await import("../../src/storage/postgres/index.js");
  return createPostgresCheckpointer(target!, { schema: schema! });
}

const checkpointer = await open();
let holdForever = false;
let delayMs = 3;
const app = new StateGraph({ log: appendChannel<string>() })
  .addNode("think", async (s) => {
    if (holdForever) {
      // The run holds the thread's lease now: tell the parent, then never finish.
      process.stdout.write(`${JSON.stringify({ op: "holding" })}\n`);
      await new Promise(() => undefined);
    }
    // Widen the race window: the run holds the thread for a while.
    await new Promise((resolve) => setTimeout(resolve, delayMs));
    return { log: `reply:${s.log.at(-1)}` };
  })
  .addEdge(START, "think")
  .compile({ checkpointer });

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
  const cmd = JSON.parse(line);
  if (cmd.op === "hold") {
    holdForever = true;
    void app.invoke(
      { log: cmd.input ?? "holder" },
      { threadId: cmd.threadId, leaseTtlMs: cmd.leaseTtlMs, onBusy: "enqueue" },
    );
    continue;
  }
  if (cmd.op === "exit") break;
  delayMs = cmd.delayMs ?? 3;
  try {
    const result = await app.invoke(
      { log: cmd.input },
      {
        threadId: cmd.threadId,
        onBusy: cmd.onBusy,
        leaseTtlMs: cmd.leaseTtlMs,
        busyTimeoutMs: 60_000,
      },
    );
    process.stdout.write(
      `${JSON.stringify({ trial: cmd.trial, ok: true, log: result.values.log })}\n`,
    );
  } catch (error) {
    const code = isRewindError(error) ? error.code : String(error);
    process.stdout.write(`${JSON.stringify({ trial: cmd.trial, ok: false, code })}\n`);
  }
}
await checkpointer.close();
process.exit(0);
