/**
 * What the checkpoint and store conformance suites share: the harness shape a backend author
 * writes, named cases grouped under headings, and skips that must name a known case and give a
 * reason. Each suite builds its own per-case context; this file registers the cases with vitest.
 */
import { describe, it } from "vitest";

/** One named case of a suite; `run` gets a context made for it alone and throws to fail. */
export interface NamedCase<Ctx> {
  readonly name: string;
  run(ctx: Ctx): Promise<void>;
}

/** Cases a backend cannot run, and why (the reason is shown in the test report). */
export interface ConformanceSkip {
  readonly reason: string;
  /** Exact case names, as printed by the suite. */
  readonly tests: readonly string[];
}

/**
 * How a suite gets backends to test: the same three fields for every seam. `create` is called
 * at least once per case; `destroy` runs after the backend is closed.
 */
export interface ConformanceHarness<Backend> {
  /** A new, empty (or at least unshared) backend. */
  create(): Backend | Promise<Backend>;
  /** Cleans up after a case (remove a temp file, drop a schema); the backend is already closed. */
  destroy?(backend: Backend): void | Promise<void>;
  /** Cases this backend skips, each with its reason. A name that is not a case is an error. */
  readonly skip?: readonly ConformanceSkip[];
}

/** A context for one case and what closes it. */
export interface CaseSession<Ctx> {
  readonly ctx: Ctx;
  close(): Promise<void>;
}

/** How a suite runs its cases against one backend. */
export interface SuiteDefinition<Ctx> {
  /** Title of the outer `describe`. */
  readonly title: string;
  readonly groups: Readonly<Record<string, readonly NamedCase<Ctx>[]>>;
  readonly skip: readonly ConformanceSkip[] | undefined;
  /** Opens the context of one case; `close` runs whether the case passed or not. */
  open(): Promise<CaseSession<Ctx>>;
  /** Per-case timeout in ms (vitest's default when omitted). */
  readonly timeoutMs?: number | undefined;
}

/** Registers every case of `suite` with vitest, skipped ones under a title that says why. */
export function describeConformance<Ctx>(suite: SuiteDefinition<Ctx>): void {
  const skipped = skipReasons(suite.groups, suite.skip ?? []);
  describe(suite.title, () => {
    for (const [group, cases] of Object.entries(suite.groups)) {
      describe(group, () => {
        for (const testCase of cases) {
          const reason = skipped.get(testCase.name);
          if (reason !== undefined) {
            it.skip(`${testCase.name} (skipped: ${reason})`, () => {});
            continue;
          }
          it(testCase.name, () => runCase(suite, testCase), suite.timeoutMs);
        }
      });
    }
  });
}

async function runCase<Ctx>(suite: SuiteDefinition<Ctx>, testCase: NamedCase<Ctx>): Promise<void> {
  const session = await suite.open();
  let failure: { error: unknown } | undefined;
  try {
    await testCase.run(session.ctx);
  } catch (error) {
    failure = { error };
  }
  try {
    await session.close();
  } catch (error) {
    // The case's own failure says more than a cleanup that tripped over it.
    failure ??= { error };
  }
  if (failure) throw failure.error;
}

/** Checks the case names and the skips: a typo must not silently skip nothing. */
function skipReasons(
  groups: Readonly<Record<string, readonly NamedCase<unknown>[]>>,
  skips: readonly ConformanceSkip[],
): Map<string, string> {
  const known = new Set<string>();
  for (const testCase of Object.values(groups).flat()) {
    if (known.has(testCase.name))
      throw new Error(`two conformance cases are named "${testCase.name}"`);
    known.add(testCase.name);
  }
  const out = new Map<string, string>();
  for (const skip of skips) {
    if (typeof skip.reason !== "string" || skip.reason.trim() === "") {
      throw new Error("a conformance skip needs a reason");
    }
    for (const test of skip.tests) {
      if (!known.has(test)) throw new Error(`no conformance case is named "${test}"`);
      out.set(test, skip.reason);
    }
  }
  return out;
}
