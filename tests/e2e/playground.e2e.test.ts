/// <reference lib="dom" />
// (The page.evaluate callbacks run in the browser.)
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGatewaySystem, type GatewaySystem } from './harness/gateway.js';

// The playground in a real browser (headless Chromium): it loads with no request leaving the
// gateway, runs a subscription, and shows the order's status updates as they arrive.

let gs: GatewaySystem;
let browser: Browser;

beforeAll(async () => {
  // A slower card gateway keeps each status on screen long enough to be seen.
  gs = await startGatewaySystem({ env: { PAYMENT_GATEWAY_LATENCY_MS: '400' } });
  await gs.data(`mutation { createProduct(input: { sku: "PG-TEA", name: "Tea", price: { amountMinor: 450, currency: "EUR" }, onHand: 10 }) { sku } }`);
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    // No sandbox when run as root (CI); no background traffic to hosts a closed network refuses.
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
});

afterAll(async () => {
  await browser?.close();
  await gs?.close();
});

/** The text of GraphiQL's result pane (a CodeMirror editor). */
const resultText = (page: Page) =>
  page.evaluate(() => {
    const editor = document.querySelector('.graphiql-response .CodeMirror') as (Element & { CodeMirror?: { getValue(): string } }) | null;
    return editor?.CodeMirror?.getValue() ?? '';
  });

it('runs a subscription in the playground and shows every status update arriving', async () => {
  const page = await browser.newPage();
  const foreign: string[] = [];
  page.on('request', (request) => {
    if (!request.url().startsWith(`http://127.0.0.1:${gs.gateway.port}`) && !request.url().startsWith(`ws://127.0.0.1:${gs.gateway.port}`)) {
      foreign.push(request.url());
    }
  });
  // From the stream's current end, so the order placed below is seen whenever the socket opens.
  const after = String((await gs.system.nats.jsm.streams.info('ORDERS_EVENTS')).state.last_seq);
  const subscription = `subscription { orderUpdates(customerId: "cus_browser", after: "${after}") { status order { items { product { name } } } } }`;
  await page.goto(`${gs.gateway.playgroundUrl}?query=${encodeURIComponent(subscription)}`);
  await page.locator('.graphiql-execute-button').click();

  // Record every status the result pane shows, as it changes.
  await page.evaluate(() => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    const record = () => {
      const editor = document.querySelector('.graphiql-response .CodeMirror') as (Element & { CodeMirror?: { getValue(): string } }) | null;
      const status = /"status": "([A-Z_]+)"/.exec(editor?.CodeMirror?.getValue() ?? '')?.[1];
      if (status && seen.at(-1) !== status) seen.push(status);
    };
    new MutationObserver(record).observe(document.body, { subtree: true, childList: true, characterData: true });
  });
  await gs.data(
    `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }`,
    {
      input: {
        customerId: 'cus_browser',
        customerEmail: 'browser@example.com',
        items: [{ productId: 'PG-TEA', quantity: 1 }],
        shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
        paymentToken: 'tok_ok',
      },
    },
  );
  await page.waitForFunction(() => (window as unknown as { seen: string[] }).seen.includes('COMPLETED'), undefined, { timeout: 30_000 });
  const seen = await page.evaluate(() => (window as unknown as { seen: string[] }).seen);
  // Each update replaces the pane; the browser may paint two quick ones as one, so the statuses
  // seen are the saga's in order, at least the card's slow step and the end among them.
  const saga = ['PLACED', 'STOCK_RESERVED', 'PAYMENT_CAPTURED', 'SHIPMENT_SCHEDULED', 'COMPLETED'];
  expect(seen.map((status) => saga.indexOf(status))).toEqual([...seen.map((status) => saga.indexOf(status))].sort());
  expect(seen).toEqual(expect.arrayContaining(['STOCK_RESERVED', 'COMPLETED']));
  expect(seen.length).toBeGreaterThanOrEqual(3);
  expect(await resultText(page)).toContain('"name": "Tea"');
  expect(foreign).toEqual([]);
});
