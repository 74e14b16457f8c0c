/**
 * The demo's worker process (part 3). `start` runs a new errand on the thread with a slow
 * hotel tool, announcing each tool on stdout so the demo can kill it mid-run; `resume`
 * continues the thread from its last checkpoint with `invoke(null)`; `answer <json>` resumes it
 * with a human's answer (`Command.resume`).
 * Usage: demo-worker <db> <threadId> start|resume|answer [answer-json]
 */
import { createSqliteCheckpointer } from "../src/backends/sqlite/index.js";
import { Command, userMessage } from "../src/index.js";
import { createTravelAgent } from "./travel-agent.js";

const [db, threadId, mode, answer] = process.argv.slice(2);
if (!db || !threadId || !["start", "resume", "answer"].includes(mode ?? "")) {
  console.error("usage: demo-worker <db> <threadId> start|resume|answer [answer-json]");
  process.exit(2);
}

const checkpointer = createSqliteCheckpointer(db);
const agent = createTravelAgent({
  checkpointer,
  script: "errand",
  // Started: slow enough to be killed in; resumed: quick.
  hotelDelayMs: mode === "start" ? 60_000 : 300,
  onToolStart: (name) => console.log(`TOOL_STARTED ${name}`),
});

// Default lease options: if this process is killed, the next one on this machine sees that its
// process is gone and takes the thread over at once.
const result =
  mode === "start"
    ? await agent.invoke(
        {
          messages: [
            userMessage("Hold seat 14A on NH212 and reserve a hotel in Tokyo for 3 nights."),
          ],
        },
        { threadId },
      )
    : mode === "resume"
      ? await agent.invoke(null, { threadId })
      : await agent.invoke(Command.resume(JSON.parse(answer ?? "null")), { threadId });
console.log(
  `RESULT ${JSON.stringify({
    status: result.status,
    last: result.values.messages.at(-1)?.content,
    interrupts: result.interrupts.map((i) => i.value),
  })}`,
);
await checkpointer.close();
