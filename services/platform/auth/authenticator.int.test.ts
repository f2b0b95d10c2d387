// The JWT authenticator against a real issuer's JWKS over HTTP: a verified token is remembered,
// but never past its expiry, and a token it has not seen is verified on its own.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UnauthenticatedError } from '../errors.js';
import { startTestIssuer, type TestIssuer } from '../testing/issuer.js';
import { jwtAuthenticator, type Authenticator } from './authenticator.js';
import { mintToken } from './issuer.js';

let issuer: TestIssuer;
let auth: Authenticator;

beforeAll(async () => {
  issuer = await startTestIssuer();
  auth = jwtAuthenticator({ jwks: issuer.jwksUrl, issuer: issuer.issuer, audience: issuer.audience });
});

afterAll(async () => {
  await issuer?.close();
});

describe('the JWT authenticator', () => {
  it('answers a token it verified before with the same caller, and one signed by another key with UNAUTHENTICATED', async () => {
    const token = await issuer.customer('cust-1');
    const first = await auth.authenticate(token);
    expect(first).toEqual({ kind: 'customer', customerId: 'cust-1' });
    expect(await auth.authenticate(token)).toEqual(first);

    // The same claims, signed by a key the issuer's JWKS does not hold.
    const other = await startTestIssuer();
    try {
      const forged = `Bearer ${await mintToken(other.key, { issuer: issuer.issuer, audience: issuer.audience, subject: 'cust-1', roles: ['customer'] })}`;
      await expect(auth.authenticate(forged)).rejects.toBeInstanceOf(UnauthenticatedError);
    } finally {
      await other.close();
    }
  });

  it('refuses a remembered token once it has expired', async () => {
    const token = `Bearer ${await issuer.token({ subject: 'cust-2', roles: ['customer'], expiresIn: '2s' })}`;
    expect(await auth.authenticate(token)).toEqual({ kind: 'customer', customerId: 'cust-2' });
    // `exp` has whole seconds: past it for sure after 3 s.
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    await expect(auth.authenticate(token)).rejects.toThrow(/exp/);
  });
});
