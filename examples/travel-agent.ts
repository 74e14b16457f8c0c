/**
 * The demo's travel-booking agent, shared by the demo and its worker process: four tools
 * whose side effects go to a ledger file (so the demo can prove what ran, and how often), and
 * a scripted model that plays the demo's conversations offline. With OPENAI_API_KEY or
 * OPENAI_BASE_URL set, a real OpenAI-compatible model plays them instead.
 */
import { appendFileSync, existsSync, readFileSync } from "node:fs";
import { z } from "zod";
import {
  type ChatModel,
  type ChatRequest,
  type Checkpointer,
  createReactAgent,
  OpenAIChatModel,
  type ReactAgent,
  ScriptedModel,
  type ScriptedResponse,
  type ToolContext,
  tool,
} from "../src/index.js";

/** One line of the side-effect ledger. */
export interface LedgerEntry {
  readonly tool: string;
  readonly event: "start" | "done" | "deduped";
  /** The model's id for the call: the same call keeps it across crashes and resumes. */
  readonly callId: string;
  readonly key: string;
  readonly pid: number;
  readonly result?: unknown;
}

export function readLedger(path: string): LedgerEntry[] {
  if (!existsSync(path)) return [];
  return readFileSync(path, "utf8")
    .split("\n")
    .filter(Boolean)
    .map((line) => JSON.parse(line) as LedgerEntry);
}

/**
 * Runs a side effect at most once per idempotency key, as a real booking API given the same key
 * would: a key already marked done returns the recorded result. Every invocation is recorded
 * first, so the ledger shows a rerun even when the dedupe absorbs it.
 */
async function once<T>(
  ledger: string,
  name: string,
  ctx: ToolContext,
  work: () => Promise<T>,
  announce: () => void = () => undefined,
): Promise<T> {
  const record = (event: LedgerEntry["event"], result?: unknown) =>
    appendFileSync(
      ledger,
      `${JSON.stringify({ tool: name, event, callId: ctx.toolCallId, key: ctx.idempotencyKey, pid: process.pid, result })}\n`,
    );
  const done = readLedger(ledger).find((e) => e.key === ctx.idempotencyKey && e.event === "done");
  record("start");
  announce();
  if (done) {
    record("deduped");
    return done.result as T;
  }
  const result = await work();
  record("done", result);
  return result;
}

const FLIGHTS: Record<string, { flight: string; priceUsd: number; departs: string }[]> = {
  tokyo: [
    { flight: "NH212", priceUsd: 820, departs: "09:40" },
    { flight: "JL44", priceUsd: 910, departs: "13:05" },
  ],
  osaka: [
    { flight: "KX71", priceUsd: 640, departs: "07:15" },
    { flight: "NH178", priceUsd: 760, departs: "18:30" },
  ],
};

export interface TravelAgentOptions {
  readonly checkpointer: Checkpointer;
  /** The JSON-lines file every side effect is recorded in. */
  readonly ledger: string;
  /** Which offline conversation the scripted model plays. */
  readonly script: "trip" | "errand";
  /** How long `reserve_hotel` takes. */
  readonly hotelDelayMs?: number;
  /** Called when a tool starts (the worker tells its parent through stdout). */
  readonly onToolStart?: (name: string) => void;
}

