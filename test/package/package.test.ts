/**
 * Rewind as a user gets it: `npm pack` (which builds dist/ through `prepare`), the tarball
 * installed into a fresh project with the peers it needs, every subpath imported by plain Node
 * and used, and a consumer file type-checked under `strict` with each supported
 * `moduleResolution`. Slow by nature (a build and an install), hence the generous timeouts; it
 * asserts outcomes only, never durations.
 */
import { execFile, spawn } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { writeFile } from "node:fs/promises";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import ts from "typescript";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import { CONSUMER_CHECK, CONSUMER_TS, MODULE_RESOLUTIONS } from "./consumer-files.js";

const run = promisify(execFile);
const ROOT = fileURLToPath(new URL("../..", import.meta.url));
const ROOT_PKG = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
const SUBPATHS = [
  "rewind",
  "rewind/sqlite",
  "rewind/postgres",
  "rewind/backend",
  "rewind/testing",
  "rewind/langgraph",
  "rewind/archive",
  "rewind/encryption",
];
/** Generous: a build, an install and four type-checks on a loaded machine. */
const SLOW_MS = 600_000;

/**
 * Installed from the npm cache (the network only for what it lacks), at the versions the repo
 * itself tests with. fast-check and openai are left out on purpose: `rewind/testing` must import
 * without fast-check, and a model without openai must say what to install.
 */
const PEERS = ["pg", "@langchain/core", "@langchain/langgraph-checkpoint", "vitest", "@types/node"];

