import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NotificationServiceService } from '../../generated/orderflow/notifications/v1/notifications_service.js';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import {
  connectNats,
  Events,
  encodeMessage,
  grpcClient,
  jetStreamPublisher,
  listDeadLetters,
  silentLogger,
  type Contract,
  type DocumentStore,
  type Nats,
} from '../platform/index.js';
import { bufCurl, freePort, observeEvents, startNatsServer, waitFor, type EventObserver, type TestNatsServer, testStorage, type TestStorage } from '../platform/testing/index.js';
import { bootNotifications, type NotificationsService } from './service.js';

let server: TestNatsServer;
let nats: Nats;
let smtp: SMTPServer;
let smtpPort: number;
let dataDir: string;
let store: DocumentStore;
let storage: TestStorage;
let observer: EventObserver;
const replicas: NotificationsService[] = [];
const inbox: ParsedMail[] = [];

async function publish<T>(contract: Contract<T>, value: T, orderId: string, id = randomUUID()) {
  await jetStreamPublisher(nats).publish({ subject: contract.subject, id, type: contract.type, data: encodeMessage(contract, value), correlationId: orderId });
}
const eur = (amountMinor: number) => ({ amountMinor, currency: 'EUR' });
const placed = (orderId: string, email = 'ada@example.com') =>
  Events.OrderPlaced.codec.fromPartial({
    orderId,
    customerId: 'cus_mail',
    customerEmail: email,
    items: [{ productId: 'TEA', name: 'Green tea', quantity: 2, unitPrice: eur(450), lineTotal: eur(900) }],
    subtotal: eur(900),
    total: eur(900),
  });
const mailsFor = (orderId: string) => inbox.filter((m) => m.subject?.includes(orderId));

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'notifications-test', logger: silentLogger() });
  smtpPort = await freePort();
  // A real SMTP server on loopback: every message it accepts is parsed into the inbox.
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, done) {
      simpleParser(stream).then((mail) => (inbox.push(mail), done()), done);
    },
  });
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-notifications-'));
  storage = testStorage(join(dataDir, 'store'));
  store = await storage.open('notifications');
  const env = { NATS_URL: server.url, ...storage.env, GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', GRPC_PORT: '0', SMTP_URL: `smtp://127.0.0.1:${smtpPort}` };
  // Two replicas sharing the store and the durables.
  for (let i = 0; i < 2; i++) replicas.push(await bootNotifications(env, { logger: silentLogger(), store }));
  observer = await observeEvents(nats, 'NOTIFICATIONS_EVENTS');
});

