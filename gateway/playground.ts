// The GraphQL playground: GraphiQL served by the gateway from installed packages, so it works
// with no internet (no CDN). Queries and mutations go over HTTP POST; subscriptions over
// graphql-ws on the same path. `?query=`, `?variables=`, `?operationName=` and `?headers=` prefill
// the editors, so a link can open the playground with an operation ready to run.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import express, { type Router } from 'express';

const require = createRequire(import.meta.url);

/**
 * The folder of an installed package. Its `exports` may hide the UMD files from require.resolve,
 * so resolve its entry point and walk up to its package.json.
 */
function packageDir(name: string): string {
  let dir = dirname(require.resolve(name));
  for (;;) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === name) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`cannot find the folder of package ${name}`);
    dir = parent;
  }
}

/** `react/umd/react.production.min.js` → its path on disk. */
const assetPath = (module: string) => {
  const [name, ...rest] = module.split('/');
  return join(packageDir(name!), ...rest);
};

/**
 * The only files served under /playground/assets/, by the name the page uses. A Map, not an
 * object literal: a lookup must not find `constructor` or `__proto__` on Object.prototype.
 */
const assets = new Map<string, { module: string; type: string }>([
  ['react.js', { module: 'react/umd/react.production.min.js', type: 'text/javascript' }],
  ['react-dom.js', { module: 'react-dom/umd/react-dom.production.min.js', type: 'text/javascript' }],
  ['graphiql.js', { module: 'graphiql/graphiql.min.js', type: 'text/javascript' }],
  ['graphiql.css', { module: 'graphiql/graphiql.min.css', type: 'text/css' }],
  ['graphql-ws.js', { module: 'graphql-ws/umd/graphql-ws.min.js', type: 'text/javascript' }],
]);

const defaultQuery = `# Orderflow playground. Queries and mutations run over HTTP, subscriptions over WebSocket.
# Sign in first: print a token in a terminal with
#     npm run token -- --admin                (catalog, stock, prices, carrier steps)
#     npm run token -- --customer cus_1       (the orders of cus_1)
# and paste it in the Headers tab below: { "Authorization": "Bearer <token>" }. The same header
# is sent in connection_init for subscriptions. Without one, only the catalog can be read.
# Run the operations in turn (the run button asks which; CreateProduct needs the admin token):
#   1. CreateProduct once, so there is something to order;
#   2. PlaceOrder (its input is in the variables below), and copy the order id it returns;
#   3. WatchOrder with that id: every status from PLACED on arrives live.
# Try paymentToken tok_declined, tok_flaky or tok_timeout, or country "JP", for the other paths.

mutation CreateProduct {
  createProduct(input: { sku: "TEA-1", name: "Green tea", price: { amountMinor: 450, currency: "EUR" }, onHand: 100 }) {
    sku available price { amount currency }
  }
}

mutation PlaceOrder($input: PlaceOrderInput!) {
  placeOrder(input: $input) {
    version
    order { id status total { amount currency } }
  }
}

subscription WatchOrder {
  orderStatusChanged(orderId: "<paste the order id>") {
    status cursor
    order { items { quantity product { name } } payment { status } shipment { status } }
  }
}
`;

const defaultVariables = JSON.stringify(
  {
    input: {
      customerId: 'cus_1',
      customerEmail: 'ada@example.com',
      items: [{ productId: 'TEA-1', quantity: 2 }],
      shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
      paymentToken: 'tok_ok',
    },
  },
  null,
  2,
);

/** Escapes text for HTML element content and attribute values. */
const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

