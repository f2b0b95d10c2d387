// OrderService: places and cancels orders (through the decider, orders.ts) and reads them.
// GetOrder and GetOrderHistory read the stream (authoritative); BatchGetOrders and ListOrders read
// the version-guarded views, which are written before a command returns.
import { OrderServiceService } from '../../generated/orderflow/orders/v1/orders_service.js';
import { AlreadyExistsError, implement, mayAccess, NotFoundError, scopedCustomer, type Caller, type Logger, type ServiceBinding } from '../platform/index.js';
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

/** The API answer for a loaded order; NOT_FOUND when it does not exist, or is another customer's. */
function answer(orderId: string, loaded: LoadedOrder, caller: Caller) {
  if (loaded.state.status === 'none' || !mayAccess(caller, loaded.state.customerId)) throw new NotFoundError('order', orderId);
  return { order: toOrderMessage(loaded.state, loaded.version), version: loaded.version };
}

/** A retry of the same request gets the order it placed; another request under the key is refused. */
function existingFor(orderId: string, request: ValidPlaceOrder, loaded: LoadedOrder, caller: Caller) {
  if (loaded.state.status !== 'none' && !sameRequest(loaded.state, request)) {
    throw new AlreadyExistsError('an order with a different request under idempotency_key', request.idempotencyKey);
  }
  return answer(orderId, loaded, caller);
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
          // A customer places only for themselves; the order id derives from the customer, so a
          // retry under someone else's key can never reach their order.
          scopedCustomer(ctx.caller, request.customerId);
          const orderId = orderIdFor(request.customerId, request.idempotencyKey);
          if (request.idempotencyKey !== '') {
            // A retry is answered from the stream, without pricing again.
            const existing = await orders.load(orderId);
            if (existing.state.status !== 'none') return existingFor(orderId, request, existing, ctx.caller);
          }
          const priced = await priceItems(catalog, request.items, orderId);
          const outcome = await orders.place(
            { orderId, customerId: request.customerId, customerEmail: request.customerEmail, address: request.address, ...priced },
            request.paymentToken,
            now(),
          );
          if (!outcome.placed) return existingFor(orderId, request, outcome, ctx.caller);
          ctx.log.info({ orderId, total: priced.total, lines: priced.items.length }, 'order placed');
          return answer(orderId, outcome, ctx.caller);
        },

        async cancelOrder(raw, ctx) {
          const { orderId, reason } = cancelOrderRequest(raw);
          // Another customer's order is not found, before anything is decided on it.
          answer(orderId, await orders.load(orderId), ctx.caller);
          const outcome = await orders.execute(orderId, { type: 'CancelOrder', orderId, detail: reason, now: now() });
          if (outcome.appended.length > 0) ctx.log.info({ orderId }, 'cancellation accepted; compensation started');
          return answer(orderId, outcome, ctx.caller);
        },

        async getOrder(raw, ctx) {
          const orderId = orderIdRequest(raw.orderId);
          return { order: answer(orderId, await orders.load(orderId), ctx.caller).order };
        },

        async batchGetOrders(raw, ctx) {
          const ids = batchGetRequest(raw);
          // Another customer's orders are reported missing, as orders that do not exist are.
          const visible = (await views.get(ids)).filter((v) => mayAccess(ctx.caller, v.customerId));
          const found = new Map(visible.map((v) => [v._id, v.order]));
          return {
            orders: ids.flatMap((id) => found.get(id) ?? []),
            missingOrderIds: ids.filter((id) => !found.has(id)),
          };
        },

        async listOrders(raw, ctx) {
          const { pageSize, ...query } = listOrdersRequest({ ...raw, customerId: scopedCustomer(ctx.caller, raw.customerId) });
          // One more than asked tells whether another page follows.
          const found = await views.list({ ...query, limit: pageSize + 1 });
          const page = found.slice(0, pageSize);
          const last = page.at(-1);
          return {
            orders: page.map((v) => v.order),
            nextPageToken: found.length > pageSize && last ? encodePageToken({ createdAt: last.createdAt, orderId: last._id }) : '',
          };
        },

        async getOrderHistory(raw, ctx) {
          const orderId = orderIdRequest(raw.orderId);
          if (ctx.caller.kind !== 'admin') answer(orderId, await orders.load(orderId), ctx.caller);
          const stored = await orders.readStream(orderId);
          if (stored.length === 0) throw new NotFoundError('order', orderId);
          return { entries: stored.map(historyEntry) };
        },
      },
      logger,
    ),
  };
}
