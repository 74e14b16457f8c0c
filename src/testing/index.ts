/**
 * `rewind/testing`: the conformance suites every storage backend runs, for Rewind's own
 * backends and for yours. Needs vitest.
 */
export {
  type CheckpointBackendHarness,
  type ConformanceSkip,
  checkpointConformanceCases,
  describeCheckpointBackend,
} from "./checkpoint-conformance.js";
export {
  type CaseContext,
  type ConformanceCase,
  ConformanceMoney,
  conformanceSerializer,
} from "./checkpoint-fixtures.js";
export { type StoreConformanceHarness, storeConformance } from "./store-conformance.js";
export {
  registerThreadTenancyProperty,
  type ThreadTenancyHarness,
} from "./thread-tenancy-property.js";
