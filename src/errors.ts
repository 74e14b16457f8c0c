/**
 * Every error Rewind raises is a {@link RewindError} with a stable string `code`, an optional
 * `cause`, and the identity it concerns (`threadId`, `checkpointId`) when there is one.
 * Interrupts are control flow, not errors, and do not extend this class.
 */

export type RewindErrorCode =
  | "INVALID_INPUT"
  | "NOT_FOUND"
  | "CONFLICT"
  | "THREAD_BUSY"
  | "LEASE_LOST"
  | "THREAD_DELETED"
  | "SERIALIZATION"
  | "CORRUPTED"
  | "MIGRATION"
  | "STORAGE"
  | "CONNECTION"
  | "TIMEOUT"
  | "CLOSED"
  | "RECURSION_LIMIT"
  | "INVALID_GRAPH"
  | "ALREADY_RESUMED"
  | "NODE_FAILED"
  | "MISSING_PEER"
  | "EFFECT_FAILED"
  | "EFFECT_UNKNOWN"
  | "THREAD_ARCHIVED"
  | "ARCHIVE_DAMAGED"
  | "ENCRYPTION"
  | "KEY_SHREDDED"
  | "RUN_FAILED"
  | "RUN_STOPPED";

export interface RewindErrorOptions {
  cause?: unknown;
  threadId?: string | undefined;
  checkpointId?: string | undefined;
}

/** Base class: `code` says what went wrong, `threadId`/`checkpointId` say where. */
export class RewindError extends Error {
  readonly code: RewindErrorCode;
  readonly threadId: string | undefined;
  readonly checkpointId: string | undefined;

  constructor(code: RewindErrorCode, message: string, options: RewindErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.threadId = options.threadId;
    this.checkpointId = options.checkpointId;
  }
}

/** A caller passed something Rewind refuses: a bad id, an oversized value, a malformed option. */
export class InvalidInputError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("INVALID_INPUT", message, options);
  }
}

/** The thread, checkpoint or item asked for does not exist. */
export class NotFoundError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("NOT_FOUND", message, options);
  }
}

/** A compare-and-set failed: the thread's head moved since the writer read it. Nothing was written. */
export class ConflictError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("CONFLICT", message, options);
  }
}

/** Another run holds the thread and the caller's strategy was `reject`. */
export class ThreadBusyError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("THREAD_BUSY", message, options);
  }
}

/** The writer's lease expired or was taken over; its write was refused. */
export class LeaseLostError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("LEASE_LOST", message, options);
  }
}

/** The thread was deleted; its tombstone refuses late writes. */
export class ThreadDeletedError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("THREAD_DELETED", message, options);
  }
}

/** A value could not be encoded, or stored bytes could not be decoded (unknown tag, corrupt row). */
export class SerializationError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("SERIALIZATION", message, options);
  }
}

/**
 * Stored data is damaged: a checksum mismatch, a row that cannot be read, a broken chain of
 * values. `channel` names the value concerned, when there is one. Nothing was changed, and the
 * thread's other checkpoints and other threads still load. Checksums (CRC32) detect damage from
 * disks, copies and bugs; they are not a defence against someone altering rows on purpose.
 */
export class CorruptionError extends RewindError {
  readonly channel: string | undefined;
  constructor(
    message: string,
    options: RewindErrorOptions & { channel?: string | undefined } = {},
  ) {
    super("CORRUPTED", message, options);
    this.channel = options.channel;
  }
}

/** A storage or state-schema migration failed; nothing was changed. */
export class MigrationError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("MIGRATION", message, options);
  }
}

/** The underlying database failed. `cause` holds the driver's error. */
export class StorageError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("STORAGE", message, options);
  }
}

/**
 * The database could not be reached or opened: a wrong URL, host, role, password or database
 * name, a refused or dropped connection, a connect timeout, or (SQLite) a path that is not a
 * usable database file. The message names what was tried (never a password); `cause` holds the
 * driver's error. When the target could not be opened nothing was read or written; a connection
 * lost in the middle of a write may or may not have applied it (read the thread back first).
 */
export class ConnectionError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("CONNECTION", message, options);
  }
}

/**
 * A query ran past its timeout and was abandoned. A write may or may not have been applied:
 * read the thread back before retrying it.
 */
export class TimeoutError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("TIMEOUT", message, options);
  }
}

/** A call was made after `close()`. */
export class ClosedError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("CLOSED", message, options);
  }
}

/** A run took more super-steps than its recursion limit allows. */
export class RecursionLimitError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("RECURSION_LIMIT", message, options);
  }
}

/** The graph definition is malformed (unknown node in an edge, no entry point, ...). */
export class InvalidGraphError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("INVALID_GRAPH", message, options);
  }
}

/** A resume targeted an interrupt that was already answered, or a thread that is not interrupted. */
export class AlreadyResumedError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("ALREADY_RESUMED", message, options);
  }
}

/** A node threw; `cause` holds what it threw, `node` names it. */
export class NodeFailedError extends RewindError {
  readonly node: string;
  constructor(node: string, message: string, options?: RewindErrorOptions) {
    super("NODE_FAILED", message, options);
    this.node = node;
  }
}