export function createTravelAgent(options: TravelAgentOptions): ReactAgent {
  const { ledger } = options;
  const started = (name: string) => options.onToolStart?.(name);
  const searchFlights = tool({
    name: "search_flights",
    description: "Search flights from London to a city. Returns flights with prices in USD.",
    schema: z.object({ to: z.string().describe("Destination city") }),
    run: ({ to }) => {
      started("search_flights");
      return FLIGHTS[to.toLowerCase()] ?? [{ flight: "XX100", priceUsd: 700, departs: "10:00" }];
    },
  });
  // Every side effect: recorded, announced, and run at most once per idempotency key.
  const effect = <T>(name: string, ctx: ToolContext, work: () => Promise<T>) =>
    once(ledger, name, ctx, work, () => started(name));
  const bookFlight = tool({
    name: "book_flight",
    description: "Book a seat on a flight. Charges the traveller's card.",
    schema: z.object({ flight: z.string(), passenger: z.string() }),
    requiresApproval: true,
    run: (input, ctx) =>
      effect("book_flight", ctx, async () => ({
        confirmation: `CONF-${input.flight}-${input.passenger.slice(0, 3).toUpperCase()}`,
      })),
  });
  const holdSeat = tool({
    name: "hold_seat",
    description: "Hold a seat on a flight for 24 hours.",
    schema: z.object({ flight: z.string(), seat: z.string() }),
    run: (input, ctx) =>
      effect("hold_seat", ctx, async () => ({ held: `${input.flight} seat ${input.seat}` })),
  });
  const reserveHotel = tool({
    name: "reserve_hotel",
    description: "Reserve a hotel room in a city.",
    schema: z.object({ city: z.string(), nights: z.number().int().positive() }),
    run: (input, ctx) =>
      effect("reserve_hotel", ctx, async () => {
        await new Promise((resolve) => setTimeout(resolve, options.hotelDelayMs ?? 200));
        return { hotel: `Hotel Sakura, ${input.city}`, nights: input.nights };
      }),
  });
  return createReactAgent({
    model: modelFromEnv() ?? new ScriptedModel(options.script === "trip" ? TRIP : ERRAND),
    tools: [searchFlights, bookFlight, holdSeat, reserveHotel],
    checkpointer: options.checkpointer,
    systemPrompt:
      "You are a concise travel agent for a traveller flying from London. Use the tools; " +
      "to book, call book_flight with the flight code and the traveller's first name.",
  });
}

/** A real OpenAI-compatible model when the environment names one, else undefined. */
export function modelFromEnv(): ChatModel | undefined {
  if (!process.env.OPENAI_API_KEY && !process.env.OPENAI_BASE_URL) return undefined;
  return new OpenAIChatModel({ model: process.env.OPENAI_MODEL ?? "gpt-4o-mini", temperature: 0 });
}

// --- the scripted model's lines: the n-th response answers the n-th assistant turn ---

const userText = (req: ChatRequest, nth = -1) =>
  req.messages.filter((m) => m.role === "user").at(nth)?.content ?? "";

const lastResult = (req: ChatRequest, name: string): any => {
  const found = req.messages.findLast((m) => m.role === "tool" && m.name === name);
  return found ? JSON.parse(found.content) : undefined;
};

const destination = (req: ChatRequest) => /to (\w+)/i.exec(userText(req, 0))?.[1] ?? "Tokyo";

const cheapest = (req: ChatRequest) =>
  [...(lastResult(req, "search_flights") ?? [])].sort((a, b) => a.priceUsd - b.priceUsd)[0];

const TRIP: ScriptedResponse[] = [
  (req) => ({ toolCalls: [{ name: "search_flights", args: { to: destination(req) } }] }),
  (req) => {
    const best = cheapest(req);
    return `I found 2 flights to ${destination(req)}. The cheapest is ${best.flight} at $${best.priceUsd}, departing ${best.departs}.`;
  },
  (req) => {
    const name = /I'm (\w+)/.exec(userText(req, 0))?.[1] ?? "there";
    const best = cheapest(req);
    return `You're ${name}, and the cheapest flight to ${destination(req)} was ${best.flight} at $${best.priceUsd}.`;
  },
  (req) => ({
    toolCalls: [
      {
        name: "book_flight",
        args: {
          flight: cheapest(req).flight,
          passenger: /I'm (\w+)/.exec(userText(req, 0))?.[1] ?? "Guest",
        },
      },
    ],
  }),
  (req) => `Booked! Your confirmation is ${lastResult(req, "book_flight").confirmation}.`,
];

const ERRAND: ScriptedResponse[] = [
  {
    toolCalls: [
      { name: "hold_seat", args: { flight: "NH212", seat: "14A" } },
      { name: "reserve_hotel", args: { city: "Tokyo", nights: 3 } },
    ],
  },
  (req) =>
    `Seat held (${lastResult(req, "hold_seat").held}) and ${lastResult(req, "reserve_hotel").hotel} reserved for 3 nights.`,
];
