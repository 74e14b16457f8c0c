import {
  describeCheckpointBackend,
  describeStoreBackend,
  FaultyCheckpointBackend,
  FaultyStoreBackend,
} from "../../src/testing/index.js";

// With no fault planned, the fault-injecting backends are plain backends and must conform.
describeCheckpointBackend("faulty memory", {
  create: () => new FaultyCheckpointBackend(),
  corrupt: (backend, key) => (backend as FaultyCheckpointBackend).damage(key),
});
describeStoreBackend("faulty memory", { create: () => new FaultyStoreBackend() });
