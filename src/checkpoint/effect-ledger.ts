/**
 * A thread's effect ledger in the caller's terms: arguments and results as values, not text. It
 * derives an effect's key from its name and arguments (never from its position or a checkpoint
 * id), encodes with the checkpointer's serializer and stores through the one door, so every
 * backend keeps the same ledger. The runtime (`ctx.effect`), the agent's tools and the LangGraph
 * adapter all record effects through it.
 */
import { createHash } from "node:crypto";
import { InvalidInputError, SerializationError } from "../errors.js";
import { validateName } from "../ids.js";
import type { JsonSerializer } from "../serde/serializer.js";
import type { EffectStatus, LeaseFence, StoredEffect } from "./checkpoint-backend.js";
import type { TextSealer } from "./checkpoint-codec.js";
import type { CheckpointDoor } from "./checkpoint-door.js";
import { tenantOfKey } from "./thread-key.js";

/** One effect as the ledger holds it. */
export interface EffectRecord {
  /** Its identity in the thread: handed to the effect's function for the remote API's own idempotency. */
  readonly key: string;
  readonly name: string;
  readonly args: unknown;
  /** `started`: its intent is recorded and no outcome (yet, or ever: the process died mid-call). */
  readonly status: EffectStatus;
  /** What it returned, when `done`. */
  readonly result?: unknown;
  /** What it threw, when `failed`. */
  readonly error?: { readonly name: string; readonly message: string };
  /** The step that recorded it: its namespace, the checkpoint it started from, its task and node. */
  readonly ns: string;
  readonly checkpointId: string;
  readonly taskId: string;
  readonly node: string;
  /** 1 for the first run; grows each time an intent with no outcome is run again. */
  readonly attempt: number;
  readonly startedAt: string;
  readonly finishedAt?: string;
}

/** An intent to record. */
export interface EffectIntentInput {
  readonly threadId: string;
  readonly key: string;
  readonly name: string;
  readonly args: unknown;
  readonly ns?: string | undefined;
  readonly checkpointId: string;
  readonly taskId: string;
  readonly node: string;
  /** Take over an intent with no outcome (see `EffectIntent.retake`). */
  readonly retake?: boolean | undefined;
  readonly fence?: LeaseFence | undefined;
}

/** An outcome to record for the intent at `attempt`. */
export type EffectOutcomeInput = {
  readonly threadId: string;
  readonly key: string;
  readonly attempt: number;
  readonly fence?: LeaseFence | undefined;
} & (
  | { readonly status: "done"; readonly result: unknown }
  | { readonly status: "failed"; readonly error: { name: string; message: string } }
);

/** How a view scopes thread ids (a tenant's view stores them under its keys). */
export interface ThreadScope {
  key(threadId: string): string;
  /** The error as the caller may see it (naming only the caller's own thread id). */
  own(error: unknown): unknown;
}

const UNSCOPED: ThreadScope = { key: (threadId) => threadId, own: (error) => error };

export class EffectLedger {
  readonly #door: CheckpointDoor;
  readonly #serializer: JsonSerializer;
  readonly #scope: ThreadScope;
  readonly #sealer: TextSealer | undefined;

  constructor(
    door: CheckpointDoor,
    serializer: JsonSerializer,
    scope: ThreadScope = UNSCOPED,
    sealer?: TextSealer | undefined,
  ) {
    this.#door = door;
    this.#serializer = serializer;
    this.#scope = scope;
    this.#sealer = sealer;
  }

