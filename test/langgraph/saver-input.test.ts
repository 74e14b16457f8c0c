import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalTime } from "../../src/langgraph/saver-input.js";

/** The definition canonicalTime implements: text that parses and formats back to itself. */
function reference(ts: string): string | undefined {
  const ms = Date.parse(ts);
  return Number.isFinite(ms) && new Date(ms).toISOString() === ts ? ts : undefined;
}

const two = (n: number) => String(n).padStart(2, "0");

describe("canonicalTime", () => {
  it("accepts exactly the texts that parse and format back to themselves", () => {
    // Fields drawn past their ranges (month 13, day 32, hour 24, minute 60), all years 0-9999.
    const shaped = fc
      .record({
        year: fc.integer({ min: 0, max: 9999 }),
        month: fc.integer({ min: 0, max: 13 }),
        day: fc.integer({ min: 0, max: 32 }),
        hour: fc.integer({ min: 0, max: 25 }),
        minute: fc.integer({ min: 0, max: 61 }),
        second: fc.integer({ min: 0, max: 61 }),
        ms: fc.integer({ min: 0, max: 999 }),
      })
      .map(
        (f) =>
          `${String(f.year).padStart(4, "0")}-${two(f.month)}-${two(f.day)}T${two(f.hour)}:${two(f.minute)}:${two(f.second)}.${String(f.ms).padStart(3, "0")}Z`,
      );
    fc.assert(
      fc.property(fc.oneof(shaped, fc.string({ maxLength: 30 })), (ts) => {
        expect(canonicalTime(ts)).toBe(reference(ts));
      }),
      { numRuns: 20_000 },
    );
    for (const day of ["2024-02-29", "2023-02-29", "2000-02-29", "1900-02-29", "2026-04-31"]) {
      const ts = `${day}T00:00:00.000Z`;
      expect(canonicalTime(ts), ts).toBe(reference(ts));
    }
    expect(canonicalTime(new Date(0).toISOString())).toBe("1970-01-01T00:00:00.000Z");
    expect(canonicalTime(123)).toBeUndefined();
  });
});
