import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/**
 * The trace context of the work in progress: set around each message handler and each gRPC
 * call, read by the event store (appended commits carry it to NATS) and by gRPC clients (sent as
 * `traceparent` metadata). So a trace crosses gRPC and NATS without handlers passing it along.
 */
export interface TraceContext {
  /** W3C trace context of the current span. */
  traceparent: string;
  /** The business transaction (order id), when known. */
  correlationId?: string;
  /** The id of the message being handled, which caused what is written now. */
  causationId?: string;
}

const storage = new AsyncLocalStorage<TraceContext>();
const traceparentPattern = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

/** A fresh root `traceparent` (sampled). */
export function newTraceparent(): string {
  return `00-${randomBytes(16).toString('hex')}-${randomBytes(8).toString('hex')}-01`;
}

/** A child span of `parent`: same trace id, new span id; a missing or malformed parent starts a new trace. */
export function childTraceparent(parent: string | undefined): string {
  const match = parent ? traceparentPattern.exec(parent) : null;
  if (!match) return newTraceparent();
  return `00-${match[1]}-${randomBytes(8).toString('hex')}-${match[3]}`;
}

/** Runs `work` inside a child span of `parent`. */
export function withTrace<T>(context: { traceparent?: string; correlationId?: string; causationId?: string }, work: () => T): T {
  return storage.run(
    {
      traceparent: childTraceparent(context.traceparent),
      ...(context.correlationId ? { correlationId: context.correlationId } : {}),
      ...(context.causationId ? { causationId: context.causationId } : {}),
    },
    work,
  );
}

/** The trace context of the current work, if any. */
export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}
