/**
 * Validation of a run's options at invoke, before anything is read or written: a bad option is
 * an `InvalidInputError` naming it.
 */
import { InvalidInputError } from "../errors.js";
import { validateThreadId } from "../ids.js";
import type { GraphSpec } from "./graph-spec.js";
import type { RunOptions } from "./run-types.js";
import { validateLeaseOptions } from "./thread-lease.js";

/** Refuses malformed run options (thread id, recursion limit, lease options, interrupts). */
export function validateRunOptions(options: RunOptions, spec: GraphSpec<any>): void {
  if (typeof options !== "object" || options === null) {
    throw new InvalidInputError(
      "invoke needs options with a threadId: invoke(input, { threadId })",
    );
  }
  validateThreadId(options.threadId);
  if (
    options.recursionLimit !== undefined &&
    (!Number.isInteger(options.recursionLimit) || options.recursionLimit < 1)
  ) {
    throw new InvalidInputError("recursionLimit must be a positive integer");
  }
  validateLeaseOptions(options);
  if (options.signal !== undefined && !(options.signal instanceof AbortSignal)) {
    throw new InvalidInputError("signal must be an AbortSignal");
  }
  if (options.applyOnce !== undefined) validateApplyOnce(options.applyOnce);
  for (const key of ["interruptBefore", "interruptAfter"] as const) {
    const names: unknown = options[key];
    if (names === undefined) continue;
    if (!Array.isArray(names)) throw new InvalidInputError(`${key} must be an array of node names`);
    for (const name of names) {
      if (typeof name !== "string" || !spec.nodes.has(name))
        throw new InvalidInputError(`${key} names unknown node ${JSON.stringify(name)}`);
    }
  }
}

function validateApplyOnce(applyOnce: unknown): void {
  const entries =
    typeof applyOnce === "object" && applyOnce !== null && !Array.isArray(applyOnce)
      ? Object.values(applyOnce)
      : undefined;
  if (!entries || entries.length === 0 || entries.some((v) => typeof v !== "string"))
    throw new InvalidInputError("applyOnce must be an object of one or more string values");
}
