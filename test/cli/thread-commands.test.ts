/**
 * The thread commands as users run them: the package built as `npm run build` builds it into a
 * scratch folder, and the `rewind` binary spawned against SQLite and PostgreSQL for `threads`,
 * `history`, `show`, `resume`, `fork` and `diff`, then bad input. The browser half of the
 * inspector is in inspector.test.ts.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createPostgresCheckpointer } from "../../src/backends/postgres/index.js";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import type { Checkpointer } from "../../src/index.js";
import { ROOT } from "../docs/type-check.js";
import { builtBin } from "../support/built-package.js";
import { wait } from "../support/child-output.js";
import { atFileEnd } from "../support/file-cleanup.js";
import { freshSchema, PG_URL } from "../support/postgres.js";
import { ask, tripGraph } from "./inspector-graph.js";

let BIN = "";

const node = (...args: string[]) =>
  wait(spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
const rewind = (...args: string[]) => node(BIN, ...args);
async function json(...args: string[]): Promise<any> {
  const ran = await rewind(...args, "--json");
  expect(ran.code, ran.stderr).toBe(0);
  return JSON.parse(ran.stdout);
}

beforeAll(async () => {
  BIN = await builtBin();
}, 600_000);

const DIR = mkdtempSync(join(ROOT, ".scratch-thread-commands-"));
atFileEnd(() => rmSync(DIR, { recursive: true, force: true }));

interface Target {
  readonly name: string;
  /** A fresh database: its checkpointer and the arguments naming it on the command line. */
  create(): { checkpointer: Checkpointer; args: string[] };
}

const TARGETS: Target[] = [
  {
    name: "SQLite",
    create: () => {
      const file = join(DIR, `t${Math.random().toString(36).slice(2)}.sqlite`);
      return { checkpointer: createSqliteCheckpointer(file), args: [file] };
    },
  },
  {
    name: "PostgreSQL",
    create: () => {
      const schema = freshSchema("rewind_inspect");
      return {
        checkpointer: createPostgresCheckpointer(PG_URL, { schema }),
        args: [PG_URL, "--schema", schema],
      };
    },
  },
];

