/**
 * The package as `npm run build` builds it (tsc with the build settings, then Vite for the
 * inspector's page), built once per test run into the folder the global setup names, inside the
 * repo so it resolves the same dependencies. The first test file to ask builds it; files running
 * at the same time in other workers wait for that build (a lock folder made exclusively, then a
 * marker file), so a run compiles the package once however many files run the binary.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { inject } from "vitest";
import { ROOT } from "../docs/type-check.js";
import { wait } from "./child-output.js";

/** Long enough for a build on a loaded 2-core machine; only a broken build waits this long. */
const BUILD_WAIT_MS = 10 * 60_000;

let built: Promise<string> | undefined;

/** The folder holding the built package (`cli/main.js`, `inspector/`, ...), built on first use. */
export function builtPackage(): Promise<string> {
  built ??= buildOnce(inject("buildDir"));
  return built;
}

/** The built `rewind` binary's entry file. */
export async function builtBin(): Promise<string> {
  return join(await builtPackage(), "cli", "main.js");
}

async function buildOnce(dir: string): Promise<string> {
  const done = join(dir, ".built");
  const failed = join(dir, ".failed");
  try {
    mkdirSync(`${dir}.lock`);
  } catch {
    // Another worker builds it: wait for its marker.
    const deadline = Date.now() + BUILD_WAIT_MS;
    while (Date.now() < deadline) {
      if (existsSync(done)) return dir;
      if (existsSync(failed)) throw new Error(readFileSync(failed, "utf8"));
      await sleep(200);
    }
    throw new Error(`the package build in ${dir} did not finish`);
  }
  mkdirSync(dir, { recursive: true });
  const node = (...args: string[]) =>
    wait(spawn(process.execPath, args, { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"] }));
  const tsc = await node(
    join(ROOT, "node_modules", "typescript", "bin", "tsc"),
    "-p",
    join(ROOT, "tsconfig.build.json"),
    "--outDir",
    dir,
  );
  const page =
    tsc.code === 0
      ? await node(
          join(ROOT, "node_modules", "vite", "bin", "vite.js"),
          "build",
          "--config",
          join(ROOT, "inspector", "vite.config.ts"),
          "--outDir",
          join(dir, "inspector"),
        )
      : tsc;
  if (page.code !== 0) {
    const message = `building the package failed: ${page.stdout}${page.stderr}`;
    writeFileSync(failed, message);
    throw new Error(message);
  }
  writeFileSync(done, "");
  return dir;
}
