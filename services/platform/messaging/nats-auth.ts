// Who may do what on NATS: each service (and the gateway) is one user that may publish only its
// own events and the commands it sends, work only its own durable consumers, and never create,
// change, purge or delete a stream; an admin user provisions the streams. This module turns a
// table of grants into nats-server permissions and a server config, and makes the credentials.
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { nkeyAuthenticator, nkeys, usernamePasswordAuthenticator, type Authenticator } from '@nats-io/nats-core';
import { streams } from '../contracts.js';
import { deadLetterStream, redriveStream } from './nats.js';

/** A durable pull consumer a user works: its stream and durable name. */
export interface DurableGrant {
  stream: string;
  durable: string;
}

/** What one NATS user (a service or the gateway) is granted. */
export interface NatsGrant {
  /** The user's name: the service's name, also its inbox prefix `_INBOX_<user>`. */
  user: string;
  /** Exact subjects it publishes: its events and the commands it sends. */
  publishes: readonly string[];
  /** Durables it consumes (create, update, info, pull, ack) and dead-letters from. */
  durables: readonly DurableGrant[];
  /** Streams it reads through ephemeral ordered consumers (any name but another user's durable). */
  reads?: readonly string[];
  /**
   * Operates every service's dead letters for operators (AdminService): reads DEAD_LETTERS by
   * sequence, deletes a letter it redrives, and publishes it on `redrive.<stream>.<durable>`.
   * Default false.
   */
  operatesDeadLetters?: boolean;
}

/** nats-server permissions of one user. */
export interface NatsPermissions {
  publish: { allow: string[]; deny: string[] };
  subscribe: { allow: string[] };
}

/** The user that provisions streams (and the test kit, operators): every right. */
export const adminUser = 'admin';

/** The inbox prefix of a user; replies (pull deliveries, acks of publishes) arrive under it. */
export const inboxPrefixOf = (user: string) => `_INBOX_${user}`;

const api = '$JS.API';

/** Denied to every service even if an allow would match: streams are the admin's alone. */
export const deniedToServices: readonly string[] = Object.freeze([
  `${api}.STREAM.CREATE.>`,
  `${api}.STREAM.UPDATE.>`,
  `${api}.STREAM.DELETE.>`,
  `${api}.STREAM.PURGE.>`,
  `${api}.STREAM.MSG.DELETE.>`,
]);

const consumerOps = (stream: string, name: string) => [
  `${api}.CONSUMER.CREATE.${stream}.${name}`,
  // With a filter subject the create subject carries it: CREATE.<stream>.<name>.<filter>.
  `${api}.CONSUMER.CREATE.${stream}.${name}.>`,
  // Several filters (filter_subjects, 2.10+) go through the older durable create subject.
  `${api}.CONSUMER.DURABLE.CREATE.${stream}.${name}`,
  `${api}.CONSUMER.INFO.${stream}.${name}`,
  `${api}.CONSUMER.MSG.NEXT.${stream}.${name}`,
];

/** The durable on REDRIVE that runs next to `durable` on `stream` (see runConsumer). */
export const redriveTwinOf = (stream: string, durable: string) => `${stream}-${durable}`;

/**
 * The permissions of one grant. `all` is every grant, so a reader of a stream through ordered
 * consumers (whose names are random) is denied every other user's durable on that stream.
 */
export function permissionsOf(grant: NatsGrant, all: readonly NatsGrant[]): NatsPermissions {
  const allow = new Set<string>([
    `${api}.INFO`,
    // Every service checks at start that the streams it uses exist with the expected limits.
    `${api}.STREAM.INFO.*`,
    ...grant.publishes,
  ]);
  for (const { stream, durable } of grant.durables) {
    for (const subject of consumerOps(stream, durable)) allow.add(subject);
    allow.add(`$JS.ACK.${stream}.${durable}.>`);
    allow.add(`deadletter.${stream}.${durable}`);
    // Its twin on REDRIVE, which receives the dead letters an operator redrives to this durable.
    const twin = redriveTwinOf(stream, durable);
    for (const subject of consumerOps(redriveStream.name, twin)) allow.add(subject);
    allow.add(`$JS.ACK.${redriveStream.name}.${twin}.>`);
    allow.add(`deadletter.${redriveStream.name}.${twin}`);
  }
  const deny = new Set<string>(deniedToServices);
  if (grant.operatesDeadLetters) {
    allow.add(`${api}.STREAM.MSG.GET.${deadLetterStream.name}`);
    allow.add(`${api}.STREAM.MSG.DELETE.${deadLetterStream.name}`);
    allow.add('redrive.>');
    // A deny wins over every allow: deleting messages stays denied on every stream but DEAD_LETTERS.
    deny.delete(`${api}.STREAM.MSG.DELETE.>`);
    for (const stream of [...streams, redriveStream]) deny.add(`${api}.STREAM.MSG.DELETE.${stream.name}`);
  }
  for (const stream of grant.reads ?? []) {
    for (const subject of consumerOps(stream, '*')) allow.add(subject);
    // Single messages by sequence or last-by-subject (the gateway's cursors and terminal orders).
    allow.add(`${api}.STREAM.MSG.GET.${stream}`);
    // An ordered consumer with several filters (filter_subjects, 2.10+) is created on the subject without a name.
    allow.add(`${api}.CONSUMER.CREATE.${stream}`);
    allow.add(`${api}.CONSUMER.DELETE.${stream}.*`);
    for (const other of all) {
      if (other.user === grant.user) continue;
      for (const d of other.durables.filter((x) => x.stream === stream)) {
        for (const subject of [...consumerOps(stream, d.durable), `${api}.CONSUMER.DELETE.${stream}.${d.durable}`]) deny.add(subject);
      }
    }
  }
  return { publish: { allow: [...allow], deny: [...deny] }, subscribe: { allow: [`${inboxPrefixOf(grant.user)}.>`] } };
}