afterAll(async () => {
  await observer?.stop();
  for (const r of replicas) await r.close();
  await store?.close();
  await storage?.dispose();
  await nats?.nc.drain();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  await server?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('notifications over SMTP', () => {
  it('sends exactly one e-mail per notified event, to the order address, with the order number and amounts', async () => {
    const orderId = 'ord_mail_1';
    await publish(Events.OrderPlaced, placed(orderId), orderId);
    await publish(Events.PaymentDeclined, Events.PaymentDeclined.codec.fromPartial({ orderId, amount: eur(900), reason: 'card declined: insufficient funds' }), orderId);
    await publish(Events.OrderCompleted, Events.OrderCompleted.codec.fromPartial({ orderId, total: eur(900) }), orderId);
    await publish(Events.ShipmentDispatched, Events.ShipmentDispatched.codec.fromPartial({ orderId, trackingNumber: 'OFX00001' }), orderId);
    await publish(Events.ShipmentDelivered, Events.ShipmentDelivered.codec.fromPartial({ orderId }), orderId);
    await publish(
      Events.OrderCancelled,
      Events.OrderCancelled.codec.fromPartial({ orderId, reason: CancellationReason.CANCELLATION_REASON_PAYMENT_DECLINED, detail: 'insufficient funds' }),
      orderId,
    );
    // Events that do not notify are acknowledged without an e-mail.
    await publish(Events.OrderStepSucceeded, Events.OrderStepSucceeded.codec.fromPartial({ orderId, step: 'reserve_stock' }), orderId);

    const mails = await waitFor('six e-mails', () => (mailsFor(orderId).length >= 6 ? mailsFor(orderId) : false));
    const bySubject = new Map(mails.map((m) => [m.subject, m]));
    expect([...bySubject.keys()].sort()).toEqual(
      [
        `Order ${orderId} received — EUR 9.00`,
        `Payment for order ${orderId} declined`,
        `Order ${orderId} confirmed`,
        `Order ${orderId} is on its way`,
        `Order ${orderId} delivered`,
        `Order ${orderId} cancelled`,
      ].sort(),
    );
    for (const mail of mails) {
      expect(mail.to && 'text' in mail.to ? mail.to.text : '').toBe('ada@example.com');
      expect(mail.html || '').toContain(orderId);
    }
    expect(bySubject.get(`Order ${orderId} received — EUR 9.00`)?.text).toContain('2 × Green tea (EUR 4.50) = EUR 9.00');
    expect(bySubject.get(`Order ${orderId} cancelled`)?.text).toContain('because the payment was declined');
    expect(bySubject.get(`Order ${orderId} is on its way`)?.text).toContain('OFX00001');
    await observer.waitForOrder(orderId, 6);
    expect(observer.forOrder(orderId).every((e) => e.type === 'NotificationSent')).toBe(true);
  });

  it('tells the customer why an order was cancelled by its category only, never the free text written with CancelOrder', async () => {
    const orderId = 'ord_mail_reason';
    const written = 'Your refund is waiting: log in at https://evil.example/refund';
    await publish(Events.OrderPlaced, { ...placed(orderId), customerId: 'cus_reason' }, orderId); // apart from the listing test's customer
    await publish(
      Events.OrderCancelled,
      Events.OrderCancelled.codec.fromPartial({ orderId, reason: CancellationReason.CANCELLATION_REASON_CUSTOMER_REQUESTED, detail: written }),
      orderId,
    );
    const mail = await waitFor('the cancellation e-mail', () => mailsFor(orderId).find((m) => m.subject === `Order ${orderId} cancelled`));
    expect(mail.text).toContain('because you asked us to cancel it');
    expect(`${mail.text ?? ''}${mail.html || ''}`).not.toContain('evil.example');
  });

  it('sends one e-mail per event however often it is delivered, across two replicas', async () => {
    const orderId = 'ord_mail_dup';
    for (let copy = 0; copy < 3; copy++) await publish(Events.OrderPlaced, placed(orderId), orderId);
    for (let copy = 0; copy < 3; copy++) await publish(Events.OrderCompleted, Events.OrderCompleted.codec.fromPartial({ orderId, total: eur(900) }), orderId);
    await waitFor('both e-mails', () => mailsFor(orderId).length >= 2);
    await observer.waitForOrder(orderId, 2);
    for (const durable of ['notifications-orders']) {
      await waitFor('all copies handled', async () => (await nats.jsm.consumers.info('ORDERS_EVENTS', durable)).num_pending === 0);
    }
    await waitFor('nothing in flight', async () => (await nats.jsm.consumers.info('ORDERS_EVENTS', 'notifications-orders')).num_ack_pending === 0);
    expect(mailsFor(orderId)).toHaveLength(2);
    expect(observer.forOrder(orderId)).toHaveLength(2);
  });

  it('waits for the OrderPlaced of an event that arrives first, then sends both', async () => {
    const orderId = 'ord_mail_late';
    await publish(Events.ShipmentDispatched, Events.ShipmentDispatched.codec.fromPartial({ orderId, trackingNumber: 'OFX-LATE' }), orderId);
    // It waits without spending deliveries: handled, acknowledged, nothing sent yet.
    const last = (await nats.jsm.streams.info('SHIPPING_EVENTS')).state.last_seq;
    const info = await waitFor('the event to be acknowledged', async () => {
      const consumer = await nats.jsm.consumers.info('SHIPPING_EVENTS', 'notifications-shipping');
      return consumer.ack_floor.stream_seq >= last && consumer.num_ack_pending === 0 && consumer;
    });
    expect(info.num_redelivered).toBe(0);
    expect(mailsFor(orderId)).toHaveLength(0);
    await publish(Events.OrderPlaced, placed(orderId, 'late@example.com'), orderId);
    await waitFor('both e-mails', () => mailsFor(orderId).length >= 2, { timeoutMs: 15_000 });
    expect(mailsFor(orderId).map((m) => m.subject).sort()).toEqual([`Order ${orderId} is on its way`, `Order ${orderId} received — EUR 9.00`]);
  });

  it('sends the OrderPlaced e-mail at once when another delivery is sending the notification that waited for it', async () => {
    const orderId = 'ord_mail_meet';
    // The OrderCompleted that arrived first waits, and its own delivery has just claimed it to send.
    const now = new Date();
    await store.collection('waiting_notifications').insertOne({ _id: `${orderId}:OrderCompleted`, orderId, trigger: { type: 'OrderCompleted' }, at: now });
    await store.collection('notifications').insertOne({
      _id: `${orderId}:OrderCompleted`,
      orderId,
      customerId: 'cus_meet',
      recipient: 'ada@example.com',
      subject: `Order ${orderId} confirmed`,
      triggerType: 'OrderCompleted',
      transport: 'smtp',
      status: 'sent',
      claimedAt: now,
      claimedBy: 'ORDERS_EVENTS:999999',
      sentAt: now,
    });
    const redeliveredBefore = (await nats.jsm.consumers.info('ORDERS_EVENTS', 'notifications-orders')).num_redelivered;
    await publish(Events.OrderPlaced, { ...placed(orderId), customerId: 'cus_meet' }, orderId);
    // Well within the claim's 10-second lease: the OrderPlaced delivery did not wait it out.
    await waitFor('the OrderPlaced e-mail', () => mailsFor(orderId).length >= 1, { timeoutMs: 5_000 });
    expect(mailsFor(orderId).map((m) => m.subject)).toEqual([`Order ${orderId} received — EUR 9.00`]);
    const consumer = await waitFor('the OrderPlaced acknowledged', async () => {
      const info = await nats.jsm.consumers.info('ORDERS_EVENTS', 'notifications-orders');
      return info.num_ack_pending === 0 && info.num_pending === 0 && info;
    });
    expect(consumer.num_redelivered).toBe(redeliveredBefore);
    // The other delivery still owes the waiting e-mail; it was left to it.
    expect(await store.collection('waiting_notifications').findOne({ _id: `${orderId}:OrderCompleted` })).not.toBeNull();
  });

  it('lists notifications by order and by customer, page by page, and names bad arguments', async () => {
    const client = grpcClient(NotificationServiceService, replicas[0]!.grpcAddress);
    const byOrder = await client.listNotifications({ orderId: 'ord_mail_1', pageSize: 0, pageToken: '' });
    expect(byOrder.notifications).toHaveLength(6);
    expect(byOrder.notifications.every((n) => n.recipient === 'ada@example.com' && n.transport === 'smtp')).toBe(true);
    const seen: string[] = [];
    let token = '';
    do {
      const page = await client.listNotifications({ customerId: 'cus_mail', pageSize: 4, pageToken: token });
      expect(page.notifications.length).toBeLessThanOrEqual(4);
      seen.push(...page.notifications.map((n) => n.notificationId));
      token = page.nextPageToken;
    } while (token);
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(10);
    await expect(client.listNotifications({ pageSize: 0, pageToken: '' })).rejects.toMatchObject({ code: 3 });
    await expect(client.listNotifications({ orderId: 'x', pageSize: 501, pageToken: 'garbage' })).rejects.toMatchObject({ code: 3 });
    client.close();
    const listed = await bufCurl('--list-services', `http://${replicas[0]!.grpcAddress}`);
    expect(listed).toContain('orderflow.notifications.v1.NotificationService');
  });

  it('dead-letters an event it cannot decode and keeps serving', async () => {
    await jetStreamPublisher(nats).publish({
      subject: Events.OrderCompleted.subject,
      id: 'poison-1',
      type: Events.OrderCompleted.type,
      data: Uint8Array.of(0xff, 0xff, 0xff),
      correlationId: 'ord_poison',
    });
    await waitFor('the dead letter', async () => (await listDeadLetters(nats)).some((l) => l.headers.get('Orderflow-Dead-Letter-Message-Id') === 'poison-1'));
    const orderId = 'ord_after_poison';
    await publish(Events.OrderPlaced, placed(orderId), orderId);
    await waitFor('service still sending', () => mailsFor(orderId).length === 1);
  });
});

describe('notifications into a mailbox folder', () => {
  it('writes one .eml per notification when no SMTP server is configured', async () => {
    // The SMTP replicas share the durables; stop them so this replica gets the event.
    for (const r of replicas.splice(0)) await r.close();
    const mailboxDir = join(dataDir, 'mailbox-test');
    const mailboxStorage = testStorage(join(dataDir, 'mailbox-store'));
    const mailboxStore = await mailboxStorage.open('notifications');
    const service = await bootNotifications(
      { NATS_URL: server.url, DATA_DIR: dataDir, GRPC_HOST: '127.0.0.1', AUTH_DISABLED: 'true', GRPC_PORT: '0', MAILBOX_DIR: mailboxDir },
      { logger: silentLogger(), store: mailboxStore },
    );
    const orderId = 'ord_mailbox';
    await publish(Events.OrderPlaced, placed(orderId, 'box@example.com'), orderId);
    const files = await waitFor('an .eml for the order', async () => {
      const names = (await readdir(mailboxDir).catch(() => [] as string[])).filter((n) => n.includes(orderId));
      return names.length > 0 ? names : false;
    });
    expect(files).toEqual([`${orderId}_OrderPlaced@orderflow.local.eml`]);
    const parsed = await simpleParser(await readFile(join(mailboxDir, files[0]!)));
    expect(parsed.subject).toBe(`Order ${orderId} received — EUR 9.00`);
    expect(parsed.messageId).toBe(`<${orderId}:OrderPlaced@orderflow.local>`);
    await service.close();
    await mailboxStore.close();
    await mailboxStorage.dispose();
  });
});
