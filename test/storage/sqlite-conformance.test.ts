import { describeCheckpointBackend } from "../../src/testing/index.js";
import { sqliteHarness } from "./sqlite-helpers.js";

describeCheckpointBackend("sqlite", sqliteHarness());
