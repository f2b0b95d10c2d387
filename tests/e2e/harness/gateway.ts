// The whole system behind the GraphQL gateway, in one process: every service once (each serving
// its subgraph on a free port), the gateway composing them, and clients that speak only GraphQL:
// HTTP for queries and mutations, graphql-ws for subscriptions.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startGateway, type RunningGateway } from '../../../gateway/server.js';
import { bootNotifications } from '../../../services/notifications/index.js';
import { silentLogger, type RunningService } from '../../../services/platform/index.js';
import { bootQuery } from '../../../services/query/index.js';
import { startSystem, type System, type SystemOptions } from './system.js';

export interface GraphQLAnswer<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

export interface GatewaySystem {
  system: System;
  gateway: RunningGateway;
  /** Every service replica, by name. */
  services: Record<string, RunningService[]>;
  /** POSTs an operation to the gateway. */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLAnswer<T>>;
  /** Like gql, failing with the errors when there are any. */
  data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** A graphql-ws client of the gateway; closed with the system. */
  ws(): Client;
  /** gRPC calls answered by every replica of every service so far, by method path. */
  grpcCalls(): Record<string, number>;
  close(): Promise<void>;
}

export async function startGatewaySystem(options: Omit<SystemOptions, 'replicas'> = {}): Promise<GatewaySystem> {
  const system = await startSystem({ replicas: 1, ...options });
  const env = { NATS_URL: system.natsUrl, DATA_DIR: system.dataDir, GRPC_HOST: '127.0.0.1', GRPC_PORT: '0', GRAPHQL_HOST: '127.0.0.1', LOG_LEVEL: 'silent' };
  const query = await bootQuery({ ...env, QUERY_WAIT_MS: '3000' }, { logger: silentLogger() });
  const notifications = await bootNotifications(env, { logger: silentLogger() });
  const services: Record<string, RunningService[]> = { ...system.replicas, query: [query], notifications: [notifications] };
  const gateway = await startGateway({
    subgraphs: Object.entries(services).map(([name, replicas]) => ({ name, url: replicas[0]!.graphqlUrl })),
    js: system.nats.js,
    logger: silentLogger(),
    port: 0,
    host: '127.0.0.1',
    limits: { maxDepth: 12, maxFields: 1000 },
    maxTokens: 10_000,
    pollIntervalMs: 60_000,
  });
  await gateway.ready();
  const clients: Client[] = [];

  const gql = async <T>(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<GraphQLAnswer<T>> => {
    const response = await fetch(gateway.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ query, variables }),
    });
    return (await response.json()) as GraphQLAnswer<T>;
  };

  return {
    system,
    gateway,
    services,
    gql,
    async data<T>(query: string, variables: Record<string, unknown> = {}) {
      const answer = await gql<T>(query, variables);
      if (answer.errors?.length || !answer.data) throw new Error(`GraphQL errors: ${JSON.stringify(answer.errors)}`);
      return answer.data;
    },
    ws() {
      const client = createClient({ url: gateway.wsUrl, webSocketImpl: WebSocket, retryAttempts: 0, lazy: true });
      clients.push(client);
      return client;
    },
    grpcCalls() {
      const total: Record<string, number> = {};
      for (const replica of Object.values(services).flat()) {
        for (const [method, n] of Object.entries(replica.grpcCalls())) total[method] = (total[method] ?? 0) + n;
      }
      return total;
    },
    async close() {
      for (const client of clients) await client.dispose();
      await gateway.close();
      await notifications.close();
      await query.close();
      await system.close();
    },
  };
}

/**
 * Subscribes and collects every payload until `done` says so or the subscription completes; fails
 * with what arrived when the deadline passes first.
 */
export async function collect<T>(
  client: Client,
  request: { query: string; variables?: Record<string, unknown> },
  done: (items: T[]) => boolean,
  timeoutMs = 30_000,
): Promise<T[]> {
  const items: T[] = [];
  const iterator = client.iterate<Record<string, T>>(request);
  const reading = (async () => {
    for await (const result of iterator) {
      if (result.errors?.length) throw new Error(`subscription errors: ${JSON.stringify(result.errors)}`);
      items.push(Object.values(result.data ?? {})[0] as T);
      if (done(items)) break;
    }
  })();
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`timed out after ${timeoutMs}ms; ${items.length} payloads arrived: ${JSON.stringify(items).slice(0, 800)}`)),
      timeoutMs,
    );
  });
  try {
    await Promise.race([reading, deadline]);
    return items;
  } finally {
    clearTimeout(timer);
    await iterator.return?.();
  }
}
