import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { Any } from '../../../generated/google/protobuf/any.js';
import { BadRequest, ErrorInfo } from '../../../generated/google/rpc/error_details.js';
import { Status } from '../../../generated/google/rpc/status.js';
import {
  AlreadyExistsError,
  ConcurrencyError,
  DomainError,
  IllegalStateError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
  type FieldViolation,
} from '../errors.js';

/**
 * The one table from domain errors to gRPC status codes. Anything not listed is INTERNAL, and
 * its message is replaced so that internals never reach a client.
 */
const statusByError: [new (...args: never[]) => DomainError, status][] = [
  [ValidationError, status.INVALID_ARGUMENT],
  [NotFoundError, status.NOT_FOUND],
  [AlreadyExistsError, status.ALREADY_EXISTS],
  [IllegalStateError, status.FAILED_PRECONDITION],
  [ConcurrencyError, status.ABORTED],
  [UnavailableError, status.UNAVAILABLE],
  [UnauthenticatedError, status.UNAUTHENTICATED],
  [PermissionDeniedError, status.PERMISSION_DENIED],
];

const STATUS_DETAILS = 'grpc-status-details-bin';

/**
 * Most field violations one error carries. Without a cap, a request with hundreds of bad values
 * (800 unknown enum values) pushes the trailers past the peer's 64 KB header limit and the
 * connection breaks for every call on it; twenty name enough for a client to fix its request.
 */
export const maxFieldViolations = 20;

/** The violations sent: the first `maxFieldViolations`, then one saying how many more there were. */
export function boundedViolations(violations: readonly FieldViolation[]): FieldViolation[] {
  if (violations.length <= maxFieldViolations) return [...violations];
  const more = violations.length - maxFieldViolations;
  return [...violations.slice(0, maxFieldViolations), { field: 'request', description: `and ${more} more` }];
}
const ERROR_DOMAIN = 'orderflow';

export function grpcStatusOf(err: unknown): status {
  for (const [type, code] of statusByError) if (err instanceof type) return code;
  return status.INTERNAL;
}

function pack(typeName: string, bytes: Uint8Array): Any {
  return { typeUrl: `type.googleapis.com/${typeName}`, value: Buffer.from(bytes) };
}

/**
 * Converts an error thrown by a handler into a gRPC ServiceError: its code from the table, the
 * domain message, and rich details (`google.rpc.ErrorInfo`, plus `google.rpc.BadRequest` with
 * every field violation for INVALID_ARGUMENT) in `grpc-status-details-bin`.
 */
export function toGrpcError(err: unknown): ServiceError {
  const code = grpcStatusOf(err);
  const domain = err instanceof DomainError ? err : undefined;
  const violations = err instanceof ValidationError ? boundedViolations(err.violations) : [];
  // The message goes out as a header too, so it is built from the bounded list.
  const message =
    err instanceof ValidationError ? new ValidationError(violations).message : domain ? domain.message : 'internal error';
  const details: Any[] = [
    pack('google.rpc.ErrorInfo', ErrorInfo.encode({ reason: domain?.code ?? 'INTERNAL', domain: ERROR_DOMAIN, metadata: {} }).finish()),
  ];
  if (err instanceof ValidationError) {
    details.push(pack('google.rpc.BadRequest', BadRequest.encode({ fieldViolations: violations }).finish()));
  }
  const metadata = new Metadata();
  metadata.set(STATUS_DETAILS, Buffer.from(Status.encode({ code, message, details }).finish()));
  return Object.assign(new Error(message), { code, details: message, metadata }) as ServiceError;
}

/** What a client can read back from a failed call. */
export interface GrpcFailure {
  code: status;
  message: string;
  /** The domain error code from `google.rpc.ErrorInfo`, e.g. `NOT_FOUND`. */
  reason?: string;
  fieldViolations: FieldViolation[];
}

/** Reads the status, reason and field violations out of an error returned by a gRPC client. */
export function readGrpcFailure(err: ServiceError): GrpcFailure {
  const failure: GrpcFailure = { code: err.code, message: err.details ?? err.message, fieldViolations: [] };
  const raw = err.metadata?.get(STATUS_DETAILS)[0];
  if (!raw || typeof raw === 'string') return failure;
  for (const detail of Status.decode(raw).details) {
    if (detail.typeUrl.endsWith('/google.rpc.BadRequest')) {
      failure.fieldViolations.push(...BadRequest.decode(detail.value).fieldViolations);
    } else if (detail.typeUrl.endsWith('/google.rpc.ErrorInfo')) {
      failure.reason = ErrorInfo.decode(detail.value).reason;
    }
  }
  return failure;
}

export function isServiceError(err: unknown): err is ServiceError {
  return err instanceof Error && typeof (err as Partial<ServiceError>).code === 'number' && 'metadata' in err;
}
