/**
 * `npm run demo [-- path/to/db.sqlite]`: why Rewind exists, in four parts, on one SQLite file.
 * A travel-booking agent (1) remembers a thread across turns, (2) pauses for a human before
 * booking, (3) survives a worker process killed with SIGKILL mid-run without repeating the
 * tool call that had finished, the call cut off mid-way settled by a human, and (4) travels back
 * in time to fork the trip to Osaka, reusing rather than repeating the booking it already made.
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
import { createTravelAgent, modelFromEnv } from "./travel-agent.js";

const startedAt = Date.now();
const tempDir = process.argv[2] ? undefined : mkdtempSync(join(tmpdir(), "rewind-demo-"));
const dbPath = process.argv[2] ? resolve(process.argv[2]) : join(tempDir!, "travel.sqlite");
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
const agent = createTravelAgent({ checkpointer, script: "trip" });
/** The thread's effect ledger: every side effect a tool ran, with its outcome. */
const effectsOf = (threadId: string, name?: string) =>
  agent
    .listEffects({ threadId })
    .then((all) => all.filter((e) => name === undefined || e.name === name));

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
    (await effectsOf(trip, "book_flight")).length === 0,
    "nothing was booked before a human decided (the effect ledger has no book_flight)",
  );
  out(`  human   › approve`);
  const booked = await turn(agent, Command.resume({ decision: "approve" }), { threadId: trip });
  const bookings = await effectsOf(trip, "book_flight");
  check(
    booked.status === "done" && bookings.length === 1 && bookings[0]!.status === "done",
    "after approval the flight was booked exactly once, its outcome in the effect ledger",
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
function worker(
  mode: "start" | "resume" | "answer",
  onLine: (line: string, kill: () => void) => void,
  answer?: unknown,
) {
  return new Promise<WorkerExit>((done, fail) => {
    const args = [WORKER, dbPath, errand, mode, ...(answer ? [JSON.stringify(answer)] : [])];
    const child = spawn(process.execPath, ["--import", TSX, ...args], {
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
/** The RESULT line a worker printed, parsed (or why there is none). */
function resultOf(exit: WorkerExit): { status: string; last: string; interrupts: unknown[] } {
  const line = exit.lines.find((l) => l.startsWith("RESULT "));
  if (!line) throw new Error(`a worker failed (code ${exit.code}):\n${exit.stderr}`);
  return JSON.parse(line.slice(7));
}
if (first.signal === "SIGKILL" && killedDuring) {
  out(`  worker pid ${first.pid} died (SIGKILL) while reserve_hotel was running`);
  const crashed = (await agent.getState({ threadId: errand }))!;
  out(`  last checkpoint on disk: ${describeCheckpoint(crashed)}`);
  out("  a new process resumes the thread with invoke(null, { threadId }); the dead worker's");
  out("  lease on the thread is taken over at once, since its process is provably gone:");
  const ran: string[] = first.lines.flatMap((l) => /^TOOL_STARTED (\w+)/.exec(l)?.[1] ?? []);
  const announce = (line: string) => {
    const tool = /^TOOL_STARTED (\w+)/.exec(line)?.[1];
    if (!tool) return;
    ran.push(tool);
    out(`  worker  · ${tool} started`);
  };
  const resumed = await worker("resume", announce);
  const paused = resultOf(resumed);
  const question = paused.interrupts[0] as
    | { type: string; name: string; args: unknown; attempt: number }
    | undefined;
  if (question?.type === "effect-outcome-unknown") {
    out(`  ⏸ ${callText(question.name, question.args as Record<string, unknown>)} was cut off`);
    out("    mid-call: its intent is in the effect ledger with no outcome, so Rewind does not");
    out('    guess. Its policy is "ask": a human checks with the hotel and answers.');
    out(
      '  human   › "no reservation arrived: it never ran"  → Command.resume({ status: "not-run" })',
    );
  }
  check(
    question?.type === "effect-outcome-unknown" && question.name === "reserve_hotel",
    "the cut-off reserve_hotel surfaced as an unknown outcome for a human, not a silent rerun",
  );
  const answered = await worker("answer", announce, { status: "not-run" });
  out(`  agent   › ${resultOf(answered).last}`);
  out("  the effect ledger of the thread (Rewind's, in the same SQLite file):");
  const ledger = await effectsOf(errand);
  for (const e of ledger) {
    out(
      `    ${e.name.padEnd(14)} ${e.status.padEnd(5)} attempt ${e.attempt}  key …${e.key.slice(-12)}  ${short(JSON.stringify(e.result ?? e.error ?? null), 48)}`,
    );
  }
  const count = (name: string) => ran.filter((t) => t === name).length;
  const held = ledger.find((e) => e.name === "hold_seat");
  const hotel = ledger.find((e) => e.name === "reserve_hotel");
  check(
    held?.status === "done" && count("hold_seat") === 1,
    "hold_seat had finished before the crash and was not run again after it",
  );
  check(
    hotel?.status === "done" && hotel.attempt === 2 && count("reserve_hotel") === 2,
    "reserve_hotel, cut off by the crash, ran again only once the human said so, and finished once",
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
const preview = await agent.previewFork({ threadId: trip, checkpointId: origin.checkpointId });
out(
  `  a fork from #1 would reuse, not repeat: ${preview.reused.map((e) => `${e.name} (${short(JSON.stringify(e.result), 40)})`).join(", ") || "nothing"}`,
);
check(
  preview.reused.some((e) => e.name === "book_flight"),
  "before forking, Rewind says which recorded effects a fork would reuse instead of running",
);
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
