/**
 * The demo's worker process (part 3). `start` runs a new errand on the thread with a slow
 * hotel tool, announcing each tool on stdout so the demo can kill it mid-run; `resume`
 * continues the thread from its last checkpoint with `invoke(null)`.
 * Usage: demo-worker <db> <ledger> <threadId> start|resume
 */
import { createSqliteCheckpointer } from "../src/backends/sqlite/index.js";
import { userMessage } from "../src/index.js";
import { createTravelAgent } from "./travel-agent.js";

const [db, ledger, threadId, mode] = process.argv.slice(2);
if (!db || !ledger || !threadId || (mode !== "start" && mode !== "resume")) {
  console.error("usage: demo-worker <db> <ledger> <threadId> start|resume");
  process.exit(2);
}

const checkpointer = createSqliteCheckpointer(db);
const agent = createTravelAgent({
  checkpointer,
  ledger,
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
    : await agent.invoke(null, { threadId });
console.log(
  `RESULT ${JSON.stringify({ status: result.status, last: result.values.messages.at(-1)?.content })}`,
);
await checkpointer.close();
