import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AckPolicy } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { natsGrants } from '../../../scripts/nats-grants.js';
import { Events, encodeMessage, streams } from '../contracts.js';
import { silentLogger } from '../logging.js';
import { startNatsServer, type TestNatsServer } from '../testing/nats-server.js';
import { jetStreamPublisher } from './envelope.js';
import { adminUser, generateNatsAuth, inboxPrefixOf, passwordVariableOf, serverAuthConfig, type GeneratedNatsAuth } from './nats-auth.js';
import { connectNats, deadLetterStream, ensureStream, redriveStream, StreamNotProvisionedError, type Nats } from './nats.js';

// The server runs with the generated users and permissions (nkeys), as `npm start` runs it.
let dir: string;
let auth: GeneratedNatsAuth;
let server: TestNatsServer;
let admin: Nats;
const opened: Nats[] = [];

const as = async (user: string): Promise<Nats> => {
  const nats = await connectNats({
    url: server.url,
    name: `test-${user}`,
    logger: silentLogger(),
    credentials: { nkeySeed: auth.seeds[user] },
    inboxPrefix: user === adminUser ? undefined : inboxPrefixOf(user),
    maxReconnectAttempts: 0,
  });
  opened.push(nats);
  return nats;
};

const forgedCapture = () =>
  encodeMessage(Events.PaymentCaptured, Events.PaymentCaptured.codec.fromPartial({ orderId: 'ord_forged', paymentId: 'pay_forged' }));

const messagesIn = async (stream: string) => (await admin.jsm.streams.info(stream)).state.messages;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orderflow-nats-auth-'));
  auth = await generateNatsAuth(dir, natsGrants);
  server = await startNatsServer({ configFile: auth.configFile });
  admin = await as(adminUser);
  for (const spec of [deadLetterStream, redriveStream, ...streams]) await ensureStream(admin.jsm, spec);
});

