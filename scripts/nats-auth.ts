/**
 * NATS users and permissions for Orderflow.
 *
 *   npm run nats:config                  prints each user's permissions and writes
 *                                        DATA_DIR/nats-auth/ (nats-server.conf, <user>.nk seeds)
 *   npm run nats:config -- --passwords   prints a config whose users log in with passwords read
 *                                        from the server's environment ($ORDERS_NATS_PASSWORD, ...)
 *                                        (deploy/nats/orderflow-auth.conf, used by compose)
 *   npm run nats:config -- --env         prints fresh random passwords, one VAR=value a line (.env)
 *   npm run nats:provision               creates or updates the streams, as the admin user given by
 *                                        NATS_URL and NATS_USER/NATS_PASSWORD or NATS_NKEY_SEED
 */
import { randomBytes } from 'node:crypto';
import { join, resolve } from 'node:path';
import {
  adminUser,
  commonEnv,
  ConfigError,
  connectNats,
  deadLetterStream,
  redriveStream,
  ensureStream,
  generateNatsAuth,
  parseEnv,
  passwordVariableOf,
  permissionsOf,
  serverAuthConfig,
  silentLogger,
  streams,
} from '../services/platform/index.js';
import { natsGrants } from './nats-grants.js';

const say = (line: string) => process.stdout.write(`${line}\n`);
const users = [adminUser, ...natsGrants.map((g) => g.user)];

/** A random password of letters and digits only, so nats-server's config reads it as a string. */
const newPassword = () => `p${randomBytes(24).toString('hex')}`;

function printTable(): void {
  say(`${adminUser}: every right (provisions streams; npm start's own tools and the tests)`);
  for (const grant of natsGrants) {
    const p = permissionsOf(grant, natsGrants);
    say(`\n${grant.user}`);
    say(`  publish allow:   ${p.publish.allow.join('\n                   ')}`);
    say(`  publish deny:    ${p.publish.deny.join('\n                   ')}`);
    say(`  subscribe allow: ${p.subscribe.allow.join(', ')}`);
  }
}

async function main(): Promise<void> {
  const [command = 'config', flag] = process.argv.slice(2);
  const config = parseEnv(commonEnv);
  if (command === 'config' && flag === '--passwords') {
    process.stdout.write(serverAuthConfig(natsGrants, (user) => ({ kind: 'password', passwordVariable: passwordVariableOf(user) })));
  } else if (command === 'config' && flag === '--env') {
    for (const user of users) say(`${passwordVariableOf(user)}=${newPassword()}`);
  } else if (command === 'config') {
    printTable();
    const dir = join(resolve(config.DATA_DIR), 'nats-auth');
    const { configFile } = await generateNatsAuth(dir, natsGrants);
    say(`\nwrote ${configFile} and a seed per user (${users.map((u) => `${u}.nk`).join(', ')}) in ${dir}`);
    say('run: nats-server -c ' + configFile + ' -js; give each service NATS_NKEY_SEED=<the seed in its .nk file>');
  } else if (command === 'provision') {
    const nats = await connectNats({
      url: config.NATS_URL,
      name: 'orderflow-provision',
      logger: silentLogger(),
      credentials: { user: config.NATS_USER, password: config.NATS_PASSWORD, nkeySeed: config.NATS_NKEY_SEED },
      maxReconnectAttempts: 0,
    });
    for (const spec of [deadLetterStream, redriveStream, ...streams]) await ensureStream(nats.jsm, spec);
    say(`provisioned ${[deadLetterStream, redriveStream, ...streams].map((s) => s.name).join(', ')} on ${config.NATS_URL}`);
    await nats.nc.close();
  } else {
    process.stderr.write('usage: nats-auth.ts config [--passwords | --env] | provision\n');
    process.exit(2);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof ConfigError ? err.message : err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError ? 2 : 1);
});
