// The whole system behind the GraphQL gateway, every piece its own OS process: every service once
// (each serving its subgraph), the gateway composing them, and clients that speak only GraphQL:
// HTTP for queries and mutations, graphql-ws for subscriptions.
import { createClient, type Client } from 'graphql-ws';
import WebSocket from 'ws';
import { startSystem, type System } from './system.js';

export interface GraphQLAnswer<T = Record<string, any>> {
  data?: T | null;
  errors?: { message: string; path?: (string | number)[]; extensions?: Record<string, any> }[];
}

/** Who a client of the gateway is: an admin (the default), a customer, or nobody (no token). */
export type Identity = 'admin' | 'anonymous' | { customer: string };

/** A GraphQL client of the gateway with one identity. */
export interface GatewayClient {
  /** POSTs an operation to the gateway; `headers` may replace the Authorization header. */
  gql<T = Record<string, any>>(query: string, variables?: Record<string, unknown>, headers?: Record<string, string>): Promise<GraphQLAnswer<T>>;
  /** Like gql, failing with the errors when there are any. */
  data<T = Record<string, any>>(query: string, variables?: Record<string, unknown>): Promise<T>;
  /** A graphql-ws client of the gateway, its token in connection_init; closed with the system. */
  ws(): Client;
  /** The `Authorization` value this client sends; undefined when anonymous. */
  authorization: string | undefined;
}

/** The system behind the gateway; its own gql/data/ws speak as an admin. */
export interface GatewaySystem extends GatewayClient {
  system: System;
  /** The gateway's endpoints. */
  gateway: { url: string; wsUrl: string; port: number; playgroundUrl: string };
  /** A client with another identity: `gs.as({ customer: 'cus_1' })`, `gs.as('anonymous')`. */
  as(identity: Identity): Promise<GatewayClient>;
  /** gRPC calls answered by every service process so far, by method path. */
  grpcCalls(): Promise<Record<string, number>>;
  close(): Promise<void>;
}

export async function startGatewaySystem(options: { env?: Record<string, string> } = {}): Promise<GatewaySystem> {
  const system = await startSystem({ replicas: 1, extra: ['query', 'notifications'], gateway: true, ...(options.env ? { env: options.env } : {}) });
  const port = system.gatewayPort!;
  const gateway = { url: system.gatewayUrl!, wsUrl: `ws://127.0.0.1:${port}/graphql`, port, playgroundUrl: `http://127.0.0.1:${port}/` };
  const clients: Client[] = [];

  const clientFor = (authorization: string | undefined): GatewayClient => {
    const gql = async <T>(query: string, variables: Record<string, unknown> = {}, headers: Record<string, string> = {}): Promise<GraphQLAnswer<T>> => {
      const response = await fetch(gateway.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(authorization ? { authorization } : {}), ...headers },
        body: JSON.stringify({ query, variables }),
      });
      return (await response.json()) as GraphQLAnswer<T>;
    };
    return {
      authorization,
      gql,
      async data<T>(query: string, variables: Record<string, unknown> = {}) {
        const answer = await gql<T>(query, variables);
        if (answer.errors?.length || !answer.data) throw new Error(`GraphQL errors: ${JSON.stringify(answer.errors)}`);
        return answer.data;
      },
      ws() {
        const client = createClient({
          url: gateway.wsUrl,
          webSocketImpl: WebSocket,
          retryAttempts: 0,
          lazy: true,
          ...(authorization ? { connectionParams: { authorization } } : {}),
        });
        clients.push(client);
        return client;
      },
    };
  };
  const admin = clientFor(system.adminAuthorization);

  return {
    system,
    gateway,
    ...admin,
    async as(identity) {
      if (identity === 'admin') return admin;
      if (identity === 'anonymous') return clientFor(undefined);
      return clientFor(await system.issuer.customer(identity.customer));
    },
    grpcCalls: () => system.grpcCalls(),
    async close() {
      for (const client of clients) await client.dispose();
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