afterAll(async () => {
  for (const nats of opened) await nats.nc.close();
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('a nats-server with the generated users', () => {
  it('refuses a client without credentials', async () => {
    await expect(connect({ servers: server.url, maxReconnectAttempts: 0 })).rejects.toThrow(/authorization/i);
  });

  it('refuses a PaymentCaptured published with inventory\'s credentials, and stores nothing', async () => {
    const inventory = await as('inventory');
    const before = await messagesIn('PAYMENTS_EVENTS');
    const error = await inventory.js.publish(Events.PaymentCaptured.subject, forgedCapture(), { msgID: 'forged-1' }).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(String(error)).toMatch(/permissions violation for publish to "payments\.events\.PaymentCaptured"/i);
    expect(await messagesIn('PAYMENTS_EVENTS')).toBe(before);
  });

  it('fails a refused publish of the outbox\'s publisher at once with the permissions violation, not after its timeout', async () => {
    const inventory = await as('inventory');
    const before = await messagesIn('PAYMENTS_EVENTS');
    const started = Date.now();
    const error = await jetStreamPublisher(inventory)
      .publish({ subject: Events.PaymentCaptured.subject, id: 'forged-2', type: Events.PaymentCaptured.type, data: forgedCapture(), correlationId: 'ord_forged' })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    expect(String(error)).toMatch(/permissions violation for publish to "payments\.events\.PaymentCaptured"/i);
    expect(Date.now() - started).toBeLessThan(4_000); // the acknowledgement's timeout is 5 s
    expect(await messagesIn('PAYMENTS_EVENTS')).toBe(before);
  });

  it('stores a PaymentCaptured published by payments itself, through the client and through the outbox\'s publisher on its own inbox', async () => {
    const payments = await as('payments');
    const before = await messagesIn('PAYMENTS_EVENTS');
    await payments.js.publish(Events.PaymentCaptured.subject, forgedCapture(), { msgID: 'genuine-1' });
    await jetStreamPublisher(payments).publish({ subject: Events.PaymentCaptured.subject, id: 'genuine-2', type: Events.PaymentCaptured.type, data: forgedCapture(), correlationId: 'ord_forged' });
    expect(await messagesIn('PAYMENTS_EVENTS')).toBe(before + 2);
  });

  it('lets no service delete, purge or reconfigure a stream', async () => {
    const payments = await as('payments');
    await expect(payments.jsm.streams.delete('PAYMENTS_EVENTS')).rejects.toThrow(/permissions violation/i);
    await expect(payments.jsm.streams.purge('PAYMENTS_EVENTS')).rejects.toThrow(/permissions violation/i);
    await expect(payments.jsm.streams.update('PAYMENTS_EVENTS', { max_msgs: 1 })).rejects.toThrow(/permissions violation/i);
    const info = await admin.jsm.streams.info('PAYMENTS_EVENTS');
    expect(info.config.max_msgs).toBe(-1);
    expect(info.state.messages).toBeGreaterThan(0);
  });

  it('lets a service work its own durable but not another service\'s', async () => {
    const inventory = await as('inventory');
    await expect(inventory.jsm.consumers.info('PAYMENTS_COMMANDS', 'payments-commands')).rejects.toThrow(/permissions violation/i);
    const gateway = await as('gateway');
    // The gateway reads ORDERS_EVENTS through ordered consumers, yet may not take notifications' durable.
    await expect(gateway.jsm.consumers.add('ORDERS_EVENTS', { durable_name: 'notifications-orders' })).rejects.toThrow(/permissions violation/i);
    const payments = await as('payments');
    await payments.jsm.consumers.add('PAYMENTS_COMMANDS', { durable_name: 'payments-commands', ack_policy: AckPolicy.Explicit });
    expect((await payments.jsm.consumers.info('PAYMENTS_COMMANDS', 'payments-commands')).name).toBe('payments-commands');
  });

  it('lets query, which answers the operators, read, redrive and delete dead letters, and no other service', async () => {
    await admin.js.publish('deadletter.PAYMENTS_EVENTS.orders-payments', new TextEncoder().encode('letter'), { msgID: 'dl-grant-1' });
    const seq = (await admin.jsm.streams.info('DEAD_LETTERS')).state.last_seq;
    const payments = await as('payments');
    await expect(payments.jsm.streams.getMessage('DEAD_LETTERS', { seq })).rejects.toThrow(/permissions violation/i);
    await expect(payments.js.publish('redrive.PAYMENTS_EVENTS.orders-payments', new Uint8Array(), { msgID: 'dl-grant-2' })).rejects.toThrow(/permissions violation/i);
    await expect(payments.jsm.streams.deleteMessage('DEAD_LETTERS', seq, false)).rejects.toThrow(/permissions violation/i);

    const query = await as('query');
    expect(new TextDecoder().decode((await query.jsm.streams.getMessage('DEAD_LETTERS', { seq }))!.data)).toBe('letter');
    await query.js.publish('redrive.PAYMENTS_EVENTS.orders-payments', new TextEncoder().encode('letter'), { msgID: 'dl-grant-3' });
    expect(await query.jsm.streams.deleteMessage('DEAD_LETTERS', seq, false)).toBe(true);
    // Only dead letters: every other stream's messages stay out of its reach.
    await expect(query.jsm.streams.deleteMessage('PAYMENTS_EVENTS', 1, false)).rejects.toThrow(/permissions violation/i);
    await expect(query.jsm.streams.deleteMessage('REDRIVE', 1, false)).rejects.toThrow(/permissions violation/i);
  });

  it('checks the provisioned streams as a service, and names the missing one it may not create', async () => {
    const orders = await as('orders');
    for (const spec of [deadLetterStream, ...streams]) await ensureStream(orders.jsm, spec);
    const drift: string[] = [];
    await ensureStream(orders.jsm, { ...streams[0]!, maxBytes: 1024 }, (m) => drift.push(m));
    expect(drift).toEqual([expect.stringContaining(streams[0]!.name)]);
    await expect(ensureStream(orders.jsm, { name: 'NOT_PROVISIONED', subjects: ['nowhere.>'], description: 'x' })).rejects.toBeInstanceOf(
      StreamNotProvisionedError,
    );
  });
});

describe('the compose config (deploy/nats/orderflow-auth.conf)', () => {
  it('is what the grants generate, and lets a user in with the password from the server\'s environment only', async () => {
    const file = fileURLToPath(new URL('../../../deploy/nats/orderflow-auth.conf', import.meta.url));
    expect(await readFile(file, 'utf8')).toBe(serverAuthConfig(natsGrants, (user) => ({ kind: 'password', passwordVariable: passwordVariableOf(user) })));
    const env = Object.fromEntries([adminUser, ...natsGrants.map((g) => g.user)].map((u) => [passwordVariableOf(u), `p${u}secret0`]));
    await using composeServer = await startNatsServer({ configFile: file, env });
    const payments = await connectNats({ url: composeServer.url, name: 'compose-payments', logger: silentLogger(), credentials: { user: 'payments', password: 'ppaymentssecret0' }, inboxPrefix: inboxPrefixOf('payments'), maxReconnectAttempts: 0 });
    await expect(payments.jsm.streams.delete('ANY')).rejects.toThrow(/permissions violation/i);
    await payments.nc.close();
    await expect(connect({ servers: composeServer.url, user: 'payments', pass: 'wrong', maxReconnectAttempts: 0 })).rejects.toThrow(/authorization/i);
  });
});
