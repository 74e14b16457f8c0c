/**
 * The conformance suite of the checkpoint storage seam. Every backend runs it with a five-line
 * test file; a backend may skip a case only by naming it and giving the reason.
 *
 * @example
 * describeCheckpointBackend("sqlite", { create: () => new SqliteBackend(tempFile()) });
 */
import type { CheckpointBackend } from "../checkpoint/checkpoint-backend.js";
import { createCheckpointer } from "../checkpoint/checkpointer.js";
import { archiveCases } from "./checkpoint-cases-archive.js";
import { contractCases } from "./checkpoint-cases-contracts.js";
import { effectGuardCases } from "./checkpoint-cases-effect-guards.js";
import { effectCases } from "./checkpoint-cases-effects.js";
import { leaseFoldingCases } from "./checkpoint-cases-lease-folding.js";
import { queryCases } from "./checkpoint-cases-queries.js";
import { retentionCases } from "./checkpoint-cases-retention.js";
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
import { type ConformanceHarness, describeConformance } from "./conformance-suite.js";

/** How the suite gets checkpoint backends: a fresh one for every case. */
export interface CheckpointBackendHarness extends ConformanceHarness<CheckpointBackend> {
  /**
   * Optional: damages what is stored for one checkpoint in a backend-specific way (for instance
   * overwrite the bytes of values written with it), so that decoding it must fail. It must not
   * touch values the checkpoint only carries over from earlier checkpoints.
   */
  corrupt?(
    backend: CheckpointBackend,
    key: { threadId: string; ns: string; checkpointId: string },
  ): Promise<void> | void;
}

/** Every case of the suite, by group. */
export const checkpointConformanceCases: Readonly<Record<string, readonly ConformanceCase[]>> = {
  values: valueCases,
  "pending writes": writeCases,
  queries: queryCases,
  safety: safetyCases,
  "lease folding": leaseFoldingCases,
  "seam contracts": contractCases,
  "effect ledger": effectCases,
  "effect ledger guards": effectGuardCases,
  retention: retentionCases,
  archive: archiveCases,
};

/**
 * Registers the conformance suite for one backend with vitest (`describe`/`it`). Cases run
 * through the {@link Checkpointer} the runtime uses, and through its door (the seam's own calls)
 * where the contract is about what the backend stores.
 */
export function describeCheckpointBackend(name: string, harness: CheckpointBackendHarness): void {
  describeConformance<CaseContext>({
    title: `checkpoint backend conformance: ${name}`,
    groups: checkpointConformanceCases,
    skip: harness.skip,
    async open() {
      const backend = await harness.create();
      const checkpointer = createCheckpointer(backend, {
        serializer: conformanceSerializer(),
        ...CONFORMANCE_APPEND_POLICY,
      });
      const tag = newTag();
      const { corrupt } = harness;
      const ctx: CaseContext = {
        // Raw seam calls go through the same door as everything else.
        backend: checkpointer.door,
        checkpointer,
        tag,
        thread: (label) => `conformance/${tag}/${label}`,
        corrupt: corrupt ? async (key) => corrupt.call(harness, backend, key) : undefined,
      };
      return {
        ctx,
        async close() {
          await checkpointer.close();
          await harness.destroy?.(backend);
        },
      };
    },
  });
}
