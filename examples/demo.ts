/**
 * `npm run demo [-- path/to/db.sqlite]`: why Rewind exists, in four parts, on one SQLite file.
 * A travel-booking agent (1) remembers a thread across turns, (2) pauses for a human before
 * booking, (3) survives a worker process killed with SIGKILL mid-run without repeating the
 * tool call that had finished, and (4) travels back in time to fork the trip to Osaka.
 * Scripted model by default; a real one with OPENAI_API_KEY or OPENAI_BASE_URL.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { createSqliteCheckpointer } from "../src/backends/sqlite/index.js";
import { Command, renderLineage, type StateSnapshot, userMessage } from "../src/index.js";
import {
  type AgentState,
  callText,
  describeCheckpoint,
  header,
  out,
  short,
  turn,
} from "./demo-output.js";
import { createTravelAgent, modelFromEnv, readLedger } from "./travel-agent.js";

const startedAt = Date.now();
const tempDir = process.argv[2] ? undefined : mkdtempSync(join(tmpdir(), "rewind-demo-"));
const dbPath = process.argv[2] ? resolve(process.argv[2]) : join(tempDir!, "travel.sqlite");
const ledger = `${dbPath}.ledger.jsonl`;
const runId = Date.now().toString(36);
const trip = `trip-${runId}`;
const errand = `errand-${runId}`;
const realModel = modelFromEnv() !== undefined;

const failures: string[] = [];
/** Prints a claim and whether it held. Claims about what a real model says only warn. */
function check(ok: boolean, claim: string, aboutModel = false): void {
  out(`  ${ok ? "✓" : aboutModel && realModel ? "!" : "✗"} ${claim}`);
  if (!ok && !(aboutModel && realModel)) failures.push(claim);
}
const user = (text: string) => {
  out(`  user    › ${text}`);
  return { messages: [userMessage(text)] };
};

const checkpointer = createSqliteCheckpointer(dbPath);
const agent = createTravelAgent({ checkpointer, ledger, script: "trip" });

out("Rewind demo: a travel-booking agent whose every step is checkpointed to SQLite");
out(`  database: ${dbPath}`);
out(
  `  model:    ${realModel ? `OpenAI-compatible (${process.env.OPENAI_MODEL ?? "gpt-4o-mini"})` : "scripted (set OPENAI_API_KEY or OPENAI_BASE_URL for a real one)"}`,
);

// ---------------------------------------------------------------------------------------------
header("1. Memory: a second turn on the same thread depends on the first");
await turn(agent, user("Hi! I'm Ada. Find me a flight to Tokyo."), { threadId: trip });
const before = (await agent.getState({ threadId: trip }))!;
out(`  (turn 1 ended; thread "${trip}" holds ${before.values.messages.length} messages)`);
const second = await turn(agent, user("Which flight was the cheapest, and what's my name?"), {
  threadId: trip,
});
const answer = second.values.messages.at(-1)?.content ?? "";
check(
  second.values.messages.length === before.values.messages.length + 2,
  `turn 2 continued from the checkpoint turn 1 left (${before.values.messages.length} messages loaded, 2 added)`,
);
check(
  /Ada/.test(answer) && /NH212/.test(answer),
  "the answer used what only turn 1 knew: the name and the flight",
  true,
);

// ---------------------------------------------------------------------------------------------
header("2. Human in the loop: book_flight needs approval before it runs");
const paused = await turn(agent, user("Book it, please."), { threadId: trip });
if (paused.status === "interrupted") {
  const request = paused.interrupts[0]!.value as {
    toolCall: { name: string; args: Record<string, unknown> };
  };
  out(`  ⏸ paused before ${callText(request.toolCall.name, request.toolCall.args)}`);
  out("    the pause is itself a checkpoint on disk: this process could exit");
  out("    and a resume days later, from any process, would continue from here");
  check(
    !readLedger(ledger).some((e) => e.tool === "book_flight"),
    "nothing was booked before a human decided",
  );
  out(`  human   › approve`);
  const booked = await turn(agent, Command.resume({ decision: "approve" }), { threadId: trip });
  const bookings = readLedger(ledger).filter((e) => e.tool === "book_flight" && e.event === "done");
  check(
    booked.status === "done" && bookings.length === 1,
    "after approval the flight was booked exactly once",
  );
} else {
  check(
    false,
    "the model asked to book the flight (it did not, so there was nothing to approve)",
    true,
  );
}

