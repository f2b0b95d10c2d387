// The caller's credential, carried along one GraphQL request in the subgraph process, so that every
// gRPC call its resolvers make (DataLoader batches included) is made as that caller — the way the
// trace context is carried. Outside a request, a client uses its own (service) credential.
import { AsyncLocalStorage } from 'node:async_hooks';

const scope = new AsyncLocalStorage<{ authorization: string | undefined }>();

/** Runs `fn` with `authorization` (the caller's header, or none for an anonymous caller) as the credential of its gRPC calls. */
export function actingFor<T>(authorization: string | undefined, fn: () => T): T {
  return scope.run({ authorization }, fn);
}

/** Runs `fn` outside any caller's scope: a gRPC handler calls other services with its own credential. */
export function actingAsSelf<T>(fn: () => T): T {
  return scope.exit(fn);
}

/**
 * The credential for an outgoing call: inside a request, the caller's (none for an anonymous one:
 * never the service's own, which would lend its rights); outside, `own`.
 */
export function outgoingAuthorization(own: string | undefined): string | undefined {
  const current = scope.getStore();
  return current ? current.authorization : own;
}
