/**
 * A process writing to one SQLite file with encryption, sharing a key directory with others:
 * `keyring-worker.ts <kek base64> <key dir> <db> <name> <count>`. Every process starts on a
 * tenant with no key yet, so they race to create its first key. Prints `{"written": n}`.
 */
import { createSqliteCheckpointer } from "../../src/backends/sqlite/index.js";
import { threadKey } from "../../src/checkpoint/thread-key.js";
import { Keyring, localKeyProvider } from "../../src/encryption/index.js";
import { newCheckpointId } from "../../src/ids.js";
import { valueStep } from "../support/checkpoints.js";

const [kek, directory, db, name, count] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
];
const keys = await Keyring.open({
  provider: localKeyProvider([Buffer.from(kek, "base64")]),
  directory,
});
const checkpointer = createSqliteCheckpointer(db, { encryption: { keys } });
let written = 0;
for (let i = 0; i < Number(count); i++) {
  const thread = threadKey(`${name}-${i}`, "racing");
  await checkpointer.put(valueStep(thread, newCheckpointId(), `${name} value ${i}`));
  written++;
}
await checkpointer.close();
console.log(JSON.stringify({ written }));
