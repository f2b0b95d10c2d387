// Test kit: disposable nats-servers, deadline-bound waiting, decider specifications.
export { freePort, startNatsServer, type NatsServerOptions, type TestNatsServer } from './nats-server.js';
export { waitFor, type WaitOptions } from './wait.js';
export { deciderSpec, type Decider } from './decider.js';
export { bufCurl, captureLogs, consumerDrained, observeEvents, type EventObserver, type Observed } from './service-kit.js';
export { testMongodbUri, testStorage, testServiceDatabase, withDatabase, type TestStorage } from './storage.js';
export { parsePrometheusText, sampleSum, scrape, type Sample } from './prometheus.js';
export { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from './otlp-receiver.js';
export { startTestIssuer, type TestIssuer } from './issuer.js';
