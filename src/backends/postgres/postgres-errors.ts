/**
 * What a `pg` failure means, said in Rewind's words: the server could not be reached or the
 * connection was lost ({@link ConnectionError}), a query ran past its timeout
 * ({@link TimeoutError}), the ids and names of a write are too long together for an index row
 * ({@link InvalidInputError}), or the query itself failed ({@link StorageError}). The message names
 * the target as `user@host:port/database`, never the password; `cause` is the driver's error.
 */
import {
  ConnectionError,
  InvalidInputError,
  isRewindError,
  type RewindError,
  StorageError,
  ThreadArchivedError,
  TimeoutError,
} from "../../errors.js";

/** Socket-level failures: the server is not there, or the connection broke. */
const NETWORK_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EPIPE",
  "ENOENT",
]);

/**
 * Server refusals that concern the connection, not the query: SQLSTATE class 08 (connection
 * exception), 28 (wrong role or password), 3D000 (no such database), 53300 (too many
 * connections), 57P01-57P03 (server shutting down, or not accepting connections yet).
 */
function isConnectionState(code: string): boolean {
  return (
    code.startsWith("08") ||
    code.startsWith("28") ||
    code === "3D000" ||
    code === "53300" ||
    code === "57P01" ||
    code === "57P02" ||
    code === "57P03"
  );
}

/**
 * Where a client connects, for messages: `user@host:port/database`, never the password. A pool
 * passed in is described by the settings it was made with (a `pg.Pool` keeps them as `options`),
 * as the same target given as a URL would be.
 */
export function describeTarget(source: string | object): string {
  if (typeof source !== "string") return describePool(source);
  return describeUrl(source) ?? "PostgreSQL (a connection string that is not a URL)";
}

/** `PostgreSQL at user@host:port/database` for a connection URL; undefined for other text. */
function describeUrl(text: string): string | undefined {
  try {
    const url = new URL(text);
    const host = url.hostname || url.searchParams.get("host") || "localhost";
    const database = (url.pathname || "/").slice(1);
    return describeAt(url.username && decodeURIComponent(url.username), host, url.port, database);
  } catch {
    return undefined;
  }
}

/** `PostgreSQL at user@host:port/database`, leaving out what is empty (the user, the port). */
function describeAt(user: string, host: string, port: string, database: string): string {
  return `PostgreSQL at ${user ? `${user}@` : ""}${host}${port ? `:${port}` : ""}/${database}`;
}

function describePool(pool: object): string {
  const options = (pool as { options?: Record<string, unknown> }).options ?? {};
  const fromUrl =
    typeof options.connectionString === "string"
      ? describeUrl(options.connectionString)
      : undefined;
  if (fromUrl) return fromUrl;
  if (typeof options.host === "string") {
    const text = (key: string) => (options[key] === undefined ? "" : String(options[key]));
    return describeAt(text("user"), options.host, text("port"), text("database"));
  }
  return "PostgreSQL (the pool passed in)";
}

/** Timeouts in force, quoted in messages so the user knows which knob to turn. */
export interface TimeoutsInForce {
  readonly connectTimeoutMs: number | undefined;
  readonly queryTimeoutMs: number | undefined;
}

/** The Rewind error for a `pg` failure; Rewind errors pass through unchanged. */
export function pgError(error: unknown, target: string, timeouts: TimeoutsInForce): RewindError {
  if (isRewindError(error)) return error;
  const code = String((error as { code?: unknown })?.code ?? "");
  const message = (error as Error)?.message ?? String(error);
  const options = { cause: error };
  if (code === "RW001") {
    // Raised by the archive trigger (migration 7): a write to an archived thread.
    const threadId = String((error as { detail?: unknown }).detail ?? "");
    return new ThreadArchivedError(`${message} (restoreThread, or \`rewind restore\`)`, {
      cause: error,
      threadId,
    });
  }
  if (code === "54000" && /index row size/i.test(message)) {
    // A key longer than a b-tree row may be (about 2,700 bytes): every id and name passed its own
    // length check, but together, in UTF-8, they do not fit. The write's transaction rolled back.
    return new InvalidInputError(
      `the tenant id, thread id, namespace and channel or key names of this write are too long together for PostgreSQL's index rows (at most about 2,700 bytes of UTF-8 in all); nothing was stored: ${message}`,
      options,
    );
  }
  if (code === "57014" || /query read timeout/i.test(message)) {
    const limit = timeouts.queryTimeoutMs ? ` within ${timeouts.queryTimeoutMs} ms` : "";
    return new TimeoutError(
      `${target} did not finish a query${limit} (queryTimeoutMs); it may or may not have been applied: ${message}`,
      options,
    );
  }
  if (/connection timeout|timeout expired|timeout exceeded when trying to connect/i.test(message)) {
    const limit = timeouts.connectTimeoutMs ? ` within ${timeouts.connectTimeoutMs} ms` : "";
    return new ConnectionError(
      `${target} did not accept a connection${limit} (connectTimeoutMs): ${message}`,
      options,
    );
  }
  if (
    NETWORK_CODES.has(code) ||
    isConnectionState(code) ||
    /connection terminated|connection error|not queryable/i.test(message)
  ) {
    return new ConnectionError(`could not use ${target}: ${message}`, options);
  }
  return new StorageError(`PostgreSQL query failed: ${message}`, options);
}
