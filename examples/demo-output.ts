/**
 * Printing for the demo: a turn of the agent streamed to the terminal (tokens, tool calls,
 * tool results) and one-line descriptions of checkpoints for the history and the branch tree.
 */
import type {
  AgentChannels,
  ChatMessage,
  ReactAgent,
  RunResult,
  StateOf,
  StateSnapshot,
} from "../src/index.js";

export type AgentState = StateOf<AgentChannels>;

export const out = (line = "") => process.stdout.write(`${line}\n`);

export function header(title: string): void {
  out();
  out(`━━ ${title} ${"━".repeat(Math.max(3, 88 - title.length))}`);
}

export const short = (text: string, max = 60) => {
  const flat = text.replace(/\s+/g, " ");
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
};

export const callText = (name: string, args: Record<string, unknown>) =>
  `${name}(${Object.entries(args)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(", ")})`;

/** Runs one `stream` of the agent, printing what happens as it happens. */
export async function turn(
  agent: ReactAgent,
  input: Parameters<ReactAgent["stream"]>[0],
  options: Parameters<ReactAgent["stream"]>[1],
): Promise<RunResult<AgentState>> {
  const run = agent.stream(input, options);
  let streamed = false;
  for (;;) {
    const next = await run.next();
    if (next.done) {
      if (streamed) out();
      return next.value as RunResult<AgentState>;
    }
    const event = next.value;
    if (event.type === "custom" && event.node === "model") {
      if (!streamed) process.stdout.write("  agent   › ");
      streamed = true;
      process.stdout.write((event.data as { text: string }).text);
    } else if (event.type === "updates") {
      for (const m of (event.update.messages ?? []) as ChatMessage[]) {
        if (m.role === "assistant") {
          if (streamed) out();
          else if (m.content) out(`  agent   › ${m.content}`);
          streamed = false;
          for (const c of m.toolCalls) out(`  agent   → calls ${callText(c.name, c.args)}`);
        } else if (m.role === "tool") {
          out(`  tool    ← ${m.name}: ${short(m.content, 80)}`);
        }
      }
    }
  }
}

/** What happened at a checkpoint, in a few words. */
export function describeCheckpoint(s: StateSnapshot<AgentState>): string {
  const messages = s.values.messages;
  const last = messages.at(-1);
  if (!last) return "empty";
  if (last.role === "user") return `user: "${short(last.content, 48)}"`;
  if (last.role === "tool") return `${last.name} → ${short(last.content, 44)}`;
  if (last.role !== "assistant") return last.role;
  const call = last.toolCalls.find(
    (c) => !messages.some((m) => m.role === "tool" && m.toolCallId === c.id),
  );
  if (!call) return `agent: "${short(last.content, 48)}"`;
  if (s.next[0] === "approve")
    return `paused before ${callText(call.name, call.args)}: awaiting approval`;
  if (s.values.reviews[call.id]) return `human approved ${call.name}`;
  return `agent calls ${last.toolCalls.map((c) => callText(c.name, c.args)).join(", ")}`;
}
