/**
 * Trial counts of the randomized and racing tests: smoke-sized under `npm test`, full-sized under
 * `npm run test:soak` (which sets REWIND_SOAK=1); a test's own variable overrides both.
 */
export function trialCount(variable: string, sizes: { smoke: number; soak: number }): number {
  const raw = process.env[variable];
  if (raw === undefined || raw === "") return soaking() ? sizes.soak : sizes.smoke;
  const count = Number(raw);
  if (!Number.isInteger(count) || count < 1) {
    throw new Error(`${variable} must be a positive integer, got "${raw}"`);
  }
  return count;
}

function soaking(): boolean {
  const flag = process.env.REWIND_SOAK;
  return flag !== undefined && flag !== "" && flag !== "0";
}

/**
 * Cases of the property tests: a few dozen under `npm test` (each case on PostgreSQL makes its
 * own schema), a thousand under `test:soak`, any by REWIND_PROPERTY_RUNS.
 */
export const PROPERTY_RUNS = trialCount("REWIND_PROPERTY_RUNS", { smoke: 25, soak: 1000 });
