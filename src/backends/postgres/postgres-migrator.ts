/**
 * The one PostgreSQL migration runner, for both seams: brings a schema to the latest numbered
 * migration and then to the current definition of every stored function, in one transaction
 * under an advisory lock, so processes starting together migrate once and never see half a
 * schema.
 */
import { createHash } from "node:crypto";
import { MigrationError, StorageError } from "../../errors.js";
import type { PostgresFunction } from "./postgres-functions.js";
import type { PgQueryable } from "./postgres-types.js";

/** Which migration list a runner applies, under which lock, recorded in which table. */
export interface PostgresMigrationSpec {
  /** Table (in the schema) recording each applied version. */
  readonly table: string;
  /** Advisory lock key for `schema`: concurrent first uses wait and then find the work done. */
  lockKey(schema: string): string;
  /** The migrations for the quoted schema name; entry `i` takes version `i` to `i + 1`. */
  migrations(quoted: string): readonly string[];
  /**
   * The schema's stored functions in their current definitions, applied after the migrations;
   * `table` records a digest of each definition applied, so an unchanged one is not rewritten.
   */
  readonly functions?: {
    readonly table: string;
    readonly definitions: readonly PostgresFunction[];
    /** Functions no longer defined (`name(argument types)`), dropped wherever still present. */
    readonly retired?: readonly string[];
  };
  /** What the schema belongs to, for messages ("checkpoint", "store"). */
  readonly label: string;
}

/** Something that runs statements in one transaction (the shared `PostgresClient`). */
export interface PgTransactor {
  transaction<T>(work: (connection: PgQueryable) => Promise<T>): Promise<T>;
}

/**
 * Brings `schema` to `spec`'s latest version, creating it if needed, then applies every stored
 * function whose definition differs from the one recorded (all of them when a migration ran,
 * since a migration may have dropped one); returns how many migrations ran. A failure changes
 * nothing and is a {@link MigrationError}; an unreachable server a `ConnectionError`.
 */
export async function migratePostgresSchema(
  client: PgTransactor,
  schema: string,
  quoted: string,
  spec: PostgresMigrationSpec,
): Promise<number> {
  const migrations = spec.migrations(quoted);
  try {
    return await client.transaction(async (db) => {
      await db.query("SELECT pg_advisory_xact_lock(hashtext($1))", [spec.lockKey(schema)]);
      await ensureSchema(db, schema, quoted);
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${quoted}.${spec.table} (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
      );
      const { rows } = await db.query(
        `SELECT COALESCE(MAX(version), 0) AS v FROM ${quoted}.${spec.table}`,
      );
      const current = Number(rows[0]?.v ?? 0);
      if (current > migrations.length) {
        throw new MigrationError(
          `the ${spec.label} schema in "${schema}" is at version ${current}, newer than this Rewind (${migrations.length}); upgrade Rewind`,
        );
      }
      for (let v = current + 1; v <= migrations.length; v++) {
        await db.query(migrations[v - 1]!);
        await db.query(`INSERT INTO ${quoted}.${spec.table} (version) VALUES ($1)`, [v]);
      }
      const ran = migrations.length - current;
      if (spec.functions) await applyFunctions(db, quoted, spec.functions, ran > 0);
      return ran;
    });
  } catch (error) {
    if (!(error instanceof StorageError)) throw error;
    throw new MigrationError(
      `PostgreSQL ${spec.label} migration of schema "${schema}" failed, nothing was changed: ${error.message}`,
      { cause: error.cause },
    );
  }
}

/**
 * Drops the retired functions still present, replaces each stored function whose definition is
 * not the one recorded as applied (every one when `all`), and records the digests. On a schema
 * already current nothing is replaced, so a process start does not invalidate the plans other
 * sessions cached for these functions.
 */
async function applyFunctions(
  db: PgQueryable,
  quoted: string,
  functions: NonNullable<PostgresMigrationSpec["functions"]>,
  all: boolean,
): Promise<void> {
  await dropRetired(db, quoted, functions.retired ?? []);
  const record = `${quoted}.${functions.table}`;
  await db.query(
    `CREATE TABLE IF NOT EXISTS ${record} (name TEXT PRIMARY KEY, digest TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`,
  );
  const { rows } = await db.query(`SELECT name, digest FROM ${record}`);
  const applied = new Map(rows.map((row) => [row.name as string, row.digest as string]));
  const names = functions.definitions.map((fn) => fn.name);
  for (const fn of functions.definitions) {
    const definition = fn.definition(quoted);
    const digest = createHash("sha256").update(definition).digest("hex");
    if (!all && applied.get(fn.name) === digest) continue;
    await db.query(definition);
    await db.query(
      `INSERT INTO ${record} (name, digest) VALUES ($1, $2)
       ON CONFLICT (name) DO UPDATE SET digest = EXCLUDED.digest, applied_at = now()`,
      [fn.name, digest],
    );
  }
  // Records of functions no longer defined here (retired).
  if ([...applied.keys()].some((name) => !names.includes(name))) {
    await db.query(`DELETE FROM ${record} WHERE name <> ALL($1)`, [names]);
  }
}

/**
 * Drops the retired functions `schema` still holds (one catalog lookup when it holds none): a
 * schema may have reached its version with one, so the version alone cannot say.
 */
async function dropRetired(
  db: PgQueryable,
  quoted: string,
  retired: readonly string[],
): Promise<void> {
  if (retired.length === 0) return;
  const { rows } = await db.query(
    "SELECT f FROM unnest($1::text[]) AS f WHERE to_regprocedure($2 || '.' || f) IS NOT NULL",
    [retired, quoted],
  );
  for (const row of rows) await db.query(`DROP FUNCTION ${quoted}.${row.f as string}`);
}

/**
 * Creates the schema if it is missing, inside the migration's transaction. Every Rewind
 * migration (checkpointer, store) calls this, so two of them creating one schema at once wait for
 * each other under one advisory lock instead of failing.
 */
async function ensureSchema(db: PgQueryable, schema: string, quoted: string): Promise<void> {
  await db.query("SELECT pg_advisory_xact_lock(hashtext($1))", [`rewind:schema:${schema}`]);
  // A creator that does not take the lock (an older Rewind, a script) can still race us; its
  // schema then shows up as a unique violation, after which the schema exists and a retry passes.
  for (let attempt = 1; ; attempt++) {
    await db.query("SAVEPOINT rewind_schema");
    try {
      await db.query(`CREATE SCHEMA IF NOT EXISTS ${quoted}`);
      await db.query("RELEASE SAVEPOINT rewind_schema");
      return;
    } catch (error) {
      await db.query("ROLLBACK TO SAVEPOINT rewind_schema");
      const code = (error as { code?: unknown }).code;
      if (attempt >= 3 || (code !== "23505" && code !== "42P06")) throw error;
    }
  }
}
