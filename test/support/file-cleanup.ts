/**
 * Cleanups that run when the current test file ends, newest first (so a connection pool opened
 * before the checkpointers that use it is ended after they are closed).
 */
import { afterAll } from "vitest";

const cleanups: (() => unknown)[] = [];

afterAll(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Runs `cleanup` when the test file ends. */
export function atFileEnd(cleanup: () => unknown): void {
  cleanups.push(cleanup);
}

/** Closes `resource` when the test file ends (its `close` must be safe to call twice). */
export function closedAtFileEnd<T extends { close(): Promise<void> }>(resource: T): T {
  atFileEnd(() => resource.close());
  return resource;
}
