/**
 * The demo's travel-booking agent, shared by the demo and its worker process: four tools, the
 * three with side effects declared as effects (`tool({ effect })`), so Rewind records each call
 * in the thread's effect ledger and never runs a recorded one twice; and a scripted model that
 * plays the demo's conversations offline. With OPENAI_API_KEY or OPENAI_BASE_URL set, a real
 * OpenAI-compatible model plays them instead.
 */
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
  tool,
} from "../src/index.js";

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
  /** Which offline conversation the scripted model plays. */
  readonly script: "trip" | "errand";
  /** How long `reserve_hotel` takes. */
  readonly hotelDelayMs?: number;
  /** Called when a tool's function starts running (the worker tells its parent on stdout). */
  readonly onToolStart?: (name: string) => void;
}

export function createTravelAgent(options: TravelAgentOptions): ReactAgent {
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
  // A charge: if a call is cut off mid-way, a human says whether it went through.
  const bookFlight = tool({
    name: "book_flight",
    description: "Book a seat on a flight. Charges the traveller's card.",
    schema: z.object({ flight: z.string(), passenger: z.string() }),
    requiresApproval: true,
    effect: "ask",
    run: (input) => {
      started("book_flight");
      return { confirmation: `CONF-${input.flight}-${input.passenger.slice(0, 3).toUpperCase()}` };
    },
  });
  // Idempotent on the airline's side (the same key holds the same seat): safe to run again.
  const holdSeat = tool({
    name: "hold_seat",
    description: "Hold a seat on a flight for 24 hours.",
    schema: z.object({ flight: z.string(), seat: z.string() }),
    effect: "retry",
    run: (input) => {
      started("hold_seat");
      return { held: `${input.flight} seat ${input.seat}` };
    },
  });
  const reserveHotel = tool({
    name: "reserve_hotel",
    description: "Reserve a hotel room in a city.",
    schema: z.object({ city: z.string(), nights: z.number().int().positive() }),
    effect: "ask",
    run: async (input) => {
      started("reserve_hotel");
      await new Promise((resolve) => setTimeout(resolve, options.hotelDelayMs ?? 200));
      return { hotel: `Hotel Sakura, ${input.city}`, nights: input.nights };
    },
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
