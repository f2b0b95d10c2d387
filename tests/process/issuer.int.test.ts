// The development issuer as compose runs it (`scripts/issuer.ts`): service tokens written to files
// before the JWKS is served, every token verifiable against that JWKS, and `token.ts` signing a
// person's token with the same key.
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jwtAuthenticator } from '../../services/platform/auth/index.js';
import { waitFor } from '../../services/platform/testing/index.js';
import { serviceTable } from '../../scripts/services.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'orderflow-issuer-'));
});
afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the development issuer process', () => {
  it('writes a verifiable token per service, serves its JWKS, lets token.ts sign an admin token, and stops on SIGTERM', async () => {
    const issuer = 'http://issuer.test:4010';
    const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/issuer.ts'], {
      cwd: root,
      env: { ...process.env, AUTH_DIR: dir, ISSUER_PORT: '0', AUTH_ISSUER: issuer, AUTH_AUDIENCE: 'orderflow' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    try {
      const serving = await waitFor('the issuer to serve', () => out.split('\n').map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg: string; jwks?: string }) : undefined)).find((l) => l?.msg === 'issuer serving'), {
        timeoutMs: 30_000,
      });
      const auth = jwtAuthenticator({ jwks: serving.jwks!, issuer, audience: 'orderflow' });
      for (const { name } of serviceTable) {
        const file = join(dir, 'tokens', name);
        expect((await stat(file)).mode & 0o077).toBe(0);
        const token = (await readFile(file, 'utf8')).trim();
        expect(await auth.authenticate(`Bearer ${token}`)).toEqual({ kind: 'service', service: name });
      }
      const { stdout } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'scripts/token.ts', '--admin', '--subject', 'ops'], {
        cwd: root,
        env: { ...process.env, AUTH_DIR: dir },
      });
      expect(await auth.authenticate(`Bearer ${stdout.trim()}`)).toEqual({ kind: 'admin', subject: 'ops' });
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
