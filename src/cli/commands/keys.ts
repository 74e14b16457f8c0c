/**
 * `rewind keys <action>`: tenants' data keys in a key directory (see `rewind/encryption`).
 * `list` shows tenants and key versions, `rotate` gives tenants a new key version (new values
 * use it, old ones stay readable), `rewrap` wraps every data key again under the key file's
 * current KEK (after appending a new KEK to it), `reencrypt <database>` seals stored values again
 * under the current keys (so old versions can be retired; `--check` counts values per version),
 * `shred --yes` destroys a tenant's keys.
 */
import type { Command } from "commander";
import { envKeyProvider, fileKeyProvider } from "../../encryption/key-provider.js";
import { Keyring } from "../../encryption/keyring.js";
import { type ReencryptReport, reencrypt } from "../../encryption/reencrypt.js";
import { UsageError } from "../cli-run.js";
import { runCommand } from "../run.js";
import { openStorage } from "../storage.js";

interface KeyOptions {
  readonly keyDir: string;
  readonly keyFile?: string | undefined;
  readonly keyEnv?: string | undefined;
  readonly tenant?: string;
  readonly defaultTenant?: boolean;
  readonly all?: boolean;
  readonly yes?: boolean;
  readonly json?: boolean;
}

/** The flags that open a key directory. */
export interface KeyFlags {
  readonly keyDir?: string | undefined;
  readonly keyFile?: string | undefined;
  readonly keyEnv?: string | undefined;
}

/** The keyring `--key-dir` with `--key-file` or `--key-env` name; none without `--key-dir`. */
export async function keyringFromFlags(flags: KeyFlags): Promise<Keyring | undefined> {
  if (flags.keyDir === undefined) {
    if (flags.keyFile !== undefined || flags.keyEnv !== undefined) {
      throw new UsageError("--key-file and --key-env need --key-dir (the wrapped data keys)");
    }
    return undefined;
  }
  return openKeys({ ...flags, keyDir: flags.keyDir });
}

async function openKeys(options: KeyOptions): Promise<Keyring> {
  if ((options.keyFile === undefined) === (options.keyEnv === undefined)) {
    throw new UsageError("give the KEK with exactly one of --key-file <path> or --key-env <var>");
  }
  const provider = options.keyFile
    ? fileKeyProvider(options.keyFile)
    : envKeyProvider(options.keyEnv);
  return Keyring.open({ provider, directory: options.keyDir });
}

/** The tenants an action names: `--tenant`, `--default-tenant`, or `--all` when allowed. */
function tenantsOf(options: KeyOptions, keys: Keyring, all: boolean): (string | undefined)[] {
  const named = [
    options.tenant !== undefined,
    options.defaultTenant === true,
    options.all === true,
  ];
  if (named.filter(Boolean).length !== 1 || (!all && options.all)) {
    throw new UsageError(
      `name the tenant with one of --tenant <id>, --default-tenant${all ? " or --all" : ""}`,
    );
  }
  if (options.all) return keys.tenants().map((t) => t ?? undefined);
  return [options.defaultTenant ? undefined : options.tenant];
}

interface ReencryptFlags {
  readonly check?: boolean;
  readonly schema?: string | undefined;
}

function describeReencrypt(r: ReencryptReport, check: boolean): string {
  const lines = [
    check
      ? `checked ${r.threads} threads, ${r.largeValues} large values and ${r.storeItems} store items`
      : `re-encrypted ${r.rewritten} values in ${r.threads} threads, ${r.largeValues} large values and ${r.storeItems} store items`,
    ...r.versions.map((v) => `${name(v.tenant)}: key version ${v.version}: ${v.values} values`),
  ];
  if (r.plaintext > 0) lines.push(`${r.plaintext} values are not encrypted (left as they are)`);
  if (r.shredded > 0) lines.push(`${r.shredded} values belong to shredded keys (unreadable)`);
  return lines.join("\n");
}

const name = (tenant: string | null | undefined) =>
  tenant == null ? "the default tenant" : `tenant "${tenant}"`;

