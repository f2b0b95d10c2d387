// The gateway's variables: where it listens, where the subgraphs are, and the operation limits.
import { authEnv, int, list, oneOf, optionalStr, optionalUrl, port, str, url, type EnvVar } from '../services/platform/index.js';

/** The subgraphs the gateway composes, and the port `npm start` gives each service's subgraph. */
export const subgraphPorts = {
  orders: 4001,
  inventory: 4002,
  payments: 4003,
  shipping: 4004,
  notifications: 4005,
  query: 4006,
} as const;

export type SubgraphName = keyof typeof subgraphPorts;

/** `<NAME>_GRAPHQL_URL`: where the gateway finds a subgraph. */
export const subgraphUrlVariable = (name: SubgraphName) => `${name.toUpperCase()}_GRAPHQL_URL`;

const subgraphUrls = Object.fromEntries(
  Object.entries(subgraphPorts).map(([name, p]) => [
    subgraphUrlVariable(name as SubgraphName),
    url({ default: `http://127.0.0.1:${p}/graphql`, protocols: ['http:', 'https:'] }),
  ]),
) as Record<string, EnvVar<string>>;

export const gatewayEnv = {
  /** The token issuer: AUTH_JWKS_URL, AUTH_ISSUER, AUTH_AUDIENCE, AUTH_DISABLED (see the README). */
  ...authEnv,
  /** NATS server(s) with JetStream: subscriptions read the orders' events there. */
  NATS_URL: url({ default: 'nats://127.0.0.1:4222', protocols: ['nats:', 'tls:'] }),
  /** NATS user name (with NATS_PASSWORD), as the services read it. */
  NATS_USER: optionalStr(),
  /** Password of NATS_USER. */
  NATS_PASSWORD: optionalStr(),
  /** NATS nkey seed (`SU...`); wins over NATS_USER. */
  NATS_NKEY_SEED: optionalStr(),
  /** Port of the gateway (HTTP, WebSocket and playground). */
  GATEWAY_PORT: port({ default: 4000 }),
  GATEWAY_HOST: str({ default: '0.0.0.0' }),
  /** How often the subgraphs' schemas are introspected again, in milliseconds. */
  SUPERGRAPH_POLL_INTERVAL_MS: int({ default: 10_000, min: 500, max: 600_000 }),
  /** Deepest selection nesting an operation may have. */
  GRAPHQL_MAX_DEPTH: int({ default: 12, min: 2, max: 100 }),
  /** Most fields an operation may select, fragments expanded. */
  GRAPHQL_MAX_FIELDS: int({ default: 1_000, min: 10, max: 100_000 }),
  /** Most lexical tokens an operation's text may have. */
  GRAPHQL_MAX_TOKENS: int({ default: 10_000, min: 100, max: 1_000_000 }),
  /** Most an operation may cost: fields × the rows they are resolved for (see gateway/limits.ts). */
  GATEWAY_MAX_COST: int({ default: 10_000, min: 10, max: 100_000_000 }),
  /** Most operations one WebSocket may have open at once (subscriptions, and queries still running). */
  GATEWAY_MAX_SUBSCRIPTIONS_PER_SOCKET: int({ default: 20, min: 1, max: 10_000 }),
  /**
   * Browser origins allowed to open a WebSocket, besides the gateway's own
   * (http://localhost:<port>, http://127.0.0.1:<port>); requests without an Origin are allowed.
   */
  GATEWAY_ALLOWED_ORIGINS: list({ default: [] }),
  LOG_LEVEL: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, { default: 'info' }),
  /** Port of the HTTP server answering /metrics (Prometheus) and /healthz; 0 picks a free one, logged at start. */
  METRICS_PORT: port({ default: 0 }),
  /** Address the metrics server binds; loopback unless a scraper elsewhere needs it. */
  METRICS_HOST: str({ default: '127.0.0.1' }),
  /** OTLP/HTTP collector base URL (spans go to <url>/v1/traces, protobuf); unset, no traces are exported. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl({ protocols: ['http:', 'https:'] }),
  /** service.name of exported spans; default gateway. */
  OTEL_SERVICE_NAME: str({ default: 'gateway' }),
  ...subgraphUrls,
};
