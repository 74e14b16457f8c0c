/**
 * A throwaway PostgreSQL cluster for tests that restart the database: initdb into a temp
 * directory, started on its own port with pg_ctl, so the shared server is never touched. As
 * root (initdb refuses root) the binaries run as the `postgres` user through `runuser`.
 */
import { execFileSync } from "node:child_process";
import { chownSync, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** Where initdb and pg_ctl are: REWIND_PG_BIN, else what pg_config says. */
const BIN = process.env.REWIND_PG_BIN ?? pgConfigBindir();

function pgConfigBindir(): string {
  try {
    return execFileSync("pg_config", ["--bindir"]).toString().trim();
  } catch {
    return "";
  }
}

export interface Cluster {
  readonly url: string;
  restart(mode: "fast" | "immediate"): void;
  stop(): void;
}

/** Why no cluster can be started here, or "" when one can. */
export function clusterUnavailable(): string {
  if (BIN === "" || !existsSync(join(BIN, "initdb")) || !existsSync(join(BIN, "pg_ctl")))
    return `no initdb and pg_ctl found (pg_config --bindir: "${BIN}"; set REWIND_PG_BIN)`;
  if (process.getuid?.() === 0) {
    try {
      execFileSync("runuser", ["-u", "postgres", "--", "true"], { stdio: "ignore" });
    } catch {
      return "running as root and `runuser -u postgres` is not available, so initdb cannot run";
    }
  }
  return "";
}

/**
 * Starts a cluster on `port`, or on the next free port after it: a fixed port lies in the
 * range the system hands out to client sockets, so one of the tests' own connections (or
 * another checkout's cluster) can hold it at that moment. The URL names the port it got.
 */
export function startCluster(port: number, { fsync = false } = {}): Cluster {
  const dir = mkdtempSync(join(tmpdir(), "rewind-cluster-"));
  const data = join(dir, "data");
  const log = join(dir, "log");
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, uidOf("postgres"), gidOf("postgres"));
  const run = (bin: string, args: string[]) => {
    const [cmd, argv] = asRoot
      ? ["runuser", ["-u", "postgres", "--", join(BIN, bin), ...args]]
      : [join(BIN, bin), args];
    execFileSync(cmd as string, argv as string[], { stdio: "ignore", timeout: 60_000 });
  };
  run("initdb", ["-D", data, "-A", "trust", "-U", "postgres", "--no-sync"]);
  const optionsFor = (p: number) =>
    `-p ${p} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=${fsync ? "on" : "off"} -c max_connections=200`;
  const pgCtl = (...args: string[]) => run("pg_ctl", ["-D", data, "-w", "-t", "60", ...args]);
  let bound = port;
  for (let attempt = 0; ; attempt++, bound++) {
    try {
      pgCtl("-o", optionsFor(bound), "-l", log, "start");
      break;
    } catch (error) {
      const taken = existsSync(log) && readFileSync(log, "utf8").includes("Address already in use");
      if (!taken || attempt === 20) {
        rmSync(dir, { recursive: true, force: true });
        throw error;
      }
      rmSync(log, { force: true });
    }
  }
  const options = optionsFor(bound);
  return {
    url: `postgres://postgres@127.0.0.1:${bound}/postgres`,
    restart: (mode) => pgCtl("-m", mode, "-o", options, "-l", log, "restart"),
    stop: () => {
      try {
        pgCtl("-m", "immediate", "stop");
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function uidOf(user: string): number {
  return Number(execFileSync("id", ["-u", user]).toString().trim());
}

function gidOf(user: string): number {
  return Number(execFileSync("id", ["-g", user]).toString().trim());
}
