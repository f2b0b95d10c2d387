/** One violated constraint of a request: which field, and what is wrong with it. */
export interface FieldViolation {
  /** Path of the field in the request, e.g. `items[2].quantity`. */
  field: string;
  description: string;
}

/** Base of every domain error: a stable code, a name, and the cause when there is one. */
export abstract class DomainError extends Error {
  abstract readonly code: string;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The request is malformed; nothing was written. */
export class ValidationError extends DomainError {
  readonly code = 'VALIDATION';
  constructor(
    readonly violations: FieldViolation[],
    options?: { cause?: unknown },
  ) {
    super(`invalid request: ${violations.map((v) => `${v.field}: ${v.description}`).join('; ')}`, options);
  }
}

/** The addressed entity does not exist. */
export class NotFoundError extends DomainError {
  readonly code = 'NOT_FOUND';
  constructor(
    readonly entity: string,
    readonly id: string,
    options?: { cause?: unknown },
  ) {
    super(`${entity} ${JSON.stringify(id)} not found`, options);
  }
}

/** The entity exists already (a duplicate key, sku, idempotency key with other content). */
export class AlreadyExistsError extends DomainError {
  readonly code = 'ALREADY_EXISTS';
  constructor(
    readonly entity: string,
    readonly id: string,
    options?: { cause?: unknown },
  ) {
    super(`${entity} ${JSON.stringify(id)} already exists`, options);
  }
}

/** The command is not allowed in the entity's current state. */
export class IllegalStateError extends DomainError {
  readonly code = 'ILLEGAL_STATE';
}

/** An append lost an optimistic concurrency race: the stream is not at the expected version. */
export class ConcurrencyError extends DomainError {
  readonly code = 'CONCURRENCY';
  constructor(
    readonly streamId: string,
    readonly expectedVersion: number,
    readonly actualVersion: number | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `stream ${JSON.stringify(streamId)} expected at version ${expectedVersion}` +
        (actualVersion === undefined ? ' but another writer appended first' : ` but is at ${actualVersion}`),
      options,
    );
  }
}

/** A dependency (broker, store, another service) cannot be reached right now; retrying may help. */
export class UnavailableError extends DomainError {
  readonly code = 'UNAVAILABLE';
}

/** The caller may not do this (an admin operation without the admin credential). */
export class PermissionDeniedError extends DomainError {
  readonly code = 'PERMISSION_DENIED';
}
