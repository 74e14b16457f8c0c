/**
 * What each folder of src/ may import, read from the import statements (static and dynamic):
 * the floor (errors, ids, serde, offload, calls-underway, extended) imports only the floor, the two cores (checkpoint, store) never
 * import a backend, the runtime and the adapters reach storage only through the cores, and no
 * backend imports another. ARCHITECTURE.md explains the layers.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { ROOT } from "./docs/type-check.js";

const SRC = join(ROOT, "src");
const FLOOR = [
  "calls-underway",
  "errors",
  "extended",
  "ids",
  "offload",
  "optional-peer",
  "serde",
  "tracing",
];
const CORES = [...FLOOR, "checkpoint", "store"];

/** Each area and the other areas it may import; an area always imports itself. */
const MAY_IMPORT: Record<string, readonly string[]> = {
  "calls-underway": [],
  errors: [],
  extended: [],
  ids: FLOOR,
  "optional-peer": FLOOR,
  tracing: [],
  serde: FLOOR,
  // Large values by hash (naming, framing, targets, the per-process store), shared by both cores.
  offload: FLOOR,
  store: FLOOR,
  checkpoint: CORES,
  "backends/memory": CORES,
  "backends/sqlite": CORES,
  "backends/postgres": CORES,
  // compile()'s default checkpointer is the reference in-memory backend in checkpoint.
  graph: CORES,
  agent: [...CORES, "graph"],
  langgraph: CORES,
  retention: CORES,
  testing: [...CORES, "graph", "backends/memory"],
  // Export, import, archive and erasure work on the two seams only, on any backend.
  archive: CORES,
  // Large values' targets and collection work on the seam; the S3 target shares the archive's client.
  "large-values": [...CORES, "archive"],
  // Key management (the keyring, KEK providers); the sealing layer itself is in serde.
  encryption: CORES,
  // The inspector reads and writes stored threads with the runtime's lineage, diff and ledger,
  // and asks retention what a policy would free.
  inspect: [...CORES, "graph", "retention"],
  // The command line opens engines and drives retention, the archive, LangGraph import and the
  // inspector.
  cli: [
    ...CORES,
    "retention",
    "archive",
    "large-values",
    "langgraph",
    "encryption",
    "inspect",
    "backends/sqlite",
    "backends/postgres",
  ],
  // Workers run graphs (and read their leases) through the runtime; the queue is pg-boss's.
  worker: [...CORES, "graph"],
};

/** Entry points: they assemble the public surface and may import any area. */
const ENTRY_POINTS = new Set(["index", "backend"]);

/** `graph/run.ts` -> `graph`; `backends/sqlite/x.ts` -> `backends/sqlite`; `ids.js` -> `ids`. */
function areaOf(path: string): string {
  const parts = path.split("/");
  if (parts.length === 1) return parts[0]!.replace(/\.[jt]s$/, "");
  return parts[0] === "backends" ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

/** Every relative import in `source` of the file at `file` (relative to src), as src paths. */
function importsOf(file: string, source: string): string[] {
  const found: string[] = [];
  for (const [, spec] of source.matchAll(/(?:\bfrom|\bimport)\s*\(?\s*["'`](\.{1,2}\/[^"'`$]*)/g)) {
    found.push(relative(SRC, resolve(SRC, dirname(file), spec!)));
  }
  return found;
}

/** Every import that crosses into an area its importer may not import. */
function violations(files: ReadonlyMap<string, string>): string[] {
  const wrong: string[] = [];
  for (const [file, source] of files) {
    const from = areaOf(file);
    if (ENTRY_POINTS.has(from)) continue;
    const allowed = MAY_IMPORT[from];
    if (!allowed) {
      wrong.push(`${file}: area ${from} has no rule in MAY_IMPORT`);
      continue;
    }
    for (const target of importsOf(file, source)) {
      const to = areaOf(target);
      if (to !== from && !allowed.includes(to)) wrong.push(`${file} imports ${target}`);
    }
  }
  return wrong;
}

function sources(): Map<string, string> {
  const files = readdirSync(SRC, { recursive: true, encoding: "utf8" }).filter((f) =>
    f.endsWith(".ts"),
  );
  return new Map(files.sort().map((f) => [f, readFileSync(join(SRC, f), "utf8")]));
}

describe("import rules", () => {
  it("every folder of src/ imports only what its layer may", () => {
    expect(violations(sources())).toEqual([]);
  });

  it("catches a core importing a backend, the runtime importing an engine, backends importing each other", () => {
    const planted = new Map([
      [
        "checkpoint/checkpointer.ts",
        'import { MemoryBackend } from "../backends/memory/index.js";',
      ],
      ["store/store.ts", 'const m = await import("../backends/sqlite/sqlite-store.js");'],
      ["graph/run.ts", 'import type { PgPoolLike } from "../backends/postgres/postgres-types.js";'],
      ["backends/sqlite/sqlite-store.ts", 'import { x } from "../postgres/postgres-client.js";'],
      ["serde/serializer.ts", 'import type { Store } from "../store/store.js";'],
    ]);
    expect(violations(planted)).toHaveLength(planted.size);
  });
});
