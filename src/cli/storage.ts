/**
 * The database a command works on, from its one argument: a `postgres://` (or `postgresql://`)
 * URL, or the path of an SQLite file. Opens the checkpoint storage and the store on it, with a
 * clear error for a path that does not exist (unless the command creates one) or a URL that
 * cannot be reached.
 */
import { existsSync, statSync } from "node:fs";
import { PostgresBackend, PostgresStoreBackend } from "../backends/postgres/index.js";
import { SqliteBackend, SqliteStoreBackend } from "../backends/sqlite/index.js";
import { type Checkpointer, createCheckpointer } from "../checkpoint/checkpointer.js";
import { importOptionalPeer } from "../optional-peer.js";
import type { EncryptionOptions } from "../serde/encryption-layer.js";
import { createStore, type Store } from "../store/store.js";
import { UsageError } from "./cli-run.js";

/**
 * An open database: both seams on it, closed together. The store is opened (and its tables
 * created) only when a command first uses it, so `stats` and `prune` leave a file's store alone.
 */
export interface OpenStorage {
  readonly checkpointer: Checkpointer;
  readonly store: Store;
  /** `sqlite:<path>` or the URL without its password. */
  readonly label: string;
  close(): Promise<void>;
}

/** Options of {@link openStorage}. */
export interface OpenOptions {
  /** Create an SQLite file that does not exist yet (import). Default false. */
  readonly create?: boolean;
  /** PostgreSQL schema. Default Rewind's (`rewind`). */
  readonly schema?: string | undefined;
  /** Encryption at rest, for commands that decode values (prune rebases append chains). */
  readonly encryption?: EncryptionOptions | undefined;
}

/** Opens `location` and checks that it answers (migrating the schema on first use). */
export async function openStorage(
  location: string,
  options: OpenOptions = {},
): Promise<OpenStorage> {
  if (typeof location !== "string" || location.length === 0) {
    throw new UsageError("name a database: an SQLite file path or a postgres:// URL");
  }
  const open = /^postgres(ql)?:\/\//i.test(location)
    ? await openPostgres(location, options.schema, options.encryption)
    : openSqlite(location, options.create === true, options.encryption);
  try {
    await open.checkpointer.ready();
  } catch (error) {
    await open.close().catch(() => undefined);
    throw error;
  }
  return open;
}

function openSqlite(
  path: string,
  create: boolean,
  encryption: EncryptionOptions | undefined,
): OpenStorage {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path)) {
    throw new UsageError(
      `unsupported target "${path}": give an SQLite file path or a postgres:// URL`,
    );
  }
  if (!existsSync(path)) {
    if (!create) throw new UsageError(`there is no SQLite file at "${path}"`);
  } else if (!statSync(path).isFile()) {
    throw new UsageError(`"${path}" is not a file (expected an SQLite database)`);
  }
  const checkpointer = createCheckpointer(new SqliteBackend(path), { encryption });
  let store: Store | undefined;
  return {
    checkpointer,
    get store() {
      store ??= createStore(new SqliteStoreBackend(path), { encryption });
      return store;
    },
    label: `sqlite:${path}`,
    async close() {
      await checkpointer.close();
      await store?.close();
    },
  };
}

/** PostgreSQL, its driver (an optional peer) loaded only for a postgres:// URL. */
async function openPostgres(
  url: string,
  schema: string | undefined,
  encryption: EncryptionOptions | undefined,
): Promise<OpenStorage> {
  const { default: pg } = await importOptionalPeer(
    "pg",
    "a postgres:// database",
    () => import("pg"),
  );
  const pool = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 10_000 });
  pool.on("error", () => undefined);
  const options = schema === undefined ? {} : { schema };
  const checkpointer = createCheckpointer(new PostgresBackend(pool, options), { encryption });
  let store: Store | undefined;
  const safe = new URL(url);
  safe.password = "";
  return {
    checkpointer,
    get store() {
      store ??= createStore(new PostgresStoreBackend(pool, options), { encryption });
      return store;
    },
    label: safe.toString(),
    async close() {
      await checkpointer.close().catch(() => undefined);
      await store?.close().catch(() => undefined);
      await pool.end();
    },
  };
}
