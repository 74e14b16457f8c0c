/**
 * `npm run bench`: every workload side by side in one run, printed as ratios.
 * Figures depend on the machine; compare ratios, not absolute times.
 */
import { effectCost } from "./effects-bench.js";
import { encryptionCost } from "./encryption-bench.js";
import { largeValueRows } from "./large-values-bench.js";
import { postgresStepCost, postgresThroughput } from "./postgres-bench.js";
import { scaleRun } from "./scale-bench.js";
import { type Row, sqliteGrowth, sqliteStepCost } from "./sqlite-bench.js";

function print(rows: readonly Row[]): void {
  console.log(
    `${"metric".padEnd(74)} ${"rewind".padStart(12)} ${"reference".padStart(12)} ${"ratio".padStart(8)}  target`,
  );
  for (const r of rows) {
    const fmt = (n: number) =>
      r.unit === "B" || r.unit === "/s" ? String(Math.round(n)) : n.toFixed(r.unit === "n" ? 2 : 4);
    console.log(
      `${r.metric.padEnd(74)} ${fmt(r.rewind).padStart(12)} ${fmt(r.reference).padStart(12)} ${(r.rewind / r.reference).toFixed(2).padStart(7)}x  ${r.target}`,
    );
  }
}

/** The sections of the run, in order; `BENCH_ONLY=large,encryption` runs the named ones alone. */
const sections: Record<string, () => Promise<readonly Row[]>> = {
  sqlite: async () => [...(await sqliteStepCost()), ...(await sqliteGrowth())],
  postgres: async () => [...(await postgresStepCost()), ...(await postgresThroughput())],
  effects: effectCost,
  large: largeValueRows,
  encryption: encryptionCost,
  scale: scaleRun,
};
const only = process.env.BENCH_ONLY?.split(",").map((name) => name.trim());
const unknown = only?.filter((name) => !(name in sections)) ?? [];
if (unknown.length > 0) {
  throw new Error(
    `BENCH_ONLY names no section ${unknown.join(", ")}; sections: ${Object.keys(sections).join(", ")}`,
  );
}
const rows: Row[] = [];
for (const [name, section] of Object.entries(sections)) {
  if (!only || only.includes(name)) rows.push(...(await section()));
}
print(rows);
