import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AdminServiceService } from '../../../generated/orderflow/platform/v1/admin_service.js';
import {
  grpcClient,
  jetStreamPublisher,
  jwtAuthenticator,
  readGrpcFailure,
  silentLogger,
  startRuntime,
  type GrpcClient,
  type Runtime,
} from '../index.js';
import type { CommitDocument } from '../eventstore/index.js';
import { sampleSum, scrape, startNatsServer, startTestIssuer, waitFor, type TestIssuer, type TestNatsServer } from '../testing/index.js';

const stream = 'ADMINTEST';
const subject = 'admintest.events.Thing';
const type = 'orderflow.test.v1.Thing';

let server: TestNatsServer;
let issuer: TestIssuer;
/** `Bearer <token>` of an admin, minted once by the test issuer. */
let adminAuthorization: string;
let dataDir: string;
let runtime: Runtime;
let admin: GrpcClient<typeof AdminServiceService>;
/** What each durable handled, by message body. */
const handled: Record<'fragile' | 'sturdy', string[]> = { fragile: [], sturdy: [] };
/** While true, `fragile` fails every message whose body starts with "bad". */
let fault = true;

const withAuthorization = (authorization: string) => {
  const metadata = new Metadata();
  metadata.set('authorization', authorization);
  return { metadata };
};
const asAdmin = () => withAuthorization(adminAuthorization);

async function failure(call: Promise<unknown>) {
  try {
    await call;
  } catch (err) {
    return readGrpcFailure(err as ServiceError);
  }
  throw new Error('the call succeeded');
}

function publish(body: string) {
  return jetStreamPublisher(runtime.nats).publish({
    subject,
    id: `msg-${body}`,
    type,
    data: new TextEncoder().encode(body),
    correlationId: `order-${body}`,
  });
}

beforeAll(async () => {
  server = await startNatsServer();
  issuer = await startTestIssuer();
  adminAuthorization = await issuer.admin();
  dataDir = await mkdtemp(join(tmpdir(), 'orderflow-admin-'));
  runtime = await startRuntime({
    service: 'admintest',
    natsUrl: server.url,
    dataDir,
    streams: [{ name: stream, subjects: ['admintest.>'], description: 'admin test' }],
    logger: silentLogger(),
    metrics: { port: 0 },
    auth: jwtAuthenticator({ jwks: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience }),
  });
  for (const durable of ['fragile', 'sturdy'] as const) {
    await runtime.consume({
      stream,
      consumer: { durable, maxDeliver: 2, backoffMs: [20] },
      handler: async (m) => {
        const body = new TextDecoder().decode(m.data);
        handled[durable].push(body);
        if (durable === 'fragile' && fault && body.startsWith('bad')) throw new Error(`cannot handle ${body}`);
      },
    });
  }
  const grpc = await runtime.serveGrpc([], { port: 0, host: '127.0.0.1' });
  admin = grpcClient(AdminServiceService, grpc.address);
});

afterAll(async () => {
  admin?.close();
  await runtime?.close();
  await server?.stop();
  await issuer?.close();
  await rm(dataDir, { recursive: true, force: true });
});

