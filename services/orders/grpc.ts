// OrderService: places and cancels orders (through the decider, orders.ts) and reads them.
// GetOrder and GetOrderHistory read the stream (authoritative); BatchGetOrders and ListOrders read
// the version-guarded views, which are written before a command returns.
import { OrderServiceService } from '../../generated/orderflow/orders/v1/orders_service.js';
import { AlreadyExistsError, implement, NotFoundError, type Logger, type ServiceBinding } from '../platform/index.js';
import type { LoadedOrder, Orders } from './orders.js';
import { historyEntry, toOrderMessage } from './order-message.js';
import { priceItems, type Catalog } from './pricing.js';
import {
  batchGetRequest,
  cancelOrderRequest,
  encodePageToken,
  listOrdersRequest,
  orderIdFor,
  orderIdRequest,
  placeOrderRequest,
  sameRequest,
  type ValidPlaceOrder,
} from './requests.js';
import type { OrderViews } from './views.js';

/** The API answer for a loaded order; NOT_FOUND when it does not exist. */
function answer(orderId: string, loaded: LoadedOrder) {
  if (loaded.state.status === 'none') throw new NotFoundError('order', orderId);
  return { order: toOrderMessage(loaded.state, loaded.version), version: loaded.version };
}

/** A retry of the same request gets the order it placed; another request under the key is refused. */
function existingFor(orderId: string, request: ValidPlaceOrder, loaded: LoadedOrder) {
  if (loaded.state.status !== 'none' && !sameRequest(loaded.state, request)) {
    throw new AlreadyExistsError('an order with a different request under idempotency_key', request.idempotencyKey);
  }
  return answer(orderId, loaded);
}

/** The OrderService binding; `now` is the clock. */
export function ordersGrpc(deps: { orders: Orders; views: OrderViews; catalog: Catalog; now: () => Date }, logger: Logger): ServiceBinding {
  const { orders, views, catalog, now } = deps;
  return {
    definition: OrderServiceService,
    implementation: implement(
      OrderServiceService,
      {
        async placeOrder(raw, ctx) {
          const request = placeOrderRequest(raw);
          const orderId = orderIdFor(request.customerId, request.idempotencyKey);
          if (request.idempotencyKey !== '') {
            // A retry is answered from the stream, without pricing again.
            const existing = await orders.load(orderId);
            if (existing.state.status !== 'none') return existingFor(orderId, request, existing);
          }
          const priced = await priceItems(catalog, request.items, orderId);
          const outcome = await orders.place(
            { orderId, customerId: request.customerId, customerEmail: request.customerEmail, address: request.address, ...priced },
            request.paymentToken,
            now(),
          );
          if (!outcome.placed) return existingFor(orderId, request, outcome);
          ctx.log.info({ orderId, total: priced.total, lines: priced.items.length }, 'order placed');
          return answer(orderId, outcome);
        },

        async cancelOrder(raw, ctx) {
          const { orderId, reason } = cancelOrderRequest(raw);
          const outcome = await orders.execute(orderId, { type: 'CancelOrder', orderId, detail: reason, now: now() });
          if (outcome.appended.length > 0) ctx.log.info({ orderId }, 'cancellation accepted; compensation started');
          return answer(orderId, outcome);
        },

        async getOrder(raw) {
          const orderId = orderIdRequest(raw.orderId);
          return { order: answer(orderId, await orders.load(orderId)).order };
        },

        async batchGetOrders(raw) {
          const ids = batchGetRequest(raw);
          const found = new Map((await views.get(ids)).map((v) => [v._id, v.order]));
          return {
            orders: ids.flatMap((id) => found.get(id) ?? []),
            missingOrderIds: ids.filter((id) => !found.has(id)),
          };
        },

        async listOrders(raw) {
          const { pageSize, ...query } = listOrdersRequest(raw);
          // One more than asked tells whether another page follows.
          const found = await views.list({ ...query, limit: pageSize + 1 });
          const page = found.slice(0, pageSize);
          const last = page.at(-1);
          return {
            orders: page.map((v) => v.order),
            nextPageToken: found.length > pageSize && last ? encodePageToken({ createdAt: last.createdAt, orderId: last._id }) : '',
          };
        },

        async getOrderHistory(raw) {
          const orderId = orderIdRequest(raw.orderId);
          const stored = await orders.readStream(orderId);
          if (stored.length === 0) throw new NotFoundError('order', orderId);
          return { entries: stored.map(historyEntry) };
        },
      },
      logger,
    ),
  };
}
