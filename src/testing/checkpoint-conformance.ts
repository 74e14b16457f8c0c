/**
 * The conformance suite of the checkpoint storage seam. Every backend runs it with a five-line
 * test file; a backend may skip a case only by naming it and giving the reason.
 *
 * @example
 * describeCheckpointBackend("sqlite", { create: () => new SqliteBackend(tempFile()) });
 */
import { afterEach, beforeEach, describe, it } from "vitest";
import { type Checkpointer, createCheckpointer } from "../storage/checkpointer.js";
import type { CheckpointBackend } from "../storage/types.js";
import { contractCases } from "./checkpoint-cases-contracts.js";
import { queryCases } from "./checkpoint-cases-queries.js";
import { safetyCases } from "./checkpoint-cases-safety.js";
import { valueCases } from "./checkpoint-cases-values.js";
import { writeCases } from "./checkpoint-cases-writes.js";
import {
  type CaseContext,
  CONFORMANCE_APPEND_POLICY,
  type ConformanceCase,
  conformanceSerializer,
  newTag,
} from "./checkpoint-fixtures.js";

/** Cases a backend cannot run, and why (the reason is shown in the test report). */
export interface ConformanceSkip {
  readonly reason: string;
  /** Exact case names, as printed by the suite. */
  readonly tests: readonly string[];
}

/** How the suite gets a backend to test. A fresh backend is created for every case. */
export interface CheckpointBackendHarness {
  /** A new, empty (or at least unshared) backend; the suite wraps it in a Checkpointer. */
  create(): Promise<CheckpointBackend> | CheckpointBackend;
  /** Cleans up after a case (remove a temp file, drop a schema); the backend is already closed. */
  destroy?(backend: CheckpointBackend): Promise<void> | void;
  /**
   * Optional: damages what is stored for one checkpoint in a backend-specific way (for instance
   * overwrite the bytes of values written with it), so that decoding it must fail. It must not
   * touch values the checkpoint only carries over from earlier checkpoints.
   */
  corrupt?(
    backend: CheckpointBackend,
    key: { threadId: string; ns: string; checkpointId: string },
  ): Promise<void> | void;
  readonly skip?: readonly ConformanceSkip[];
}

/** Every case of the suite, by group. */
export const checkpointConformanceCases: Readonly<Record<string, readonly ConformanceCase[]>> = {
  values: valueCases,
  "pending writes": writeCases,
  queries: queryCases,
  safety: safetyCases,
  "seam contracts": contractCases,
};

/**
 * Registers the conformance suite for one backend with vitest (`describe`/`it`). Cases run
 * through the {@link Checkpointer} the runtime uses, and through its door (the seam's own calls)
 * where the contract is about what the backend stores.
 */
export function describeCheckpointBackend(name: string, harness: CheckpointBackendHarness): void {
  const skipped = skipReasons(harness.skip ?? []);
  describe(`checkpoint backend conformance: ${name}`, () => {
    let backend: CheckpointBackend | undefined;
    let checkpointer: Checkpointer | undefined;

    beforeEach(async () => {
      backend = await harness.create();
      checkpointer = createCheckpointer(backend, {
        serializer: conformanceSerializer(),
        ...CONFORMANCE_APPEND_POLICY,
      });
    });

    afterEach(async () => {
      const closing = backend;
      await checkpointer?.close();
      checkpointer = undefined;
      backend = undefined;
      if (closing) await harness.destroy?.(closing);
    });

    for (const [group, cases] of Object.entries(checkpointConformanceCases)) {
      describe(group, () => {
        for (const testCase of cases) {
          const reason = skipped.get(testCase.name);
          if (reason !== undefined) {
            it.skip(`${testCase.name} (skipped: ${reason})`, () => {});
            continue;
          }
          it(testCase.name, async () => {
            const tag = newTag();
            const current = backend!;
            const ctx: CaseContext = {
              // Raw seam calls go through the same door as everything else.
              backend: checkpointer!.door,
              checkpointer: checkpointer!,
              tag,
              thread: (label) => `conformance/${tag}/${label}`,
              corrupt: harness.corrupt ? async (key) => harness.corrupt!(current, key) : undefined,
            };
            await testCase.run(ctx);
          });
        }
      });
    }
  });
}

function skipReasons(skips: readonly ConformanceSkip[]): Map<string, string> {
  const known = new Set(
    Object.values(checkpointConformanceCases).flatMap((c) => c.map((x) => x.name)),
  );
  const out = new Map<string, string>();
  for (const skip of skips) {
    if (typeof skip.reason !== "string" || skip.reason.trim() === "") {
      throw new Error("a conformance skip needs a reason");
    }
    for (const test of skip.tests) {
      // A typo must not silently skip nothing (or look like coverage that is not there).
      if (!known.has(test)) throw new Error(`no conformance case is named "${test}"`);
      out.set(test, skip.reason);
    }
  }
  return out;
}
