/**
 * The README's TypeScript blocks compile as printed, and no two of them share an SQLite file or
 * a thread id (run side by side in one folder, they would silently continue each other's threads).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT, typeCheckSnippets } from "./type-check.js";

/** Every ```ts block, named by the line it starts on. */
function tsBlocks(markdown: string): Map<string, string> {
  const blocks = new Map<string, string>();
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i]!.trim() !== "```ts") continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end]!.trim() !== "```") end++;
    blocks.set(`README.md line ${start}`, lines.slice(start, end).join("\n"));
    i = end;
  }
  return blocks;
}

/** Values each block uses more than once is fine; a value two blocks use is not. */
function shared(blocks: ReadonlyMap<string, string>, pattern: RegExp): string[] {
  const owners = new Map<string, Set<string>>();
  for (const [name, code] of blocks) {
    for (const match of code.matchAll(pattern)) {
      const value = match[1]!;
      owners.set(value, (owners.get(value) ?? new Set()).add(name));
    }
  }
  return [...owners]
    .filter(([, names]) => names.size > 1)
    .map(([value, names]) => `${value}: ${[...names].join(", ")}`);
}

describe("README.md code blocks", () => {
  const blocks = tsBlocks(readFileSync(join(ROOT, "README.md"), "utf8"));

  it("has TypeScript blocks to check", () => {
    expect(blocks.size).toBeGreaterThanOrEqual(5);
  });

  it("every ts block type-checks as printed (strict, imports from rewind/*)", () => {
    const diagnostics = typeCheckSnippets(blocks);
    expect(Object.fromEntries([...diagnostics].filter(([, list]) => list.length > 0))).toEqual({});
  }, 120_000);

  it("no two blocks share an SQLite file or a thread id", () => {
    expect(shared(blocks, /"([^"]+\.(?:sqlite|db))"/g)).toEqual([]);
    expect(shared(blocks, /thread_?[iI]d: "([^"]+)"/g)).toEqual([]);
  });
});
