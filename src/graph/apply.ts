/**
 * Turning node results into channel writes, and applying writes through the reducers at the
 * barrier in a deterministic order.
 */
import { InvalidInputError } from "../errors.js";
import type { ChannelMap } from "./channels.js";
import { isCommand } from "./command.js";
import type { Snapshot } from "./snapshot.js";

export interface ChannelWrite {
  readonly channel: string;
  readonly value: unknown;
}

/** The state a node sees: every channel, with its initial value where nothing was written. */
export function stateView(channels: ChannelMap, values: Readonly<Record<string, unknown>>): any {
  const view: Record<string, unknown> = {};
  for (const [name, channel] of Object.entries(channels)) {
    view[name] = name in values ? values[name] : channel.initial();
  }
  return view;
}

/** Splits what a node returned into writes and gotos; unknown channels are refused by name. */
export function toWrites(
  channels: ChannelMap,
  source: string,
  returned: unknown,
): { writes: ChannelWrite[]; goto: string[] } {
  if (returned === undefined || returned === null) return { writes: [], goto: [] };
  let update: unknown = returned;
  let goto: string[] = [];
  if (isCommand(returned)) {
    update = returned.update ?? {};
    goto = [...returned.goto];
  }
  if (typeof update !== "object" || update === null || Array.isArray(update)) {
    throw new InvalidInputError(
      `"${source}" must return an object of state channels, got ${describe(update)}`,
    );
  }
  const writes: ChannelWrite[] = [];
  for (const [channel, value] of Object.entries(update)) {
    if (!(channel in channels)) {
      throw new InvalidInputError(`"${source}" wrote to unknown state channel "${channel}"`);
    }
    if (value !== undefined) writes.push({ channel, value });
  }
  return { writes, goto };
}

/** Applies writes in order; channels that changed get `version`. */
export function applyWrites(
  channels: ChannelMap,
  current: Snapshot,
  writes: readonly ChannelWrite[],
  version: string,
  options: { singleWriterCheck: boolean },
): { values: Record<string, unknown>; versions: Record<string, string> } {
  const values: Record<string, unknown> = { ...current.values };
  const versions: Record<string, string> = { ...current.versions };
  const counts = new Map<string, number>();
  for (const write of writes) {
    const channel = channels[write.channel]!;
    const count = (counts.get(write.channel) ?? 0) + 1;
    counts.set(write.channel, count);
    if (options.singleWriterCheck && channel.kind === "last" && count > 1) {
      throw new InvalidInputError(
        `channel "${write.channel}" received several values in one super-step; give it a reducer to combine them`,
      );
    }
    const before = write.channel in values ? values[write.channel] : channel.initial();
    values[write.channel] = channel.reduce(before, write.value);
    versions[write.channel] = version;
  }
  return { values, versions };
}

function describe(value: unknown): string {
  return Array.isArray(value) ? "an array" : value === null ? "null" : typeof value;
}
