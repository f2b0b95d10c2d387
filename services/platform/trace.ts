import { AsyncLocalStorage } from 'node:async_hooks';
import {
  context,
  createContextKey,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type ContextManager,
  type Span,
} from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';

/**
 * Trace context through OpenTelemetry: the active span travels with the async work (an
 * AsyncLocalStorage context manager), crosses gRPC as `traceparent` metadata and NATS as a
 * `traceparent` header (the W3C propagator), and is stored on each commit so the relay's publish
 * continues the trace of the append. The business ids (correlation, causation) travel in the same
 * context and are set on every span. Spans are exported only when `startTracing` was given an
 * endpoint; without a tracer provider the context still passes through unchanged.
 */

/** What the current work knows of its trace and business transaction. */
export interface TraceContext {
  /** W3C trace context of the current span; undefined outside any trace. */
  traceparent: string | undefined;
  /** The business transaction (order id), when known. */
  correlationId?: string;
  /** The id of the message being handled, which caused what is written now. */
  causationId?: string;
}

/** W3C headers of a caller or a stored commit. */
export interface TraceCarrier {
  traceparent?: string | undefined;
  tracestate?: string | undefined;
}

class AsyncContextManager implements ContextManager {
  readonly #storage = new AsyncLocalStorage<Context>();
  active(): Context {
    return this.#storage.getStore() ?? ROOT_CONTEXT;
  }
  with<A extends unknown[], F extends (...args: A) => ReturnType<F>>(ctx: Context, fn: F, thisArg?: ThisParameterType<F>, ...args: A): ReturnType<F> {
    return this.#storage.run(ctx, () => fn.call(thisArg, ...args));
  }
  bind<T>(ctx: Context, target: T): T {
    if (typeof target !== 'function') return target;
    const manager = this;
    return function (this: unknown, ...args: unknown[]) {
      return manager.with(ctx, () => (target as (...a: unknown[]) => unknown).apply(this, args));
    } as T;
  }
  enable(): this {
    return this;
  }
  disable(): this {
    this.#storage.disable();
    return this;
  }
}

// Set once per process, before any provider: the context and W3C propagation work with or
// without an exporting tracer provider (a second registration attempt is refused by the API).
context.setGlobalContextManager(new AsyncContextManager());
propagation.setGlobalPropagator(new W3CTraceContextPropagator());

const idsKey = createContextKey('orderflow.ids');
type Ids = { correlationId?: string; causationId?: string };

/** Span attribute names of the business ids. */
export const TraceAttributes = {
  CorrelationId: 'orderflow.correlation_id',
  CausationId: 'orderflow.causation_id',
} as const;

const tracer = () => trace.getTracer('orderflow');

/** The context `carrier` continues (its traceparent), on top of the active one. */
export function contextFrom(carrier: TraceCarrier | undefined, base: Context = context.active()): Context {
  if (!carrier?.traceparent) return base;
  return propagation.extract(base, { traceparent: carrier.traceparent, ...(carrier.tracestate ? { tracestate: carrier.tracestate } : {}) });
}

/** The W3C headers of `ctx` (default: the active context); empty outside any trace. */
export function traceHeaders(ctx: Context = context.active()): Record<string, string> {
  const carrier: Record<string, string> = {};
  propagation.inject(ctx, carrier);
  return carrier;
}

/** Options of `withSpan`. */
export interface SpanOptions {
  kind?: SpanKind;
  /** The caller's W3C headers: the span continues their trace. Default: the active span's. */
  parent?: TraceCarrier;
  attributes?: Attributes;
  /** The business transaction; inherited from the active context when not given. */
  correlationId?: string;
  /** The message that caused this work; inherited when not given. */
  causationId?: string;
}

/**
 * Runs `work` inside a new span, child of `options.parent` or of the active span; the span ends
 * when the work settles, with an error status and the exception when it throws.
 */
export async function withSpan<T>(name: string, options: SpanOptions, work: (span: Span) => Promise<T>): Promise<T> {
  const parent = contextFrom(options.parent);
  const inherited = (parent.getValue(idsKey) as Ids | undefined) ?? {};
  const ids: Ids = {
    ...inherited,
    ...(options.correlationId ? { correlationId: options.correlationId } : {}),
    ...(options.causationId ? { causationId: options.causationId } : {}),
  };
  const span = tracer().startSpan(
    name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      attributes: {
        ...options.attributes,
        ...(ids.correlationId ? { [TraceAttributes.CorrelationId]: ids.correlationId } : {}),
        ...(ids.causationId ? { [TraceAttributes.CausationId]: ids.causationId } : {}),
      },
    },
    parent,
  );
  const ctx = trace.setSpan(parent, span).setValue(idsKey, ids);
  try {
    return await context.with(ctx, () => work(span));
  } catch (err) {
    span.recordException(err instanceof Error ? err : String(err));
    span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
    throw err;
  } finally {
    span.end();
  }
}

/**
 * Runs `work` in the trace of `carrier` (no span of its own) with the given ids: where a span is
 * made by someone else (the gateway's Apollo spans) or not needed.
 */
export function withTrace<T>(carrier: TraceCarrier & Ids, work: () => T): T {
  const base = contextFrom(carrier);
  const ids: Ids = {
    ...((base.getValue(idsKey) as Ids | undefined) ?? {}),
    ...(carrier.correlationId ? { correlationId: carrier.correlationId } : {}),
    ...(carrier.causationId ? { causationId: carrier.causationId } : {}),
  };
  return context.with(base.setValue(idsKey, ids), work);
}

/** The trace context of the current work, if it is inside a trace or carries business ids. */
export function currentTrace(): TraceContext | undefined {
  const active = context.active();
  const ids = (active.getValue(idsKey) as Ids | undefined) ?? {};
  const traceparent = traceHeaders(active).traceparent;
  if (!traceparent && !ids.correlationId && !ids.causationId) return undefined;
  return { traceparent, ...ids };
}

/** The ids of the active span, for log lines; undefined outside a valid span. */
export function activeSpanIds(): { trace_id: string; span_id: string } | undefined {
  const span = trace.getSpan(context.active());
  if (!span) return undefined;
  const { traceId, spanId } = span.spanContext();
  if (!trace.isSpanContextValid(span.spanContext())) return undefined;
  return { trace_id: traceId, span_id: spanId };
}

export { SpanKind } from '@opentelemetry/api';
