/**
 * Versioned state. A graph declares `schemaVersion` and one migration per version step; state
 * written by older code is migrated on read, and the next checkpoint stores it in the new shape.
 * State written by newer code than the running graph is refused rather than misread.
 */
import type { CheckpointTuple } from "../checkpoint/checkpointer.js";
import { MigrationError } from "../errors.js";
import { RESERVED_NAMES } from "./constants.js";
import { type Snapshot, snapshotFromTuple } from "./snapshot.js";

/** Turns state of version `n - 1` into state of version `n` (keyed by `n`). Must not mutate its input. */
export type StateMigration = (values: Record<string, unknown>) => Record<string, unknown>;

/** Checks that every step from 2 up to `version` has a migration. */
export function validateMigrations(
  version: number,
  migrations: Readonly<Record<number, StateMigration>>,
): void {
  if (!Number.isInteger(version) || version < 1) {
    throw new MigrationError(`schemaVersion must be a positive integer, got ${String(version)}`);
  }
  for (const key of Object.keys(migrations)) {
    const n = Number(key);
    if (!Number.isInteger(n) || n < 2 || n > version) {
      throw new MigrationError(`migration ${key} is outside 2..${version}`);
    }
  }
}

/**
 * The snapshot in the running graph's schema. Channels a migration changed get `bumpVersion`,
 * so the next checkpoint rewrites them.
 */
export function migrateSnapshot(
  snapshot: Snapshot,
  storedVersion: number,
  version: number,
  migrations: Readonly<Record<number, StateMigration>>,
  userChannels: readonly string[],
  bumpVersion: string,
  where: { threadId: string },
): Snapshot {
  if (storedVersion === version) return snapshot;
  if (storedVersion > version) {
    throw new MigrationError(
      `checkpoint ${snapshot.id} was written with state schema ${storedVersion}, newer than this graph's ${version}; deploy the newer code to read it`,
      { threadId: where.threadId, checkpointId: snapshot.id },
    );
  }
  // Every stored user value goes in, including channels the new graph no longer has.
  const user: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(snapshot.values)) {
    if (!RESERVED_NAMES.has(name)) user[name] = value;
  }
  let migrated = user;
  for (let v = storedVersion + 1; v <= version; v++) {
    const step = migrations[v];
    if (!step) {
      throw new MigrationError(`no migration from state schema ${v - 1} to ${v}`, {
        threadId: where.threadId,
        checkpointId: snapshot.id,
      });
    }
    try {
      migrated = step(migrated);
    } catch (cause) {
      throw new MigrationError(
        `migration to state schema ${v} failed: ${(cause as Error)?.message ?? String(cause)}`,
        {
          threadId: where.threadId,
          checkpointId: snapshot.id,
          cause,
        },
      );
    }
  }
  const values: Record<string, unknown> = { ...snapshot.values };
  const versions: Record<string, string> = { ...snapshot.versions };
  for (const name of Object.keys(user)) {
    if (!(name in migrated)) {
      if (name in values) {
        delete values[name];
        versions[name] = bumpVersion;
      }
    }
  }
  for (const [name, value] of Object.entries(migrated)) {
    if (!userChannels.includes(name)) {
      throw new MigrationError(
        `migration produced "${name}", which is not a channel of this graph`,
        where,
      );
    }
    if (value !== user[name]) {
      values[name] = value;
      versions[name] = bumpVersion;
    }
  }
  return { ...snapshot, values, versions };
}

/** The state schema version a stored checkpoint was written with. */
export function storedSchemaVersion(tuple: CheckpointTuple): number {
  return tuple.checkpoint.schemaVersion;
}

/** How a graph reads its state: the schema it runs and the migrations that reach it. */
export interface StateSchema {
  readonly schemaVersion: number;
  readonly migrations: Readonly<Record<number, StateMigration>>;
  readonly spec: { readonly channels: object };
}

/** A stored checkpoint as the running graph sees it: migrated to its state schema. */
export function loadSnapshot(schema: StateSchema, tuple: CheckpointTuple): Snapshot {
  return migrateSnapshot(
    snapshotFromTuple(tuple),
    tuple.checkpoint.schemaVersion,
    schema.schemaVersion,
    schema.migrations,
    Object.keys(schema.spec.channels),
    `${tuple.checkpoint.id}.s${schema.schemaVersion}`,
    { threadId: tuple.checkpoint.threadId },
  );
}
