/**
 * What a failure to open a SQLite database means, said in Rewind's words: a path that is a
 * directory, in a missing folder, or a file that is not (or no longer) a SQLite database is a
 * {@link ConnectionError} naming the path, with the driver's error as `cause`.
 */
import { ConnectionError, isRewindError, MigrationError, type RewindError } from "../../errors.js";

/** Driver codes that mean "this target is not a usable database", with what to tell the user. */
const TARGET_PROBLEMS: Readonly<Record<string, string>> = {
  SQLITE_NOTADB: "is not a SQLite database",
  SQLITE_CORRUPT: "is not a readable SQLite database (truncated or damaged)",
  SQLITE_CANTOPEN: "cannot be opened (a directory, or a folder that is missing or not writable)",
  SQLITE_READONLY: "is read-only",
  SQLITE_PERM: "may not be opened (permission denied)",
  SQLITE_AUTH: "may not be opened (not authorized)",
};

/**
 * The Rewind error for a failure while opening and migrating a database. `path` is the file
 * tried (undefined for a caller's handle). Rewind errors pass through; a target problem becomes
 * a {@link ConnectionError}; anything else a {@link MigrationError} (nothing was changed).
 */
export function sqliteOpenError(error: unknown, path: string | undefined): RewindError {
  if (isRewindError(error)) return error;
  const code = String((error as { code?: unknown })?.code ?? "");
  const what = path === undefined ? "the SQLite database handle" : `SQLite database "${path}"`;
  const message = (error as Error)?.message ?? String(error);
  const problem =
    TARGET_PROBLEMS[code] ??
    (code.startsWith("SQLITE_IOERR") ? "could not be read or written (I/O error)" : undefined) ??
    // better-sqlite3 checks the folder itself before SQLite sees the path.
    (error instanceof TypeError && path !== undefined ? "cannot be opened" : undefined);
  if (problem !== undefined) {
    return new ConnectionError(`${what} ${problem}: ${message}`, { cause: error });
  }
  return new MigrationError(`could not set up ${what}: ${message}`, { cause: error });
}