  /** The same ledger seen through `scope` (a tenant's view). */
  scoped(scope: ThreadScope): EffectLedger {
    return new EffectLedger(this.#door, this.#serializer, scope, this.#sealer);
  }

  /**
   * The key of the effect `name` called with `args`: a SHA-256 of the name and of the
   * arguments' encoding with object keys sorted (so `{a, b}` and `{b, a}` are one effect), and
   * of `epoch` when a fork asked for the effect to run anew. Throws `SerializationError` for
   * arguments the serializer cannot encode, `InvalidInputError` for a bad name.
   */
  key(name: string, args: unknown, epoch?: string): string {
    validateName(name, "effect name");
    const text = this.#encode(args, `the arguments of effect "${name}"`);
    const canonical = JSON.stringify(sortKeys(JSON.parse(text)));
    const hash = createHash("sha256").update(name).update("\0").update(canonical);
    if (epoch !== undefined) hash.update("\0").update(epoch);
    return hash.digest("hex");
  }

  /**
   * Records an intent (durably, when this resolves) unless the thread already has the effect:
   * returns the entry as stored and whether this call recorded it.
   */
  async begin(input: EffectIntentInput): Promise<{ effect: EffectRecord; recorded: boolean }> {
    const threadId = this.#scope.key(input.threadId);
    const args = this.#seal(
      this.#encode(input.args, `the arguments of effect "${input.name}"`),
      threadId,
      input.key,
      "args",
    );
    const stored = await this.#guard(() =>
      this.#door.beginEffect({
        effect: {
          threadId,
          key: input.key,
          name: input.name,
          args,
          status: "started",
          outcome: null,
          ns: input.ns ?? "",
          checkpointId: input.checkpointId,
          taskId: input.taskId,
          node: input.node,
          attempt: 1,
          token: input.fence?.token ?? 0,
          startedAt: new Date().toISOString(),
          finishedAt: null,
        },
        retake: input.retake,
        fence: input.fence,
      }),
    );
    return { effect: this.#decode(stored.effect), recorded: stored.recorded };
  }

  /**
   * Records the outcome of the intent at `attempt` (the first outcome wins): the entry as stored
   * afterwards and whether this call recorded it, `undefined` when the thread has no such effect.
   * A result the serializer cannot encode throws `SerializationError` and records nothing.
   */
  async finish(
    input: EffectOutcomeInput,
  ): Promise<{ effect: EffectRecord; recorded: boolean } | undefined> {
    if (input.status !== "done" && input.status !== "failed") {
      throw new InvalidInputError('an effect outcome is "done" or "failed"');
    }
    const threadId = this.#scope.key(input.threadId);
    const text =
      input.status === "done"
        ? this.#encode(input.result, "the result of an effect")
        : this.#encode(
            { name: String(input.error.name), message: String(input.error.message) },
            "an effect's error",
          );
    const outcome = this.#seal(text, threadId, input.key, input.status);
    const stored = await this.#guard(() =>
      this.#door.finishEffect({
        threadId,
        key: input.key,
        attempt: input.attempt,
        status: input.status,
        outcome,
        token: input.fence?.token ?? 0,
        finishedAt: new Date().toISOString(),
        fence: input.fence,
      }),
    );
    return stored && { effect: this.#decode(stored.effect), recorded: stored.recorded };
  }

  /** The thread's ledger (or only these keys), oldest intent first. */
  async list(threadId: string, keys?: readonly string[]): Promise<EffectRecord[]> {
    const rows = await this.#guard(() => this.#door.listEffects(this.#scope.key(threadId), keys));
    return rows.map((row) => this.#decode(row));
  }

  /** One effect of the thread, or `undefined`. */
  async get(threadId: string, key: string): Promise<EffectRecord | undefined> {
    return (await this.list(threadId, [key]))[0];
  }

  #encode(value: unknown, what: string): string {
    try {
      return this.#serializer.stringify(value);
    } catch (cause) {
      throw new SerializationError(`${what} could not be serialized: ${(cause as Error).message}`, {
        cause,
      });
    }
  }

  /** Effect text as stored: sealed to its thread, effect and part when encryption is on. */
  #seal(text: string, threadId: string, key: string, part: string): string {
    return this.#sealer
      ? this.#sealer.sealText(text, {
          tenantId: tenantOfKey(threadId),
          threadId,
          item: `effect:${key}:${part}`,
        })
      : text;
  }

  #decode(row: StoredEffect): EffectRecord {
    const parse = (stored: string, what: string, part: string) => {
      const text = this.#sealer ? this.#scopedOpen(stored, row, part) : stored;
      try {
        return this.#serializer.parse(text);
      } catch (cause) {
        throw new SerializationError(
          `effect "${row.name}" (${row.key}) has unreadable ${what}: ${(cause as Error).message}`,
          { cause },
        );
      }
    };
    const base = {
      key: row.key,
      name: row.name,
      args: parse(row.args, "arguments", "args"),
      status: row.status,
      ns: row.ns,
      checkpointId: row.checkpointId,
      taskId: row.taskId,
      node: row.node,
      attempt: row.attempt,
      startedAt: row.startedAt,
      ...(row.finishedAt === null ? {} : { finishedAt: row.finishedAt }),
    };
    if (row.status === "done" && row.outcome !== null) {
      return { ...base, result: parse(row.outcome, "result", "done") };
    }
    if (row.status === "failed" && row.outcome !== null) {
      return { ...base, error: parse(row.outcome, "error", "failed") as EffectRecord["error"] };
    }
    return base;
  }

  #scopedOpen(stored: string, row: StoredEffect, part: string): string {
    try {
      return this.#sealer!.openText(stored, {
        tenantId: tenantOfKey(row.threadId),
        threadId: row.threadId,
        item: `effect:${row.key}:${part}`,
      });
    } catch (error) {
      throw this.#scope.own(error);
    }
  }

  async #guard<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (error) {
      throw this.#scope.own(error);
    }
  }
}

/** `value` (parsed JSON) with every object's keys in code-point order. */
function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value === null || typeof value !== "object") return value;
  const sorted: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) {
    sorted[key] = sortKeys((value as Record<string, unknown>)[key]);
  }
  return sorted;
}