function page(graphqlPath: string, title: string): string {
  const config = JSON.stringify({ graphqlPath, defaultQuery, defaultVariables }).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>${escapeHtml(title)}</title>
  <link rel="stylesheet" href="/playground/assets/graphiql.css">
  <style>html, body, #playground { height: 100%; margin: 0; }</style>
</head>
<body>
  <div id="playground">Loading the playground…</div>
  <script src="/playground/assets/react.js"></script>
  <script src="/playground/assets/react-dom.js"></script>
  <script src="/playground/assets/graphiql.js"></script>
  <script src="/playground/assets/graphql-ws.js"></script>
  <script id="playground-config" type="application/json">${config}</script>
  <script src="/playground/assets/start.js"></script>
</body>
</html>`;
}

// Runs in the browser: a fetcher that sends subscriptions over graphql-ws and the rest over HTTP.
// The Headers tab's Authorization goes with every HTTP request and, for subscriptions, in the
// socket's connection_init; a new token opens a new socket, since a socket has one caller.
const startScript = `(() => {
  const config = JSON.parse(document.getElementById('playground-config').textContent);
  const params = new URLSearchParams(location.search);
  const httpUrl = location.origin + config.graphqlPath;
  const wsUrl = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + config.graphqlPath;
  let current = { authorization: undefined, fetch: undefined, ws: undefined };
  const fetcherFor = (authorization) => {
    if (current.fetch && current.authorization === authorization) return current.fetch;
    if (current.ws) current.ws.dispose();
    const ws = graphqlWs.createClient({
      url: wsUrl, lazy: true, retryAttempts: 5,
      connectionParams: authorization ? { authorization } : {},
    });
    current = { authorization, ws, fetch: GraphiQL.createFetcher({ url: httpUrl, wsClient: ws }) };
    return current.fetch;
  };
  // GraphiQL shows only the latest result of an operation; for a subscription the pane shows every
  // update instead, newest first (the last 100), with how many have arrived.
  const isSubscription = (request) => {
    const source = String(request.query || '').replace(/#[^\\n]*/g, '');
    const name = String(request.operationName || '').replace(/[^A-Za-z0-9_]/g, '');
    return name ? new RegExp('\\\\bsubscription\\\\s+' + name + '\\\\b').test(source) : /^\\s*subscription\\b/.test(source);
  };
  const withHistory = (result) => {
    if (!result || typeof result[Symbol.asyncIterator] !== 'function') return result;
    const inner = result[Symbol.asyncIterator]();
    const updates = [];
    let received = 0;
    // A plain iterator, not an async generator: stopping it must reach the socket at once, not
    // wait for the next update to arrive.
    return {
      [Symbol.asyncIterator]() { return this; },
      async next() {
        const step = await inner.next();
        if (step.done) return step;
        received += 1;
        updates.unshift(step.value);
        if (updates.length > 100) updates.pop();
        return { done: false, value: { received, updates: updates.slice() } };
      },
      return(value) { return inner.return ? inner.return(value) : Promise.resolve({ done: true, value }); },
    };
  };
  const fetcher = (request, options) => {
    const headers = (options && options.headers) || {};
    const key = Object.keys(headers).find((k) => k.toLowerCase() === 'authorization');
    const result = fetcherFor(key ? headers[key] : undefined)(request, options);
    return isSubscription(request) ? Promise.resolve(result).then(withHistory) : result;
  };
  const root = ReactDOM.createRoot(document.getElementById('playground'));
  root.render(React.createElement(GraphiQL, {
    fetcher,
    defaultQuery: config.defaultQuery,
    query: params.get('query') ?? undefined,
    variables: params.get('variables') ?? (params.get('query') ? undefined : config.defaultVariables),
    operationName: params.get('operationName') ?? undefined,
    headers: params.get('headers') ?? undefined,
    shouldPersistHeaders: false,
  }));
})();`;

/** Serves the playground at `/` and `/playground`, and its assets under `/playground/assets/`. */
export function playgroundRouter(options: { graphqlPath: string; title?: string }): Router {
  const router = express.Router();
  // Resolved now, so a missing package fails at start-up rather than on a browser's request.
  const files = new Map([...assets].map(([file, { module, type }]) => [file, { path: assetPath(module), type }]));
  const html = page(options.graphqlPath, options.title ?? 'Orderflow GraphQL playground');
  const sendPage: express.RequestHandler = (_req, res) => {
    res.type('html').set('cache-control', 'no-cache').send(html);
  };
  router.get('/', sendPage);
  router.get('/playground', sendPage);
  router.get('/playground/assets/start.js', (_req, res) => {
    res.type('text/javascript').set('cache-control', 'no-cache').send(startScript);
  });
  router.get('/playground/assets/:file', (req, res) => {
    const asset = files.get(req.params.file);
    if (!asset) {
      res.status(404).type('text').send(`no such playground asset: ${req.params.file}`);
      return;
    }
    res.type(asset.type).set('cache-control', 'public, max-age=86400');
    res.sendFile(asset.path);
  });
  return router;
}