// ---------------------------------------------------------------------------------------------
header("3. Crash recovery: a worker process is killed with SIGKILL in the middle of a run");
const WORKER = fileURLToPath(new URL("./demo-worker.ts", import.meta.url));
const TSX = import.meta.resolve("tsx");

interface WorkerExit {
  pid: number;
  signal: NodeJS.Signals | null;
  code: number | null;
  lines: string[];
  stderr: string;
}
function worker(mode: "start" | "resume", onLine: (line: string, kill: () => void) => void) {
  return new Promise<WorkerExit>((done, fail) => {
    const child = spawn(process.execPath, ["--import", TSX, WORKER, dbPath, ledger, errand, mode], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    const lines: string[] = [];
    let stderr = "";
    let buffered = "";
    const kill = () => child.kill("SIGKILL");
    const guard = setTimeout(kill, 30_000);
    child.stdout.on("data", (chunk) => {
      buffered += chunk;
      for (let at = buffered.indexOf("\n"); at >= 0; at = buffered.indexOf("\n")) {
        const line = buffered.slice(0, at);
        buffered = buffered.slice(at + 1);
        lines.push(line);
        onLine(line, kill);
      }
    });
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", fail);
    child.on("close", (code, signal) => {
      clearTimeout(guard);
      done({ pid: child.pid!, signal, code, lines, stderr });
    });
  });
}

out(
  `  user    › Hold seat 14A on NH212 and reserve a hotel in Tokyo for 3 nights.   (thread "${errand}")`,
);
let killedDuring: string | undefined;
const first = await worker("start", (line, kill) => {
  const tool = /^TOOL_STARTED (\w+)/.exec(line)?.[1];
  if (!tool) return;
  out(`  worker  · ${tool} started`);
  if (tool === "reserve_hotel") {
    killedDuring = tool;
    out("  demo    · reserve_hotel is slow: kill -9 the worker now");
    kill();
  }
});
if (first.signal === "SIGKILL" && killedDuring) {
  out(`  worker pid ${first.pid} died (SIGKILL) while reserve_hotel was running`);
  const crashed = (await agent.getState({ threadId: errand }))!;
  out(`  last checkpoint on disk: ${describeCheckpoint(crashed)}`);
  out("  a new process resumes the thread with invoke(null, { threadId }); the dead worker's");
  out("  lease on the thread is taken over at once, since its process is provably gone:");
  const second = await worker("resume", (line) => {
    const tool = /^TOOL_STARTED (\w+)/.exec(line)?.[1];
    if (tool) out(`  worker  · ${tool} started`);
  });
  const result = second.lines.find((l) => l.startsWith("RESULT "));
  if (!result)
    throw new Error(`the resuming worker failed (code ${second.code}):\n${second.stderr}`);
  out(`  agent   › ${JSON.parse(result.slice(7)).last}`);
  out("  the side-effect ledger (what the tools did, keyed by ctx.idempotencyKey):");
  const entries = readLedger(ledger).filter((e) => e.key.startsWith(`${errand}/`));
  for (const e of entries) {
    const who =
      e.pid === first.pid
        ? "killed worker"
        : e.pid === second.pid
          ? "resumed worker"
          : `pid ${e.pid}`;
    out(`    ${e.tool.padEnd(14)} ${e.event.padEnd(6)} key …${e.key.slice(-22)}  (${who})`);
  }
  // From the ledger alone: calls the killed worker finished, and calls it was cut off in.
  const byKilled = entries.filter((e) => e.pid === first.pid);
  const finished = byKilled.filter((e) => e.event === "done");
  const cutOff = byKilled.filter(
    (e) => e.event === "start" && !finished.some((f) => f.callId === e.callId),
  );
  const names = (list: typeof entries) => [...new Set(list.map((e) => e.tool))].join(", ");
  // The same call in the resumed worker, whatever key it would use.
  const rerun = (of: (typeof entries)[number], event: string) =>
    entries.filter((e) => e.callId === of.callId && e.pid === second.pid && e.event === event);
  check(
    finished.length > 0 && finished.every((f) => rerun(f, "start").length === 0),
    `${names(finished) || "no tool"} had finished before the crash and was not run again after it`,
    finished.length === 0,
  );
  check(
    cutOff.length > 0 &&
      cutOff.every(
        (c) => rerun(c, "done").length === 1 && rerun(c, "start").every((e) => e.key === c.key),
      ),
    `${names(cutOff) || "the call running at the crash"}, cut off by the crash, ran again under the same idempotency key and finished once`,
  );
} else {
  const reason = first.signal ? `died with ${first.signal}` : `exited with code ${first.code}`;
  check(
    false,
    `the worker was killed during reserve_hotel (it ${reason}): ${short(first.stderr, 200)}`,
    !first.stderr,
  );
}

// ---------------------------------------------------------------------------------------------
header('4. Time travel: the history, a fork "change it to Osaka", and the branch tree');
const history: StateSnapshot<AgentState>[] = [];
for await (const s of agent.getStateHistory({ threadId: trip }))
  history.push(s as StateSnapshot<AgentState>);
out(`  history of "${trip}", newest first (${history.length} checkpoints):`);
// Checkpoints are numbered in the order they were written, from #1.
const ordinal = new Map(history.map((s, i) => [s.checkpointId, history.length - i]));
for (const s of history) {
  out(
    `    #${String(ordinal.get(s.checkpointId)).padEnd(3)} ${String(s.metadata.source).padEnd(5)}  ${describeCheckpoint(s)}`,
  );
}
const origin = history.at(-1)!;
const oldHead = history[0]!;
const firstMessage = origin.values.messages[0]!;
const osaka = firstMessage.content.replace(/Tokyo/g, "Osaka");
out(`  fork from the first checkpoint (#1), editing its message: "change it to Osaka"`);
out(`  user    › ${osaka}`);
await agent.fork(
  { threadId: trip, checkpointId: origin.checkpointId },
  { messages: [userMessage(osaka, { id: firstMessage.id })] },
);
const forked = await turn(agent, null, { threadId: trip });
const reply = forked.values.messages.at(-1)?.content ?? "";
check(
  /Osaka/.test(reply) && /KX71/.test(reply),
  "the fork ran on the edited state and found Osaka flights",
  true,
);
const original = (await agent.getState({ threadId: trip, checkpointId: oldHead.checkpointId }))!;
check(
  /CONF-NH212/.test(original.values.messages.at(-1)?.content ?? ""),
  "the original Tokyo branch, booking included, is untouched",
  true,
);
const labels = new Map<string, string>();
const written: string[] = [];
for await (const s of agent.getStateHistory({ threadId: trip })) {
  labels.set(s.checkpointId, describeCheckpoint(s as StateSnapshot<AgentState>));
  written.unshift(s.checkpointId);
}
const lineage = await agent.getLineage({ threadId: trip });
out("  branch tree:");
const tree = renderLineage(
  lineage,
  (n) => `#${written.indexOf(n.checkpointId) + 1} ${n.source}: ${labels.get(n.checkpointId)}`,
);
for (const line of tree.split("\n")) out(`    ${line}`);
check(
  lineage.branches.length === 2 && lineage.forkPoints.includes(origin.checkpointId),
  "two branches from one fork point, the fork being the current head",
);

// ---------------------------------------------------------------------------------------------
await checkpointer.close();
if (tempDir) rmSync(tempDir, { recursive: true, force: true });
out();
if (failures.length > 0) {
  out(`✗ ${failures.length} claim(s) did not hold:`);
  for (const f of failures) out(`  - ${f}`);
  process.exit(1);
}
out(`✓ All four parts ran in ${((Date.now() - startedAt) / 1000).toFixed(1)} s.`);
if (tempDir) out("  (pass a path to keep the database: npm run demo -- travel.sqlite)");
