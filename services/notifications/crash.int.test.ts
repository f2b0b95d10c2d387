// A notifications process killed with SIGKILL in the middle of sending e-mail, then started
// again: every notified event ends with exactly one e-mail and one listed record, well within
// the consumer's redelivery schedule. The events arrive out of order (OrderCompleted before
// OrderPlaced, in one batch), which must not cost deliveries either.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { simpleParser, type ParsedMail } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { NotificationServiceService } from '../../generated/orderflow/notifications/v1/notifications_service.js';
import { connectNats, deadLetterStream, encodeMessage, ensureStream, Events, streams, grpcClient, jetStreamPublisher, listDeadLetters, silentLogger, type Contract, type Nats } from '../platform/index.js';
import { stopProcess } from '../platform/testing/nats-server.js';
import { freePort, observeEvents, startNatsServer, waitFor, type EventObserver, type TestNatsServer } from '../platform/testing/index.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const orderIds = Array.from({ length: 4 }, (_, i) => `ord_crash_${i}`);
let server: TestNatsServer;
let nats: Nats;
let smtp: SMTPServer;
let smtpPort: number;
let dataDir: string;
let observer: EventObserver;
let hanging = true;
let hung = 0;
const inbox: ParsedMail[] = [];
const processes: ChildProcess[] = [];

beforeAll(async () => {
  server = await startNatsServer();
  nats = await connectNats({ url: server.url, name: 'notifications-crash-test', logger: silentLogger() });
  for (const spec of [deadLetterStream, ...streams]) await ensureStream(nats.jsm, spec);
  smtpPort = await freePort();
  // While `hanging`, the server takes each message's data and never answers: the sender is mid-send.
  smtp = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    logger: false,
    onData(stream, _session, done) {
      if (hanging) {
        hung++;
        stream.resume();
        return;
      }
      simpleParser(stream).then((mail) => (inbox.push(mail), done()), done);
    },
  });
  // A killed sender resets its connection; that is the point, not an error of the server.
  smtp.on('error', () => undefined);
  await new Promise<void>((resolve) => smtp.listen(smtpPort, '127.0.0.1', resolve));
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-notifications-crash-'));
  observer = await observeEvents(nats, 'NOTIFICATIONS_EVENTS');
});

afterAll(async () => {
  for (const child of processes) await stopProcess(child, 'SIGKILL');
  await observer?.stop();
  await nats?.nc.drain();
  await new Promise<void>((resolve) => (smtp ? smtp.close(() => resolve()) : resolve()));
  await server?.stop();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

async function publish<T>(contract: Contract<T>, value: T, orderId: string) {
  await jetStreamPublisher(nats).publish({ subject: contract.subject, id: randomUUID(), type: contract.type, data: encodeMessage(contract, value), correlationId: orderId });
}

/** `node --import tsx services/notifications/main.ts`, as npm start runs it; resolves once it has started. */
async function startProcess(grpcPort: number): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'services/notifications/main.ts'], {
    cwd: root,
    env: { ...process.env, LOG_LEVEL: 'info', NATS_URL: server.url, DATA_DIR: dataDir, AUTH_DISABLED: 'true', GRPC_HOST: '127.0.0.1', GRPC_PORT: String(grpcPort), SMTP_URL: `smtp://127.0.0.1:${smtpPort}` },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  processes.push(child);
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  child.stderr!.on('data', (chunk: Buffer) => (output = (output + chunk.toString()).slice(-20_000)));
  await waitFor('notifications to start', () => {
    if (child.exitCode !== null) throw new Error(`notifications exited with ${child.exitCode}: ${output.slice(-2_000)}`);
    return output.includes('"msg":"notifications started"');
  }, { timeoutMs: 30_000 });
  return child;
}

// SMTP cannot be exactly once across a crash: a server may accept a message whose sender dies
// before it records the fact, and the restarted sender sends it again. What the service promises
// is every e-mail, each with its one Message-ID (so a mail client shows a repeat once), and
// exactly one record and one listing per notification.
it('sends every e-mail under its one Message-ID, and records and lists each exactly once, after a SIGKILL mid-send and a restart', { timeout: 120_000 }, async () => {
  for (const orderId of orderIds) {
    await publish(Events.OrderCompleted, Events.OrderCompleted.codec.fromPartial({ orderId }), orderId);
  }
  for (const orderId of orderIds) {
    await publish(
      Events.OrderPlaced,
      Events.OrderPlaced.codec.fromPartial({
        orderId,
        customerId: 'cus_crash',
        customerEmail: 'crash@example.com',
        items: [{ productId: 'TEA', name: 'Green tea', quantity: 1, unitPrice: { amountMinor: 450, currency: 'EUR' }, lineTotal: { amountMinor: 450, currency: 'EUR' } }],
        subtotal: { amountMinor: 450, currency: 'EUR' },
        total: { amountMinor: 450, currency: 'EUR' },
      }),
      orderId,
    );
  }
  const grpcPort = await freePort();
  const first = await startProcess(grpcPort);
  await waitFor('e-mails to be mid-send', () => hung >= 2, { timeoutMs: 20_000 });
  await stopProcess(first, 'SIGKILL');
  expect(first.signalCode).toBe('SIGKILL');
  hanging = false;

  const second = await startProcess(grpcPort);
  const expected = orderIds.flatMap((id) => [`<${id}:OrderPlaced@orderflow.local>`, `<${id}:OrderCompleted@orderflow.local>`]).sort();
  // Within seconds of the restart (the claims' holder is gone, and these are redeliveries of the
  // messages it held), not after the lease of a dead claim ran out or the deliveries were spent.
  await waitFor(
    'every e-mail',
    () => {
      if (expected.every((id) => inbox.some((m) => m.messageId === id))) return true;
      throw new Error(`received ${JSON.stringify(inbox.map((m) => m.messageId))}`);
    },
    { timeoutMs: 12_000 },
  );
  const client = grpcClient(NotificationServiceService, `127.0.0.1:${grpcPort}`);
  try {
    const listed = await waitFor('every notification listed and recorded', async () => {
      const { notifications } = await client.listNotifications({ customerId: 'cus_crash', pageSize: 100, pageToken: '' });
      if (notifications.length >= expected.length && observer.observed.length >= expected.length) return notifications;
      throw new Error(`${notifications.length} listed, ${observer.observed.length} recorded`);
    });
    await observer.drained();
    expect([...new Set(inbox.map((m) => m.messageId))].sort()).toEqual(expected);
    expect(listed.map((n) => `<${n.notificationId}@orderflow.local>`).sort()).toEqual(expected);
    expect(observer.observed.map((e) => `<${String(e.data.notificationId)}@orderflow.local>`).sort()).toEqual(expected);
    expect(await listDeadLetters(nats)).toEqual([]);
  } finally {
    client.close();
  }
  await stopProcess(second, 'SIGTERM');
});