describe('AdminService', () => {
  it('refuses callers without an admin token', async () => {
    expect(await failure(admin.listDeadLetters({ filter: undefined, pageSize: 0, pageToken: '' }))).toMatchObject({
      code: status.UNAUTHENTICATED,
    });
    expect(await failure(admin.redriveDeadLetters({ filter: undefined, all: true }, withAuthorization(await issuer.customer('cus_1'))))).toMatchObject({
      code: status.PERMISSION_DENIED,
    });
    expect(await failure(admin.listParkedCommits({}, withAuthorization(await issuer.service('orders'))))).toMatchObject({
      code: status.PERMISSION_DENIED,
    });
    expect(await failure(admin.retryParkedCommit({ commitId: 'x@1' }, withAuthorization('Bearer not-a-token')))).toMatchObject({
      code: status.UNAUTHENTICATED,
    });
  });

  it('lists the dead letters of a failing consumer and redrives them to it alone, once the fault is gone', async () => {
    for (const body of ['good', 'bad-1', 'bad-2']) await publish(body);
    const list = (filter: { consumer?: string; orderId?: string; type?: string }, pageSize = 0, pageToken = '') =>
      admin.listDeadLetters({ filter: { consumer: '', orderId: '', type: '', stream: '', ...filter }, pageSize, pageToken }, asAdmin());
    await waitFor('two dead letters', async () => (await list({ consumer: 'fragile' })).deadLetters.length === 2);

    const first = await list({}, 1);
    expect(first.deadLetters).toEqual([
      {
        sequence: expect.any(Number),
        stream,
        consumer: 'fragile',
        subject,
        type,
        error: 'cannot handle bad-1',
        errorName: 'Error',
        orderId: 'order-bad-1',
        messageId: 'msg-bad-1',
        deadLetteredAt: expect.any(Date),
        deliveryCount: 2,
      },
    ]);
    const second = await list({}, 1, first.nextPageToken);
    expect(second.deadLetters.map((l) => l.orderId)).toEqual(['order-bad-2']);
    expect(second.nextPageToken).toBe('');
    expect((await list({ orderId: 'order-bad-2' })).deadLetters.map((l) => l.sequence)).toEqual([second.deadLetters[0]!.sequence]);
    expect((await list({ consumer: 'sturdy' })).deadLetters).toEqual([]);
    expect((await list({ type: 'orderflow.test.v1.Other' })).deadLetters).toEqual([]);
    const samples = await scrape(runtime.metricsUrl!);
    expect(sampleSum(samples, 'orderflow_dead_letters', { stream, consumer: 'fragile' })).toBe(2);

    expect(await failure(admin.redriveDeadLetters({ filter: undefined, all: false }, asAdmin()))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'filter', description: expect.stringContaining('set all') }],
    });
    expect(await failure(admin.redriveDeadLetter({ sequence: 999_999 }, asAdmin()))).toMatchObject({ code: status.NOT_FOUND });

    fault = false;
    const one = await admin.redriveDeadLetter({ sequence: first.deadLetters[0]!.sequence }, asAdmin());
    expect(one.deadLetter?.orderId).toBe('order-bad-1');
    const rest = await admin.redriveDeadLetters(
      { filter: { consumer: 'fragile', stream: '', type: '', orderId: '' }, all: false },
      asAdmin(),
    );
    expect(rest.redriven.map((l) => l.orderId)).toEqual(['order-bad-2']);

    await waitFor('both redriven messages handled', () => handled.fragile.filter((b) => b.startsWith('bad')).length === 6);
    await waitFor('the redrive consumer idle', async () => {
      const info = await runtime.nats.jsm.consumers.info('REDRIVE', `${stream}-fragile`);
      return info.num_pending === 0 && info.num_ack_pending === 0;
    });
    // fragile: two failed deliveries each, then the redriven one; sturdy saw each message once.
    expect(handled.fragile.sort()).toEqual(['bad-1', 'bad-1', 'bad-1', 'bad-2', 'bad-2', 'bad-2', 'good']);
    expect(handled.sturdy.sort()).toEqual(['bad-1', 'bad-2', 'good']);
    expect((await list({})).deadLetters).toEqual([]);
    expect(sampleSum(await scrape(runtime.metricsUrl!), 'orderflow_dead_letters', { stream })).toBe(0);
  });

  it('lists parked outbox commits and retries one, which the relay then publishes', async () => {
    const commits = runtime.store.collection<CommitDocument>('commits');
    const parkedAt = new Date('2030-01-01T00:00:00Z');
    // Parked by hand, as the relay parks a commit it cannot publish.
    await commits.insertOne({
      _id: 'thing-1@1',
      streamId: 'thing-1',
      firstVersion: 1,
      lastVersion: 1,
      events: [{ id: 'evt-parked', type, subject, data: Buffer.from('parked').toString('base64') }],
      messages: [],
      correlationId: 'order-parked',
      committedAt: new Date('2029-12-31T23:59:00Z'),
      published: false,
      parked: { at: parkedAt, error: 'message too large', attempts: 1 },
    });
    const { commits: listed } = await admin.listParkedCommits({}, asAdmin());
    expect(listed).toEqual([
      {
        commitId: 'thing-1@1',
        streamId: 'thing-1',
        correlationId: 'order-parked',
        committedAt: new Date('2029-12-31T23:59:00Z'),
        parkedAt,
        reason: 'message too large',
        messageTypes: [type],
      },
    ]);
    expect(await failure(admin.retryParkedCommit({ commitId: 'thing-9@1' }, asAdmin()))).toMatchObject({ code: status.NOT_FOUND });

    expect((await admin.retryParkedCommit({ commitId: 'thing-1@1' }, asAdmin())).commit?.commitId).toBe('thing-1@1');
    await waitFor('the retried commit published and handled', () => handled.sturdy.includes('parked'));
    expect(await commits.findOne({ _id: 'thing-1@1' })).toMatchObject({ published: true });
    expect((await admin.listParkedCommits({}, asAdmin())).commits).toEqual([]);
  });
});
