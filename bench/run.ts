/**
 * `npm run bench`: every workload side by side in one run, printed as ratios.
 * Figures depend on the machine; compare ratios, not absolute times.
 */
import { effectCost } from "./effects-bench.js";
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

const rows: Row[] = [];
rows.push(...(await sqliteStepCost()));
rows.push(...(await sqliteGrowth()));
rows.push(...(await postgresStepCost()));
rows.push(...(await postgresThroughput()));
rows.push(...(await effectCost()));
rows.push(...(await scaleRun()));
print(rows);
