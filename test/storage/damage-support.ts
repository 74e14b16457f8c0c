/**
 * Backends with a way to damage what they store, as a bad disk or a bad copy would: the values
 * written with one checkpoint, or its row's header. Used by the recovery and byte-flip tests.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterAll } from "vitest";
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import {
  type Checkpointer,
  createCheckpointer,
  END,
  lastValue,
  MemoryBackend,
  type Message,
  messagesChannel,
  START,
  StateGraph,
} from "../../src/index.js";
import { adminPool, freshSchema, PG_URL } from "../support/postgres.js";
import { corruptSqliteCheckpoint } from "./sqlite-helpers.js";

/** What a test damages: the values written with a checkpoint, or its header (metadata). */
export type Damage = "values" | "header";

export interface DamageBackend {
  readonly name: string;
  /** A fresh checkpointer and a function that damages one of its checkpoints. */
  create(): {
    checkpointer: Checkpointer;
    damage(threadId: string, checkpointId: string, what: Damage): Promise<void>;
  };
}

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

const memory: DamageBackend = {
  name: "memory",
  create: () => {
    const backend = new MemoryBackend();
    return {
      checkpointer: createCheckpointer(backend),
      // The backend keeps what it was given: damage it in place, as bit rot in memory would.
      damage: async (threadId, checkpointId, what) => {
        const raw = await backend.getCheckpoint(threadId, "", checkpointId);
        if (!raw) throw new Error(`no checkpoint ${checkpointId}`);
        if (what === "header") {
          (raw.checkpoint as { metadata: string }).metadata = "{not json";
          return;
        }
        let hit = 0;
        for (const chain of Object.values(raw.blobs)) {
          for (const blob of chain) {
            if (blob.version !== checkpointId || !blob.value) continue;
            blob.value.bytes.fill(0xff);
            hit++;
          }
        }
        if (hit === 0) throw new Error(`nothing to damage in ${checkpointId}`);
      },
    };
  },
};

const sqlite: DamageBackend = {
  name: "sqlite",
  create: () => {
    const dir = mkdtempSync(join(tmpdir(), "rewind-damage-"));
    const file = join(dir, "damage.sqlite");
    const checkpointer = createSqliteCheckpointer(file);
    cleanups.push(async () => {
      await checkpointer.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return {
      checkpointer,
      damage: async (threadId, checkpointId, what) => {
        if (what === "values") {
          corruptSqliteCheckpoint(file, { threadId, ns: "", checkpointId });
          return;
        }
        const db = new Database(file);
        try {
          db.prepare("UPDATE rewind_checkpoints SET metadata = '{not json' WHERE id = ?").run(
            checkpointId,
          );
        } finally {
          db.close();
        }
      },
    };
  },
};

const postgres: DamageBackend = {
  name: "postgres",
  create: () => {
    const schema = freshSchema("rewind_damage");
    const checkpointer = createPostgresCheckpointer(PG_URL, { schema, maxConnections: 2 });
    cleanups.push(() => checkpointer.close());
    return {
      checkpointer,
      damage: async (threadId, checkpointId, what) => {
        const sql =
          what === "values"
            ? `UPDATE "${schema}".rewind_blobs SET value = '\\xff00fe'::bytea WHERE thread_id = $1 AND version = $2`
            : `UPDATE "${schema}".rewind_checkpoints SET metadata_text = '{not json' WHERE thread_id = $1 AND id = $2`;
        const { rowCount } = await adminPool().query(sql, [threadId, checkpointId]);
        if (!rowCount) throw new Error(`nothing to damage in ${checkpointId}`);
      },
    };
  },
};

export const DAMAGE_BACKENDS: readonly DamageBackend[] = [memory, sqlite, postgres];

/** A one-node chat graph: each turn appends a user message and a reply, and counts turns. */
export function chatGraph(checkpointer: Checkpointer) {
  return new StateGraph({
    messages: messagesChannel(),
    turns: lastValue<number>(() => 0),
  })
    .addNode("reply", (s) => ({
      turns: s.turns + 1,
      messages: { role: "assistant", content: `reply ${s.turns + 1}` } as Message,
    }))
    .addEdge(START, "reply")
    .addEdge("reply", END)
    .compile({ checkpointer });
}

export type ChatApp = ReturnType<typeof chatGraph>;

/** Three turns; returns the checkpoint ids newest first. */
export async function threeTurns(app: ChatApp, threadId: string): Promise<string[]> {
  for (const text of ["one", "two", "three"]) {
    await app.invoke({ messages: { role: "user", content: text } }, { threadId });
  }
  const ids: string[] = [];
  for await (const s of app.getStateHistory({ threadId })) ids.push(s.checkpointId);
  return ids;
}
