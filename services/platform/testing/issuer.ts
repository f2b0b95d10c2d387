// A token issuer of the test's own: a fresh key pair, its JWKS served on a free loopback port, and
// tokens for each role. `env` is what a process needs to verify them (AUTH_*).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadOrCreateSigningKey, mintToken, serveJwks, type SigningKey, type TokenClaims } from '../auth/issuer.js';

export interface TestIssuer {
  /** AUTH_JWKS_URL, AUTH_ISSUER and AUTH_AUDIENCE for processes that verify this issuer's tokens. */
  readonly env: Record<string, string>;
  readonly jwksUrl: string;
  readonly issuer: string;
  readonly audience: string;
  /** A token with any claims (expired ones with `expiresIn: '-1m'`, say). */
  token(claims: TokenClaims): Promise<string>;
  /** `Bearer <token>` of an admin. */
  admin(): Promise<string>;
  /** `Bearer <token>` of the customer `customerId`. */
  customer(customerId: string): Promise<string>;
  /** `Bearer <token>` of the service `name`. */
  service(name: string): Promise<string>;
  /** The signing key, for a test that needs to forge with another one. */
  readonly key: SigningKey;
  close(): Promise<void>;
}

export async function startTestIssuer(options: { audience?: string } = {}): Promise<TestIssuer> {
  const dir = await mkdtemp(join(tmpdir(), 'orderflow-issuer-'));
  const key = await loadOrCreateSigningKey(dir);
  const jwks = await serveJwks(key, { port: 0 });
  const audience = options.audience ?? 'orderflow';
  const token = (claims: TokenClaims) => mintToken(key, { issuer: jwks.issuer, audience, ...claims });
  return {
    env: { AUTH_JWKS_URL: jwks.jwksUrl, AUTH_ISSUER: jwks.issuer, AUTH_AUDIENCE: audience },
    jwksUrl: jwks.jwksUrl,
    issuer: jwks.issuer,
    audience,
    key,
    token,
    admin: async () => `Bearer ${await token({ subject: 'test-admin', roles: ['admin'] })}`,
    customer: async (customerId) => `Bearer ${await token({ subject: customerId, roles: ['customer'] })}`,
    service: async (name) => `Bearer ${await token({ subject: name, roles: ['service'] })}`,
    async close() {
      await jwks.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
