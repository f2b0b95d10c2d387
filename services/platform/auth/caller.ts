// Who is calling, as every process sees it after verifying the bearer token, and the two scoping
// rules services apply to a customer: another customer's resource does not exist for them, and a
// list is always of their own.
import { NotFoundError, PermissionDeniedError, UnauthenticatedError } from '../errors.js';

/** The roles a token's `roles` claim may carry. */
export type Role = 'customer' | 'admin' | 'service';

/** The verified caller of one request. */
export type Caller =
  | { readonly kind: 'anonymous' }
  /** `sub` is the customer id. */
  | { readonly kind: 'customer'; readonly customerId: string }
  | { readonly kind: 'admin'; readonly subject: string }
  /** Another Orderflow service, with the credential the issuer minted for it (`sub` = its name). */
  | { readonly kind: 'service'; readonly service: string };

export const anonymous: Caller = { kind: 'anonymous' };

/**
 * The caller a verified token names. `roles` may be a list or one string; admin wins over
 * customer; a token with none of the roles is refused rather than taken as anonymous.
 */
export function callerFromClaims(claims: { sub?: unknown; roles?: unknown }): Caller {
  const roles = Array.isArray(claims.roles) ? claims.roles : typeof claims.roles === 'string' ? [claims.roles] : [];
  const sub = typeof claims.sub === 'string' ? claims.sub : '';
  if (sub === '') throw new UnauthenticatedError('the token has no subject (sub)');
  if (roles.includes('admin')) return { kind: 'admin', subject: sub };
  if (roles.includes('customer')) return { kind: 'customer', customerId: sub };
  if (roles.includes('service')) return { kind: 'service', service: sub };
  throw new UnauthenticatedError('the token has no role Orderflow knows (roles: customer, admin or service)');
}

/** A short label for logs: `customer:cus_1`, `admin:ops`, `service:orders`, `anonymous`. */
export function describeCaller(caller: Caller): string {
  switch (caller.kind) {
    case 'anonymous':
      return 'anonymous';
    case 'customer':
      return `customer:${caller.customerId}`;
    case 'admin':
      return `admin:${caller.subject}`;
    case 'service':
      return `service:${caller.service}`;
  }
}

/** Whether the caller may see a resource that belongs to `customerId`: admins all, customers their own. */
export function mayAccess(caller: Caller, customerId: string): boolean {
  return caller.kind === 'admin' || (caller.kind === 'customer' && caller.customerId === customerId);
}

/**
 * Throws NOT_FOUND (not PERMISSION_DENIED) when the caller may not see the resource: another
 * customer's order must be indistinguishable from one that does not exist.
 */
export function requireAccess(caller: Caller, customerId: string, entity: string, id: string): void {
  if (!mayAccess(caller, customerId)) throw new NotFoundError(entity, id);
}

/**
 * The customer a list or a command runs for: a customer's own id (an empty `requested` means
 * theirs; another id is refused, naming `field`); an admin's `requested` as given.
 */
export function scopedCustomer(caller: Caller, requested: string, field = 'customer_id'): string {
  if (caller.kind === 'admin') return requested;
  if (caller.kind === 'customer') {
    if (requested === '' || requested === caller.customerId) return caller.customerId;
    throw new PermissionDeniedError(`${field}: a customer may act only for themselves (${JSON.stringify(caller.customerId)})`);
  }
  throw new UnauthenticatedError('sign in as a customer or an admin');
}

/**
 * Refuses anyone but an admin: UNAUTHENTICATED without a token, PERMISSION_DENIED for another
 * role. For operations beyond the gRPC table's reach (admin tools, dead-letter operations).
 */
export function requireAdmin(caller: Caller, what: string): void {
  if (caller.kind === 'admin') return;
  if (caller.kind === 'anonymous') throw new UnauthenticatedError(`${what} needs an admin token`);
  throw new PermissionDeniedError(`${what} is for admins only, not ${describeCaller(caller)}`);
}
