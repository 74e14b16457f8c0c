/**
 * The OpenAI-compatible model against a local chat-completions server (node:http on
 * 127.0.0.1), so the official client's real code path runs: JSON and SSE streaming, tool calls.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { z } from "zod";
import type { ToolMessage } from "../../src/agent/messages.js";
import {
  Command,
  createCheckpointer,
  createReactAgent,
  InvalidInputError,
  MemoryBackend,
  NodeFailedError,
  OpenAIChatModel,
  tool,
  userMessage,
} from "../../src/index.js";

/** A planned reply: streamed pieces of text and tool calls, or an HTTP error. */
interface Reply {
  text?: string[];
  toolCalls?: { id: string; name: string; argPieces: string[] }[];
  status?: number;
}

interface Received {
  body: any;
  authorization: string | undefined;
  path: string | undefined;
}

class FakeChatServer {
  readonly received: Received[] = [];
  readonly replies: Reply[] = [];
  #server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.#server = createServer(async (req, res) => {
      const body = JSON.parse(await readBody(req));
      this.received.push({ body, authorization: req.headers.authorization, path: req.url });
      const reply = this.replies.shift() ?? { status: 500 };
      if (reply.status) {
        res.writeHead(reply.status, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: { message: "the fake server is out of replies" } }));
        return;
      }
      if (body.stream) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        for (const chunk of chunksOf(reply)) res.write(`data: ${JSON.stringify(chunk)}\n\n`);
        res.end("data: [DONE]\n\n");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(completionOf(reply)));
    });
    await new Promise<void>((resolve) => this.#server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.#server!.address() as AddressInfo).port}/v1`;
  }

  async stop(): Promise<void> {
    await new Promise((resolve) => this.#server?.close(resolve));
  }
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let data = "";
    req.on("data", (d) => (data += d));
    req.on("end", () => resolve(data));
    req.on("error", reject);
  });
}

const envelope = (choice: object, object: string) => ({
  id: "chatcmpl-same-id-every-time",
  object,
  created: 1_700_000_000,
  model: "fake-model",
  choices: [{ index: 0, finish_reason: null, ...choice }],
});

/** SSE chunks the way OpenAI sends them: role first, then pieces; tool calls interleaved. */
function chunksOf(reply: Reply): object[] {
  const chunks: object[] = [envelope({ delta: { role: "assistant", content: "" } }, "chunk")];
  for (const piece of reply.text ?? [])
    chunks.push(envelope({ delta: { content: piece } }, "chunk"));
  const calls = reply.toolCalls ?? [];
  calls.forEach((c, index) => {
    chunks.push(
      envelope(
        {
          delta: {
            tool_calls: [
              { index, id: c.id, type: "function", function: { name: c.name, arguments: "" } },
            ],
          },
        },
        "chunk",
      ),
    );
  });
  const longest = Math.max(0, ...calls.map((c) => c.argPieces.length));
  for (let p = 0; p < longest; p++) {
    calls.forEach((c, index) => {
      if (p < c.argPieces.length) {
        chunks.push(
          envelope(
            { delta: { tool_calls: [{ index, function: { arguments: c.argPieces[p] } }] } },
            "chunk",
          ),
        );
      }
    });
  }
  chunks.push(
    envelope({ delta: {}, finish_reason: calls.length > 0 ? "tool_calls" : "stop" }, "chunk"),
  );
  return chunks;
}

function completionOf(reply: Reply): object {
  const calls = reply.toolCalls ?? [];
  return envelope(
    {
      message: {
        role: "assistant",
        content: reply.text ? reply.text.join("") : null,
        ...(calls.length > 0
          ? {
              tool_calls: calls.map((c) => ({
                id: c.id,
                type: "function",
                function: { name: c.name, arguments: c.argPieces.join("") },
              })),
            }
          : {}),
      },
      finish_reason: calls.length > 0 ? "tool_calls" : "stop",
    },
    "chat.completion",
  );
}

let server: FakeChatServer;
beforeEach(async () => {
  server = new FakeChatServer();
  await server.start();
});
afterEach(async () => {
  await server.stop();
});

