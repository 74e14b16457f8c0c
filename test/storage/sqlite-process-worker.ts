/**
 * A separate OS process for the SQLite multi-process tests. Prints one JSON line on stdout.
 * Usage:
 *   sqlite-process-worker <db> write <threadId> <count>   chain `count` checkpoints on the head
 *   sqlite-process-worker <db> read <threadId>             list the thread, newest first
 *   sqlite-process-worker <db> race <threadId> <rounds> <startAtMs> <label>
 *     from `startAtMs` on: one put that expects an empty thread, then `rounds` times read the
 *     head and put on it, each with compare-and-set
 *   sqlite-process-worker <db> hold <threadId> <ms>
 *     inside its own BEGIN IMMEDIATE transaction, put a checkpoint on an empty thread, print
 *     {"locked": id}, keep the write lock for `ms`, then commit
 *   sqlite-process-worker <db> effects <threadId> <keys> <startAtMs> <label>
 *     from `startAtMs` on: record an intent of effects k0..k<keys-1>, then an outcome of each
 *     at attempt 1; print the keys whose intent and whose outcome this process recorded
 */
import Database from "better-sqlite3";
import { newCheckpointId } from "../../src/backend.js";
import { createSqliteCheckpointer, SqliteBackend } from "../../src/backends/sqlite/index.js";
import { createCheckpointer, isRewindError } from "../../src/index.js";

const [db, mode, threadId, ...rest] = process.argv.slice(2);
const checkpointer = createSqliteCheckpointer(db!);

/** Puts on the head just read, or with `assumeEmpty` on an empty thread without looking. */
async function putOnHead(
  label: string,
  n: number,
  assumeEmpty = false,
): Promise<"won" | "conflict"> {
  const head = assumeEmpty ? undefined : await checkpointer.get(threadId!);
  const id = newCheckpointId(head?.checkpoint.id);
  try {
    await checkpointer.put(
      {
        threadId: threadId!,
        id,
        parentId: head?.checkpoint.id,
        channelVersions: { by: id },
        versionsSeen: {},
        metadata: { source: "loop", step: n, by: label, pid: process.pid },
        updates: [{ channel: "by", version: id, value: `${label}#${n}` }],
      },
      { expectedHead: head?.checkpoint.id ?? null },
    );
    return "won";
  } catch (error) {
    if (isRewindError(error, "CONFLICT")) return "conflict";
    throw error;
  }
}

async function main(): Promise<unknown> {
  switch (mode) {
    case "write": {
      const ids: string[] = [];
      for (let n = 0; n < Number(rest[0]); n++) {
        if ((await putOnHead("writer", n)) !== "won") throw new Error("unexpected conflict");
        ids.push((await checkpointer.get(threadId!))!.checkpoint.id);
      }
      return { ids };
    }
    case "read": {
      const listed = [];
      for await (const t of checkpointer.list({ threadId: threadId! })) {
        listed.push({
          id: t.checkpoint.id,
          value: t.checkpoint.values.by,
          pid: t.checkpoint.metadata.pid,
        });
      }
      return { listed };
    }
    case "hold": {
      const handle = new Database(db!);
      const held = createCheckpointer(new SqliteBackend(handle));
      await held.ready();
      handle.exec("BEGIN IMMEDIATE");
      const id = newCheckpointId();
      await held.put({
        threadId: threadId!,
        id,
        parentId: undefined,
        channelVersions: { by: id },
        versionsSeen: {},
        metadata: { source: "input", step: -1, by: "holder" },
        updates: [{ channel: "by", version: id, value: "holder" }],
      });
      process.stdout.write(`${JSON.stringify({ locked: id })}\n`);
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Number(rest[0]));
      handle.exec("COMMIT");
      await held.close();
      handle.close();
      return { committed: id };
    }
    case "race": {
      const [rounds, startAt, label] = rest;
      while (Date.now() < Number(startAt)) {
        // Spin rather than sleep, so that both processes start writing in the same millisecond.
      }
      const outcomes = [await putOnHead(label!, 0, true)];
      for (let n = 1; n <= Number(rounds); n++) outcomes.push(await putOnHead(label!, n));
      return { won: outcomes.filter((o) => o === "won").length, outcomes };
    }
    case "effects": {
      const [keys, startAt, label] = rest;
      const door = checkpointer.door;
      await door.ready();
      while (Date.now() < Number(startAt)) {
        // Spin, so that both processes reach the ledger in the same millisecond.
      }
      const began: string[] = [];
      const finished: string[] = [];
      const at = new Date().toISOString();
      for (let n = 0; n < Number(keys); n++) {
        const effect = {
          threadId: threadId!,
          key: `k${n}`,
          name: "charge",
          args: JSON.stringify({ n }),
          status: "started" as const,
          outcome: null,
          ns: "",
          checkpointId: "cp",
          taskId: label!,
          node: "pay",
          attempt: 1,
          token: 0,
          startedAt: at,
          finishedAt: null,
        };
        if ((await door.beginEffect({ effect })).recorded) began.push(effect.key);
      }
      for (let n = 0; n < Number(keys); n++) {
        const outcome = JSON.stringify(label);
        const done = await door.finishEffect({
          threadId: threadId!,
          key: `k${n}`,
          attempt: 1,
          status: "done",
          outcome,
          token: 0,
          finishedAt: new Date().toISOString(),
        });
        if (done?.recorded) finished.push(`k${n}`);
      }
      return { began, finished };
    }
  }
  throw new Error(`unknown mode ${mode}`);
}

main()
  .then(async (result) => {
    await checkpointer.close();
    process.stdout.write(`${JSON.stringify(result)}\n`);
  })
  .catch((error) => {
    process.stderr.write(
      `${error?.stack ?? error}\n${error?.cause ? `cause: ${error.cause}` : ""}\n`,
    );
    process.exit(1);
  });
