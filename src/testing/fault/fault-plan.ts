/**
 * What a fault-injecting backend does wrong, and when: rules that fire on chosen calls of chosen
 * methods. A rule skips the first `skip` matching calls, then fires on the next `times` ones.
 * Delays are counted in event-loop turns or held until released, never in wall-clock time, so a
 * test that uses them does not depend on how fast the machine is.
 */

/**
 * - `fail-before`: the call throws without reaching the wrapped backend (nothing is written);
 * - `fail-after`: the wrapped backend completes the call (a write is committed), then the call
 *   throws: the ambiguous failure where the caller cannot tell whether it happened;
 * - `tear`: a read returns its values cut to half their bytes, as a torn page would;
 * - `delay`: the call waits `turns` event-loop turns before it proceeds;
 * - `hold`: the call waits until the rule's `release()` is called.
 */
export type FaultKind = "fail-before" | "fail-after" | "tear" | "delay" | "hold";

/** Which calls a rule fires on, and how. */
export interface FaultOptions {
  /** Matching calls let through before the rule fires. Default 0. */
  readonly skip?: number;
  /** Matching calls the rule fires on, after `skip`. Default 1; `Infinity` for every one. */
  readonly times?: number;
  /** For `delay`: event-loop turns to wait. Default 1. */
  readonly turns?: number;
  /** For `fail-*`: what the call throws. Default: a plain `Error`, as a raw driver would throw. */
  readonly error?: (method: string) => unknown;
}

/** A rule of a plan: how often it has fired, and (for `hold`) the calls it holds. */
export interface FaultRule {
  readonly method: string;
  readonly kind: FaultKind;
  /** Calls this rule fired on so far. A test asserts on it to prove its fault really happened. */
  readonly hits: number;
  /** Resolves when the rule has fired on its first call (a held call has reached the backend). */
  readonly reached: Promise<void>;
  /** Lets every call this `hold` rule holds, and will hold, proceed. */
  release(): void;
}

/** The error a fault throws by default: deliberately not a Rewind error, like a driver's. */
export class InjectedFault extends Error {
  override readonly name = "InjectedFault";
}

/** What a backend call must do, decided when it starts. */
export interface FaultDecision {
  readonly failBefore?: unknown;
  readonly failAfter?: unknown;
  readonly tear: boolean;
  /** Awaited before the wrapped backend is called. */
  readonly wait: Promise<void> | undefined;
}

const NO_FAULT: FaultDecision = { tear: false, wait: undefined };

class Rule implements FaultRule {
  hits = 0;
  #seen = 0;
  #released = false;
  #reachedResolve!: () => void;
  readonly #holds: (() => void)[] = [];
  readonly reached = new Promise<void>((resolve) => {
    this.#reachedResolve = resolve;
  });

  constructor(
    readonly method: string,
    readonly kind: FaultKind,
    readonly options: FaultOptions,
  ) {}

  /** Counts a matching call; true when the rule fires on it. */
  take(): boolean {
    const index = this.#seen++;
    const skip = this.options.skip ?? 0;
    if (index < skip || index >= skip + (this.options.times ?? 1)) return false;
    this.hits++;
    this.#reachedResolve();
    return true;
  }

  hold(): Promise<void> {
    if (this.#released) return Promise.resolve();
    return new Promise((resolve) => this.#holds.push(resolve));
  }

  release(): void {
    this.#released = true;
    for (const resolve of this.#holds.splice(0)) resolve();
  }
}

/**
 * The faults of one backend. Rules fire in the order they were added; a call can be both
 * delayed and failed; the first failing rule that fires on it decides how it fails.
 *
 * @example
 * const backend = new FaultyCheckpointBackend();
 * const rule = backend.faults.inject("putCheckpoint", "fail-after", { skip: 2 });
 * // ...run a graph: its third checkpoint is stored, yet the write reports an error.
 * expect(rule.hits).toBe(1);
 */
export class FaultPlan<Method extends string> {
  readonly #rules: Rule[] = [];
  readonly #calls = new Map<string, number>();
  readonly #reads: ReadonlySet<string>;

  /** `reads`: the methods that return stored values, the only ones a `tear` rule may name. */
  constructor(reads: readonly Method[]) {
    this.#reads = new Set(reads);
  }

  /** Adds a rule for `method`. */
  inject(method: Method, kind: FaultKind, options: FaultOptions = {}): FaultRule {
    for (const [name, value] of Object.entries({ skip: options.skip, times: options.times })) {
      if (value !== undefined && !(value >= 0 && (Number.isInteger(value) || value === Infinity))) {
        throw new RangeError(`${name} must be a whole number of calls, got ${value}`);
      }
    }
    if (kind === "tear" && !this.#reads.has(method)) {
      throw new RangeError(`only a read can be torn; ${method} is not one`);
    }
    const rule = new Rule(method, kind, options);
    this.#rules.push(rule);
    return rule;
  }

  /** Calls of `method` started so far, faulted or not. */
  calls(method: Method): number {
    return this.#calls.get(method) ?? 0;
  }

  /** Removes every rule and releases the calls they hold; call counts are kept. */
  clear(): void {
    for (const rule of this.#rules.splice(0)) rule.release();
  }

  /** Decides what one call of `method` must do (the backend wrappers call this). */
  decide(method: Method): FaultDecision {
    this.#calls.set(method, this.calls(method) + 1);
    const waits: (() => Promise<void>)[] = [];
    let failure: { kind: FaultKind; error: unknown } | undefined;
    let tear = false;
    for (const rule of this.#rules) {
      if (rule.method !== method || !rule.take()) continue;
      if (rule.kind === "fail-before" || rule.kind === "fail-after") {
        failure ??= {
          kind: rule.kind,
          error: rule.options.error?.(method) ?? defaultError(method, rule.kind),
        };
      } else if (rule.kind === "tear") tear = true;
      else if (rule.kind === "hold") waits.push(() => rule.hold());
      else waits.push(() => turns(rule.options.turns ?? 1));
    }
    if (!failure && !tear && waits.length === 0) return NO_FAULT;
    return {
      ...(failure?.kind === "fail-before" ? { failBefore: failure.error } : {}),
      ...(failure?.kind === "fail-after" ? { failAfter: failure.error } : {}),
      tear,
      wait:
        waits.length === 0
          ? undefined
          : (async () => {
              for (const wait of waits) await wait();
            })(),
    };
  }
}

function defaultError(method: string, kind: FaultKind): InjectedFault {
  const when = kind === "fail-before" ? "before reaching storage" : "after storage completed it";
  return new InjectedFault(`injected fault: ${method} failed ${when}`);
}

async function turns(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

/** Runs one wrapped call under `decision`: waits, fails before or after, or passes through. */
export async function underFault<T>(decision: FaultDecision, call: () => Promise<T>): Promise<T> {
  if (decision.wait) await decision.wait;
  if ("failBefore" in decision) throw decision.failBefore;
  const result = await call();
  if ("failAfter" in decision) throw decision.failAfter;
  return result;
}
