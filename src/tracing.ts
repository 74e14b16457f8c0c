/**
 * OpenTelemetry spans, through `@opentelemetry/api` only: with no SDK registered every span is
 * the API's no-op and costs a few allocations (`npm run bench:tracing` measures it). Spans
 * follow the GenAI semantic conventions where they apply: a run is `invoke_agent` with
 * `gen_ai.conversation.id` = the thread. Payload values are never recorded.
 *
 * A trace context travels as a W3C `traceparent` string: stored with each checkpoint a run
 * writes (metadata `traceparent`) and with each worker job, so a run that paused for hours or
 * was recovered on another machine continues the same trace.
 */
import {
  type Attributes,
  type Context,
  context,
  type Link,
  type Span,
  SpanStatusCode,
  trace,
} from "@opentelemetry/api";

const tracer = trace.getTracer("rewind");

/**
 * Runs `fn` in a new active span (a child of `parent`, default the active context). With no SDK
 * and no trace to carry, the span is the API's invalid no-op and `fn` runs as is.
 */
export function traced<T>(
  name: string,
  attributes: Attributes,
  fn: (span: Span) => Promise<T>,
  parent?: Context,
  links?: Link[],
): Promise<T> {
  const ctx = parent ?? context.active();
  const span = tracer.startSpan(name, { attributes, ...(links ? { links } : {}) }, ctx);
  if (!span.isRecording() && !trace.isSpanContextValid(span.spanContext())) return fn(span);
  return context.with(trace.setSpan(ctx, span), async () => {
    try {
      return await fn(span);
    } catch (error) {
      span.setStatus({
        code: SpanStatusCode.ERROR,
        message: error instanceof Error ? error.message : String(error),
      });
      if (error instanceof Error) span.recordException(error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The `traceparent` of `span` (default: the active span), or undefined when not traced. */
export function traceparentOf(span: Span | undefined = trace.getActiveSpan()): string | undefined {
  const ctx = span?.spanContext();
  if (!ctx || !trace.isSpanContextValid(ctx)) return undefined;
  return `00-${ctx.traceId}-${ctx.spanId}-${(ctx.traceFlags & 1).toString(16).padStart(2, "0")}`;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A context whose parent is the stored `traceparent`, or undefined for anything else. */
export function contextOf(traceparent: unknown): Context | undefined {
  if (typeof traceparent !== "string") return undefined;
  const match = TRACEPARENT.exec(traceparent);
  if (!match) return undefined;
  const spanContext = {
    traceId: match[1]!,
    spanId: match[2]!,
    traceFlags: Number.parseInt(match[3]!, 16),
    isRemote: true,
  };
  if (!trace.isSpanContextValid(spanContext)) return undefined;
  return trace.setSpanContext(context.active(), spanContext);
}

/** Runs `fn` with `traceparent` (if valid) as the active context. */
export function withTraceparent<T>(traceparent: unknown, fn: () => T): T {
  const ctx = contextOf(traceparent);
  return ctx ? context.with(ctx, fn) : fn();
}
