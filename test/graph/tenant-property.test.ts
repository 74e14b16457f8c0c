import { registerThreadTenancyProperty } from "../../src/testing/index.js";
import { BACKENDS } from "../support/backends.js";

// A few hundred cases by default; REWIND_PROPERTY_RUNS=10000 for the soak run.
const propertyRuns = Number(process.env.REWIND_PROPERTY_RUNS ?? 200);

for (const backend of BACKENDS) {
  registerThreadTenancyProperty({
    name: backend.name,
    create: () => backend.checkpointer(),
    propertyRuns,
  });
}
