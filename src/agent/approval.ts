/**
 * Human approval of tool calls: what the agent shows when it pauses, what the human answers,
 * and how each answer changes the conversation before anything runs.
 */
import { interrupt } from "../graph/interrupt.js";
import type { AssistantMessage, ChatMessage, ToolCall, ToolMessage } from "./messages.js";
import { toolMessage } from "./messages.js";
import { type Tool, validateToolInput } from "./tools.js";

/** The value of the interrupt a call that needs approval pauses with. */
export interface ApprovalRequest {
  readonly type: "tool_approval";
  readonly toolCall: ToolCall;
  readonly description: string;
  /** Why the previous answer was refused, when the agent asks again. */
  readonly error?: string;
}

/**
 * The human's answer, passed as `Command.resume(decision)`: run the call as it is, run it with
 * other arguments (checked against the tool's schema), or do not run it (the model is told,
 * with the reason).
 */
export type ApprovalDecision =
  | { readonly decision: "approve" }
  | { readonly decision: "edit"; readonly args: Record<string, unknown> }
  | { readonly decision: "reject"; readonly reason?: string };

/** What was decided for a tool call, kept in the agent's `reviews` state by tool call id. */
export interface Review {
  readonly decision: "approved" | "edited" | "rejected";
  readonly reason?: string;
  /** The model's arguments, when the human edited them. */
  readonly originalArgs?: Record<string, unknown>;
}

/** A decision lets the call run. */
export function isApproved(review: Review | undefined): boolean {
  return review?.decision === "approved" || review?.decision === "edited";
}

/**
 * Pauses for the human's decision on `call`, asking again (with the reason) until the answer
 * is well-formed, and returns the state update that records it. Nothing here has side effects:
 * the node reruns from the top on every resume.
 */
export function askApproval(
  t: Tool,
  call: ToolCall,
  messages: readonly ChatMessage[],
): { messages?: ChatMessage[]; reviews: Record<string, Review> } {
  const request: ApprovalRequest = {
    type: "tool_approval",
    toolCall: call,
    description: t.description,
  };
  let answer = interrupt<unknown>(request);
  for (let problem = check(t, answer); problem; problem = check(t, answer)) {
    answer = interrupt<unknown>({ ...request, error: problem });
  }
  const decision = answer as ApprovalDecision;
  if (decision.decision === "approve") return { reviews: { [call.id]: { decision: "approved" } } };
  if (decision.decision === "edit") {
    return {
      messages: [withArgs(messages, call.id, decision.args)],
      reviews: { [call.id]: { decision: "edited", originalArgs: call.args } },
    };
  }
  const reason = decision.reason?.trim();
  const result: ToolMessage = toolMessage(
    call,
    `The user rejected this call to ${call.name}${reason ? `: ${reason}` : ""}. It was not run.`,
    { isError: true },
  );
  return {
    messages: [result],
    reviews: { [call.id]: { decision: "rejected", ...(reason ? { reason } : {}) } },
  };
}

/** Why an answer is not a usable decision, or undefined when it is. */
function check(t: Tool, answer: unknown): string | undefined {
  const shape =
    'answer with { decision: "approve" }, { decision: "edit", args: {...} } or ' +
    '{ decision: "reject", reason?: "..." }';
  if (typeof answer !== "object" || answer === null) return shape;
  const { decision, args, reason } = answer as Record<string, unknown>;
  if (decision === "approve") return undefined;
  if (decision === "reject") {
    return reason === undefined || typeof reason === "string"
      ? undefined
      : "a rejection's reason must be a string";
  }
  if (decision !== "edit") return shape;
  if (typeof args !== "object" || args === null || Array.isArray(args)) {
    return "an edit needs args: an object of the tool's arguments";
  }
  const checked = validateToolInput(t, args);
  return checked.ok ? undefined : checked.error;
}

/** The assistant message that made the call, with the call's arguments replaced (same id). */
function withArgs(
  messages: readonly ChatMessage[],
  callId: string,
  args: Record<string, unknown>,
): AssistantMessage {
  const owner = messages.findLast(
    (m): m is AssistantMessage =>
      m.role === "assistant" && (m.toolCalls ?? []).some((c) => c.id === callId),
  )!;
  return {
    ...owner,
    toolCalls: owner.toolCalls.map((c) =>
      c.id === callId ? { id: c.id, name: c.name, args: { ...args } } : c,
    ),
  };
}
