import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { foreignRequests, launchBrowser, openPlayground, runOperation, waitForResult } from '../../gateway/testing/playground-driver.js';
import { startGatewaySystem, type GatewaySystem } from './harness/gateway.js';

// The playground of the real gateway in a real browser (headless Chromium): it loads with no
// request leaving the gateway, runs a subscription, and keeps every status update in the pane.

let gs: GatewaySystem;
let browser: Browser;

beforeAll(async () => {
  // A slower card gateway keeps the order at STOCK_RESERVED for a while.
  gs = await startGatewaySystem({ env: { PAYMENT_GATEWAY_LATENCY_MS: '400' } });
  await gs.data(`mutation { createProduct(input: { sku: "PG-TEA", name: "Tea", price: { amountMinor: 450, currency: "EUR" }, onHand: 10 }) { sku } }`);
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await gs?.close();
});

it('runs a subscription in the playground, its pasted token sent in connection_init, and shows every status update in the pane, newest first', async () => {
  const page = await browser.newPage();
  const foreign = foreignRequests(page, `http://127.0.0.1:${gs.gateway.port}`);
  // From the stream's current end, so the order placed below is seen whenever the socket opens.
  const after = String((await gs.system.nats.jsm.streams.info('ORDERS_EVENTS')).state.last_seq);
  const query = `subscription { orderUpdates(customerId: "cus_browser", after: "${after}") { status order { items { product { name } } } } }`;
  // As a person who pasted `npm run token -- --customer cus_browser` into the Headers tab.
  const authorization = await gs.system.issuer.customer('cus_browser');
  await openPlayground(page, gs.gateway.playgroundUrl, { query, headers: { Authorization: authorization } });
  await runOperation(page);

  await gs.data(`mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }`, {
    input: {
      customerId: 'cus_browser',
      customerEmail: 'browser@example.com',
      items: [{ productId: 'PG-TEA', quantity: 1 }],
      shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
      paymentToken: 'tok_ok',
    },
  });
  const last = await waitForResult(page, '"status": "COMPLETED"', 30_000);
  expect(last).toContain('"name": "Tea"');

  // The pane keeps every update of the subscription, newest first, so the whole saga is on screen.
  const pane = JSON.parse(last) as { received: number; updates: { data: { orderUpdates: { status: string } } }[] };
  expect(pane.updates).toHaveLength(pane.received);
  expect(pane.updates.map((u) => u.data.orderUpdates.status).reverse()).toEqual(['PLACED', 'STOCK_RESERVED', 'PAYMENT_CAPTURED', 'SHIPMENT_SCHEDULED', 'COMPLETED']);
  expect(foreign).toEqual([]);
});
