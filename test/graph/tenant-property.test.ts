import { registerThreadTenancyProperty } from "../../src/testing/index.js";
import { BACKENDS } from "../support/backends.js";
import { PROPERTY_RUNS } from "../support/trial-count.js";

for (const backend of BACKENDS) {
  registerThreadTenancyProperty({
    name: backend.name,
    create: () => backend.checkpointer(),
    propertyRuns: PROPERTY_RUNS,
  });
}
