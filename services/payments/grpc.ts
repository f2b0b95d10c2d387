// PaymentService: reads payments. GetPayment folds the order's stream (authoritative); ListPayments
// pages through the payment records' views, newest first.
import { PaymentServiceService, type Payment } from '../../generated/orderflow/payments/v1/payments_service.js';
import { implement, mayAccess, NotFoundError, scopedCustomer, Violations, type Logger, type ServiceBinding } from '../platform/index.js';
import { toPaymentMessage, viewOf } from './payment-view.js';
import type { Payments } from './payments.js';
import type { PaymentRecords, SortKey } from './records.js';

export const defaultPageSize = 50;
export const maxPageSize = 500;

/** The opaque page token: base64url of the last listed record's sort key. */
export function encodePageToken(key: SortKey): string {
  return Buffer.from(JSON.stringify([key.createdAt.toISOString(), key.orderId])).toString('base64url');
}

/** The sort key in a page token, or undefined when the token is not one of ours. */
export function decodePageToken(token: string): SortKey | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (!Array.isArray(parsed) || parsed.length !== 2) return undefined;
    const [createdAt, orderId] = parsed as unknown[];
    if (typeof createdAt !== 'string' || typeof orderId !== 'string' || orderId === '') return undefined;
    const date = new Date(createdAt);
    return Number.isNaN(date.getTime()) ? undefined : { createdAt: date, orderId };
  } catch {
    return undefined;
  }
}

export function paymentsGrpc(payments: Payments, records: PaymentRecords, logger: Logger): ServiceBinding {
  return {
    definition: PaymentServiceService,
    implementation: implement(
      PaymentServiceService,
      {
        async getPayment(request, ctx) {
          new Violations().text('order_id', request.orderId).throwIfAny();
          const { state, record } = await payments.load(request.orderId);
          // A payment exists once ChargePayment arrived; a RefundPayment alone does not make one.
          // Another customer's payment does not exist for this caller.
          if (!record || record.customerId === undefined || !mayAccess(ctx.caller, record.customerId)) throw new NotFoundError('payment of order', request.orderId);
          return { payment: toPaymentMessage(record, viewOf(state, record.createdAt ?? new Date(0))) };
        },

        async batchGetPayments(request, ctx) {
          new Violations().idList('order_ids', request.orderIds).throwIfAny();
          const ids = [...new Set(request.orderIds)];
          // One call for many orders; each payment is folded from its own stream, as GetPayment does.
          const loaded = await Promise.all(ids.map((orderId) => payments.load(orderId)));
          const found = new Map<string, Payment>();
          loaded.forEach(({ state, record }, i) => {
            if (record && record.customerId !== undefined && mayAccess(ctx.caller, record.customerId)) {
              found.set(ids[i]!, toPaymentMessage(record, viewOf(state, record.createdAt ?? new Date(0))));
            }
          });
          return { payments: ids.flatMap((id) => found.get(id) ?? []), missingOrderIds: ids.filter((id) => !found.has(id)) };
        },

        async listPayments(raw, ctx) {
          const request = { ...raw, customerId: scopedCustomer(ctx.caller, raw.customerId) };
          const violations = new Violations()
            .optionalText('customer_id', request.customerId)
            .integer('page_size', request.pageSize, { min: 0, max: maxPageSize });
          const after = request.pageToken === '' ? undefined : decodePageToken(request.pageToken);
          if (request.pageToken !== '' && !after) violations.add('page_token', 'is not a token returned by ListPayments');
          violations.throwIfAny();
          const pageSize = request.pageSize || defaultPageSize;
          // One more than asked tells whether another page follows.
          const found = await records.list({ customerId: request.customerId, limit: pageSize + 1, ...(after ? { after } : {}) });
          const page = found.slice(0, pageSize);
          const last = page.at(-1);
          return {
            payments: page.map((r) => toPaymentMessage(r, r.view)),
            nextPageToken: found.length > pageSize && last ? encodePageToken({ createdAt: last.createdAt!, orderId: last._id }) : '',
          };
        },
      },
      logger,
    ),
  };
}
