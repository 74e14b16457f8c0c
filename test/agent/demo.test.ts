/**
 * The README's first command: `npm run demo` must run its four parts and exit 0. Runs the real
 * script as a child process (the scripted model: no OpenAI variables), on a database path
 * given on the command line so the test can open what it left behind.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";

const dir = mkdtempSync(join(tmpdir(), "rewind-demo-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function runDemo(db: string): Promise<{ code: number | null; output: string }> {
  const env = { ...process.env };
  delete env.OPENAI_API_KEY;
  delete env.OPENAI_BASE_URL;
  return new Promise((resolve, reject) => {
    const child = spawn("npm", ["run", "--silent", "demo", "--", db], {
      cwd: new URL("../..", import.meta.url).pathname,
      env,
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (d) => (output += d));
    child.stderr.on("data", (d) => (output += d));
    child.on("error", reject);
    child.on("close", (code) => resolve({ code, output }));
  });
}

describe("npm run demo", () => {
  it("shows memory, human in the loop, crash recovery and time travel, and exits 0", async () => {
    const db = join(dir, "demo.sqlite");
    const { code, output } = await runDemo(db);
    expect(output, output).not.toContain("✗");
    expect(code, output).toBe(0);

    const parts = ["1. Memory", "2. Human in the loop", "3. Crash recovery", "4. Time travel"].map(
      (title) => output.indexOf(title),
    );
    expect(
      parts.every((at) => at >= 0),
      output,
    ).toBe(true);
    expect([...parts].sort((a, b) => a - b)).toEqual(parts);

    // 1: the second turn answered from the first.
    expect(output).toContain("You're Ada, and the cheapest flight to Tokyo was NH212 at $820.");
    // 2: paused before the booking, booked once after approval.
    expect(output).toContain("⏸ paused before book_flight(flight=NH212, passenger=Ada)");
    expect(output).toContain("✓ after approval the flight was booked exactly once");
    // 3: a real SIGKILL, and the finished tool call not repeated.
    expect(output).toMatch(/worker pid \d+ died \(SIGKILL\) while reserve_hotel was running/);
    expect(output).toContain("✓ hold_seat had finished before the crash and was not run again");
    // The cut-off call surfaced as an unknown outcome; after the human's answer it ran once.
    expect(output).toContain("✓ the cut-off reserve_hotel surfaced as an unknown outcome");
    expect(output).toMatch(/hold_seat +done +attempt 1/);
    expect(output).toMatch(/reserve_hotel +done +attempt 2/);
    expect(output).toContain("✓ reserve_hotel, cut off by the crash, ran again only once");
    // 4: a fork says which recorded effects it would reuse.
    expect(output).toMatch(/a fork from #1 would reuse, not repeat: book_flight/);
    // 4: the fork ran on Osaka, and the tree shows both branches.
    expect(output).toContain("I found 2 flights to Osaka. The cheapest is KX71 at $640");
    expect(output).toMatch(/├─ #2 loop: agent calls search_flights\(to=Tokyo\)/);
    expect(output).toMatch(/└─ #\d+ fork: user: "Hi! I'm Ada\. Find me a flight to Osaka\."/);
    // Checkpoints are numbered from #1; no internal node name or step number leaks out.
    expect(output).toMatch(/#1 +input +user: "Hi! I'm Ada\. Find me a flight to Tokyo\."/);
    expect(output).not.toMatch(/next: |step -?\d/);
    // 3: the resumed worker used the default lease options and took over the dead one's lease.
    expect(output).toContain("resumes the thread with invoke(null, { threadId })");
    expect(output).toMatch(/✓ All four parts ran in [\d.]+ s\./);

    // The database given on the command line keeps both threads for inspection.
    const trip = /history of "(trip-[a-z0-9]+)"/.exec(output)![1]!;
    const checkpointer = createSqliteCheckpointer(db);
    try {
      const sources: string[] = [];
      for await (const t of checkpointer.list({ threadId: trip, ns: "", includeValues: false })) {
        sources.push(String(t.checkpoint.metadata.source));
      }
      expect(sources).toContain("fork");
      expect(sources.length).toBeGreaterThan(10);
    } finally {
      await checkpointer.close();
    }
  }, 120_000);
});
