// Verifies bearer tokens: ES256/EdDSA JWTs from the configured issuer, checked against its JWKS
// (fetched over HTTP and cached by jose, or read from a file in development), its `iss` and `aud`.
// Every process (gateway, subgraphs, gRPC servers) verifies for itself: none trusts the network.
// A token verified once is remembered (by its exact text) until it expires, for at most five
// minutes: services call each other with the same service token all day, and a signature check
// costs far more than the call. A key withdrawn from the JWKS so stops working within that time.
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, createRemoteJWKSet, jwtVerify, type JSONWebKeySet, type JWTVerifyGetKey } from 'jose';
import { ConfigError } from '../config.js';
import { DomainError, UnauthenticatedError } from '../errors.js';
import type { Logger } from '../logging.js';
import { anonymous, callerFromClaims, type Caller } from './caller.js';

/** Turns an `Authorization` header value (or its absence) into the verified caller. */
export interface Authenticator {
  /** `jwt`: tokens verified; `disabled`: AUTH_DISABLED=true, every caller is an admin. */
  readonly mode: 'jwt' | 'disabled';
  /** No header: anonymous. A header that is not a valid bearer token: UnauthenticatedError. */
  authenticate(authorization: string | undefined): Promise<Caller>;
}

/** Where tokens come from. */
export interface IssuerSettings {
  /** `http(s)://…/jwks.json`, or a path to a JWKS file (development). */
  jwks: string;
  /** The `iss` every token must carry. */
  issuer: string;
  /** The `aud` every token must carry. */
  audience: string;
}

const algorithms = ['ES256', 'EdDSA'];

/** How long a verified token is taken on trust at most, and how many are remembered. */
const verifiedFor = { maxMs: 5 * 60_000, entries: 10_000 };

/** Verified tokens and their callers, least recently used first, each until `until` (ms). */
class VerifiedTokens {
  readonly #entries = new Map<string, { caller: Caller; until: number }>();

  get(token: string, now: number): Caller | undefined {
    const entry = this.#entries.get(token);
    if (entry === undefined) return undefined;
    this.#entries.delete(token);
    if (entry.until <= now) return undefined;
    this.#entries.set(token, entry); // most recently used
    return entry.caller;
  }

  set(token: string, caller: Caller, expiresAtSeconds: number | undefined, now: number): void {
    const until = Math.min(now + verifiedFor.maxMs, expiresAtSeconds === undefined ? Infinity : expiresAtSeconds * 1_000);
    this.#entries.set(token, { caller, until });
    if (this.#entries.size > verifiedFor.entries) this.#entries.delete(this.#entries.keys().next().value as string);
  }
}

function keySet(jwks: string): JWTVerifyGetKey {
  if (/^https?:\/\//.test(jwks)) return createRemoteJWKSet(new URL(jwks), { cooldownDuration: 5_000 });
  return createLocalJWKSet(JSON.parse(readFileSync(jwks, 'utf8')) as JSONWebKeySet);
}

/** The token of `Bearer <token>`; UnauthenticatedError for anything else. */
export function bearerToken(authorization: string): string {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization);
  if (!match) throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"');
  return match[1]!;
}

export function jwtAuthenticator(settings: IssuerSettings): Authenticator {
  const keys = keySet(settings.jwks);
  const verified = new VerifiedTokens();
  return {
    mode: 'jwt',
    async authenticate(authorization) {
      if (authorization === undefined || authorization === '') return anonymous;
      const token = bearerToken(authorization);
      const known = verified.get(token, Date.now());
      if (known !== undefined) return known;
      try {
        const { payload } = await jwtVerify(token, keys, { issuer: settings.issuer, audience: settings.audience, algorithms });
        const caller = callerFromClaims(payload);
        verified.set(token, caller, payload.exp, Date.now());
        return caller;
      } catch (err) {
        if (err instanceof DomainError) throw err;
        // jose's messages say what failed (expired, signature, claim) without echoing the token.
        throw new UnauthenticatedError(`the bearer token is not valid: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
    },
  };
}

/** Every caller is an admin: only for tests and local experiments, chosen explicitly with AUTH_DISABLED. */
export function disabledAuthenticator(): Authenticator {
  const admin: Caller = { kind: 'admin', subject: 'auth-disabled' };
  return { mode: 'disabled', authenticate: async () => admin };
}

/** The authenticator the parsed variables ask for; a ConfigError naming the variable when they ask for none. */
export function authenticatorFrom(
  config: { AUTH_JWKS_URL: string | undefined; AUTH_ISSUER: string | undefined; AUTH_AUDIENCE: string; AUTH_DISABLED: boolean },
  logger: Logger,
): Authenticator {
  if (config.AUTH_DISABLED) {
    logger.warn(
      'AUTH_DISABLED=true: NO IDENTITY CHECKS. Every caller, with or without a token, is treated as an admin. Never run like this where anyone else can connect.',
    );
    return disabledAuthenticator();
  }
  const problems: { variable: string; problem: string }[] = [];
  if (!config.AUTH_JWKS_URL) problems.push({ variable: 'AUTH_JWKS_URL', problem: 'is required (the token issuer\'s JWKS); set AUTH_DISABLED=true to run without identity checks' });
  if (!config.AUTH_ISSUER) problems.push({ variable: 'AUTH_ISSUER', problem: 'is required (the iss tokens carry); set AUTH_DISABLED=true to run without identity checks' });
  if (problems.length > 0) throw new ConfigError(problems);
  return jwtAuthenticator({ jwks: config.AUTH_JWKS_URL!, issuer: config.AUTH_ISSUER!, audience: config.AUTH_AUDIENCE });
}
