/**
 * The development token issuer as a process of its own: compose's `issuer` (`npm start` runs the
 * same issuer inside itself). On first start it makes a key pair in AUTH_DIR; it writes a service
 * token for every service to AUTH_DIR/tokens/<service> (that service's SERVICE_TOKEN_FILE) and
 * the issuer and audience `token.ts` signs for, then serves the public key as a JWKS at
 * http://ISSUER_HOST:ISSUER_PORT/.well-known/jwks.json. A person's token comes from the same key:
 * `docker compose exec issuer node dist/scripts/token.js --admin`. A production deployment points
 * AUTH_JWKS_URL at its identity provider instead and runs no issuer.
 */
import { mkdir, rename, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { ConfigError, parseEnv, port, str } from '../services/platform/index.js';
import { loadOrCreateSigningKey, mintServiceToken, serveJwks, writeIssuerFile } from '../services/platform/auth/index.js';
import { serviceTable } from './services.js';

const env = (() => {
  try {
    return parseEnv({
      DATA_DIR: str({ default: './data' }),
      /** Where the key, issuer.json and tokens/ live; default DATA_DIR/auth. */
      AUTH_DIR: str({ default: '' }),
      ISSUER_PORT: port({ default: 4010 }),
      ISSUER_HOST: str({ default: '127.0.0.1' }),
      /** The `iss` of every token, the URL the others reach this issuer at; default http://127.0.0.1:<ISSUER_PORT>. */
      AUTH_ISSUER: str({ default: '' }),
      AUTH_AUDIENCE: str({ default: 'orderflow' }),
      /** Lifetime of the service tokens written at start (jose time span). */
      SERVICE_TOKEN_EXPIRES: str({ default: '30d' }),
    });
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`issuer: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
})();

const say = (msg: string, fields: Record<string, unknown> = {}) =>
  process.stdout.write(`${JSON.stringify({ level: 'info', time: new Date().toISOString(), service: 'issuer', msg, ...fields })}\n`);

const dir = resolve(env.AUTH_DIR || join(env.DATA_DIR, 'auth'));
const key = await loadOrCreateSigningKey(dir);
const issuer = env.AUTH_ISSUER || `http://127.0.0.1:${env.ISSUER_PORT}`;
const settings = { issuer, audience: env.AUTH_AUDIENCE };
await writeIssuerFile(dir, settings);

// Written before the JWKS is served: a service that finds the issuer healthy finds its token too.
const tokens = join(dir, 'tokens');
await mkdir(tokens, { recursive: true, mode: 0o700 });
for (const { name } of serviceTable) {
  const token = await mintServiceToken(key, settings, name, env.SERVICE_TOKEN_EXPIRES);
  const file = join(tokens, name);
  await writeFile(`${file}.tmp`, `${token}\n`, { mode: 0o600 });
  await rename(`${file}.tmp`, file);
}
say('service tokens written', { dir: tokens, services: serviceTable.map((s) => s.name), expires: env.SERVICE_TOKEN_EXPIRES });

const jwks = await serveJwks(key, { port: env.ISSUER_PORT, host: env.ISSUER_HOST, issuer });
say('issuer serving', { issuer, jwks: `http://${env.ISSUER_HOST}:${jwks.port}/.well-known/jwks.json`, audience: env.AUTH_AUDIENCE, key: dir });

const stop = (signal: NodeJS.Signals) => {
  say('shutting down', { signal });
  void jwks.close().then(() => process.exit(0));
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
