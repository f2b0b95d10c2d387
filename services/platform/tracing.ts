import { trace } from '@opentelemetry/api';
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOffSampler, BatchSpanProcessor, NodeTracerProvider, ParentBasedSampler } from '@opentelemetry/sdk-trace-node';
import type { Logger } from './logging.js';

/** The standard OpenTelemetry variables this process honours (others, e.g. OTEL_TRACES_SAMPLER, the SDK reads itself). */
export interface TracingSettings {
  /** `service.name` of the spans: OTEL_SERVICE_NAME, else the Orderflow service name. */
  serviceName: string;
  /** OTEL_EXPORTER_OTLP_ENDPOINT (spans go to `<endpoint>/v1/traces`, protobuf over HTTP); unset = no export. */
  endpoint: string | undefined;
  logger: Logger;
}

/** The process's tracer provider, once started. */
export interface Tracing {
  /** True when spans are exported. */
  readonly exporting: boolean;
  /** Sends the spans ended so far. */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

let started: Tracing | undefined;

/**
 * Registers the process's tracer provider, once: spans with W3C ids (so traces continue across
 * gRPC and NATS), sampled by OTEL_TRACES_SAMPLER (default parent-based always-on) and exported in
 * batches over OTLP/HTTP protobuf when an endpoint is set. Without an endpoint a trace this process
 * starts is not recorded (parent-based, root always-off): its spans still get ids, so the context,
 * the `traceparent` headers and the trace ids in log lines stay, at the cost of an id rather than
 * of a recorded span; a caller's sampled trace keeps its sampled flag downstream. Later calls
 * (replicas started in one process) return the first provider.
 */
export function startTracing(settings: TracingSettings): Tracing {
  if (started) return started;
  const endpoint = settings.endpoint?.replace(/\/+$/, '');
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ 'service.name': settings.serviceName }),
    spanProcessors: endpoint ? [new BatchSpanProcessor(new OTLPTraceExporter({ url: `${endpoint}/v1/traces` }))] : [],
    ...(endpoint ? {} : { sampler: new ParentBasedSampler({ root: new AlwaysOffSampler() }) }),
  });
  trace.setGlobalTracerProvider(provider);
  if (endpoint) logExportFailures(settings.logger, endpoint);
  if (endpoint) settings.logger.info({ endpoint, serviceName: settings.serviceName }, 'exporting traces (OTLP/HTTP protobuf)');
  started = {
    exporting: endpoint !== undefined,
    flush: () => provider.forceFlush(),
    shutdown: () => provider.shutdown(),
  };
  return started;
}

/** Sends the spans ended so far, when tracing is started; for shutdown and tests. */
export async function flushTraces(): Promise<void> {
  await started?.flush();
}

/** Between two log lines about failing exports: an absent collector must not flood the log. */
const exportFailureLogIntervalMs = 60_000;

/**
 * Spans that cannot be exported (no collector, say) are dropped: the service keeps serving. The
 * SDK reports each failed batch to the global error handler; this logs them at warn, once a minute.
 */
function logExportFailures(logger: Logger, endpoint: string): void {
  let lastLogged = 0;
  let dropped = 0;
  setGlobalErrorHandler((err) => {
    dropped++;
    if (Date.now() - lastLogged < exportFailureLogIntervalMs) return;
    lastLogged = Date.now();
    logger.warn({ err, endpoint, failures: dropped }, 'trace export failed; spans dropped');
    dropped = 0;
  });
}
