/**
 * `npx tsx bench/wal-frames.ts`: pages a SQLite write appends to the WAL, per W5 `saver.put` of a
 * 1 KB state and per W1 super-step through LangGraph, for LangGraph's `SqliteSaver` and Rewind's
 * saver, each page named by the table or index it belongs to (page 1 is the file's header;
 * "other" is a pointer-map or free-list page). At `synchronous = NORMAL` a commit's cost is
 * mostly writing these frames, so the count says what a layout costs whatever the machine's
 * load: unlike a timing, it is the same on every run.
 *
 * The WAL is emptied (a TRUNCATE checkpoint from a connection of its own) before the counted
 * writes, and stays under SQLite's automatic checkpoint (1,000 pages) during them; Rewind's
 * background checkpointer is off, so every frame written stays where it can be read.
 */
import { readFileSync, statSync } from "node:fs";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { SqliteSaver } from "@langchain/langgraph-checkpoint-sqlite";
import Database from "better-sqlite3";
import { SqliteBackend } from "../src/backends/sqlite/index.js";
import { RewindSaver } from "../src/langgraph/index.js";
import { openedSaver } from "./langgraph-savers.js";
import { linearGraph, runPuts, STEPS_PER_RUN } from "./langgraph-workloads.js";
import { tempDb } from "./sqlite-bench.js";

/** Counted W5 puts: about 4.3 frames each keeps the WAL under the automatic checkpoint. */
const PUTS = 150;
/** Counted W1 runs (10 super-steps each, about 6 frames per step). */
const RUNS = 12;
const FRAME_HEADER = 24;
const WAL_HEADER = 32;

type Side = "LangGraph SqliteSaver" | "Rewind saver";

function open(side: Side, path: string): BaseCheckpointSaver & { close?: () => Promise<void> } {
  if (side === "Rewind saver") {
    return new RewindSaver(
      new SqliteBackend(path, { synchronous: "normal", checkpointInBackground: false }),
    );
  }
  return SqliteSaver.fromConnString(path);
}

/** Empties the WAL into the file, so that the next frames start at its beginning. */
function truncateWal(path: string): void {
  const db = new Database(path);
  db.pragma("wal_checkpoint(TRUNCATE)");
  db.close();
}

/** The frames the WAL holds, counted by the table or index of each page. */
function framesByTable(path: string): Map<string, number> {
  const db = new Database(path, { readonly: true });
  const pageSize = Number(db.pragma("page_size", { simple: true }));
  const owners = new Map<number, string>();
  for (const row of db.prepare("SELECT name, pageno FROM dbstat").all() as {
    name: string;
    pageno: number;
  }[]) {
    owners.set(row.pageno, row.name);
  }
  db.close();
  const wal = readFileSync(`${path}-wal`);
  const counts = new Map<string, number>();
  for (let at = WAL_HEADER; at + FRAME_HEADER <= wal.byteLength; at += FRAME_HEADER + pageSize) {
    // A frame of an earlier generation of the WAL (its salts differ from the header's) means
    // SQLite checkpointed and started the WAL over during the counted writes: fewer of them.
    if (wal.compare(wal, 16, 24, at + 8, at + 16) !== 0) {
      throw new Error("the WAL started over during the counted writes; count fewer of them");
    }
    const page = wal.readUInt32BE(at);
    const owner = page === 1 ? "page 1" : (owners.get(page) ?? "other");
    counts.set(owner, (counts.get(owner) ?? 0) + 1);
  }
  return counts;
}

async function count(
  side: Side,
  work: "W5" | "W1",
): Promise<{ per: number; frames: Map<string, number> }> {
  const tmp = tempDb("frames.sqlite");
  const saver = open(side, tmp.path);
  try {
    let per: number;
    if (work === "W5") {
      await runPuts(openedSaver(saver, side), PUTS, () => truncateWal(tmp.path));
      per = PUTS;
    } else {
      const app = linearGraph(saver);
      for (let r = 0; r < 5; r++)
        await app.invoke({ count: 0 }, { configurable: { thread_id: `w${r}` } });
      truncateWal(tmp.path);
      for (let r = 0; r < RUNS; r++)
        await app.invoke({ count: 0 }, { configurable: { thread_id: `t${r}` } });
      per = RUNS * STEPS_PER_RUN;
    }
    if (statSync(`${tmp.path}-wal`).size === 0) throw new Error(`${side}: no frames in the WAL`);
    return { per, frames: framesByTable(tmp.path) };
  } finally {
    if (saver instanceof SqliteSaver) saver.db.close();
    else await saver.close?.();
    tmp.done();
  }
}

for (const work of ["W5", "W1"] as const) {
  const unit = work === "W5" ? "1 KB saver.put" : "super-step through LangGraph";
  for (const side of ["LangGraph SqliteSaver", "Rewind saver"] as const) {
    const { per, frames } = await count(side, work);
    let total = 0;
    for (const n of frames.values()) total += n;
    const parts = [...frames]
      .sort((a, b) => b[1] - a[1])
      .map(([name, n]) => `${name} ${(n / per).toFixed(2)}`)
      .join(", ");
    console.log(`${work} ${side}: ${(total / per).toFixed(2)} WAL frames per ${unit} (${parts})`);
  }
}
