/**
 * `node --cpu-prof --import tsx bench/profile-large.ts <sqlite|postgres> <kib> <saver|native|langgraph>`:
 * serial puts of a state carrying a new file of `kib` KiB each put, long enough for a CPU
 * profile of where a large put's time goes.
 */

import type { RewindSaver } from "../src/langgraph/index.js";
import { saverPairs } from "./langgraph-savers.js";
import { ownPut, putsPerSecond, savePut } from "./large-values-bench.js";

const [engine = "sqlite", kib = "1024", mode = "saver"] = process.argv.slice(2);
const PUTS = Number(process.env.BENCH_PROFILE_PUTS ?? 100);
const pair = (await saverPairs()).find((p) => p.engine === engine);
if (!pair) throw new Error(`no ${engine} pair`);
const opened = await (mode === "langgraph" ? pair.langgraph : pair.rewind).open();
try {
  const put = mode === "native" ? ownPut(opened.saver as RewindSaver) : savePut(opened.saver);
  const rate = await putsPerSecond(put, Number(kib) * 1024, PUTS);
  console.log(`${engine} ${kib} KiB ${mode}: ${rate.toFixed(1)} puts/s`);
} finally {
  await opened.close();
}