async function sh(command: string, args: string[], cwd: string): Promise<string> {
  try {
    const { stdout } = await run(command, args, {
      cwd,
      env: cleanEnv(),
      maxBuffer: 64 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(" ")} failed in ${cwd}:\n${stdout}\n${stderr}`, {
      cause: error,
    });
  }
}

/**
 * The environment without npm's own variables: under `npm test` they name this repo as the
 * local prefix, and an `npm install` in the consumer project must not act on the repo.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name));
}

/** `@scope/name/sub` -> `@scope/name`, `name/sub` -> `name`. */
function packageOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
}

describe("the package as installed from a tarball", () => {
  let work: string;
  let consumer: string;
  let installed: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "rewind-package-"));
    await sh("npm", ["pack", "--pack-destination", work, "--loglevel=error"], ROOT);
    const tarball = readdirSync(work).find((name) => name.endsWith(".tgz"));
    if (!tarball) throw new Error("npm pack produced no tarball");
    consumer = join(work, "consumer");
    mkdirSync(consumer);
    const manifest = { name: "consumer", version: "1.0.0", private: true, type: "module" };
    await writeJson(join(consumer, "package.json"), manifest);
    const peers = PEERS.map((name) => `${name}@${ROOT_PKG.devDependencies[name]}`);
    await sh(
      "npm",
      [
        "install",
        "--prefer-offline",
        "--ignore-scripts",
        "--no-audit",
        "--no-fund",
        "--loglevel=error",
        join(work, tarball),
        ...peers,
      ],
      consumer,
    );
    // better-sqlite3 is native: a fresh install compiles SQLite for minutes, so the consumer
    // gets the repo's own build of the same version instead.
    symlinkSync(
      join(ROOT, "node_modules", "better-sqlite3"),
      join(consumer, "node_modules", "better-sqlite3"),
      "dir",
    );
    installed = join(consumer, "node_modules", "rewind");
  }, SLOW_MS);

  afterAll(() => {
    if (work) rmSync(work, { recursive: true, force: true });
  });

  /** The `rewind` binary as installed in the consumer project. */
  const installedBin = () => join(installed, "dist", "cli", "main.js");

  /** A new SQLite database with Rewind's schema and nothing in it, in the work folder. */
  async function emptyDatabase(name: string): Promise<string> {
    const db = join(work, name);
    const checkpointer = createSqliteCheckpointer(db);
    await checkpointer.ready();
    await checkpointer.close();
    return db;
  }

  it("ships the built entry point and types of every subpath, and nothing else", () => {
    const files = filesUnder(installed).map((file) => relative(installed, file));
    const exports = ROOT_PKG.exports as Record<string, { types: string; import: string }>;
    for (const entry of Object.values(exports)) {
      expect(files).toContain(entry.import.replace("./", ""));
      expect(files).toContain(entry.types.replace("./", ""));
    }
    const outside = files.filter((file) => !file.startsWith("dist/"));
    expect(outside.sort()).toEqual(["README.md", "package.json"]);
    expect(files).toContain("dist/inspector/index.html");
  });

  it(
    "serves the prebuilt inspector page from the installed binary",
    async () => {
      const db = await emptyDatabase("inspect.sqlite");
      const bin = installedBin();
      const child = spawn(process.execPath, [bin, "inspect", db, "--port", "0"], { cwd: consumer });
      try {
        let out = "";
        const url = await new Promise<string>((resolve, reject) => {
          child.stdout.on("data", (d) => {
            out += d;
            const found = /open (http:\/\/\S+)\/#token=/.exec(out);
            if (found) resolve(found[1]!);
          });
          child.stderr.on("data", (d) => (out += d));
          child.on("close", () => reject(new Error(`rewind inspect exited: ${out}`)));
        });
        const page = await (await fetch(`${url}/`)).text();
        expect(page).toContain('<div id="app">');
        const script = /src="\.\/(assets\/[^"]+\.js)"/.exec(page)![1];
        const js = await fetch(`${url}/${script}`);
        expect(js.status).toBe(200);
        expect(js.headers.get("content-type")).toContain("javascript");
        expect(await (await fetch(`${url}/api/threads`)).json()).toEqual({ threads: [] });
      } finally {
        child.kill("SIGINT");
      }
    },
    SLOW_MS,
  );

  it(
    "runs the command line on an SQLite file without the PostgreSQL driver installed",
    async () => {
      const db = await emptyDatabase("no-pg.sqlite");
      const bin = installedBin();
      const pgDir = join(consumer, "node_modules", "pg");
      renameSync(pgDir, `${pgDir}.hidden`);
      try {
        expect(await sh(process.execPath, [bin, "stats", db], consumer)).toContain("threads");
        // A postgres:// URL then says what to install, in one line.
        const failed = await run(process.execPath, [bin, "stats", "postgres://127.0.0.1:9/x"], {
          cwd: consumer,
          env: cleanEnv(),
        }).then(
          () => undefined,
          (error: { code?: number; stderr?: string }) => error,
        );
        expect(failed?.code).toBe(1);
        expect(failed?.stderr).toContain("npm install pg");
      } finally {
        renameSync(`${pgDir}.hidden`, pgDir);
      }
    },
    SLOW_MS,
  );

  it("declares every package its code imports, at run time and in its types", () => {
    const declared = new Set([
      ROOT_PKG.name,
      ...Object.keys(ROOT_PKG.dependencies ?? {}),
      ...Object.keys(ROOT_PKG.peerDependencies ?? {}),
    ]);
    const undeclared = new Set<string>();
    for (const file of filesUnder(join(installed, "dist"))) {
      if (!file.endsWith(".js") && !file.endsWith(".d.ts")) continue;
      const { importedFiles } = ts.preProcessFile(readFileSync(file, "utf8"), true, true);
      for (const { fileName } of importedFiles) {
        if (fileName.startsWith(".") || fileName.startsWith("node:")) continue;
        if (builtinModules.includes(fileName)) continue;
        if (!declared.has(packageOf(fileName))) undeclared.add(`${fileName} (${file})`);
      }
    }
    expect([...undeclared]).toEqual([]);
  });

  it(
    "imports every subpath with plain node and runs a graph on SQLite",
    async () => {
      await writeFile(join(consumer, "check.mjs"), CONSUMER_CHECK);
      const report = JSON.parse(await sh("node", ["check.mjs"], consumer));
      expect(Object.keys(report.exports)).toEqual(SUBPATHS);
      for (const names of Object.values(report.exports)) expect(names).not.toEqual([]);
      expect(report.sqliteRun).toEqual({ status: "done", count: 2 });
      expect(report.withoutOpenai).toEqual({ code: "MISSING_PEER", peer: "openai" });
    },
    SLOW_MS,
  );

  it.each(MODULE_RESOLUTIONS)(
    "type-checks a consumer under strict with moduleResolution %s",
    async (moduleResolution, module) => {
      const file = join(consumer, `consumer-${moduleResolution}.ts`);
      await writeFile(file, CONSUMER_TS);
      const options = {
        target: "ES2022",
        lib: ["ES2023"],
        module,
        moduleResolution,
        strict: true,
        noEmit: true,
        types: ["node"],
      };
      expect(typeCheck(file, options, consumer)).toEqual([]);
    },
    SLOW_MS,
  );
});

/**
 * Type-checks `file` with `options` as tsconfig would give them. Diagnostics are asked for the
 * consumer file and Rewind's own declaration files only: other libraries' declarations are
 * resolved as needed but not checked in full (what `skipLibCheck` does for them, minus Rewind).
 */
function typeCheck(file: string, json: Record<string, unknown>, dir: string): string[] {
  const { options, errors } = ts.convertCompilerOptionsFromJson(json, dir);
  if (errors.length > 0) return errors.map(describeDiagnostic);
  const program = ts.createProgram([file], options);
  const checked = program
    .getSourceFiles()
    .filter((f) => f.fileName === file || f.fileName.includes("/node_modules/rewind/"));
  expect(checked.length).toBeGreaterThan(5);
  return [
    ...program.getOptionsDiagnostics(),
    ...program.getGlobalDiagnostics(),
    ...checked.flatMap((f) => [
      ...program.getSyntacticDiagnostics(f),
      ...program.getSemanticDiagnostics(f),
    ]),
  ].map(describeDiagnostic);
}

function describeDiagnostic(d: ts.Diagnostic): string {
  const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
  if (!d.file || d.start === undefined) return text;
  const { line } = d.file.getLineAndCharacterOfPosition(d.start);
  return `${d.file.fileName}:${line + 1}: ${text}`;
}

async function writeJson(path: string, value: unknown): Promise<void> {
  await writeFile(path, `${JSON.stringify(value, null, 2)}\n`);
}
