// Dead letters over GraphQL, through the gateway, from a real failure: notifications cannot write
// its mailbox (MAILBOX_DIR is a file, not a folder), so the e-mails of an order fail every
// delivery and are dead-lettered while every other consumer of the same events handles them. An
// admin lists them page by page, repairs the mailbox and redrives them: the e-mails are sent, each
// once, and the redriven messages went to notifications' consumer alone.
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OrderStatus } from '../../generated/orderflow/orders/v1/order.js';
import { AdminServiceService } from '../../generated/orderflow/platform/v1/admin_service.js';
import { Events, grpcClient, redriveStream } from '../../services/platform/index.js';
import { waitFor } from '../../services/platform/testing/index.js';
import { startGatewaySystem, type GatewayClient, type GatewaySystem } from './harness/gateway.js';

let gs: GatewaySystem;
let customer: GatewayClient;
let anonymous: GatewayClient;
let mailDir: string;
let mailbox: string;
let orderId = '';

interface DeadLetter {
  sequence: string;
  stream: string;
  consumer: string;
  subject: string;
  type: string;
  error: string;
  errorName: string;
  orderId: string;
  messageId: string;
  deadLetteredAt: string;
  deliveryCount: number;
}
interface Page {
  deadLetters: { edges: { cursor: string; node: DeadLetter }[]; nodes: DeadLetter[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
}

const letterFields = 'sequence stream consumer subject type error errorName orderId messageId deadLetteredAt deliveryCount';
const listQuery = /* GraphQL */ `
  query($filter: DeadLetterFilter, $first: Int, $after: String) {
    deadLetters(filter: $filter, first: $first, after: $after) {
      edges { cursor node { ${letterFields} } }
      nodes { sequence }
      pageInfo { hasNextPage endCursor }
    }
  }
`;
const list = (variables: Record<string, unknown>) => gs.data<Page>(listQuery, variables);

beforeAll(async () => {
  mailDir = await mkdtemp(join(tmpdir(), 'orderflow-e2e-mailbox-'));
  mailbox = join(mailDir, 'mailbox');
  // A file where the mailbox folder should be: every e-mail fails to be written.
  await writeFile(mailbox, 'not a folder');
  gs = await startGatewaySystem({ env: { MAILBOX_DIR: mailbox } });
  customer = await gs.as({ customer: 'cus_dl' });
  anonymous = await gs.as('anonymous');
  await gs.data(`mutation { createProduct(input: { sku: "DL-TEA", name: "Tea", price: { amountMinor: 450, currency: "EUR" }, onHand: 10 }) { sku } }`);
  const placed = await customer.data<{ placeOrder: { order: { id: string } } }>(
    `mutation($input: PlaceOrderInput!) { placeOrder(input: $input) { order { id } } }`,
    {
      input: {
        customerId: 'cus_dl',
        customerEmail: 'dl@example.com',
        items: [{ productId: 'DL-TEA', quantity: 1 }],
        shippingAddress: { recipient: 'Ada', line1: 'Main 1', city: 'Berlin', postalCode: '10115', country: 'DE' },
        paymentToken: 'tok_ok',
        idempotencyKey: 'dead-letters',
      },
    },
  );
  orderId = placed.placeOrder.order.id;
  await gs.system.waitForStatus(orderId, OrderStatus.ORDER_STATUS_COMPLETED);
}, 180_000);

afterAll(async () => {
  await gs?.close();
  if (mailDir) await rm(mailDir, { recursive: true, force: true });
});

describe('dead letters over GraphQL', () => {
  let letters: DeadLetter[] = [];

  it("lists the order's e-mails, dead-lettered by notifications alone after every delivery failed, a page at a time", async () => {
    // Five deliveries with the default backoff (0.2 + 1 + 5 + 15 s) before a letter is dead.
    await waitFor(
      'the OrderPlaced and OrderCompleted e-mails dead-lettered',
      async () => {
        const page = await list({ filter: { orderId }, first: 10 });
        if (page.deadLetters.nodes.length >= 2) return true;
        throw new Error(`${page.deadLetters.nodes.length} dead letters: ${JSON.stringify(page.deadLetters.edges.map((e) => e.node.type))}`);
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    const first = (await list({ filter: { orderId }, first: 1 })).deadLetters;
    expect(first.nodes).toHaveLength(1);
    expect(first.pageInfo).toEqual({ hasNextPage: true, endCursor: first.edges[0]!.cursor });
    const second = (await list({ filter: { orderId }, first: 1, after: first.pageInfo.endCursor })).deadLetters;
    expect(second.pageInfo).toEqual({ hasNextPage: false, endCursor: second.edges[0]!.cursor });
    letters = [...first.edges, ...second.edges].map((e) => e.node);

    const letter = (event: typeof Events.OrderPlaced | typeof Events.OrderCompleted) => ({
      sequence: expect.stringMatching(/^\d+$/),
      stream: 'ORDERS_EVENTS',
      consumer: 'notifications-orders',
      subject: event.subject,
      type: event.type,
      error: expect.stringContaining(mailbox),
      errorName: 'Error',
      orderId,
      messageId: expect.any(String),
      deadLetteredAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      deliveryCount: 5,
    });
    // Oldest first. Which e-mail ran out of deliveries first depends on timing: both retry at once.
    expect(letters.map((l) => Number(l.sequence))).toEqual([1, 2].map((i) => Number(letters[0]!.sequence) + i - 1));
    const byType = [...letters].sort((a, b) => (a.type === Events.OrderPlaced.type ? -1 : b.type === Events.OrderPlaced.type ? 1 : 0));
    expect(byType).toEqual([letter(Events.OrderPlaced), letter(Events.OrderCompleted)]);
    // Every other consumer of these events handled them: no other letter concerns the order.
    expect((await list({ filter: {}, first: 100 })).deadLetters.nodes.map((l) => l.sequence).sort()).toEqual(letters.map((l) => l.sequence).sort());
    expect((await list({ filter: { consumer: 'query-order-views-orders' } })).deadLetters.nodes).toEqual([]);
  }, 120_000);

  it('refuses anonymous callers and customers', async () => {
    const operations = [
      `{ deadLetters { nodes { sequence } } }`,
      `mutation { redriveDeadLetter(sequence: "${letters[0]?.sequence ?? '1'}") { deadLetter { sequence } } }`,
      `mutation { redriveDeadLetters(all: true) { redriven { sequence } } }`,
    ];
    for (const operation of operations) {
      const asAnonymous = await anonymous.gql(operation);
      expect(asAnonymous.errors?.[0]?.extensions?.code, operation).toBe('UNAUTHENTICATED');
      expect(asAnonymous.data ?? null).toBeNull();
      const asCustomer = await customer.gql(operation);
      expect(asCustomer.errors?.[0]?.extensions?.code, operation).toBe('FORBIDDEN');
      expect(asCustomer.data ?? null).toBeNull();
    }
    // Nothing was redriven.
    expect((await list({ filter: { orderId } })).deadLetters.nodes).toHaveLength(2);
  });

  it("names the caller's GraphQL arguments in its errors", async () => {
    const refused = async (query: string, variables: Record<string, unknown> = {}) => {
      const answer = await gs.gql(query, variables);
      expect(answer.data ?? null, query).toBeNull();
      return answer.errors?.[0];
    };
    const everything = await refused(`mutation { redriveDeadLetters { redriven { sequence } } }`);
    expect(everything?.extensions?.code).toBe('BAD_USER_INPUT');
    expect(everything?.extensions?.fieldViolations).toEqual([
      { field: 'filter', path: ['filter'], message: 'must name a consumer, stream, type or order id, or set all to redrive every dead letter' },
    ]);
    expect(everything?.message).toBe('invalid request: filter: must name a consumer, stream, type or order id, or set all to redrive every dead letter');
    const both = await refused(`mutation { redriveDeadLetters(filter: { orderId: "x" }, all: true) { redriven { sequence } } }`);
    expect(both?.extensions?.fieldViolations).toEqual([{ field: 'all', path: ['all'], message: 'must not be set together with a filter' }]);
    const tooMany = await refused(listQuery, { first: 501 });
    expect(tooMany).toMatchObject({ message: 'invalid request: first: must be at most 500', extensions: { code: 'BAD_USER_INPUT' } });
    const badCursor = await refused(listQuery, { after: 'not-a-cursor' });
    expect(badCursor?.extensions?.fieldViolations).toEqual([{ field: 'after', path: ['after'], message: 'is not a token this service returned' }]);
    const notASequence = await refused(`mutation { redriveDeadLetter(sequence: "first") { deadLetter { sequence } } }`);
    expect(notASequence).toMatchObject({ extensions: { code: 'BAD_USER_INPUT', fieldViolations: [{ field: 'sequence', path: ['sequence'] }] } });
    const unknown = await refused(`mutation { redriveDeadLetter(sequence: "999999") { deadLetter { sequence } } }`);
    expect(unknown).toMatchObject({ message: 'dead letter "999999" not found', extensions: { code: 'NOT_FOUND' } });
  });

  it("is answered by query alone: another process's AdminService, whose NATS user may not read them, says where to ask", async () => {
    const orders = grpcClient(AdminServiceService, gs.system.address('orders'), { authorization: gs.system.adminAuthorization });
    try {
      const error = await orders.listDeadLetters({ filter: undefined, pageSize: 0, pageToken: '' }).then(
        () => undefined,
        (err: ServiceError) => err,
      );
      expect(error).toMatchObject({ code: status.FAILED_PRECONDITION, details: expect.stringContaining("query service's AdminService") });
    } finally {
      orders.close();
    }
  });

  it('redrives them, once the mailbox is repaired, to notifications alone: each e-mail is sent once', async () => {
    expect(letters).toHaveLength(2);
    await rm(mailbox);
    await mkdir(mailbox);
    const placed = letters.find((l) => l.type === Events.OrderPlaced.type)!;
    const completed = letters.find((l) => l.type === Events.OrderCompleted.type)!;

    const one = await gs.data<{ redriveDeadLetter: { deadLetter: DeadLetter } }>(
      `mutation($sequence: ID!) { redriveDeadLetter(sequence: $sequence) { deadLetter { ${letterFields} } } }`,
      { sequence: placed.sequence },
    );
    expect(one.redriveDeadLetter.deadLetter).toEqual(placed);
    const rest = await gs.data<{ redriveDeadLetters: { redriven: { sequence: string; type: string }[] } }>(
      `mutation($orderId: ID!) { redriveDeadLetters(filter: { orderId: $orderId }) { redriven { sequence type } } }`,
      { orderId },
    );
    expect(rest.redriveDeadLetters.redriven).toEqual([{ sequence: completed.sequence, type: Events.OrderCompleted.type }]);

    type Sent = { notifications: { nodes: { trigger: string; transport: string }[] } };
    const sent = await waitFor(
      'both e-mails sent',
      async () => {
        const { notifications } = await gs.data<Sent>(`query($id: ID!) { notifications(orderId: $id) { nodes { trigger transport } } }`, { id: orderId });
        if (notifications.nodes.length >= 2) return notifications.nodes;
        throw new Error(`sent: ${JSON.stringify(notifications.nodes)}`);
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    );
    expect(sent.map((n) => n.trigger).sort()).toEqual(['OrderCompleted', 'OrderPlaced']);
    expect(sent.every((n) => n.transport === 'mailbox')).toBe(true);
    // A notification is recorded before its e-mail is written: wait for the files.
    await waitFor('both e-mails in the mailbox', async () => (await readdir(mailbox)).length === 2);

    // On the wire: both went to notifications' redrive subject and were taken by its twin consumer
    // only; no other consumer's twin saw a message.
    const redrive = await gs.system.nats.jsm.streams.info(redriveStream.name, { subjects_filter: '>' });
    expect(redrive.state.subjects).toEqual({ 'redrive.ORDERS_EVENTS.notifications-orders': 2 });
    // A filtered consumer's stream position may move past messages it skipped (servers differ);
    // what it was handed is its consumer sequence, and what it finished is its ack floor.
    // Acknowledgements go out in batches after each message is handled: wait for the ack floor.
    const handedNow = async () => {
      const found: Record<string, { deliveries: number; ackedThrough: number }> = {};
      for await (const info of gs.system.nats.jsm.consumers.list(redriveStream.name)) {
        found[info.name] = { deliveries: info.delivered.consumer_seq, ackedThrough: info.ack_floor.stream_seq };
      }
      return found;
    };
    const handed = await waitFor('the redriven messages acknowledged', async () => {
      const found = await handedNow();
      return found['ORDERS_EVENTS-notifications-orders']?.ackedThrough === redrive.state.last_seq ? found : false;
    });
    expect(Object.entries(handed).filter(([, h]) => h.deliveries > 0)).toEqual([
      ['ORDERS_EVENTS-notifications-orders', { deliveries: 2, ackedThrough: redrive.state.last_seq }],
    ]);
    expect(Object.keys(handed)).toContain('ORDERS_EVENTS-query-order-views-orders');

    expect((await list({ filter: {} })).deadLetters.nodes).toEqual([]);
  }, 60_000);
});
