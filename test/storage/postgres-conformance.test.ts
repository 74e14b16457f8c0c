import { describeCheckpointBackend } from "../../src/testing/index.js";
import { describeOn } from "../support/backends.js";

describeOn("postgres", (backend) => describeCheckpointBackend(backend.name, backend.checkpoints));
