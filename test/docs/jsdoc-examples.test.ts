/**
 * The `@example`s in Rewind's JSDoc use the API as it is. Examples are fragments (they use a
 * `graph`, a `pool`, a `threadId` from around them), so each is checked with every public name of
 * every subpath in scope and its free names tolerated; anything else it gets wrong (an argument
 * of the wrong shape, a method that does not exist, a misspelt option) fails.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ROOT, rewindPaths, typeCheckSnippets } from "./type-check.js";

/** Cannot find name (2304, 2552); shorthand property with no value in scope (18004). */
const FREE_NAME_CODES = new Set([2304, 2552, 18004]);

/** Every `@example` in src, named by file and line, its ` * ` prefixes removed. */
function jsdocExamples(): Map<string, string> {
  const examples = new Map<string, string>();
  const sources = readdirSync(join(ROOT, "src"), { recursive: true, encoding: "utf8" });
  for (const path of sources.filter((p) => p.endsWith(".ts")).sort()) {
    const lines = readFileSync(join(ROOT, "src", path), "utf8").split("\n");
    lines.forEach((line, at) => {
      const start = line.indexOf("@example");
      if (start < 0) return;
      const code: string[] = [];
      const inline = line
        .slice(start + "@example".length)
        .replace(/\*\/\s*$/, "")
        .trim();
      if (inline) code.push(inline);
      for (let i = at + 1; !line.includes("*/") && i < lines.length; i++) {
        const text = lines[i]!;
        if (/^\s*\*\/|^\s*\*\s*@/.test(text)) break;
        code.push(text.replace(/^\s*\* ?/, ""));
        if (text.includes("*/")) break;
      }
      examples.set(`src/${path}:${at + 1}`, code.join("\n").replace(/\*\/\s*$/, ""));
    });
  }
  return examples;
}

/** Every name each subpath exports, for `import { ... } from "<subpath>"` lines. */
function publicNames(): Map<string, string> {
  const paths = rewindPaths();
  const program = ts.createProgram(
    Object.values(paths).map(([file]) => file!),
    { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext },
  );
  const checker = program.getTypeChecker();
  const owner = new Map<string, string>();
  for (const [subpath, [file]] of Object.entries(paths)) {
    const symbol = checker.getSymbolAtLocation(program.getSourceFile(file!)!)!;
    for (const name of checker.getExportsOfModule(symbol).map((s) => s.name)) {
      if (!owner.has(name)) owner.set(name, subpath);
    }
  }
  return owner;
}

/** The example with every public name it does not import or declare itself in scope. */
function withImports(code: string, names: ReadonlyMap<string, string>): string {
  const own = new Set<string>();
  for (const [, list] of code.matchAll(/import\s*\{([^}]*)\}/g)) {
    for (const name of list!.split(",")) own.add(name.trim().replace(/^type\s+/, ""));
  }
  for (const [, name] of code.matchAll(/\b(?:const|let|var|function|class)\s+(\w+)/g)) {
    own.add(name!);
  }
  const bySubpath = new Map<string, string[]>();
  for (const [name, subpath] of names) {
    if (!own.has(name)) bySubpath.set(subpath, [...(bySubpath.get(subpath) ?? []), name]);
  }
  const imports = [...bySubpath].map(
    ([subpath, list]) => `import { ${list.join(", ")} } from "${subpath}";`,
  );
  return `${imports.join("\n")}\n${code}\nexport {};\n`;
}

describe("JSDoc examples", () => {
  const examples = jsdocExamples();

  it("there are examples to check", () => {
    expect(examples.size).toBeGreaterThanOrEqual(15);
  });

  it("every @example type-checks, its free names aside", () => {
    const names = publicNames();
    const snippets = new Map(
      [...examples].map(([where, code]) => [slug(where), withImports(code, names)]),
    );
    const wheres = new Map([...examples.keys()].map((where) => [slug(where), where]));
    const diagnostics = typeCheckSnippets(snippets, { verbatimModuleSyntax: false });
    const wrong: Record<string, string[]> = {};
    for (const [name, list] of diagnostics) {
      const real = list.filter((d) => !FREE_NAME_CODES.has(Number(/TS(\d+)/.exec(d)?.[1])));
      if (real.length > 0) wrong[wheres.get(name)!] = real;
    }
    expect(wrong).toEqual({});
  }, 120_000);
});

function slug(where: string): string {
  return relative("src", where).replace(/[^A-Za-z0-9]+/g, "-");
}
