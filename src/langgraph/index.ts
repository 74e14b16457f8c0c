/**
 * `rewind/langgraph`: Rewind storage for LangGraph.js apps. `RewindSaver` is a LangGraph
 * checkpoint saver on any Rewind backend; `@langchain/langgraph-checkpoint` is an optional peer
 * dependency, needed only by this entry point.
 *
 * @example
 * import { RewindSaver } from "rewind/langgraph";
 * import { SqliteBackend } from "rewind/sqlite";
 * const app = graph.compile({ checkpointer: new RewindSaver(new SqliteBackend("agent.sqlite")) });
 */
export type { AppendPolicy } from "../checkpoint/checkpoint-codec.js";
export {
  importLangGraphThreads,
  type LangGraphImportOptions,
  type LangGraphThreadImport,
  langGraphThreadIds,
} from "./langgraph-import.js";
export { RewindSaver, type RewindSaverOptions } from "./rewind-saver.js";
export { RewindStore } from "./rewind-store.js";
export {
  createLangGraphSerializer,
  LANGGRAPH_TAG_PREFIX,
  LangGraphValueCodec,
  registerLangChainClasses,
} from "./value-codec.js";
