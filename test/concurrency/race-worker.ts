/**
 * A long-lived worker process for the multi-process race tests. It reads one JSON command per
 * line on stdin and answers one JSON line per command on stdout:
 *   {"op":"invoke","trial":1,"threadId":"race-1","onBusy":"reject","input":"w0"}
 *   {"op":"invoke","threadId":"t","input":null}  (continues the thread from its head)
 *     optional: "delayMs" (how long the node works), "startDelayMs" (wait before invoking)
 *   {"op":"hold","threadId":"t"}  (starts a run that never ends, with default options: kill me)
 *   {"op":"read","threadId":"t"}  (the head's log)
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
    const { createSqliteCheckpointer } = await import("../../src/backends/sqlite/index.js");
    return createSqliteCheckpointer(target!);
  }
  const { createPostgresCheckpointer } = await import("../../src/backends/postgres/index.js");
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
    void app.invoke({ log: cmd.input ?? "holder" }, { threadId: cmd.threadId });
    continue;
  }
  if (cmd.op === "exit") break;
  if (cmd.op === "read") {
    const state = await app.getState({ threadId: cmd.threadId });
    process.stdout.write(`${JSON.stringify({ log: state?.values.log ?? [] })}\n`);
    continue;
  }
  delayMs = cmd.delayMs ?? 3;
  if (cmd.startDelayMs) await new Promise((resolve) => setTimeout(resolve, cmd.startDelayMs));
  try {
    const result = await app.invoke(cmd.input === null ? null : { log: cmd.input }, {
      threadId: cmd.threadId,
      onBusy: cmd.onBusy,
      ...(cmd.leaseTtlMs ? { leaseTtlMs: cmd.leaseTtlMs } : {}),
      enqueueTimeoutMs: 60_000,
    });
    process.stdout.write(
      `${JSON.stringify({ trial: cmd.trial, input: cmd.input, ok: true, log: result.values.log })}\n`,
    );
  } catch (error) {
    const code = isRewindError(error) ? error.code : String(error);
    process.stdout.write(
      `${JSON.stringify({ trial: cmd.trial, input: cmd.input, ok: false, code })}\n`,
    );
  }
}
await checkpointer.close();
process.exit(0);