// Each test spawns the binary a dozen times, one after the other; the four run side by side.
describe.concurrent("thread commands", () => {
  for (const target of TARGETS) {
    describe(`on ${target.name}`, () => {
      it("threads, history, show, resume, fork and diff; the graph continues from what they wrote", async () => {
        const { checkpointer, args } = target.create();
        const [db, ...flags] = args;
        const app = tripGraph(checkpointer);
        try {
          const paused = await app.invoke(ask("Find me a flight"), { threadId: "trip" });
          expect(paused.status).toBe("interrupted");
          await app.invoke(ask("Another"), { threadId: "other", tenantId: "acme" });

          const page = await json("threads", db!, ...flags);
          const rows = page.threads.map((t: any) => [t.threadId, t.tenantId ?? null, t.status]);
          expect(rows.sort()).toEqual([
            ["other", "acme", "interrupted"],
            ["trip", null, "interrupted"],
          ]);
          expect((await json("threads", db!, ...flags, "--tenant", "acme")).threads).toHaveLength(
            1,
          );
          expect((await json("threads", db!, ...flags, "--status", "done")).threads).toHaveLength(
            0,
          );
          const loop = await json("threads", db!, ...flags, "--metadata", '{"source":"loop"}');
          expect(loop.threads).toHaveLength(2);
          const update = await json("threads", db!, ...flags, "--metadata", '{"source":"update"}');
          expect(update.threads).toHaveLength(0);
          const badFilter = await rewind("threads", db!, ...flags, "--metadata", "[1]");
          expect(badFilter.code).toBe(2);
          expect(badFilter.stderr).toContain("--metadata");

          const history = await json("history", db!, "trip", ...flags);
          const headId = history.currentId as string;
          const text = await rewind("history", db!, "trip", ...flags);
          expect(text.stdout).toContain(`${headId}  step`);
          expect(text.stdout).toContain("<- current");

          const shown = await json("show", db!, "trip", ...flags);
          expect(shown.checkpointId).toBe(headId);
          expect(shown.state.destination).toBe("Tokyo");
          expect(shown.interrupts).toEqual([
            expect.objectContaining({ node: "approve", value: { question: "Book Tokyo?" } }),
          ]);

          const answered = await json(
            "resume",
            db!,
            "trip",
            ...flags,
            "--answer",
            '{"approved":true}',
          );
          expect(answered.answered).toEqual([shown.interrupts[0].id]);
          const again = await rewind("resume", db!, "trip", ...flags, "--answer", "true");
          expect(again.code).toBe(1);
          expect(again.stderr).toContain("no pending interrupt");
          const done = await app.invoke(null, { threadId: "trip" });
          expect(done.status).toBe("done");
          expect(done.values.approved).toBe(true);
          expect(done.values.messages.at(-1)!.content).toBe("Booked Tokyo");

          // Fork the paused checkpoint with another destination: the graph asks about Osaka.
          const forked = await json(
            "fork",
            db!,
            "trip",
            headId,
            ...flags,
            "--set",
            'destination="Osaka"',
          );
          expect(forked.parentId).toBe(headId);
          expect(forked.effects).toEqual({ reused: [], rerun: [], unknown: [] });
          const tree = await json("history", db!, "trip", ...flags);
          expect(tree.branches).toHaveLength(2);
          expect(tree.forkPoints).toEqual([headId]);
          expect(tree.currentId).toBe(forked.checkpointId);
          const osaka = await app.invoke(null, { threadId: "trip" });
          expect(osaka.status).toBe("interrupted");
          expect(osaka.interrupts[0]!.value).toEqual({ question: "Book Osaka?" });

          const changes = await json("diff", db!, "trip", headId, forked.checkpointId, ...flags);
          expect(changes).toEqual([
            { path: ["destination"], kind: "changed", before: "Tokyo", after: "Osaka" },
          ]);
          const diffText = await rewind("diff", db!, "trip", headId, forked.checkpointId, ...flags);
          expect(diffText.stdout.trim()).toBe('~ destination: "Tokyo" -> "Osaka"');

          // A patch file, for the tenant's thread.
          const patch = join(DIR, `patch-${target.name}.json`);
          writeFileSync(patch, JSON.stringify({ destination: "Lima" }));
          const other = await json("history", db!, "other", ...flags, "--tenant", "acme");
          const limaFork = await json(
            "fork",
            db!,
            "other",
            other.currentId,
            ...flags,
            "--tenant",
            "acme",
            "--file",
            patch,
          );
          const lima = await json(
            "show",
            db!,
            "other",
            limaFork.checkpointId,
            ...flags,
            "--tenant",
            "acme",
          );
          expect(lima.state.destination).toBe("Lima");
        } finally {
          await checkpointer.close();
        }
      }, 240_000);

      it("bad input: a named error, exit code 1 or 2, nothing stored", async () => {
        const { checkpointer, args } = target.create();
        const [db, ...flags] = args;
        const app = tripGraph(checkpointer);
        try {
          await app.invoke(ask("Find me a flight"), { threadId: "trip" });
          const before = await json("history", db!, "trip", ...flags);
          const unknown = await rewind(
            "fork",
            db!,
            "trip",
            before.currentId,
            ...flags,
            "--set",
            "budget=5",
          );
          expect(unknown.code).toBe(1);
          expect(unknown.stderr).toContain('unknown channel "budget"');
          expect(unknown.stderr).toContain("[INVALID_INPUT]");
          const neither = await rewind("fork", db!, "trip", before.currentId, ...flags);
          expect(neither.code).toBe(2);
          const missing = await rewind(
            "show",
            db!,
            "trip",
            "01a00000-0000-7000-8000-000000000000",
            ...flags,
          );
          expect(missing.code).toBe(1);
          expect(missing.stderr).toContain("[NOT_FOUND]");
          const badJson = await rewind("resume", db!, "trip", ...flags, "--answer", "yes");
          expect(badJson.code).toBe(2);
          const noThread = await rewind("history", db!, "nobody", ...flags);
          expect(noThread.code).toBe(2);
          expect(noThread.stderr).toContain('thread "nobody" has no checkpoints');
          const after = await json("history", db!, "trip", ...flags);
          expect(after.nodes).toEqual(before.nodes);
          expect((await json("show", db!, "trip", ...flags)).interrupts).toHaveLength(1);
        } finally {
          await checkpointer.close();
        }
      }, 240_000);
    });
  }
});
