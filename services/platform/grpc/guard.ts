// The gRPC side of the access table: every call's `authorization` metadata is verified here, in
// the shared server wrapper, and checked against the method's rule before its handler runs. The
// handler then finds the verified caller in its CallContext to narrow `own` data.
import type { ServerUnaryCall, UntypedServiceImplementation } from '@grpc/grpc-js';
import { actingAsSelf } from '../auth/forwarding.js';
import { anonymous, describeCaller, type Caller } from '../auth/caller.js';
import type { Authenticator } from '../auth/authenticator.js';
import { decide, grpcPolicy } from '../auth/policy.js';
import { PermissionDeniedError, UnauthenticatedError } from '../errors.js';
import type { Logger } from '../logging.js';
import { toGrpcError } from './errors.js';
import type { ServiceBinding } from './server.js';

const callers = new WeakMap<object, Caller>();

/** The verified caller of a call that passed the guard; anonymous for an unguarded one. */
export function callerOf(call: object): Caller {
  return callers.get(call) ?? anonymous;
}

type Unary = (call: ServerUnaryCall<unknown, unknown>, callback: (err: unknown, value?: unknown) => void) => void;

/**
 * The binding's implementation with every method behind its rule from `grpcPolicy`. A method with
 * no rule is an error at start-up: nothing is served that the table does not mention.
 */
export function guarded(binding: ServiceBinding, auth: Authenticator, logger: Logger): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const [name, handler] of Object.entries(binding.implementation)) {
    const path = binding.definition[name]?.path ?? name;
    const rule = grpcPolicy[path];
    if (!rule) throw new Error(`gRPC method ${path} has no rule in services/platform/auth/policy.ts (grpcPolicy)`);
    implementation[name] = ((call: ServerUnaryCall<unknown, unknown>, callback: (err: unknown, value?: unknown) => void) => {
      const header = call.metadata.get('authorization')[0];
      auth.authenticate(header === undefined ? undefined : String(header)).then(
        (caller) => {
          const decision = decide(rule, caller);
          if (decision !== 'allow') {
            const refused =
              decision === 'unauthenticated'
                ? new UnauthenticatedError(`${path} needs a bearer token in the authorization metadata`)
                : new PermissionDeniedError(`${path} is not allowed for ${describeCaller(caller)}`);
            logger.warn({ rpc: path, caller: describeCaller(caller), decision }, 'rpc refused');
            callback(toGrpcError(refused));
            return;
          }
          callers.set(call, caller);
          // Calls the handler makes to other services carry this service's credential, not the caller's.
          actingAsSelf(() => (handler as Unary)(call, callback));
        },
        (err: unknown) => {
          logger.warn({ rpc: path, reason: err instanceof Error ? err.message : String(err) }, 'rpc refused: bad token');
          callback(toGrpcError(err instanceof UnauthenticatedError ? err : new UnauthenticatedError('the bearer token cannot be verified', { cause: err })));
        },
      );
    }) as typeof handler;
  }
  return implementation;
}
