/**
 * The `rewind` binary as users run it: built from src with the package's build settings (into
 * a scratch folder of the repo, so it resolves the same dependencies), spawned with node against
 * SQLite files and PostgreSQL. Bad input fails with one line and a non-zero code; Ctrl-C stops a
 * prune between batches and a rerun finishes it.
 */
import { spawn } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import type { Checkpointer } from "../../src/index.js";
import { ROOT } from "../docs/type-check.js";
import { retentionGraph } from "../retention/retention-graph.js";
import { putFile } from "../storage/large-value-fixtures.js";
import { atFileEnd } from "../support/file-cleanup.js";
import { freshSchema, PG_URL } from "../support/postgres.js";
import { builtCli, wait } from "./cli-binary.js";

const { bin, rewind } = builtCli();

async function seed(checkpointer: Checkpointer, threads: number, turns: number) {
  const app = retentionGraph(checkpointer);
  for (let t = 0; t < threads; t++) {
    const tenantId = t % 2 === 0 ? undefined : "acme";
    for (let i = 0; i < turns; i++) await app.invoke({}, { threadId: `t${t}`, tenantId });
  }
  await checkpointer.close();
}

const count = (file: string) => {
  const db = new Database(file, { readonly: true });
  const n = (db.prepare("SELECT count(*) AS n FROM rewind_checkpoints").get() as { n: number }).n;
  db.close();
  return n;
};

const DIR = mkdtempSync(join(ROOT, ".scratch-cli-data-"));
atFileEnd(() => rmSync(DIR, { recursive: true, force: true }));

