import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { PermissionDeniedError } from '../errors.js';
import { adminKeyHeader, requireAdmin } from './authorize.js';

const key = 'a-shared-secret-of-some-length';
const presenting = (value?: string) => {
  const metadata = new Metadata();
  if (value !== undefined) metadata.set(adminKeyHeader, value);
  return { metadata };
};

describe('requireAdmin', () => {
  it('refuses everyone while ADMIN_API_KEY is unset, saying so', () => {
    expect(() => requireAdmin(presenting(key), undefined)).toThrow(PermissionDeniedError);
    expect(() => requireAdmin(presenting(''), undefined)).toThrow(/no ADMIN_API_KEY/);
  });

  it('refuses a missing or wrong key, and admits the right one', () => {
    expect(() => requireAdmin(presenting(), key)).toThrow(/x-orderflow-admin-key/);
    expect(() => requireAdmin(presenting(`${key}x`), key)).toThrow(PermissionDeniedError);
    expect(() => requireAdmin(presenting(key), key)).not.toThrow();
  });
});
