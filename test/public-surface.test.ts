/**
 * The root export is what an application needs; helpers for backend authors live at
 * `rewind/backend`, and internals are exported from neither. Names are read with the TypeScript
 * checker, so type-only exports count too.
 */
import { join } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import * as root from "../src/index.js";
import { ROOT } from "./docs/type-check.js";

/** Store and checkpoint internals that no entry point may export. */
const INTERNALS = ["prepareOp", "embedOps", "decodeItem", "PrepareContext", "validateThreadKey"];

/** What a backend author needs, reachable from `rewind/backend` and not from the root. */
const BACKEND_ONLY = [
  "CheckpointBackend",
  "StoreBackend",
  "StoredBlob",
  "StoreOp",
  "encodeNamespace",
  "upperBound",
  "PATH_TERMINATOR",
  "compareCodePoints",
  "rankBySimilarity",
  "vectorToBytes",
  "matchesFilter",
  "compareWrites",
  "CheckpointCodec",
  "CheckpointDoor",
  "asRewindError",
];

/** Every name (value or type) each entry point exports. */
function exportedNames(...files: string[]): Map<string, string[]> {
  const paths = files.map((file) => join(ROOT, file));
  const program = ts.createProgram(paths, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
  });
  const checker = program.getTypeChecker();
  return new Map(
    files.map((file, i) => {
      const symbol = checker.getSymbolAtLocation(program.getSourceFile(paths[i]!)!)!;
      return [file, checker.getExportsOfModule(symbol).map((s) => s.name)];
    }),
  );
}

describe("public surface", () => {
  const names = exportedNames("src/index.ts", "src/backend.ts");
  const rootNames = names.get("src/index.ts")!;
  const backendNames = names.get("src/backend.ts")!;

  it("keeps the root to what an application needs (about 60 values)", () => {
    expect(Object.keys(root).length).toBeLessThanOrEqual(70);
    for (const name of ["StateGraph", "createCheckpointer", "createStore", "MemoryBackend"]) {
      expect(rootNames).toContain(name);
    }
  });

  it("moves the seams and backend helpers to rewind/backend", () => {
    for (const name of BACKEND_ONLY) {
      expect(backendNames, name).toContain(name);
      expect(rootNames, name).not.toContain(name);
    }
  });

  it("exports no internals", () => {
    for (const name of INTERNALS) {
      expect(rootNames, name).not.toContain(name);
      expect(backendNames, name).not.toContain(name);
    }
  });
});
