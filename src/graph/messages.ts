/**
 * The minimal message shape the runtime needs (an `id`), and the merge-by-id reducer.
 * The agent layer defines richer message types on top.
 */
import { randomUUID } from "node:crypto";

/** Anything with an optional id and a role; the agent layer narrows it. */
export interface Message {
  id?: string;
  role: string;
  [key: string]: unknown;
}

/** A marker that removes the message with this id when merged. */
export interface RemoveMessage extends Message {
  role: "remove";
  id: string;
}

/** `removeMessage(id)`: returned in a messages update, removes that message. */
export function removeMessage(id: string): RemoveMessage {
  return { role: "remove", id };
}

/**
 * Merges an update into a message list without mutating it. When every update message is new,
 * the result is `[...current, ...added]` so that storage can keep only the added part.
 */
export function mergeMessages<M extends Message>(
  current: readonly M[],
  update: M | readonly M[],
): M[] {
  const incoming = (Array.isArray(update) ? update : [update]) as readonly M[];
  const withIds = incoming.map((m) => (m.id ? m : ({ ...m, id: randomUUID() } as M)));
  let index: Map<string, number> | undefined;
  const known = (id: string) => {
    index ??= new Map(current.map((m, i) => [m.id ?? "", i]));
    return index.get(id);
  };
  if (withIds.every((m) => m.role !== "remove" && known(m.id!) === undefined)) {
    return dedupeAppend(current, withIds);
  }
  const out = current.slice();
  const removed = new Set<string>();
  for (const message of withIds) {
    const at = out.findIndex((m) => m.id === message.id);
    if (message.role === "remove") {
      if (at >= 0) removed.add(message.id!);
    } else if (at >= 0) out[at] = message;
    else out.push(message);
  }
  return removed.size === 0 ? out : out.filter((m) => !removed.has(m.id ?? ""));
}

function dedupeAppend<M extends Message>(current: readonly M[], added: readonly M[]): M[] {
  const out = current.slice();
  const seen = new Map<string, number>();
  for (const message of added) {
    const at = seen.get(message.id!);
    if (at === undefined) {
      seen.set(message.id!, out.length);
      out.push(message);
    } else out[at] = message;
  }
  return out;
}
