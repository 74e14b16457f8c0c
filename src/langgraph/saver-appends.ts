/**
 * How the LangGraph saver stores a changed channel: LangGraph hands whole values, so a list that
 * only grew since the storage's memory of append chains last saw it ({@link AppendTracker}, the
 * checkpointer's) is stored as its new items while the codec's policy allows, anything else in
 * full; and what the memory learns from a write that succeeded or a read.
 */
import type { Checkpoint } from "@langchain/langgraph-checkpoint";
import { type AppendTracker, channelKey } from "../checkpoint/append-tracker.js";
import type { ChannelWrite, RebuiltChannel } from "../checkpoint/checkpoint-codec.js";
import { isUniqueVersion } from "./saver-input.js";
import type { SaverCodec } from "./tuple-reader.js";

/** A channel write, and what to remember once it is stored. */
export interface PlannedWrite {
  readonly write: ChannelWrite;
  readonly commit: () => void;
}

const nothing = () => undefined;

/** How `channel` of `checkpoint` is stored at `version` (no `appends`: always in full). */
export function planChannelWrite(
  appends: AppendTracker | undefined,
  codec: SaverCodec,
  site: { readonly threadId: string; readonly ns: string },
  checkpoint: Checkpoint,
  channel: string,
  version: string,
): PlannedWrite {
  if (!Object.hasOwn(checkpoint.channel_values, channel)) {
    return { write: { kind: "empty", channel, version }, commit: nothing };
  }
  const value = (checkpoint.channel_values as Record<string, unknown>)[channel];
  // Only arrays under versions unique to one branch take part (not LangGraph's integers).
  if (!appends || !Array.isArray(value) || !isUniqueVersion(version)) {
    return { write: { kind: "full", channel, version, value }, commit: nothing };
  }
  const key = channelKey(site.threadId, site.ns, channel);
  const grown = appends.grownFrom(key, version, value);
  const depth = grown ? grown.state.depth + 1 : 0;
  if (grown && codec.mayAppend(depth, grown.state.baseLength)) {
    const { prevVersion, items, state } = grown;
    return {
      write: { kind: "append", channel, version, prevVersion, depth, items },
      commit: () =>
        appends.recordArray(key, version, value, { depth, baseLength: state.baseLength }, grown),
    };
  }
  return {
    write: { kind: "full", channel, version, value },
    commit: () => appends.recordArray(key, version, value, { depth: 0, baseLength: value.length }),
  };
}

/** What the memory learns from a channel read back, so the next write on it can append. */
export function rememberRead(
  appends: AppendTracker,
  site: { readonly threadId: string; readonly ns: string },
): (channel: string, version: string, rebuilt: RebuiltChannel) => void {
  return (channel, version, { value, depth, baseLength }) => {
    if (!Array.isArray(value) || !isUniqueVersion(version)) return;
    appends.recordArray(channelKey(site.threadId, site.ns, channel), version, value, {
      depth,
      baseLength,
    });
  };
}