/** How a user proves who it is to the server. */
export type ServerCredential =
  /** An nkey user: the server holds only the public key. */
  | { kind: 'nkey'; publicKey: string }
  /** A password user; `passwordVariable` names the server's environment variable holding the password. */
  | { kind: 'password'; passwordVariable: string };

const quote = (s: string) => JSON.stringify(s);
const list = (xs: readonly string[], indent: string) => `[\n${xs.map((x) => `${indent}  ${quote(x)}`).join(',\n')}\n${indent}]`;

function userBlock(user: string, credential: ServerCredential, permissions: NatsPermissions | undefined): string {
  const lines = [
    credential.kind === 'nkey' ? `      # ${user}\n      nkey: ${quote(credential.publicKey)}` : `      user: ${quote(user)}\n      password: $${credential.passwordVariable}`,
  ];
  if (permissions) {
    lines.push(
      [
        '      permissions: {',
        `        publish: { allow: ${list(permissions.publish.allow, '        ')}, deny: ${list(permissions.publish.deny, '        ')} }`,
        `        subscribe: { allow: ${list(permissions.subscribe.allow, '        ')} }`,
        '      }',
      ].join('\n'),
    );
  }
  return `    {\n${lines.join('\n')}\n    }`;
}

/**
 * A nats-server config fragment (`authorization { users [...] }`) for the grants and the admin.
 * Listening address and JetStream are left to the command line or an including config.
 */
export function serverAuthConfig(grants: readonly NatsGrant[], credentialOf: (user: string) => ServerCredential): string {
  const blocks = [
    userBlock(adminUser, credentialOf(adminUser), undefined),
    ...grants.map((g) => userBlock(g.user, credentialOf(g.user), permissionsOf(g, grants))),
  ];
  return [
    '# Orderflow NATS users: generated from the grants in scripts/nats-grants.ts (npm run nats:config).',
    '# admin provisions the streams; each service may publish only its own events and the commands',
    '# it sends, and work only its own durable consumers.',
    'authorization {',
    '  users: [',
    blocks.join(',\n'),
    '  ]',
    '}',
    '',
  ].join('\n');
}

/** The environment variable holding a user's password in the compose config, e.g. `ORDERS_NATS_PASSWORD`. */
export const passwordVariableOf = (user: string) => `${user.toUpperCase()}_NATS_PASSWORD`;

/** Generated credentials: the server config file and each user's nkey seed. */
export interface GeneratedNatsAuth {
  /** Path of the nats-server config (`-c`). */
  configFile: string;
  /** Seed of each user (`NATS_NKEY_SEED`), by user name, the admin included. */
  seeds: Record<string, string>;
}

/**
 * Writes `<dir>/nats-server.conf` and `<dir>/<user>.nk` (each user's nkey seed, mode 0600),
 * keeping seeds already there, so a restart keeps every user's identity.
 */
export async function generateNatsAuth(dir: string, grants: readonly NatsGrant[]): Promise<GeneratedNatsAuth> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const seeds: Record<string, string> = {};
  const publicKeys: Record<string, string> = {};
  for (const user of [adminUser, ...grants.map((g) => g.user)]) {
    const file = join(dir, `${user}.nk`);
    let seed = await readFile(file, 'utf8').then((s) => s.trim(), () => '');
    if (!seed) {
      seed = new TextDecoder().decode(nkeys.createUser().getSeed());
      await writeFile(file, `${seed}\n`, { mode: 0o600 });
    }
    await chmod(file, 0o600);
    seeds[user] = seed;
    publicKeys[user] = nkeys.fromSeed(new TextEncoder().encode(seed)).getPublicKey();
  }
  const configFile = join(dir, 'nats-server.conf');
  await writeFile(configFile, serverAuthConfig(grants, (user) => ({ kind: 'nkey', publicKey: publicKeys[user]! })), { mode: 0o600 });
  return { configFile, seeds };
}

/** What a client presents: a user and password, or an nkey seed, or nothing. */
export interface NatsClientCredentials {
  user?: string | undefined;
  password?: string | undefined;
  /** An nkey seed (`SU...`). */
  nkeySeed?: string | undefined;
}

/** The authenticator for the credentials, or undefined to connect without any. */
export function natsAuthenticator(credentials: NatsClientCredentials | undefined): Authenticator | undefined {
  if (credentials?.nkeySeed) return nkeyAuthenticator(new TextEncoder().encode(credentials.nkeySeed.trim()));
  if (credentials?.user) return usernamePasswordAuthenticator(credentials.user, credentials.password ?? '');
  return undefined;
}
