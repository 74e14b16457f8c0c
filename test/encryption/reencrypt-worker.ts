/**
 * A re-encrypting process for the interrupted-run test. Usage:
 *   reencrypt-worker <database> <schema|-> <key file> <key dir> <pause after>
 * Re-encrypts everything, printing one JSON line per thread or large value done; after
 * `pause after` of them it prints "paused" and blocks (the test kills it there). 0: no pause.
 */

import { openStorage } from "../../src/cli/storage.js";
import { reencrypt } from "../../src/encryption/index.js";
import { openKeys } from "./reencrypt-fixtures.js";

const [database, schema, keyFile, keyDir, pause] = process.argv.slice(2);
const keys = await openKeys(keyFile!, keyDir!);
const storage = await openStorage(database!, {
  schema: schema === "-" ? undefined : schema,
  encryption: { keys },
});
const report = await reencrypt(storage.checkpointer, {
  onProgress(done, total) {
    process.stdout.write(`${JSON.stringify({ done, total })}\n`);
    if (done === Number(pause)) {
      process.stdout.write("paused\n");
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 600_000);
    }
  },
});
await storage.close();
process.stdout.write(`${JSON.stringify(report)}\n`);
