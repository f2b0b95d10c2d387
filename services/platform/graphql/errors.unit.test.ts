import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { toGrpcError } from '../grpc/errors.js';
import { AlreadyExistsError, NotFoundError, ValidationError } from '../errors.js';
import { fieldPath, graphqlErrorFromGrpc } from './errors.js';

/** What a client receives for a domain error thrown by a gRPC handler. */
function received(err: unknown): ServiceError {
  const sent = toGrpcError(err);
  return Object.assign(new Error(sent.details), { code: sent.code, details: sent.details, metadata: sent.metadata ?? new Metadata() });
}

describe('fieldPath', () => {
  it('turns proto field paths into GraphQL paths under the argument', () => {
    expect(fieldPath('items[0].product_id', { argument: 'input' })).toEqual(['input', 'items', 0, 'productId']);
    expect(fieldPath('shipping_address.postal_code', { argument: 'input' })).toEqual(['input', 'shippingAddress', 'postalCode']);
    expect(fieldPath('customer_email')).toEqual(['customerEmail']);
  });

  it('renames top-level fields that GraphQL names differently', () => {
    expect(fieldPath('page_size', { rename: { page_size: 'first' } })).toEqual(['first']);
    expect(fieldPath('statuses[2]', { rename: { statuses: 'status' } })).toEqual(['status', 2]);
  });
});

describe('graphqlErrorFromGrpc', () => {
  it('answers INVALID_ARGUMENT as BAD_USER_INPUT naming every field', () => {
    const err = received(
      new ValidationError([
        { field: 'items[1].quantity', description: 'must be at least 1' },
        { field: 'customer_email', description: 'is not an e-mail address' },
      ]),
    );
    const gql = graphqlErrorFromGrpc(err, { argument: 'input' });
    expect(gql.extensions.code).toBe('BAD_USER_INPUT');
    expect(gql.extensions.fieldViolations).toEqual([
      { field: 'input.items[1].quantity', path: ['input', 'items', 1, 'quantity'], message: 'must be at least 1' },
      { field: 'input.customerEmail', path: ['input', 'customerEmail'], message: 'is not an e-mail address' },
    ]);
  });

  it('names the fields in the top-level message as GraphQL does', () => {
    const err = received(
      new ValidationError([
        { field: 'customer_email', description: 'is not an e-mail address' },
        { field: 'page_size', description: 'must be at most 100' },
      ]),
    );
    const gql = graphqlErrorFromGrpc(err, { argument: 'input', rename: { page_size: 'first' } });
    expect(gql.message).toBe('invalid request: input.customerEmail: is not an e-mail address; input.first: must be at most 100');
    expect(gql.message).not.toMatch(/customer_email|page_size/);
  });

  it('renames the proto fields it knows in other messages, and leaves ids alone', () => {
    const err = received(new AlreadyExistsError('an order with a different request under idempotency_key', 'key_1'));
    const gql = graphqlErrorFromGrpc(err, { argument: 'input', rename: { idempotency_key: 'idempotencyKey' } });
    expect(gql.extensions.code).toBe('ALREADY_EXISTS');
    expect(gql.message).toBe('an order with a different request under input.idempotencyKey "key_1" already exists');
  });

  it('keeps NOT_FOUND and its message', () => {
    const gql = graphqlErrorFromGrpc(received(new NotFoundError('order', 'ord_1')));
    expect(gql.extensions.code).toBe('NOT_FOUND');
    expect(gql.message).toContain('ord_1');
  });

  it('hides what an internal failure said', () => {
    const err = Object.assign(new Error('boom at db.ts:12'), { code: status.INTERNAL, details: 'boom at db.ts:12', metadata: new Metadata() });
    const gql = graphqlErrorFromGrpc(err);
    expect(gql.extensions.code).toBe('INTERNAL_SERVER_ERROR');
    expect(gql.message).toBe('Internal error');
  });
});