function weatherAgent(options: { stream?: boolean } = {}) {
  const ran: string[] = [];
  const weather = tool({
    name: "get_weather",
    description: "Current weather in a city",
    schema: z.object({ city: z.string().describe("City name") }),
    run: ({ city }) => {
      ran.push(city);
      return `Sunny in ${city}`;
    },
  });
  const model = new OpenAIChatModel({
    model: "fake-model",
    apiKey: "test-key",
    baseURL: server.url,
    maxRetries: 0,
    ...options,
  });
  const agent = createReactAgent({
    model,
    tools: [weather],
    checkpointer: createCheckpointer(new MemoryBackend()),
    systemPrompt: "You are a weather bot.",
  });
  return { agent, ran };
}

const threadId = "weather";

describe("OpenAIChatModel against a chat-completions server", () => {
  it("streams: tool calls assembled from pieces, results sent back, tokens as events", async () => {
    server.replies.push(
      {
        toolCalls: [
          { id: "call_tokyo", name: "get_weather", argPieces: ['{"ci', 'ty": "To', 'kyo"}'] },
          { id: "call_osaka", name: "get_weather", argPieces: ['{"city":', ' "Osaka"}'] },
        ],
      },
      { text: ["Sunny ", "in both ", "cities."] },
    );
    const { agent, ran } = weatherAgent();
    const tokens: string[] = [];
    let result: any;
    const run = agent.stream(
      { messages: [userMessage("Weather in Tokyo and Osaka?")] },
      { threadId },
    );
    for (;;) {
      const next = await run.next();
      if (next.done) {
        result = next.value;
        break;
      }
      if (next.value.type === "custom") tokens.push((next.value.data as any).text);
    }
    expect(ran).toEqual(["Tokyo", "Osaka"]);
    expect(tokens).toEqual(["Sunny ", "in both ", "cities."]);
    expect(result.values.messages.at(-1)).toMatchObject({
      role: "assistant",
      content: "Sunny in both cities.",
    });
    // Two assistant turns with the server's reused completion id are still two messages.
    expect(result.values.messages.map((m: any) => m.role)).toEqual([
      "user",
      "assistant",
      "tool",
      "tool",
      "assistant",
    ]);

    const [first, second] = server.received;
    expect(first!.path).toBe("/v1/chat/completions");
    expect(first!.authorization).toBe("Bearer test-key");
    expect(first!.body).toMatchObject({
      model: "fake-model",
      stream: true,
      messages: [
        { role: "system", content: "You are a weather bot." },
        { role: "user", content: "Weather in Tokyo and Osaka?" },
      ],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Current weather in a city",
            parameters: {
              type: "object",
              properties: { city: { type: "string", description: "City name" } },
              required: ["city"],
            },
          },
        },
      ],
    });
    expect(second!.body.messages.slice(2)).toEqual([
      {
        role: "assistant",
        content: null,
        tool_calls: [
          {
            id: "call_tokyo",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Tokyo"}' },
          },
          {
            id: "call_osaka",
            type: "function",
            function: { name: "get_weather", arguments: '{"city":"Osaka"}' },
          },
        ],
      },
      { role: "tool", tool_call_id: "call_tokyo", content: "Sunny in Tokyo" },
      { role: "tool", tool_call_id: "call_osaka", content: "Sunny in Osaka" },
    ]);
  });

  it("without streaming: one JSON completion per call", async () => {
    server.replies.push(
      { toolCalls: [{ id: "call_1", name: "get_weather", argPieces: ['{"city":"Kyoto"}'] }] },
      { text: ["Sunny in Kyoto."] },
    );
    const { agent, ran } = weatherAgent({ stream: false });
    const result = await agent.invoke({ messages: [userMessage("Kyoto?")] }, { threadId });
    expect(ran).toEqual(["Kyoto"]);
    expect(result.values.messages.at(-1)!.content).toBe("Sunny in Kyoto.");
    expect(server.received.map((r) => r.body.stream)).toEqual([false, false]);
  });

  it("arguments that are not JSON: the tool is not run and the model is told", async () => {
    server.replies.push(
      { toolCalls: [{ id: "call_bad", name: "get_weather", argPieces: ["{city: Tokyo"] }] },
      { text: ["Let me retry."] },
    );
    const { agent, ran } = weatherAgent();
    const result = await agent.invoke({ messages: [userMessage("Tokyo?")] }, { threadId });
    expect(ran).toEqual([]);
    const failed = result.values.messages.find((m) => m.role === "tool") as ToolMessage;
    expect(failed.isError).toBe(true);
    expect(failed.content).toMatch(
      /arguments for get_weather are not a JSON object: \{city: Tokyo/,
    );
    expect(server.received[1]!.body.messages.at(-1)).toMatchObject({
      role: "tool",
      tool_call_id: "call_bad",
    });
  });

  it("a server error fails the run by name; the thread resumes once the server is back", async () => {
    server.replies.push(
      { toolCalls: [{ id: "call_1", name: "get_weather", argPieces: ['{"city":"Nara"}'] }] },
      { status: 503 },
    );
    const { agent, ran } = weatherAgent();
    const error = await agent
      .invoke({ messages: [userMessage("Nara?")] }, { threadId })
      .catch((e) => e);
    expect(error).toBeInstanceOf(NodeFailedError);
    expect(error.node).toBe("model");
    expect(error.cause).toMatchObject({ status: 503 });

    server.replies.push({ text: ["Sunny in Nara."] });
    const resumed = await agent.invoke(null, { threadId });
    expect(resumed.values.messages.at(-1)!.content).toBe("Sunny in Nara.");
    expect(ran).toEqual(["Nara"]);
  });

  it("needs a model name, and an API key unless a base URL is given", async () => {
    expect(() => new OpenAIChatModel({ model: "" })).toThrow(InvalidInputError);
    const saved = { key: process.env.OPENAI_API_KEY, url: process.env.OPENAI_BASE_URL };
    delete process.env.OPENAI_API_KEY;
    delete process.env.OPENAI_BASE_URL;
    try {
      const model = new OpenAIChatModel({ model: "gpt-4o-mini" });
      await expect(model.generate({ messages: [userMessage("hi")], tools: [] })).rejects.toThrow(
        /needs an API key/,
      );
    } finally {
      if (saved.key !== undefined) process.env.OPENAI_API_KEY = saved.key;
      if (saved.url !== undefined) process.env.OPENAI_BASE_URL = saved.url;
    }
  });

  it("approval works the same over the wire: the rejected call reaches the server as a tool result", async () => {
    server.replies.push(
      { toolCalls: [{ id: "call_b", name: "book", argPieces: ['{"to":"Tokyo"}'] }] },
      { text: ["OK, not booked."] },
    );
    const book = tool({
      name: "book",
      description: "Book a flight",
      schema: z.object({ to: z.string() }),
      requiresApproval: true,
      run: () => "booked",
    });
    const agent = createReactAgent({
      model: new OpenAIChatModel({
        model: "fake-model",
        apiKey: "k",
        baseURL: server.url,
        maxRetries: 0,
      }),
      tools: [book],
    });
    const paused = await agent.invoke({ messages: [userMessage("Book Tokyo")] }, { threadId });
    expect(paused.status).toBe("interrupted");
    await agent.invoke(Command.resume({ decision: "reject", reason: "no budget" }), { threadId });
    expect(server.received[1]!.body.messages.at(-1)).toEqual({
      role: "tool",
      tool_call_id: "call_b",
      content: "The user rejected this call to book: no budget. It was not run.",
    });
  });

  it("a user who moves on instead of answering an approval: the server still gets a valid conversation", async () => {
    server.replies.push(
      { toolCalls: [{ id: "call_b", name: "book", argPieces: ['{"to":"Tokyo"}'] }] },
      { text: ["Sure, Osaka instead."] },
    );
    let booked = 0;
    const book = tool({
      name: "book",
      description: "Book a flight",
      schema: z.object({ to: z.string() }),
      requiresApproval: true,
      run: () => {
        booked++;
        return "booked";
      },
    });
    const agent = createReactAgent({
      model: new OpenAIChatModel({
        model: "fake-model",
        apiKey: "k",
        baseURL: server.url,
        maxRetries: 0,
      }),
      tools: [book],
    });
    await agent.invoke({ messages: [userMessage("Book Tokyo")] }, { threadId });
    const done = await agent.invoke({ messages: [userMessage("Actually, Osaka")] }, { threadId });
    expect(done.status).toBe("done");
    expect(booked).toBe(0);
    expect(server.received[1]!.body.messages.map((m: any) => m.role)).toEqual([
      "user",
      "assistant",
      "tool",
      "user",
    ]);
    expect(server.received[1]!.body.messages[2]).toEqual({
      role: "tool",
      tool_call_id: "call_b",
      content: "Error: not run; the conversation moved on.",
    });
  });
});
