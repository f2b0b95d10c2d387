import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';
import { ApolloServer } from '@apollo/server';
import { expressMiddleware } from '@as-integrations/express5';
import express from 'express';
import { GraphQLInt, GraphQLNonNull, GraphQLObjectType, GraphQLSchema, GraphQLString } from 'graphql';
import { useServer } from 'graphql-ws/use/ws';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { playgroundRouter } from './playground.js';
import { foreignRequests, launchBrowser, openPlayground, recordResults, resultText, runOperation, waitForResult } from './testing/playground-driver.js';

// The playground in headless Chromium against a small server wired like the gateway: GraphQL
// over HTTP POST and graphql-ws on the same path. It proves that queries go over HTTP,
// subscriptions over the WebSocket, and that the page needs nothing but the server (offline).

const schema = new GraphQLSchema({
  query: new GraphQLObjectType({ name: 'Query', fields: { hello: { type: GraphQLString, resolve: () => 'world' } } }),
  subscription: new GraphQLObjectType({
    name: 'Subscription',
    fields: {
      countdown: {
        type: GraphQLInt,
        args: { from: { type: new GraphQLNonNull(GraphQLInt) } },
        // Paced so the browser renders each value on its own rather than batching them.
        subscribe: async function* (_source: unknown, { from }: { from: number }) {
          for (let n = from; n >= 0; n--) {
            yield { countdown: n };
            await delay(150);
          }
        },
      },
    },
  }),
});

let server: Server;
let apollo: ApolloServer;
let baseUrl: string;
let browser: Browser;

beforeAll(async () => {
  apollo = new ApolloServer({ schema });
  await apollo.start();
  const app = express();
  app.use(playgroundRouter({ graphqlPath: '/graphql', title: 'Test <playground>' }));
  app.use('/graphql', express.json(), expressMiddleware(apollo));
  server = createServer(app);
  const wss = new WebSocketServer({ server, path: '/graphql' });
  useServer({ schema }, wss);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
  await apollo?.stop();
});

describe('the playground page', () => {
  it('is served at / and /playground', async () => {
    for (const path of ['/', '/playground']) {
      const response = await fetch(baseUrl + path);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toMatch(/^text\/html/);
      const html = await response.text();
      expect(html).toContain('/playground/assets/graphiql.js');
      expect(html).toContain('<title>Test &lt;playground&gt;</title>');
    }
  });

  it('serves its assets with their content type and a cache header, and nothing else', async () => {
    const css = await fetch(`${baseUrl}/playground/assets/graphiql.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toMatch(/^text\/css/);
    expect(css.headers.get('cache-control')).toContain('max-age');
    const ws = await fetch(`${baseUrl}/playground/assets/graphql-ws.js`);
    expect(ws.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(await ws.text()).toContain('graphqlWs');
    // Names inherited from Object.prototype included: they once passed an object-literal lookup.
    for (const path of ['package.json', '..%2Fplayground.ts', '..%2F..%2Fpackage.json', 'react', 'constructor', '__proto__', 'toString']) {
      expect((await fetch(`${baseUrl}/playground/assets/${path}`)).status).toBe(404);
    }
  });
});

describe('in a browser', () => {
  it('runs a subscription over the WebSocket and keeps every value in the pane, newest first', async () => {
    const page = await browser.newPage();
    const foreign = foreignRequests(page, baseUrl);
    const sockets: string[] = [];
    page.on('websocket', (socket) => sockets.push(socket.url()));

    await openPlayground(page, baseUrl, { query: 'subscription { countdown(from: 3) }' });
    const results = await recordResults(page);
    await runOperation(page);
    await waitForResult(page, '"countdown": 0');

    type Pane = { received: number; updates: { data: { countdown: number } }[] };
    const final = JSON.parse(await resultText(page)) as Pane;
    expect(final).toEqual({ received: 4, updates: [0, 1, 2, 3].map((countdown) => ({ data: { countdown } })) });
    // Each value was shown as it arrived: every pane held the values so far.
    const shown = (await results.all()).filter((text, i, all) => text !== '' && text !== all[i - 1]).map((text) => JSON.parse(text) as Pane);
    for (const pane of shown) expect(pane.updates.map((u) => u.data.countdown)).toEqual([3, 2, 1, 0].slice(0, pane.received).reverse());
    expect(sockets).toEqual([`${baseUrl.replace('http', 'ws')}/graphql`]);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('runs a query over HTTP POST and shows its result', async () => {
    const page = await browser.newPage();
    const foreign = foreignRequests(page, baseUrl);
    const posts: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST') posts.push(request.postData() ?? '');
    });

    await openPlayground(page, baseUrl, { query: '{ hello }' });
    await runOperation(page);
    await waitForResult(page, '"hello": "world"');

    expect(JSON.parse(await resultText(page))).toEqual({ data: { hello: 'world' } });
    expect(posts.some((body) => body.includes('{ hello }'))).toBe(true);
    expect(foreign).toEqual([]);
    await page.close();
  });

  it('opens with the default operation when the link carries none', async () => {
    const page = await browser.newPage();
    await openPlayground(page, baseUrl);
    const query = await page.evaluate(() => {
      const editor = document.querySelector('.graphiql-query-editor .CodeMirror') as (Element & { CodeMirror?: { getValue(): string } }) | null;
      return editor?.CodeMirror?.getValue() ?? '';
    });
    expect(query).toContain('placeOrder');
    expect(query).toContain('orderStatusChanged');
    await page.close();
  });
});
