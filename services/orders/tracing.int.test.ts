// One trace for a placed order, as an OTLP collector receives it: the test's PlaceOrder call, the
// orders server span, the append, the relay's publish of ReserveStock, inventory's handling, its
// StockReserved publish and the saga's handling of that reply, each the child of the one before,
// and the saga's log line for the reply carrying the same trace id.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flushTraces } from '../platform/index.js';
import { startOtlpReceiver, waitFor, type OtlpReceiver, type ReceivedSpan } from '../platform/testing/index.js';
import { OrderStatus, startOrdersHarness, type OrdersHarness } from './test-harness.js';

const Kind = { SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 } as const;

let receiver: OtlpReceiver;
let h: OrdersHarness;
beforeAll(async () => {
  receiver = await startOtlpReceiver();
  h = await startOrdersHarness({ OTEL_EXPORTER_OTLP_ENDPOINT: receiver.url });
  await h.product('kettle', 4000, 10);
});
afterAll(async () => {
  await h?.close();
  await receiver?.close();
});

/** The chain of ancestors of `span` within its trace, nearest first. */
function ancestors(span: ReceivedSpan, spans: ReceivedSpan[]): ReceivedSpan[] {
  const byId = new Map(spans.filter((s) => s.traceId === span.traceId).map((s) => [s.spanId, s]));
  const chain: ReceivedSpan[] = [];
  for (let parent = byId.get(span.parentSpanId); parent; parent = byId.get(parent.parentSpanId)) chain.push(parent);
  return chain;
}

describe('a placed order, traced', () => {
  it('is one trace from the PlaceOrder call through NATS to inventory and back to the saga, with its ids in the log', async () => {
    const order = await h.place([{ productId: 'kettle', quantity: 1 }]);
    await h.waitForStatus(order.id, OrderStatus.ORDER_STATUS_COMPLETED);

    const spans = receiver.spans;
    const isServerPlaceOrder = (s: ReceivedSpan) =>
      s.kind === Kind.SERVER && s.name === 'orderflow.orders.v1.OrderService/PlaceOrder';
    // The saga handling inventory's reply for this order, once its span is exported.
    const sagaHandling = await waitFor('the saga span handling StockReserved to be exported', async () => {
      await flushTraces();
      return spans.find(
        (s) => s.kind === Kind.CONSUMER && s.name === 'inventory.events.StockReserved process' && s.attributes['orderflow.correlation_id'] === order.id,
      );
    });
    const trace = spans.filter((s) => s.traceId === sagaHandling.traceId);
    const chain = [sagaHandling, ...ancestors(sagaHandling, spans)];
    const step = (predicate: (s: ReceivedSpan) => boolean, what: string) => {
      const found = chain.find(predicate);
      if (!found) throw new Error(`no ${what} among the ancestors: ${chain.map((s) => `${s.name} (${s.kind})`).join(' <- ')}`);
      return found;
    };

    const replyPublish = step((s) => s.kind === Kind.PRODUCER && s.name === 'inventory.events.StockReserved publish', 'StockReserved publish');
    const inventoryHandling = step((s) => s.kind === Kind.CONSUMER && s.name === 'inventory.commands.ReserveStock process', 'inventory handling ReserveStock');
    const commandPublish = step((s) => s.kind === Kind.PRODUCER && s.name === 'inventory.commands.ReserveStock publish', 'ReserveStock publish');
    const placedAppend = step((s) => s.name === 'eventstore append' && s.attributes['orderflow.stream_id'] === `order-${order.id}`, 'the order append');
    const server = step(isServerPlaceOrder, 'the PlaceOrder server span');
    const client = step((s) => s.kind === Kind.CLIENT && s.name === 'orderflow.orders.v1.OrderService/PlaceOrder', 'the PlaceOrder client span');

    // Parent-child links, hop by hop (an append sits between a handler and its publish).
    expect(client.parentSpanId).toBe('');
    expect(server.parentSpanId).toBe(client.spanId);
    expect(placedAppend.parentSpanId).toBe(server.spanId);
    expect(commandPublish.parentSpanId).toBe(placedAppend.spanId);
    expect(inventoryHandling.parentSpanId).toBe(commandPublish.spanId);
    expect(ancestors(replyPublish, spans)).toContain(inventoryHandling);
    expect(sagaHandling.parentSpanId).toBe(replyPublish.spanId);
    // The business ids ride along as attributes.
    expect(inventoryHandling.attributes).toMatchObject({ 'orderflow.correlation_id': order.id, 'messaging.system': 'nats' });
    expect(sagaHandling.attributes['orderflow.causation_id']).toBeTruthy();
    expect(new Set(trace.map((s) => s.traceId)).size).toBe(1);

    // The saga's log line for the reply was written inside its span.
    const recorded = h.logLines.filter((l) => l.msg === 'reply recorded' && l.orderId === order.id);
    expect(recorded.length).toBeGreaterThan(0);
    expect(recorded.map((l) => l.trace_id)).toContain(sagaHandling.traceId);
    expect(recorded.find((l) => l.span_id === sagaHandling.spanId)).toBeDefined();
  });
});
