/**
 * The chaos test's driver, a process of its own: `node --import tsx chaos-driver.ts <url>
 * <queueSchema> <runs.json>` waits for each listed run (`[{ id, thread }]`) and answers each
 * pause once, with an idempotent submission (retried across restarts of the cluster under the
 * same id, so a lost reply does not answer twice); prints the final outcomes as one JSON line.
 */
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { Command } from "../../src/index.js";
import { createRunClient } from "../../src/worker/index.js";

const [url, queue, file] = process.argv.slice(2) as [string, string, string];
const runs = JSON.parse(readFileSync(file, "utf8")) as { id: string; thread: string }[];
const client = await retry(() => createRunClient({ database: url, schema: queue }));
const outcomes = await Promise.all(
  runs.map(async (run) => {
    const outcome = await client.handle(run.id).result({ timeoutMs: 240_000 });
    if (outcome.status !== "interrupted") return outcome;
    const answerId = randomUUID();
    const answer = await retry(() =>
      client.submit("turns", Command.resume(`ok:${run.thread}`), {
        threadId: run.thread,
        id: answerId,
      }),
    );
    return answer.result({ timeoutMs: 240_000 });
  }),
);
process.stdout.write(`${JSON.stringify(outcomes)}\n`);
await client.close();
process.exit(0);

async function retry<T>(fn: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (error) {
      if (attempt >= 60) throw error;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
