/**
 * `npx tsx bench/large-put-cpu.ts [kib,...] [rounds]`: per put of a state carrying a new file of
 * each size (default 100 and 1024 KiB), the median over alternated rounds in one process of
 * wall time and process CPU time (`process.cpuUsage`), for LangGraph's `saver.put`, Rewind's
 * `saver.put` and Rewind's native put, on SQLite at LangGraph's `synchronous` (NORMAL). CPU time
 * moves less than wall time on a shared machine, and says whether a gap is work or waiting.
 */

import { randomBytes } from "node:crypto";
import type { RewindSaver } from "../src/langgraph/index.js";
import { saverPairs } from "./langgraph-savers.js";
import { ownPut, type Put, savePut } from "./large-values-bench.js";

const sizes = (process.argv[2] ?? "100,1024").split(",").map(Number);
const rounds = Number(process.argv[3] ?? 8);
const file = (bytes: number) =>
  randomBytes(Math.ceil((bytes * 3) / 4))
    .toString("base64")
    .slice(0, bytes);
const median = (values: number[]) => [...values].sort((a, b) => a - b)[values.length >> 1]!;

const pair = (await saverPairs()).find((p) => p.engine === "sqlite")!;
for (const kib of sizes) {
  const opened = [await pair.langgraph.open(), await pair.rewind.open(), await pair.rewind.open()];
  const kinds: [string, Put][] = [
    ["LangGraph saver.put", savePut(opened[0]!.saver)],
    ["Rewind saver.put", savePut(opened[1]!.saver)],
    ["Rewind native put", ownPut(opened[2]!.saver as RewindSaver)],
  ];
  const perRound = kib > 500 ? 8 : 40;
  const wall = kinds.map(() => [] as number[]);
  const cpu = kinds.map(() => [] as number[]);
  const heads: (string | undefined)[] = [];
  try {
    for (const [k, [, put]] of kinds.entries()) {
      heads[k] = await put("cpu", undefined, { file: file(kib * 1024), n: 0 }, 0);
    }
    for (let round = 0; round < rounds; round++) {
      for (let i = 0; i < kinds.length; i++) {
        const k = (i + round) % kinds.length;
        const put = kinds[k]![1];
        const files = Array.from({ length: perRound }, () => file(kib * 1024));
        const cpuAt = process.cpuUsage();
        const wallAt = performance.now();
        for (let j = 0; j < perRound; j++) {
          const n = round * perRound + j + 1;
          heads[k] = await put("cpu", heads[k], { file: files[j], n }, n);
        }
        const used = process.cpuUsage(cpuAt);
        cpu[k]!.push((used.user + used.system) / 1000 / perRound);
        wall[k]!.push((performance.now() - wallAt) / perRound);
      }
    }
  } finally {
    for (const o of opened) await o.close();
  }
  for (const [k, [label]] of kinds.entries()) {
    console.log(
      `${kib} KiB ${label.padEnd(20)} wall ${median(wall[k]!).toFixed(2).padStart(7)} ms  cpu ${median(cpu[k]!).toFixed(2).padStart(7)} ms per put`,
    );
  }
}
