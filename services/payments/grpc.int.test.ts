// PaymentService over gRPC (typed client and buf curl through reflection), on payments made by
// the saga's commands through a real nats-server.
import { status, type ServiceError } from '@grpc/grpc-js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PaymentStatus } from '../../generated/orderflow/payments/v1/payments_service.js';
import { readGrpcFailure, type GrpcFailure } from '../platform/index.js';
import { waitFor } from '../platform/testing/index.js';
import { encodePageToken } from './grpc.js';
import { bufCurl, eur, startPaymentsHarness, type PaymentsHarness } from './test-harness.js';

// A clock one second further at every reading, so "newest first" is exact.
const epoch = Date.parse('2030-01-01T00:00:00.000Z');
let tick = 0;
const now = () => new Date(epoch + tick++ * 1000);

let h: PaymentsHarness;
beforeAll(async () => {
  h = await startPaymentsHarness({}, { now });
});
afterAll(() => h.close());

async function failure(call: Promise<unknown>): Promise<GrpcFailure> {
  const err = await call.then(
    () => undefined,
    (e: ServiceError) => e,
  );
  expect(err, 'the call should fail').toBeDefined();
  return readGrpcFailure(err!);
}

/** Sends a command sequence for an order and waits for its answers. */
async function paid(orderId: string, token: string, options: { customerId?: string; amountMinor?: number; refund?: boolean } = {}) {
  await h.charge(orderId, token, { customerId: options.customerId ?? 'cus_g', amount: eur(options.amountMinor ?? 1000) });
  await h.waitForAnswers(orderId, 1);
  if (options.refund) {
    await h.refund(orderId, 'customer cancelled');
    await h.waitForAnswers(orderId, 2);
  }
}

describe('GetPayment', () => {
  it('returns a captured payment, then the same payment refunded', async () => {
    await paid('ord_get', 'tok_ok', { customerId: 'cus_get', amountMinor: 4200 });
    const client = h.client();
    const { payment } = await client.getPayment({ orderId: 'ord_get' });
    expect(payment).toEqual({
      paymentId: 'pay_ord_get',
      orderId: 'ord_get',
      customerId: 'cus_get',
      amount: eur(4200),
      status: PaymentStatus.PAYMENT_STATUS_CAPTURED,
      declineReason: '',
      captured: eur(4200),
      refunded: eur(0),
      attempts: 1,
      createdAt: expect.any(Date),
      updatedAt: expect.any(Date),
    });
    expect(payment!.updatedAt!.getTime()).toBeGreaterThan(payment!.createdAt!.getTime());

    await h.refund('ord_get', 'customer cancelled');
    await h.waitForAnswers('ord_get', 2);
    const { payment: refunded } = await client.getPayment({ orderId: 'ord_get' });
    expect(refunded).toMatchObject({ status: PaymentStatus.PAYMENT_STATUS_REFUNDED, captured: eur(4200), refunded: eur(4200) });
  });

  it('shows a declined payment with its reason, and a flaky one with its gateway attempts', async () => {
    await paid('ord_get_declined', 'tok_declined');
    await paid('ord_get_flaky', 'tok_flaky');
    const client = h.client();
    expect((await client.getPayment({ orderId: 'ord_get_declined' })).payment).toMatchObject({
      status: PaymentStatus.PAYMENT_STATUS_DECLINED,
      declineReason: 'card declined: insufficient funds',
      captured: eur(0),
    });
    expect((await client.getPayment({ orderId: 'ord_get_flaky' })).payment).toMatchObject({
      status: PaymentStatus.PAYMENT_STATUS_CAPTURED,
      attempts: 3,
    });
  });

  it('shows a charge in flight as PENDING', async () => {
    await h.charge('ord_get_pending', 'tok_timeout');
    await waitFor('the charge to reach the gateway', async () => (await h.ledger('ord_get_pending')).attempts === 1);
    const client = h.client();
    expect((await client.getPayment({ orderId: 'ord_get_pending' })).payment).toMatchObject({
      status: PaymentStatus.PAYMENT_STATUS_PENDING,
      attempts: 1,
    });
    await h.waitForAnswers('ord_get_pending', 1);
    expect((await client.getPayment({ orderId: 'ord_get_pending' })).payment?.status).toBe(PaymentStatus.PAYMENT_STATUS_CAPTURED);
  });

  it('answers NOT_FOUND for an order without a charge, also when only a refund was asked for', async () => {
    const client = h.client();
    expect(await failure(client.getPayment({ orderId: 'ord_nothing' }))).toMatchObject({
      code: status.NOT_FOUND,
      message: 'payment of order "ord_nothing" not found',
    });
    await h.refund('ord_refund_only');
    await h.waitForAnswers('ord_refund_only', 1);
    expect((await failure(client.getPayment({ orderId: 'ord_refund_only' }))).code).toBe(status.NOT_FOUND);
  });

  it('rejects an empty or over-long order id with INVALID_ARGUMENT naming the field', async () => {
    const client = h.client();
    expect(await failure(client.getPayment({ orderId: '' }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'order_id', description: 'is required' }],
    });
    expect(await failure(client.getPayment({ orderId: 'o'.repeat(201) }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'order_id', description: 'must be at most 200 characters' }],
    });
  });
});

