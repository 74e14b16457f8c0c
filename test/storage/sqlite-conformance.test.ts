import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteBackend } from "../../src/storage/sqlite/index.js";
import { describeCheckpointBackend } from "../../src/testing/index.js";
import { corruptSqliteCheckpoint } from "./sqlite-helpers.js";

const dirs = new Map<unknown, string>();
describeCheckpointBackend("sqlite", {
  create: () => {
    const dir = mkdtempSync(join(tmpdir(), "rewind-sqlite-"));
    const backend = new SqliteBackend(join(dir, "test.sqlite"));
    dirs.set(backend, dir);
    return backend;
  },
  destroy: (backend) => rmSync(dirs.get(backend)!, { recursive: true, force: true }),
  corrupt: (backend, key) => corruptSqliteCheckpoint(join(dirs.get(backend)!, "test.sqlite"), key),
});
