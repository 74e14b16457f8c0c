/**
 * Who holds a lease, and whether that holder is provably gone. A lease records the holding
 * process (machine, pid, process start time); a process on the same machine that finds the pid
 * gone (or reused by a later process, or a zombie) may take the lease over at once. Anything it
 * cannot prove (another machine, a live pid, no process table to read) counts as alive: that
 * lease is only taken once it expires.
 */
import { readFileSync, readlinkSync } from "node:fs";
import { hostname } from "node:os";
import type { LeaseHolder } from "../checkpoint/checkpoint-backend.js";

let self: LeaseHolder | undefined;

/** This process, as recorded on the leases it takes. */
export function thisProcess(): LeaseHolder {
  self ??= {
    // The boot id and pid namespace tell apart machines (and containers) sharing a host name.
    host: [
      hostname(),
      readText("/proc/sys/kernel/random/boot_id"),
      readLink("/proc/self/ns/pid"),
    ].join(" "),
    pid: process.pid,
    started: processStat(process.pid)?.started ?? "",
  };
  return self;
}

/** True only when `holder` ran on this machine and that process no longer exists. */
export function holderIsGone(holder: LeaseHolder | undefined): boolean {
  const me = thisProcess();
  if (!holder || holder.host !== me.host || !Number.isInteger(holder.pid) || holder.pid <= 0)
    return false;
  if (holder.pid === me.pid) return holder.started !== "" && holder.started !== me.started;
  try {
    process.kill(holder.pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "ESRCH";
  }
  // The pid exists: gone only if it is a zombie or a different, later process.
  const stat = processStat(holder.pid);
  if (!stat) return false;
  return stat.state === "Z" || (holder.started !== "" && stat.started !== holder.started);
}

/** State and start time (clock ticks since boot) of a process, where `/proc` tells them. */
function processStat(pid: number): { state: string; started: string } | undefined {
  const stat = readText(`/proc/${pid}/stat`);
  // The command name is in parentheses and may hold spaces: fields are counted after it.
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  if (stat === "" || fields.length < 20) return undefined;
  return { state: fields[0]!, started: fields[19]! };
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8").trim();
  } catch {
    return "";
  }
}

function readLink(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
}
