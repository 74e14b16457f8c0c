import { describeStoreBackend } from "../../src/testing/index.js";
import { describeOn } from "../support/backends.js";

describeOn("memory", (backend) => describeStoreBackend(backend.name, backend.stores));
