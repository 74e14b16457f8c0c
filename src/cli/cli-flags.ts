/**
 * Flag values as the commands take them: durations, sizes and counts (a malformed one is a
 * usage error, exit code 2), and byte counts printed for people.
 */
import { UsageError } from "./cli-run.js";

const DURATION = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/;
const UNIT_MS: Record<string, number> = { ms: 1, s: 1e3, m: 6e4, h: 3.6e6, d: 8.64e7, w: 6.048e8 };

/** `30d`, `12h`, `90m`, `45s`, `500ms` (or bare milliseconds) to milliseconds. */
export function parseDuration(text: string, flag: string): number {
  const match = DURATION.exec(text.trim());
  if (!match)
    throw new UsageError(`${flag} must be a duration like 30d, 12h, 90m or 45s, got "${text}"`);
  return Math.round(Number(match[1]) * UNIT_MS[match[2] ?? "ms"]!);
}

const SIZE = /^(\d+(?:\.\d+)?)\s*(b|kb|k|mb|m|gb|g)?$/i;
const UNIT_BYTES: Record<string, number> = {
  b: 1,
  k: 1024,
  kb: 1024,
  m: 1024 ** 2,
  mb: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
};

/** `512k`, `10MB`, `1g` (or bare bytes) to bytes. */
export function parseBytes(text: string, flag: string): number {
  const match = SIZE.exec(text.trim());
  if (!match) throw new UsageError(`${flag} must be a size like 512k, 10MB or 1GB, got "${text}"`);
  return Math.round(Number(match[1]) * UNIT_BYTES[(match[2] ?? "b").toLowerCase()]!);
}

/** A positive integer flag. */
export function parseCount(text: string, flag: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    throw new UsageError(`${flag} must be a positive integer, got "${text}"`);
  }
  return value;
}

/** Bytes for people: `1.5 MB`. */
export function formatBytes(bytes: number): string {
  const units = ["B", "KB", "MB", "GB", "TB"];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${unit === 0 ? value : value.toFixed(1)} ${units[unit]}`;
}