export function registerKeys(program: Command): void {
  const keys = program
    .command("keys")
    .description(
      "manage tenants' data keys (encryption at rest): list, rotate, rewrap, reencrypt, shred",
    );
  const common = (command: Command) =>
    command
      .requiredOption("--key-dir <dir>", "the key directory (wrapped data keys)")
      .option("--key-file <path>", "the KEK file (one key per line, the last current)")
      .option("--key-env <var>", "an environment variable holding the KEK(s)")
      .option("--json", "print the report as JSON");
  common(keys.command("list").description("tenants and their key versions")).action(
    async (options: KeyOptions) => {
      await runCommand(
        options,
        "tenants",
        async () => {
          const ring = await openKeys(options);
          return ring
            .tenants()
            .map((tenant) => ({ tenant, ...ring.describe(tenant ?? undefined) }));
        },
        (rows) =>
          rows
            .map(
              (r) =>
                `${name(r.tenant)}: current version ${r.current || "none"}, versions ${r.versions.join(",") || "none"}${r.shreddedThrough ? `, shredded through ${r.shreddedThrough}` : ""}`,
            )
            .join("\n") || "no tenant has a key",
      );
    },
  );
  common(keys.command("rotate").description("new key versions for tenants; old rows stay readable"))
    .option("--tenant <id>", "the tenant")
    .option("--default-tenant", "the default tenant")
    .option("--all", "every tenant in the key directory")
    .action(async (options: KeyOptions) => {
      await runCommand(
        options,
        "tenants",
        async (signal, progress) => {
          const ring = await openKeys(options);
          const tenants = tenantsOf(options, ring, true);
          const rotated: { tenant: string | null; version: number }[] = [];
          for (const tenant of tenants) {
            signal.throwIfAborted();
            rotated.push({ tenant: tenant ?? null, version: await ring.rotate(tenant) });
            progress.update(rotated.length, tenants.length);
          }
          return { rotated };
        },
        (r) =>
          r.rotated
            .map((x) => `${name(x.tenant)}: new writes use key version ${x.version}`)
            .join("\n") || "no tenant to rotate",
      );
    });
  common(keys.command("rewrap").description("wrap every data key under the current KEK")).action(
    async (options: KeyOptions) => {
      await runCommand(
        options,
        "keys",
        async (_signal, progress) => {
          const ring = await openKeys(options);
          const rewrapped = await ring.rewrap((done, total) => progress.update(done, total));
          return { rewrapped, kekId: ring.provider.kekId };
        },
        (r) => `rewrapped ${r.rewrapped} data keys under ${r.kekId}`,
      );
    },
  );
  common(
    keys
      .command("reencrypt <database>")
      .description(
        "seal every stored value again under its tenant's current key (resumable; --check only counts)",
      ),
  )
    .option("--tenant <id>", "only this tenant")
    .option("--default-tenant", "only the default tenant")
    .option("--check", "write nothing: count stored values per key version")
    .option("--schema <name>", "PostgreSQL schema")
    .action(async (database: string, options: KeyOptions & ReencryptFlags) => {
      await runCommand(
        options,
        "items",
        async (signal, progress) => {
          if (options.tenant !== undefined && options.defaultTenant === true) {
            throw new UsageError("give at most one of --tenant <id> or --default-tenant");
          }
          const ring = await openKeys(options);
          const storage = await openStorage(database, {
            schema: options.schema,
            encryption: { keys: ring },
          });
          try {
            return await reencrypt(storage.checkpointer, {
              store: storage.store,
              tenant: options.defaultTenant ? null : options.tenant,
              check: options.check === true,
              signal,
              onProgress: (done, total) => progress.update(done, total),
            });
          } finally {
            await storage.close();
          }
        },
        (r) => describeReencrypt(r, options.check === true),
      );
    });
  common(keys.command("shred").description("destroy a tenant's data keys: its data is unreadable"))
    .option("--tenant <id>", "the tenant")
    .option("--default-tenant", "the default tenant")
    .option("--yes", "confirm: shredding cannot be undone")
    .action(async (options: KeyOptions) => {
      await runCommand(
        options,
        "tenants",
        async () => {
          const ring = await openKeys(options);
          const [tenant] = tenantsOf(options, ring, false);
          if (options.yes !== true) {
            throw new UsageError(
              `shredding ${name(tenant)} cannot be undone (its data, backups and archives become unreadable); add --yes to confirm`,
            );
          }
          await ring.shredTenant(tenant);
          return { shredded: tenant ?? null };
        },
        (r) => `shredded ${name(r.shredded)}: its stored values can no longer be read`,
      );
    });
}
