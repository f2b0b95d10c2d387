import {
  QueryServiceService,
  type OrderView,
  type ProductAvailability,
} from '../../generated/orderflow/query/v1/query_service.js';
import { implement, mayAccess, NotFoundError, scopedCustomer, Violations, type Logger, type Nats, type ServiceBinding } from '../platform/index.js';
import { currencyOf, dayOf, salesAnalytics } from './analytics.js';
import type { OrderViewState } from './order-view.js';
import type { Projections } from './projections.js';
import { projectionNames, type AvailabilityDocument, type ProjectionName, type ReadModels } from './views.js';

const maxPageSize = 500;
/** A page token: the sort key of the last row returned; the next page starts after it. */
export const encodePageToken = (key: unknown[]) => Buffer.from(JSON.stringify(key)).toString('base64url');
const untoken = (t: string): unknown[] | undefined => {
  try {
    const key = JSON.parse(Buffer.from(t, 'base64url').toString()) as unknown;
    return Array.isArray(key) ? key : undefined;
  } catch {
    return undefined;
  }
};

const toView = (v: OrderViewState): OrderView => ({
  orderId: v.orderId,
  customerId: v.customerId,
  customerEmail: v.customerEmail,
  status: v.status,
  items: v.items,
  subtotal: v.subtotal,
  total: v.total,
  paymentStatus: v.paymentStatus,
  shipmentStatus: v.shipmentStatus,
  trackingNumber: v.trackingNumber,
  cancellationReason: v.cancellationReason,
  cancellationDetail: v.cancellationDetail,
  stepTimes: v.stepTimes,
  version: v.version,
  placedAt: v.placedAt,
  updatedAt: v.updatedAt,
});
const toAvailability = (d: AvailabilityDocument): ProductAvailability => ({
  sku: d.sku,
  name: d.name,
  price: d.price,
  onHand: d.onHand,
  available: d.available,
  reserved: d.reserved,
  updatedAt: d.updatedAt,
});

/** The order id a read waits for; checked like every other id. */
function readAfterArgs(v: Violations, r: { orderId: string } | undefined): Violations {
  return v.optionalText('read_after.order_id', r?.orderId ?? '');
}

function pageArgs(v: Violations, pageSize: number, pageToken: string) {
  v.integer('page_size', pageSize, { min: 0, max: maxPageSize });
  const after = pageToken ? untoken(pageToken) : undefined;
  if (pageToken && !after) v.add('page_token', 'is not a token this service issued');
  return { size: pageSize || 50, after };
}

