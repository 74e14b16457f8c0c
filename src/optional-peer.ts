/**
 * Optional peer dependencies are loaded on first use, so that installing Rewind never drags in
 * a driver, a client or a test library the caller does not use.
 */
import { MissingPeerError } from "./errors.js";

/**
 * Runs `load` (an `import()` of `peer`) and returns the module. A failure to load becomes a
 * {@link MissingPeerError} that says what needs the package and how to install it.
 *
 * @example const fc = await importOptionalPeer("fast-check", "the isolation property", () => import("fast-check"));
 */
export async function importOptionalPeer<T>(
  peer: string,
  neededBy: string,
  load: () => Promise<T>,
): Promise<T> {
  try {
    return await load();
  } catch (cause) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    throw new MissingPeerError(
      peer,
      `${neededBy} needs the ${peer} package, which could not be loaded (npm install ${peer}): ${reason}`,
      { cause },
    );
  }
}
