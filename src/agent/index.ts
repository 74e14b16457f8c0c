/**
 * The agent layer: messages, tools, the model seam (an OpenAI-compatible model and a scripted
 * one) and the prebuilt tool-calling agent on the graph runtime.
 */
export {
  type ApprovalDecision,
  type ApprovalRequest,
  isApproved,
  type Review,
} from "./approval.js";
export type { ChatModel, ChatOptions, ChatRequest } from "./chat-model.js";
export {
  type AssistantMessage,
  assistantMessage,
  type ChatMessage,
  pendingToolCalls,
  type SystemMessage,
  systemMessage,
  type ToolCall,
  type ToolMessage,
  toolMessage,
  type UserMessage,
  userMessage,
} from "./messages.js";
export {
  OpenAIChatModel,
  type OpenAIChatModelOptions,
  type OpenAIClientLike,
} from "./openai-model.js";
export {
  type AgentChannels,
  agentChannels,
  createReactAgent,
  type ReactAgent,
  type ReactAgentOptions,
  type TokenEvent,
} from "./react-agent.js";
export {
  ScriptExhaustedError,
  ScriptedModel,
  type ScriptedResponse,
  type ScriptedTurn,
} from "./scripted-model.js";
export {
  executeToolCall,
  type Tool,
  type ToolContext,
  type ToolSchema,
  type ToolSpec,
  tool,
  toolSpec,
  validateToolInput,
} from "./tools.js";
