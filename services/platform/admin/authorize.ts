import { createHash, timingSafeEqual } from 'node:crypto';
import { PermissionDeniedError } from '../errors.js';
import type { CallContext } from '../grpc/handlers.js';

/** gRPC metadata (and HTTP header, forwarded by the subgraphs) that carries the admin key. */
export const adminKeyHeader = 'x-orderflow-admin-key';

const digest = (s: string) => createHash('sha256').update(s).digest();

/**
 * The one place that decides whether a caller may run admin operations. Until JWT identity with
 * roles lands, an admin is whoever presents the shared secret ADMIN_API_KEY as
 * `x-orderflow-admin-key`; the identity work replaces this body with a check of the caller's
 * `admin` role, and every admin operation follows. With ADMIN_API_KEY unset nothing is allowed,
 * so admin operations are never open by omission.
 */
export function requireAdmin(context: Pick<CallContext, 'metadata'>, adminApiKey: string | undefined): void {
  if (!adminApiKey) {
    throw new PermissionDeniedError('admin operations are disabled: this service has no ADMIN_API_KEY');
  }
  const presented = context.metadata.get(adminKeyHeader)[0];
  // Digests have one length, so the comparison takes the same time whatever was presented.
  if (typeof presented !== 'string' || !timingSafeEqual(digest(presented), digest(adminApiKey))) {
    throw new PermissionDeniedError(`admin operations need the ${adminKeyHeader} metadata to equal the service's ADMIN_API_KEY`);
  }
}
