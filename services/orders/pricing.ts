// Prices an order from the catalog: one batched BatchGetProducts call to inventory (with a
// deadline), then the totals on the server. Clients never send prices.
import { status } from '@grpc/grpc-js';
import type { Money, OrderItem, PricedItem } from '../../generated/orderflow/common/v1/common.js';
import { InventoryServiceService, type Product } from '../../generated/orderflow/inventory/v1/inventory_service.js';
import { grpcClient, isServiceError, UnavailableError, Violations, type GrpcClient } from '../platform/index.js';

export interface PricedOrder {
  items: PricedItem[];
  subtotal: Money;
  /** What the customer is charged: the subtotal (no shipping fees or taxes are modelled). */
  total: Money;
}

/** Where prices come from; the inventory service over gRPC in production. */
export interface Catalog {
  products(skus: string[], correlationId: string): Promise<{ products: Product[]; missingSkus: string[] }>;
  close(): void;
}

/**
 * The catalog behind inventory's gRPC API, on the process's shared channel to `target`, called with
 * this service's own credential (`authorization`, `Bearer <SERVICE_TOKEN>`) when it has one.
 */
export function connectCatalog(target: string, deadlineMs: number, authorization?: string): Catalog {
  const client: GrpcClient<typeof InventoryServiceService> = grpcClient(InventoryServiceService, target, { deadlineMs, authorization });
  return {
    async products(skus, correlationId) {
      try {
        return await client.batchGetProducts({ skus }, { correlationId });
      } catch (err) {
        // The catalog being down or slow is not the caller's fault: UNAVAILABLE, retry later.
        const transient = isServiceError(err) && [status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.RESOURCE_EXHAUSTED].includes(err.code);
        if (transient) throw new UnavailableError(`the catalog (inventory at ${target}) did not answer: ${err.details || err.message}`, { cause: err });
        throw err;
      }
    },
    close: () => client.close(),
  };
}

/**
 * Prices each line at the catalog's current price. An unknown product is named by its line
 * (`items[2].product_id`); lines in more than one currency cannot make one total.
 */
export async function priceItems(catalog: Catalog, items: OrderItem[], correlationId: string): Promise<PricedOrder> {
  const { products } = await catalog.products(
    items.map((i) => i.productId),
    correlationId,
  );
  const bySku = new Map(products.map((p) => [p.sku, p]));
  const v = new Violations();
  items.forEach((item, i) => {
    if (!bySku.get(item.productId)?.price) v.add(`items[${i}].product_id`, `unknown product ${JSON.stringify(item.productId)}`);
  });
  v.throwIfAny();
  const priced: PricedItem[] = items.map((item) => {
    const product = bySku.get(item.productId)!;
    const price = product.price!;
    return {
      productId: item.productId,
      name: product.name,
      quantity: item.quantity,
      unitPrice: { amountMinor: price.amountMinor, currency: price.currency },
      lineTotal: { amountMinor: price.amountMinor * item.quantity, currency: price.currency },
    };
  });
  const currencies = [...new Set(priced.map((p) => p.unitPrice!.currency))];
  if (currencies.length > 1) {
    new Violations().add('items', `products are priced in more than one currency (${currencies.join(', ')}); order them separately`).throwIfAny();
  }
  const sum = priced.reduce((acc, p) => acc + p.lineTotal!.amountMinor, 0);
  if (!Number.isSafeInteger(sum) || priced.some((p) => !Number.isSafeInteger(p.lineTotal!.amountMinor))) {
    new Violations().add('items', 'the order total is too large').throwIfAny();
  }
  const currency = currencies[0]!;
  return { items: priced, subtotal: { amountMinor: sum, currency }, total: { amountMinor: sum, currency } };
}
