import { describeStoreBackend } from "../../src/testing/index.js";
import { describeOn } from "../support/backends.js";
import { PROPERTY_RUNS } from "../support/trial-count.js";

describeOn("memory", (backend) =>
  describeStoreBackend(backend.name, { ...backend.stores, propertyRuns: PROPERTY_RUNS }),
);
