// The development token issuer `npm start` runs (and tests start their own of): an ES256 key pair
// kept in `<dir>/signing-key.json`, its public half served as a JWKS over HTTP on loopback, and
// `mintToken` to sign tokens with it. A production deployment points AUTH_JWKS_URL at its real
// identity provider instead; nothing else changes.
import { randomUUID, type webcrypto } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, SignJWT, type JWK } from 'jose';
import type { Role } from './caller.js';

/** The issuer's key: the private key signs, the public JWK is served. */
export interface SigningKey {
  readonly privateKey: webcrypto.CryptoKey;
  readonly publicJwk: JWK;
}

/** What a token for Orderflow says. */
export interface TokenClaims {
  /** The customer id for a customer; a name for an admin; the service name for a service. */
  subject: string;
  roles: Role[];
  /** jose time span, e.g. `1h`, `30d`. Default `12h`. */
  expiresIn?: string;
}

/** Where the issuer's files are: the key and the issuer/audience `npm run token` signs for. */
export const signingKeyFile = (dir: string) => join(dir, 'signing-key.json');
export const issuerFile = (dir: string) => join(dir, 'issuer.json');

const alg = 'ES256';

async function fromJwk(privateJwk: JWK): Promise<SigningKey> {
  const { d: _d, ...publicJwk } = privateJwk;
  return { privateKey: (await importJWK(privateJwk, alg)) as webcrypto.CryptoKey, publicJwk: { ...publicJwk, alg, use: 'sig' } };
}

/** The key in `dir`, or undefined when there is none yet. */
export async function loadSigningKey(dir: string): Promise<SigningKey | undefined> {
  const text = await readFile(signingKeyFile(dir), 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return undefined;
    throw err;
  });
  return text === undefined ? undefined : fromJwk(JSON.parse(text) as JWK);
}

/** The key in `dir`, generated (and written, readable by the owner only) on first use. */
export async function loadOrCreateSigningKey(dir: string): Promise<SigningKey> {
  const existing = await loadSigningKey(dir);
  if (existing) return existing;
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const { privateKey } = await generateKeyPair(alg, { extractable: true });
  const privateJwk = { ...(await exportJWK(privateKey)), kid: randomUUID() };
  await writeFile(signingKeyFile(dir), JSON.stringify(privateJwk), { mode: 0o600, flag: 'wx' });
  return fromJwk(privateJwk);
}

/** A signed token for `issuer`/`audience`. */
export async function mintToken(key: SigningKey, options: { issuer: string; audience: string } & TokenClaims): Promise<string> {
  return new SignJWT({ roles: options.roles })
    .setProtectedHeader({ alg, kid: String(key.publicJwk.kid), typ: 'JWT' })
    .setSubject(options.subject)
    .setIssuer(options.issuer)
    .setAudience(options.audience)
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? '12h')
    .sign(key.privateKey);
}

/** The token a service calls the others with (`sub` = its name, `roles: ["service"]`). */
export function mintServiceToken(key: SigningKey, settings: { issuer: string; audience: string }, service: string, expiresIn: string): Promise<string> {
  return mintToken(key, { ...settings, subject: service, roles: ['service'], expiresIn });
}

/** A running JWKS server. */
export interface JwksServer {
  /** `http://127.0.0.1:<port>/.well-known/jwks.json`: AUTH_JWKS_URL. */
  readonly jwksUrl: string;
  /** `http://127.0.0.1:<port>`: AUTH_ISSUER. */
  readonly issuer: string;
  readonly port: number;
  close(): Promise<void>;
}

/**
 * Serves the key's public half at `/.well-known/jwks.json` on `host` (default loopback). `issuer`
 * is the name the others know it by (default `http://127.0.0.1:<port>`; in compose
 * `http://issuer:4010`).
 */
export async function serveJwks(key: SigningKey, options: { port: number; host?: string; issuer?: string }): Promise<JwksServer> {
  const body = JSON.stringify({ keys: [key.publicJwk] });
  const server = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/.well-known/jwks.json') {
      res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'max-age=300' }).end(body);
      return;
    }
    res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"only /.well-known/jwks.json is served"}');
  });
  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) => reject(new Error(`cannot serve the JWKS on ${host}:${options.port}: ${err.message}`)));
    server.listen(options.port, host, resolve);
  });
  const port = (server.address() as AddressInfo).port;
  const issuer = options.issuer ?? `http://127.0.0.1:${port}`;
  return {
    jwksUrl: `${issuer}/.well-known/jwks.json`,
    issuer,
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** Records which issuer and audience `npm run token` signs for. */
export async function writeIssuerFile(dir: string, settings: { issuer: string; audience: string }): Promise<void> {
  await writeFile(issuerFile(dir), JSON.stringify(settings, null, 2));
}

export async function readIssuerFile(dir: string): Promise<{ issuer: string; audience: string } | undefined> {
  const text = await readFile(issuerFile(dir), 'utf8').catch(() => undefined);
  return text === undefined ? undefined : (JSON.parse(text) as { issuer: string; audience: string });
}
