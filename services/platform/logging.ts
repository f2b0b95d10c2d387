import { pino, type Logger, type LoggerOptions } from 'pino';
import { activeSpanIds } from './trace.js';

export type { Logger } from 'pino';

/** Options for the process logger. `level` defaults to LOG_LEVEL, else `info`. */
export interface LoggerSettings {
  service: string;
  level?: string;
  /** Where lines go; defaults to stdout. Tests pass a stream to read lines back. */
  destination?: pino.DestinationStream;
}

/**
 * The process logger: one JSON object per line, with the service name on every line. Message
 * handlers log through `messageLogger`, so each of their lines carries the order id, message id
 * and correlation id. A line written inside a span carries its `trace_id` and `span_id`.
 */
export function createLogger(settings: LoggerSettings): Logger {
  const options: LoggerOptions = {
    level: settings.level ?? process.env.LOG_LEVEL ?? 'info',
    base: { service: settings.service, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    serializers: { err: pino.stdSerializers.err },
    mixin: () => activeSpanIds() ?? {},
  };
  return settings.destination ? pino(options, settings.destination) : pino(options);
}

/** The fields that tie a log line to the message being handled. */
export interface MessageLogContext {
  orderId?: string;
  messageId: string;
  correlationId: string;
  causationId?: string;
  messageType?: string;
  subject?: string;
}

/** A child logger whose every line carries the message's ids. */
export function messageLogger(logger: Logger, ctx: MessageLogContext): Logger {
  return logger.child({
    orderId: ctx.orderId ?? ctx.correlationId,
    messageId: ctx.messageId,
    correlationId: ctx.correlationId,
    ...(ctx.causationId ? { causationId: ctx.causationId } : {}),
    ...(ctx.messageType ? { messageType: ctx.messageType } : {}),
    ...(ctx.subject ? { subject: ctx.subject } : {}),
  });
}

/** A logger that discards everything, for tests that do not read logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
