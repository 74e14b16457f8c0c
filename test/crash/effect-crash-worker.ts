/**
 * A child process of the effect crash suite: drives a graph whose nodes run effects (a charge, a
 * hotel and a car booking, an email) to its end on SQLite or PostgreSQL, and kills itself with
 * SIGKILL at the n-th event. Events are the durable ledger and checkpoint writes (before and
 * after each) and the effect functions' own steps. The "remote system" the effects call is a
 * side file: `start <name> <key> <event>` when a call begins, `finish <name> <key>` when it completes;
 * the worker adds `outcome <name>` once an outcome is durably recorded. A resumed worker answers
 * an `ask` effect the way a human would: it checks the remote system.
 * Usage: effect-crash-worker <sqlite|postgres> <db-path-or-url> <schema> <side-file> [<kill-at>] [<charge-policy>]
 */
import { appendFileSync, readFileSync } from "node:fs";
import type { CheckpointBackend } from "../../src/backend.js";
import { PostgresBackend } from "../../src/backends/postgres/index.js";
import { SqliteBackend } from "../../src/backends/sqlite/index.js";
import {
  appendChannel,
  type Checkpointer,
  Command,
  createCheckpointer,
  type EffectPolicy,
  type EffectQuestion,
  type EffectResolution,
  END,
  lastValue,
  reconcile,
  START,
  StateGraph,
} from "../../src/index.js";

const [engine, target, schema, sideFile, killAt, chargePolicy] = process.argv.slice(2);
const atEvent = killAt ? Number(killAt) : 0;
let events = 0;

function event(): void {
  events++;
  if (events === atEvent) process.kill(process.pid, "SIGKILL");
}
const note = (line: string) => appendFileSync(sideFile!, `${line}\n`);

/** The remote system's view of a call: done (with the result it gave) or never completed. */
function remoteOutcome(name: string, key: string): EffectResolution {
  const finished = readFileSync(sideFile!, "utf8")
    .split("\n")
    .some((l) => l === `finish ${name} ${key}`);
  return finished ? { status: "done", result: RESULTS[name] } : { status: "not-run" };
}

const RESULTS: Record<string, string> = {
  charge: "receipt-42",
  hotel: "hotel-7",
  car: "car-3",
  email: "sent",
};

/** Calls the remote system: two steps a kill can fall between. */
async function remote(name: string, key: string): Promise<string> {
  event();
  note(`start ${name} ${key} ${events}`);
  event();
  note(`finish ${name} ${key}`);
  event();
  return RESULTS[name]!;
}

/** The backend with an event before and after each durable write, and outcomes noted. */
function observed(inner: CheckpointBackend): CheckpointBackend {
  const writes = new Set(["putCheckpoint", "putWrites", "beginEffect", "finishEffect"]);
  return new Proxy(inner, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || !writes.has(String(property))) {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (...args: unknown[]) => {
        event();
        const result = await value.apply(target, args);
        if (property === "finishEffect" && result?.recorded) note(`outcome ${result.effect.name}`);
        event();
        return result;
      };
    },
  });
}

function openCheckpointer(): Checkpointer {
  const backend =
    engine === "postgres"
      ? new PostgresBackend(target!, { schema: schema! })
      : new SqliteBackend(target!);
  return createCheckpointer(observed(backend));
}

const checkRemote = (name: string) => reconcile((effect) => remoteOutcome(name, effect.key));
const policy = (chargePolicy ?? "ask") as EffectPolicy;

const checkpointer = openCheckpointer();
const app = new StateGraph({
  receipt: lastValue<string>(),
  trip: lastValue<string>(),
  emailed: lastValue<string>(),
  log: appendChannel<string>(),
})
  .addNode("plan", () => ({ log: ["plan"] }))
  .addNode("pay", async (_s, ctx) => ({
    receipt: await ctx.effect("charge", { amount: 42 }, ({ key }) => remote("charge", key), policy),
  }))
  .addNode("book", async (_s, ctx) => {
    const hotel = await ctx.effect(
      "hotel",
      { nights: 3 },
      ({ key }) => remote("hotel", key),
      "retry",
    );
    const car = await ctx.effect(
      "car",
      { days: 3 },
      ({ key }) => remote("car", key),
      checkRemote("car"),
    );
    return { trip: `${hotel}+${car}` };
  })
  .addNode("notify", async (_s, ctx) => ({
    emailed: await ctx.effect("email", { to: "ada" }, ({ key }) => remote("email", key), "retry"),
  }))
  .addNode("after", () => ({ log: ["after"] }))
  .addEdge(START, "plan")
  .addEdge("plan", "pay")
  .addEdge("pay", "book")
  .addEdge("book", "notify")
  .addEdge("notify", "after")
  .addEdge("after", END)
  .compile({ checkpointer });

const threadId = "effects";
try {
  for (;;) {
    const state = await app.getState({ threadId });
    if (!state) await app.invoke({ log: ["input"] }, { threadId });
    else if (state.interrupts.length > 0) {
      // A human checks the remote system for each effect cut off mid-call.
      const answers = Object.fromEntries(
        state.interrupts.map((i) => {
          const q = i.value as EffectQuestion;
          return [i.id, remoteOutcome(q.name, q.key)];
        }),
      );
      await app.invoke(Command.resume(answers), { threadId });
    } else if (state.next.length > 0) await app.invoke(null, { threadId });
    else break;
  }
  const final = await app.getState({ threadId });
  process.stdout.write(`DONE ${events} ${JSON.stringify(final?.values)}\n`);
} catch (thrown) {
  // A node's failure carries what the node threw as its cause.
  const error = (
    (thrown as { code?: string }).code === "NODE_FAILED" ? (thrown as Error).cause : thrown
  ) as Error & { code?: string };
  process.stdout.write(`ERROR ${error.code ?? ""} ${error.message}\n`);
} finally {
  await checkpointer.close();
}
