/**
 * How the tests start a TypeScript file as a child process: bundled once per test run by esbuild
 * (the project's sources inlined, packages left to `node_modules`), then run by plain `node`.
 * Under `node --import tsx` every child resolved and loaded each source module through tsx's
 * loader, a few seconds per start on a loaded 2-core machine; the crash, race and chaos suites
 * start thousands of children, so that start-up was most of their time.
 *
 * The bundle goes next to the folder the global setup names for this run (inside the repo, so
 * bare imports resolve to the same `node_modules`) and is removed with it. Files running at the
 * same time in other workers may bundle the same entry; each writes its own temporary file and
 * renames it into place, so a reader sees a whole bundle or none.
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, renameSync } from "node:fs";
import { basename, join } from "node:path";
import { buildSync } from "esbuild";
import { inject } from "vitest";

const bundles = new Map<string, string>();

/** Node's arguments that run `file` (a TypeScript entry) followed by `args`. */
export function nodeArgs(file: string, ...args: string[]): string[] {
  return [bundled(file), ...args];
}

function bundled(file: string): string {
  const known = bundles.get(file);
  if (known) return known;
  const dir = `${inject("buildDir")}-entries`;
  const id = createHash("sha256").update(file).digest("hex").slice(0, 12);
  const out = join(dir, `${basename(file, ".ts")}-${id}.mjs`);
  if (!existsSync(out)) {
    mkdirSync(dir, { recursive: true });
    const temporary = `${out}.${process.pid}.${Date.now().toString(36)}.tmp`;
    buildSync({
      entryPoints: [file],
      outfile: temporary,
      bundle: true,
      platform: "node",
      format: "esm",
      target: "node20",
      packages: "external",
      logLevel: "error",
    });
    renameSync(temporary, out);
  }
  bundles.set(file, out);
  return out;
}
