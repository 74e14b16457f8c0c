/**
 * Type-checks documentation code as a user's file: strict, the repo's compiler options, and
 * `rewind/*` resolved to the sources the package exports are built from.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

export const ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** `rewind/sqlite` -> `<root>/src/backends/sqlite/index.ts`, from package.json's exports. */
export function rewindPaths(): Record<string, string[]> {
  const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8"));
  const paths: Record<string, string[]> = {};
  for (const [subpath, entry] of Object.entries(
    pkg.exports as Record<string, { import: string }>,
  )) {
    const source = entry.import.replace(/^\.\/dist\//, "src/").replace(/\.js$/, ".ts");
    paths[subpath === "." ? pkg.name : `${pkg.name}/${subpath.slice(2)}`] = [join(ROOT, source)];
  }
  return paths;
}

/**
 * Writes each snippet as an ES module in a scratch folder inside the repo (so that its imports
 * of zod, pg or LangGraph resolve to the repo's dependencies), type-checks them together and
 * returns the diagnostics per snippet name, as `line: message`, lines counted in the snippet.
 */
export function typeCheckSnippets(
  snippets: ReadonlyMap<string, string>,
  overrides: ts.CompilerOptions = {},
): Map<string, string[]> {
  const dir = mkdtempSync(join(ROOT, ".scratch-docs-"));
  try {
    const files = new Map<string, string>();
    for (const [name, code] of snippets) {
      const file = join(dir, `${name}.mts`);
      writeFileSync(file, code);
      files.set(file, name);
    }
    const options: ts.CompilerOptions = {
      target: ts.ScriptTarget.ES2022,
      lib: ["lib.es2023.d.ts"],
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      noUncheckedIndexedAccess: true,
      verbatimModuleSyntax: true,
      skipLibCheck: true,
      noEmit: true,
      types: ["node"],
      paths: rewindPaths(),
      ...overrides,
    };
    const program = ts.createProgram([...files.keys()], options);
    const result = new Map<string, string[]>([...snippets.keys()].map((name) => [name, []]));
    const diagnostics = [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()];
    for (const file of files.keys()) {
      const source = program.getSourceFile(file);
      if (source) diagnostics.push(...ts.getPreEmitDiagnostics(program, source));
    }
    for (const d of diagnostics) {
      const name = d.file ? files.get(d.file.fileName) : undefined;
      const text = ts.flattenDiagnosticMessageText(d.messageText, "\n");
      if (name === undefined) {
        // A diagnostic in Rewind's sources or the options concerns every snippet.
        for (const list of result.values()) list.push(`${d.file?.fileName ?? "options"}: ${text}`);
        continue;
      }
      const { line } = d.file!.getLineAndCharacterOfPosition(d.start ?? 0);
      result.get(name)!.push(`${line + 1}: TS${d.code} ${text}`);
    }
    return result;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