/**
 * A feature needs an optional peer dependency that is not installed (a database driver, the
 * OpenAI client, fast-check). `peer` names the package to install; `cause` holds the loader's
 * error.
 */
export class MissingPeerError extends RewindError {
  readonly peer: string;
  constructor(peer: string, message: string, options?: RewindErrorOptions) {
    super("MISSING_PEER", message, options);
    this.peer = peer;
  }
}

/** An error about one effect of a thread's ledger; `effect` names it. */
abstract class EffectError extends RewindError {
  readonly effect: { readonly key: string; readonly name: string };
  constructor(
    code: "EFFECT_FAILED" | "EFFECT_UNKNOWN",
    effect: { key: string; name: string },
    message: string,
    options?: RewindErrorOptions,
  ) {
    super(code, message, options);
    this.effect = { key: effect.key, name: effect.name };
  }
}

/**
 * An effect's recorded outcome is a failure: its function threw when it ran (on this thread, in
 * this run or an earlier one, on this branch or the one a fork came from), and a replay does not
 * run it again. `cause` holds what it threw, as recorded (`name`, `message`).
 */
export class EffectFailedError extends EffectError {
  constructor(
    effect: { key: string; name: string },
    message: string,
    options?: RewindErrorOptions,
  ) {
    super("EFFECT_FAILED", effect, message, options);
  }
}

/**
 * An effect started and never reported back (its process died mid-call), and its policy does
 * not allow running it again (`"fail"`, or a `reconcile` that threw). Settle it with
 * `app.resolveEffect(...)` (what happened), then continue the thread.
 */
export class EffectUnknownError extends EffectError {
  constructor(
    effect: { key: string; name: string },
    message: string,
    options?: RewindErrorOptions,
  ) {
    super("EFFECT_UNKNOWN", effect, message, options);
  }
}

/**
 * The thread was moved to an archive (its history is there, not in the database). The message
 * says how to bring it back: `restoreThread`, `rewind restore`, or compiling the graph with an
 * archive and `onArchived: "restore"`. `stub` is what the archive recorded (where the copy is).
 */
export class ThreadArchivedError extends RewindError {
  readonly stub: string | undefined;
  constructor(message: string, options: RewindErrorOptions & { stub?: string | undefined } = {}) {
    super("THREAD_ARCHIVED", message, options);
    this.stub = options.stub;
  }
}

/**
 * An export file or archive failed its checks: a content hash, a count, a record or the manifest
 * does not match what was written, or the format version is unknown. Nothing of the thread it
 * concerns (`threadId`, when known) was written.
 */
export class ArchiveDamagedError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("ARCHIVE_DAMAGED", message, options);
  }
}

/**
 * An encrypted value could not be opened, or a value was refused: a plaintext row while
 * encryption is on, a ciphertext moved to another tenant, thread, checkpoint or channel, a
 * tampered byte, or a key version the keyring does not hold. Nothing is returned in its place.
 */
export class EncryptionError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("ENCRYPTION", message, options);
  }
}

/**
 * The data key that sealed a value was destroyed by `shredTenant`: the value (and every copy of
 * it, in backups and archives too) can never be read again. `tenantId` names the tenant
 * (`undefined`: the default tenant).
 */
export class KeyShreddedError extends RewindError {
  readonly tenantId: string | undefined;
  constructor(
    message: string,
    options: RewindErrorOptions & { tenantId?: string | undefined } = {},
  ) {
    super("KEY_SHREDDED", message, options);
    this.tenantId = options.tenantId;
  }
}

/** Type guard: `isRewindError(e, "CONFLICT")` narrows to a Rewind error with that code. */
export function isRewindError(error: unknown, code?: RewindErrorCode): error is RewindError {
  return error instanceof RewindError && (code === undefined || error.code === code);
}

/**
 * `error` as a Rewind error: a Rewind error is returned as it is; anything else (a driver's
 * error) becomes a {@link StorageError} whose message starts with `context`, with the original
 * as `cause`. The one place where errors from below Rewind are wrapped.
 */
export function asRewindError(
  error: unknown,
  context: string,
  where: Omit<RewindErrorOptions, "cause"> = {},
): RewindError {
  if (isRewindError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  return new StorageError(`${context}: ${message}`, { ...where, cause: error });
}

/**
 * A run submitted to the workers ended without an outcome: it failed after its retries, or was
 * cancelled (`state` says which), or `result()` timed out while it was still `state`.
 */
export class RunFailedError extends RewindError {
  readonly state: string;
  constructor(message: string, state: string, options?: RewindErrorOptions) {
    super("RUN_FAILED", message, options);
    this.state = state;
  }
}

/**
 * A run stopped between super-steps because its `signal` was aborted (a worker shutting down,
 * an operator's cancel): the steps it finished are saved and its lease released, so
 * `invoke(null, { threadId })` continues from `checkpointId` without redoing them.
 */
export class RunStoppedError extends RewindError {
  constructor(message: string, options?: RewindErrorOptions) {
    super("RUN_STOPPED", message, options);
  }
}