describe("rewind on SQLite", () => {
  it("stats, a dry run that changes nothing, then --apply", async () => {
    const file = join(DIR, "app.sqlite");
    await seed(createSqliteCheckpointer(file), 4, 5);
    const stats = await rewind("stats", file, "--json");
    expect(stats.code, stats.stderr).toBe(0);
    const summary = JSON.parse(stats.stdout);
    expect(summary).toMatchObject({ threads: 4, checkpoints: 60 });
    expect(summary.tenants.acme).toMatchObject({ threads: 2, checkpoints: 30 });
    expect(summary.biggest).toHaveLength(4);
    const text = await rewind("stats", file, "--tenant", "acme");
    expect(text.stdout).toContain("acme/t1");
    const plan = await rewind("prune", file, "--dry-run", "--keep-last", "3", "--json");
    expect(plan.code, plan.stderr).toBe(0);
    expect(JSON.parse(plan.stdout).total.checkpoints).toBe(48);
    expect(count(file)).toBe(60);
    const applied = await rewind(
      "prune",
      file,
      "--apply",
      "--keep-last",
      "3",
      "--tenant",
      "acme",
      "--json",
    );
    expect(applied.code, applied.stderr).toBe(0);
    const report = JSON.parse(applied.stdout);
    expect(report.total.checkpoints).toBe(24);
    expect(report.space.bytesAfter).toBeLessThan(report.space.bytesBefore);
    expect(count(file)).toBe(36);
    const human = await rewind("prune", file, "--keep-last", "3");
    expect(human.stdout).toContain("plan (dry run, nothing changed)");
    expect(human.stdout).toContain("lost: time travel before step");
  }, 120_000);

  it("stats shows large values and their dedupe ratio; an applied prune collects them", async () => {
    const file = join(DIR, "large.sqlite");
    const checkpointer = createSqliteCheckpointer(file, {
      largeValues: { thresholdBytes: 16 * 1024 },
    });
    const attachment = "the same attachment, ".repeat(2_000);
    await putFile(checkpointer, "a", attachment);
    await putFile(checkpointer, "b", attachment);
    await checkpointer.close();
    const stats = await rewind("stats", file, "--json");
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout).largeValues).toMatchObject({
      values: 1,
      references: 2,
      dedupeRatio: 2,
    });
    const text = await rewind("stats", file);
    expect(text.stdout).toMatch(/large values 1 \(.* stored, 2 references, dedupe 2\.00x\)/);
    const applied = await rewind("prune", file, "--apply", "--keep-last", "1", "--json");
    expect(applied.code, applied.stderr).toBe(0);
    // Both still referenced, and touched within the grace period: nothing goes.
    expect(JSON.parse(applied.stdout).largeValues).toMatchObject({ values: 1, removed: 0 });
  }, 120_000);

  it("bad input: one line on stderr and a non-zero exit code, nothing changed", async () => {
    const file = join(DIR, "bad.sqlite");
    await seed(createSqliteCheckpointer(file), 1, 2);
    const cases: [string[], number, RegExp][] = [
      [["prune", join(DIR, "missing.sqlite"), "--keep-last", "2"], 2, /no SQLite file/],
      [["prune", file, "--keep-lst", "2"], 2, /unknown option '--keep-lst'/],
      [["prune", file, "--keep-last", "0"], 2, /--keep-last must be a positive integer/],
      [["prune", file, "--max-age", "ten days"], 2, /--max-age must be a duration/],
      [["prune", file], 2, /give a policy/],
      [["prune", file, "--apply", "--dry-run", "--keep-last", "1"], 2, /not both/],
      [["prune", file, "--keep-last", "1", "--thread", "nobody"], 1, /no thread "nobody"/],
      [["stats", file, "--thread", "nobody"], 2, /unknown thread "nobody"/],
      [["stats", "mysql://localhost/db"], 2, /unsupported target/],
      [
        ["stats", "postgres://postgres@127.0.0.1:1/none"],
        1,
        /could not use PostgreSQL at postgres@127.0.0.1:1\/none/,
      ],
    ];
    for (const [args, code, message] of cases) {
      const ran = await rewind(...args);
      expect(ran.code, args.join(" ")).toBe(code);
      expect(ran.stderr.trim().split("\n")).toHaveLength(1);
      expect(ran.stderr).toMatch(/^rewind: /);
      expect(ran.stderr).toMatch(message);
    }
    expect(count(file)).toBe(6);
  }, 120_000);

  it("Ctrl-C stops a prune between batches; everything still loads; a rerun finishes", async () => {
    const seeded = join(DIR, "sigint-seed.sqlite");
    await seed(createSqliteCheckpointer(seeded), 6, 12);
    const file = join(DIR, "sigint.sqlite");
    copyFileSync(seeded, file);
    const total = count(file);
    const child = spawn(
      process.execPath,
      [bin(), "prune", file, "--apply", "--keep-last", "2", "--batch-size", "1"],
      {
        stdio: ["ignore", "pipe", "pipe"],
      },
    );
    const done = wait(child);
    // Interrupt once deleting has begun (polled from the file, not timed).
    while (count(file) === total) await new Promise((r) => setTimeout(r, 5));
    child.kill("SIGINT");
    const stopped = await done;
    expect(stopped.code, stopped.stderr).toBe(130);
    expect(stopped.stderr).toMatch(/run the same command again/);
    const checkpointer = createSqliteCheckpointer(file);
    for await (const tuple of checkpointer.list({})) expect(tuple.checkpoint.values).toBeDefined();
    await checkpointer.close();
    expect(count(file)).toBeGreaterThan(6 * 2);
    const rerun = await rewind("prune", file, "--apply", "--keep-last", "2", "--json");
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(count(file)).toBe(6 * 2);
  }, 180_000);
});

describe("rewind on PostgreSQL", () => {
  it("stats and prune --apply against a postgres:// URL and schema", async () => {
    const schema = freshSchema("rewind_cli");
    await seed(createPostgresCheckpointer(PG_URL, { schema }), 2, 4);
    const stats = await rewind("stats", PG_URL, "--schema", schema, "--json");
    expect(stats.code, stats.stderr).toBe(0);
    expect(JSON.parse(stats.stdout)).toMatchObject({ threads: 2, checkpoints: 24 });
    const applied = await rewind(
      "prune",
      PG_URL,
      "--schema",
      schema,
      "--apply",
      "--keep-last",
      "2",
      "--json",
    );
    expect(applied.code, applied.stderr).toBe(0);
    const report = JSON.parse(applied.stdout);
    expect(report.total.checkpoints).toBe(20);
    expect(report.space.method).toBe("VACUUM");
    const after = await rewind("stats", PG_URL, "--schema", schema, "--json");
    expect(JSON.parse(after.stdout).checkpoints).toBe(4);
  }, 120_000);
});
