/**
 * A retention policy: what a prune may delete, declared once per app and overridable per tenant
 * and per thread. Every limit is optional; a policy without any deletes nothing. Whatever the
 * policy says, a prune never deletes a checkpoint of the live set (see `live-set.ts`).
 */

import { parseThreadKey } from "../checkpoint/thread-key.js";
import { InvalidInputError } from "../errors.js";

/** The limits of one scope (the app, a tenant or a thread). */
export interface RetentionRule {
  /** Keep the N newest checkpoints of each thread and namespace; older ones may go. */
  readonly keepLast?: number | undefined;
  /** Checkpoints older than this (milliseconds, by creation time) may go. */
  readonly maxAgeMs?: number | undefined;
  /**
   * A thread without a new checkpoint for this long (milliseconds) is idle: it is deleted
   * (with a tombstone), or, with `idleAction: "archive"`, handed to the prune's archiver (or
   * reported as to archive when there is none).
   */
  readonly idleTtlMs?: number | undefined;
  /** What happens to an idle thread. Default `"delete"`. */
  readonly idleAction?: "delete" | "archive" | undefined;
  /** The oldest checkpoints of a thread may go until it stores at most this many bytes. */
  readonly maxBytesPerThread?: number | undefined;
}

/** The app's rule, with overrides: a thread's rule wins over its tenant's, which wins over the app's. */
export interface RetentionPolicy extends RetentionRule {
  /** Tenant id -> its rule (fields it leaves out come from the app's rule). */
  readonly tenants?: Readonly<Record<string, RetentionRule>> | undefined;
  /**
   * Thread -> its rule (fields it leaves out come from its tenant's, then the app's). Keyed by
   * the thread's storage key: its id for the default tenant, `threadKey(id, tenant)` otherwise.
   */
  readonly threads?: Readonly<Record<string, RetentionRule>> | undefined;
}

const LIMITS = ["keepLast", "maxAgeMs", "idleTtlMs", "maxBytesPerThread"] as const;

/** Checks a policy; throws {@link InvalidInputError} naming the first bad field. */
export function validatePolicy(policy: RetentionPolicy): void {
  if (typeof policy !== "object" || policy === null) {
    throw new InvalidInputError("a retention policy must be an object");
  }
  checkRule(policy, "policy");
  for (const [tenant, rule] of Object.entries(policy.tenants ?? {})) {
    checkRule(rule, `tenant "${tenant}"`);
  }
  for (const [thread, rule] of Object.entries(policy.threads ?? {})) {
    parseThreadKey(thread);
    checkRule(rule, `thread "${thread}"`);
  }
}

function checkRule(rule: RetentionRule, where: string): void {
  if (typeof rule !== "object" || rule === null) {
    throw new InvalidInputError(`the retention rule of ${where} must be an object`);
  }
  for (const key of LIMITS) {
    const value = rule[key];
    if (value === undefined) continue;
    const min = key === "keepLast" ? 1 : 0;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min) {
      throw new InvalidInputError(
        `${key} of ${where} must be an integer of at least ${min}, got ${String(value)}`,
      );
    }
  }
  const action = rule.idleAction;
  if (action !== undefined && action !== "delete" && action !== "archive") {
    throw new InvalidInputError(`idleAction of ${where} must be "delete" or "archive"`);
  }
}

/** The rule in force for a thread (by storage key): the app's, its tenant's, then its own fields. */
export function ruleFor(policy: RetentionPolicy, key: string): RetentionRule {
  const { tenantId } = parseThreadKey(key);
  const { tenants: _t, threads: _th, ...app } = policy;
  const tenant = tenantId === undefined ? undefined : policy.tenants?.[tenantId];
  return { ...app, ...defined(tenant), ...defined(policy.threads?.[key]) };
}

function defined(rule: RetentionRule | undefined): RetentionRule {
  if (!rule) return {};
  return Object.fromEntries(Object.entries(rule).filter(([, v]) => v !== undefined));
}
