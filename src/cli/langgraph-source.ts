/**
 * LangGraph.js savers as import sources: `SqliteSaver` on a file, `PostgresSaver` on a URL. The
 * packages are the user's own (they are what the threads were written with), loaded on use.
 */
import { existsSync } from "node:fs";
import type { BaseCheckpointSaver } from "@langchain/langgraph-checkpoint";
import { NotFoundError } from "../errors.js";
import { importOptionalPeer } from "../optional-peer.js";

/** An open LangGraph saver and how to close it. */
export interface LangGraphSource {
  readonly saver: BaseCheckpointSaver;
  close(): Promise<void>;
}

export async function openLangGraphSaver(
  kind: "langgraph-sqlite" | "langgraph-postgres",
  location: string,
  schema: string | undefined,
): Promise<LangGraphSource> {
  if (kind === "langgraph-sqlite") {
    if (!existsSync(location))
      throw new NotFoundError(`no LangGraph SQLite database at ${location}`);
    const { SqliteSaver } = await importOptionalPeer(
      "@langchain/langgraph-checkpoint-sqlite",
      "importing from LangGraph's SqliteSaver",
      () => import("@langchain/langgraph-checkpoint-sqlite"),
    );
    const saver = SqliteSaver.fromConnString(location);
    return {
      saver,
      close: async () => {
        saver.db.close();
      },
    };
  }
  const { PostgresSaver } = await importOptionalPeer(
    "@langchain/langgraph-checkpoint-postgres",
    "importing from LangGraph's PostgresSaver",
    () => import("@langchain/langgraph-checkpoint-postgres"),
  );
  const saver = PostgresSaver.fromConnString(location, schema ? { schema } : undefined);
  return { saver, close: () => saver.end() };
}
