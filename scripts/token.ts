/**
 * `npm run token -- --customer <id>` or `npm run token -- --admin [--subject <name>]`: prints a
 * bearer token signed by the development issuer `npm start` runs (its key in DATA_DIR/auth), for
 * the playground's headers, curl or grpcurl. `--expires <span>` (default 12h), e.g. 30m or 7d.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSigningKey, mintToken, readIssuerFile, type Role } from '../services/platform/auth/index.js';

const usage = 'usage: npm run token -- --customer <id> | --admin [--subject <name>] [--expires 12h]';
let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: { customer: { type: 'string' }, admin: { type: 'boolean' }, subject: { type: 'string' }, expires: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  }).values;
}
try {
  args = parse();
} catch (err) {
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${usage}\n`);
  process.exit(2);
}
if (args.help || (!args.admin && !args.customer) || (args.admin && args.customer)) {
  process.stderr.write(`${usage}\n`);
  process.exit(args.help ? 0 : 2);
}

// The issuer's folder: AUTH_DIR as the issuer process reads it (compose), else DATA_DIR/auth (npm start).
const authDir = resolve(process.env.AUTH_DIR || join(process.env.DATA_DIR || './data', 'auth'));
const [key, issuer] = await Promise.all([loadSigningKey(authDir), readIssuerFile(authDir)]);
if (!key || !issuer) {
  process.stderr.write(`no development signing key in ${authDir}: run npm start (or the issuer) first: it creates the key and serves its JWKS\n`);
  process.exit(1);
}
const roles: Role[] = args.admin ? ['admin'] : ['customer'];
const subject = args.customer ?? args.subject ?? 'admin';
const token = await mintToken(key, { ...issuer, subject, roles, expiresIn: args.expires ?? '12h' });
process.stdout.write(`${token}\n`);