export function queryGrpc(models: ReadModels, projections: Projections, nats: Nats, logger: Logger): ServiceBinding {
  const readAfter = async (r: { orderId: string; minVersion: number } | undefined) => {
    if (r?.orderId && r.minVersion) await projections.orderView(r.orderId, r.minVersion);
  };
  return {
    definition: QueryServiceService,
    implementation: implement(
      QueryServiceService,
      {
        async getOrderView({ orderId, minVersion }, ctx) {
          new Violations().text('order_id', orderId).throwIfAny();
          const view = await projections.orderView(orderId, minVersion);
          // Another customer's order does not exist for this caller.
          if (!view?.placedAt || !mayAccess(ctx.caller, view.customerId)) throw new NotFoundError('order view', orderId);
          return { order: toView(view) };
        },
        async listOrderViews({ customerId: requested, statuses, pageSize, pageToken, readAfter: ra }, ctx) {
          const customerId = scopedCustomer(ctx.caller, requested);
          const v = readAfterArgs(new Violations().optionalText('customer_id', customerId), ra);
          const { size, after } = pageArgs(v, pageSize, pageToken);
          v.throwIfAny();
          await readAfter(ra);
          const filter: Record<string, unknown> = { placedAt: { $exists: true } };
          if (customerId) filter.customerId = customerId;
          if (statuses.length) filter.status = { $in: statuses };
          const query = after ? { $and: [filter, { $or: [{ placedAt: { $lt: new Date(String(after[0])) } }, { placedAt: new Date(String(after[0])), _id: { $lt: after[1] } }] }] } : filter;
          const rows = await models.orders.find(query, { sort: { placedAt: -1, _id: -1 }, limit: size + 1 });
          const page = rows.slice(0, size);
          const last = page.at(-1);
          return { orders: page.map(toView), nextPageToken: rows.length > size && last ? encodePageToken([last.placedAt?.toISOString(), last._id]) : '' };
        },
        async getCustomer({ customerId, recentOrdersLimit, readAfter: ra }, ctx) {
          const v = readAfterArgs(new Violations().text('customer_id', customerId), ra);
          v.integer('recent_orders_limit', recentOrdersLimit, { min: 0, max: 100 });
          v.throwIfAny();
          if (!mayAccess(ctx.caller, customerId)) throw new NotFoundError('customer', customerId);
          await readAfter(ra);
          const orders = await models.orders.find({ customerId, placedAt: { $exists: true } }, { sort: { placedAt: -1, _id: -1 } });
          if (orders.length === 0) throw new NotFoundError('customer', customerId);
          const spent = orders.reduce((n, o) => n + o.capturedMinor - o.refundedMinor, 0);
          const currency = currencyOf(orders);
          return {
            customer: {
              customerId,
              email: orders[0]!.customerEmail,
              orderCount: orders.length,
              // In the currency of the customer's orders; none is invented when they carry none.
              totalSpent: currency === undefined ? undefined : { amountMinor: spent, currency },
              recentOrders: orders.slice(0, recentOrdersLimit || 10).map((o) => ({
                orderId: o.orderId,
                status: o.status,
                total: o.total,
                placedAt: o.placedAt,
                updatedAt: o.updatedAt,
              })),
              firstOrderAt: orders.at(-1)!.placedAt,
              lastOrderAt: orders[0]!.placedAt,
            },
          };
        },
        async getProductAvailability({ sku }) {
          new Violations().text('sku', sku, { maxLength: 64 }).throwIfAny();
          const doc = await models.availability.findOne({ _id: sku });
          if (!doc) throw new NotFoundError('product', sku);
          return { product: toAvailability(doc) };
        },
        async listProductAvailability({ pageSize, pageToken }) {
          const v = new Violations();
          const { size, after } = pageArgs(v, pageSize, pageToken);
          v.throwIfAny();
          const rows = await models.availability.find(after ? { _id: { $gt: String(after[0]) } } : {}, { sort: { _id: 1 }, limit: size + 1 });
          const page = rows.slice(0, size);
          return { products: page.map(toAvailability), nextPageToken: rows.length > size ? encodePageToken([page.at(-1)!._id]) : '' };
        },
        async getSalesAnalytics({ fromDay, toDay, readAfter: ra }) {
          const v = readAfterArgs(new Violations(), ra);
          const dayPattern = /^\d{4}-\d{2}-\d{2}$/;
          if (fromDay && !dayPattern.test(fromDay)) v.add('from_day', 'must be YYYY-MM-DD');
          if (toDay && !dayPattern.test(toDay)) v.add('to_day', 'must be YYYY-MM-DD');
          if (fromDay && toDay && fromDay > toDay) v.add('to_day', 'must not be before from_day');
          v.throwIfAny();
          await readAfter(ra);
          const orders = (await models.orders.find({ placedAt: { $exists: true } })).filter((o) => {
            const day = dayOf(o.placedAt!);
            return (!fromDay || day >= fromDay) && (!toDay || day <= toDay);
          });
          return { analytics: salesAnalytics(orders) };
        },
        async rebuildProjection({ projection }) {
          if (!projectionNames.includes(projection as ProjectionName)) {
            new Violations().add('projection', `must be one of ${projectionNames.join(', ')}`).throwIfAny();
          }
          const replayed = await projections.rebuild(nats, projection as ProjectionName);
          logger.info({ projection, replayed }, 'projection rebuilt');
          return { eventsReplayed: replayed };
        },
        async getProjectionStatus() {
          // This replica's latest are written first; other replicas' are at most their interval behind.
          await projections.flushCheckpoints();
          const checkpoints = await models.checkpoints();
          const out = [];
          for (const cp of checkpoints) {
            const stream = cp._id.split(':')[1] ?? '';
            const last = (await nats.jsm.streams.info(stream)).state.last_seq;
            out.push({ name: cp._id, checkpoint: cp.seq, lag: Math.max(0, last - cp.seq) });
          }
          return { projections: out };
        },
      },
      logger,
    ),
  };
}
