// InventoryService: the catalog and its stock figures. Reservations are not made here; they
// arrive as commands from the order saga (handlers.ts).
import { InventoryServiceService } from '../../generated/orderflow/inventory/v1/inventory_service.js';
import { implement, type Logger, type ServiceBinding } from '../platform/index.js';
import type { Catalog } from './catalog.js';
import { toProductMessage } from './product.js';
import {
  batchRequest,
  createRequest,
  getRequest,
  listRequest,
  pageToken,
  restockRequest,
  updatePriceRequest,
} from './requests.js';

/** The InventoryService binding; `now` is the clock. */
export function inventoryGrpc(catalog: Catalog, now: () => Date, logger: Logger): ServiceBinding {
  return {
    definition: InventoryServiceService,
    implementation: implement(
      InventoryServiceService,
      {
        async createProduct(request, ctx) {
          const product = createRequest(request);
          const created = await catalog.create(product, now());
          ctx.log.info({ sku: product.sku, onHand: product.onHand }, 'product created');
          return { product: toProductMessage(created) };
        },

        async restock(request, ctx) {
          const { sku, quantity } = restockRequest(request);
          const restocked = await catalog.restock(sku, quantity, now());
          ctx.log.info({ sku, quantity, onHand: restocked.onHand }, 'product restocked');
          return { product: toProductMessage(restocked) };
        },

        async updatePrice(request, ctx) {
          const { sku, price } = updatePriceRequest(request);
          const updated = await catalog.updatePrice(sku, price, now());
          ctx.log.info({ sku, price }, 'product price set');
          return { product: toProductMessage(updated) };
        },

        async getProduct(request) {
          return { product: toProductMessage(await catalog.get(getRequest(request))) };
        },

        async batchGetProducts(request) {
          const { found, missing } = await catalog.batchGet(batchRequest(request));
          return { products: found.map(toProductMessage), missingSkus: missing };
        },

        async listProducts(request) {
          const { pageSize, after } = listRequest(request);
          const { products, more } = await catalog.list(pageSize, after);
          const last = products.at(-1);
          return { products: products.map(toProductMessage), nextPageToken: more && last ? pageToken(last._id) : '' };
        },
      },
      logger,
    ),
  };
}
