// Validation of InventoryService requests: every bad field is named in one INVALID_ARGUMENT
// before anything is read or written.
import type { Money } from '../../generated/orderflow/common/v1/common.js';
import type {
  BatchGetProductsRequest,
  CreateProductRequest,
  ListProductsRequest,
  RestockRequest,
  UpdatePriceRequest,
} from '../../generated/orderflow/inventory/v1/inventory_service.js';
import { Violations } from '../platform/index.js';
import type { NewProduct } from './product.js';

/** Longest sku accepted. */
export const maxSkuLength = 64;
/** Longest product name accepted. */
export const maxNameLength = 200;
/**
 * Most units one request may set or add. Far beyond any warehouse, and small enough that stock
 * sums stay exact in a JavaScript number.
 */
export const maxUnits = 1_000_000_000;
/** Most skus one BatchGetProducts may ask for. */
export const maxBatchSize = 500;
export const defaultPageSize = 50;
export const maxPageSize = 500;

// Skus appear in stream ids, event ids and log lines: letters, digits and `._-`, starting with
// a letter or digit.
const skuPattern = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;

function sku(violations: Violations, field: string, value: string): Violations {
  return violations.text(field, value, {
    maxLength: maxSkuLength,
    pattern: skuPattern,
    patternHint: 'must contain only letters, digits, ".", "_" and "-", starting with a letter or digit',
  });
}

function units(violations: Violations, field: string, value: number, min: number): Violations {
  return violations.integer(field, value, { min, max: maxUnits });
}

export function createRequest(request: CreateProductRequest): NewProduct {
  const v = sku(new Violations(), 'sku', request.sku);
  v.text('name', request.name, { maxLength: maxNameLength });
  v.money('price', request.price);
  units(v, 'on_hand', request.onHand, 0);
  v.throwIfAny();
  const price = request.price as Money;
  return { sku: request.sku, name: request.name, price: { amountMinor: price.amountMinor, currency: price.currency }, onHand: request.onHand };
}

export function restockRequest(request: RestockRequest): { sku: string; quantity: number } {
  const v = sku(new Violations(), 'sku', request.sku);
  units(v, 'quantity', request.quantity, 1);
  v.throwIfAny();
  return { sku: request.sku, quantity: request.quantity };
}

export function updatePriceRequest(request: UpdatePriceRequest): { sku: string; price: Money } {
  const v = sku(new Violations(), 'sku', request.sku);
  v.money('price', request.price);
  v.throwIfAny();
  const price = request.price as Money;
  return { sku: request.sku, price: { amountMinor: price.amountMinor, currency: price.currency } };
}

export function getRequest(request: { sku: string }): string {
  sku(new Violations(), 'sku', request.sku).throwIfAny();
  return request.sku;
}

/** The distinct skus of a batch, in the order first asked for. */
export function batchRequest(request: BatchGetProductsRequest): string[] {
  const v = new Violations();
  if (request.skus.length > maxBatchSize) v.add('skus', `must hold at most ${maxBatchSize} skus`);
  else request.skus.forEach((s, i) => sku(v, `skus[${i}]`, s));
  v.throwIfAny();
  return [...new Set(request.skus)];
}

/** The opaque token of the page after `lastSku`: the sort key, base64url. */
export function pageToken(lastSku: string): string {
  return Buffer.from(lastSku, 'utf8').toString('base64url');
}

/** Page size (default 50, capped at 500) and the sku to continue after. */
export function listRequest(request: ListProductsRequest): { pageSize: number; after: string | undefined } {
  const v = new Violations();
  v.integer('page_size', request.pageSize, { min: 0 });
  let after: string | undefined;
  if (request.pageToken !== '') {
    after = Buffer.from(request.pageToken, 'base64url').toString('utf8');
    // A token is only accepted as this service wrote it; anything else is a client bug.
    if (pageToken(after) !== request.pageToken || !skuPattern.test(after) || after.length > maxSkuLength) {
      v.add('page_token', 'is not a token returned by ListProducts');
    }
  }
  v.throwIfAny();
  return { pageSize: Math.min(request.pageSize || defaultPageSize, maxPageSize), after };
}