describe('BatchGetPayments', () => {
  it('answers the known orders in the order asked, each once, and lists the ones without a payment', async () => {
    await paid('ord_batch_1', 'tok_ok', { customerId: 'cus_batch' });
    await paid('ord_batch_2', 'tok_declined', { customerId: 'cus_batch' });
    const client = h.client();
    const { payments, missingOrderIds } = await client.batchGetPayments({ orderIds: ['ord_batch_2', 'ord_none', 'ord_batch_1', 'ord_batch_2'] });
    expect(payments.map((p) => [p.orderId, p.status])).toEqual([
      ['ord_batch_2', PaymentStatus.PAYMENT_STATUS_DECLINED],
      ['ord_batch_1', PaymentStatus.PAYMENT_STATUS_CAPTURED],
    ]);
    expect(missingOrderIds).toEqual(['ord_none']);
    // The same payment as GetPayment gives.
    expect(payments[1]).toEqual((await client.getPayment({ orderId: 'ord_batch_1' })).payment);
  });

  it('rejects an empty id or too many ids, naming the field', async () => {
    const client = h.client();
    expect(await failure(client.batchGetPayments({ orderIds: ['ord_1', ''] }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'order_ids[1]', description: 'is required' }],
    });
    const many = Array.from({ length: 501 }, (_, i) => `ord_${i}`);
    expect(await failure(client.batchGetPayments({ orderIds: many }))).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [{ field: 'order_ids', description: 'must hold at most 500 ids' }],
    });
  });
});

describe('ListPayments', () => {
  const orders = ['ord_l1', 'ord_l2', 'ord_l3', 'ord_l4', 'ord_l5'];
  beforeAll(async () => {
    for (const id of orders) await paid(id, id === 'ord_l3' ? 'tok_declined' : 'tok_ok', { customerId: 'cus_list' });
    await paid('ord_l_other', 'tok_ok', { customerId: 'cus_other' });
    await h.settled();
  });

  it("pages through one customer's payments, newest first", async () => {
    const client = h.client();
    const first = await client.listPayments({ customerId: 'cus_list', pageSize: 2, pageToken: '' });
    expect(first.payments.map((p) => p.orderId)).toEqual(['ord_l5', 'ord_l4']);
    expect(first.nextPageToken).not.toBe('');
    const second = await client.listPayments({ customerId: 'cus_list', pageSize: 2, pageToken: first.nextPageToken });
    expect(second.payments.map((p) => p.orderId)).toEqual(['ord_l3', 'ord_l2']);
    const third = await client.listPayments({ customerId: 'cus_list', pageSize: 2, pageToken: second.nextPageToken });
    expect(third.payments.map((p) => p.orderId)).toEqual(['ord_l1']);
    expect(third.nextPageToken).toBe('');

    expect(second.payments[0]).toMatchObject({ status: PaymentStatus.PAYMENT_STATUS_DECLINED, declineReason: 'card declined: insufficient funds' });
    expect(second.payments[1]).toMatchObject({ status: PaymentStatus.PAYMENT_STATUS_CAPTURED, customerId: 'cus_list', captured: eur(1000) });
  });

  it('lists every customer without a filter, with the default page size', async () => {
    const { payments, nextPageToken } = await h.client().listPayments({ customerId: '', pageSize: 0, pageToken: '' });
    expect(payments.map((p) => p.orderId).slice(0, 6)).toEqual(['ord_l_other', 'ord_l5', 'ord_l4', 'ord_l3', 'ord_l2', 'ord_l1']);
    expect(payments.map((p) => p.orderId)).not.toContain('ord_refund_only');
    expect(nextPageToken).toBe('');
  });

  it('shows the same payment as GetPayment', async () => {
    const client = h.client();
    const { payments } = await client.listPayments({ customerId: 'cus_list', pageSize: 1, pageToken: '' });
    expect(payments[0]).toEqual((await client.getPayment({ orderId: 'ord_l5' })).payment);
  });

  it('returns an empty page for an unknown customer and past the end', async () => {
    const client = h.client();
    expect(await client.listPayments({ customerId: 'cus_nobody', pageSize: 10, pageToken: '' })).toEqual({ payments: [], nextPageToken: '' });
    const pastEnd = encodePageToken({ createdAt: new Date(0), orderId: 'a' });
    expect((await client.listPayments({ customerId: 'cus_list', pageSize: 10, pageToken: pastEnd })).payments).toEqual([]);
  });

  it('rejects a bad page size, page token or customer id with INVALID_ARGUMENT naming each field', async () => {
    const client = h.client();
    const bad = await failure(client.listPayments({ customerId: 'c'.repeat(201), pageSize: 501, pageToken: 'not-a-token' }));
    expect(bad).toMatchObject({
      code: status.INVALID_ARGUMENT,
      fieldViolations: [
        { field: 'customer_id', description: 'must be at most 200 characters' },
        { field: 'page_size', description: 'must be at most 500' },
        { field: 'page_token', description: 'is not a token returned by ListPayments' },
      ],
    });
    expect((await failure(client.listPayments({ customerId: '', pageSize: -1, pageToken: '' }))).fieldViolations).toEqual([
      { field: 'page_size', description: 'must be at least 0' },
    ]);
  });
});

describe('reflection (buf curl)', () => {
  it('lists PaymentService and calls GetPayment', async () => {
    const address = h.replicas[0]!.grpcAddress;
    const services = (await bufCurl('--list-services', `http://${address}`)).trim().split('\n');
    expect(services).toContain('orderflow.payments.v1.PaymentService');

    await paid('ord_curl', 'tok_ok', { customerId: 'cus_curl', amountMinor: 1999 });
    const out = await bufCurl('-d', '{"order_id":"ord_curl"}', `http://${address}/orderflow.payments.v1.PaymentService/GetPayment`);
    expect(JSON.parse(out)).toMatchObject({
      payment: {
        paymentId: 'pay_ord_curl',
        orderId: 'ord_curl',
        customerId: 'cus_curl',
        amount: { amountMinor: '1999', currency: 'EUR' },
        status: 'PAYMENT_STATUS_CAPTURED',
        attempts: 1,
      },
    });
  });
});
