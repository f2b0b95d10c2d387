import { describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, commonEnv, int, list, parseEnv, port, secretFile, str, url } from './config.js';

describe('parseEnv', () => {
  it('applies defaults and parses typed values', () => {
    const config = parseEnv(commonEnv, { GRPC_PORT: '50051' });
    expect(config).toEqual({
      AUTH_JWKS_URL: undefined,
      AUTH_ISSUER: undefined,
      AUTH_AUDIENCE: 'orderflow',
      AUTH_DISABLED: false,
      SERVICE_TOKEN: undefined,
      NATS_URL: 'nats://127.0.0.1:4222',
      MONGODB_URI: undefined,
      DATA_DIR: './data',
      GRPC_PORT: 50051,
      GRPC_HOST: '127.0.0.1',
      GRAPHQL_PORT: 0,
      GRAPHQL_HOST: '127.0.0.1',
      LOG_LEVEL: 'info',
      METRICS_PORT: 0,
      METRICS_HOST: '127.0.0.1',
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      OTEL_SERVICE_NAME: undefined,
    });
  });

  it('names every bad or missing variable in one error', () => {
    const schema = { NATS_URL: url({ protocols: ['nats:'] }), GRPC_PORT: port(), ORDER_LIMIT: int({ min: 1 }), NAME: str() };
    let caught: unknown;
    try {
      parseEnv(schema, { NATS_URL: 'http://x', GRPC_PORT: '70000', ORDER_LIMIT: 'ten' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    const problems = (caught as ConfigError).problems;
    expect(problems.map((p) => p.variable)).toEqual(['NATS_URL', 'GRPC_PORT', 'ORDER_LIMIT', 'NAME']);
    expect((caught as ConfigError).message).toContain('GRPC_PORT: must be between 0 and 65535, got 70000');
    expect((caught as ConfigError).message).toContain('NAME: is required but not set');
  });

  it('treats an empty value as unset and rejects empty list items', () => {
    expect(parseEnv({ DATA_DIR: str({ default: 'd' }) }, { DATA_DIR: '' }).DATA_DIR).toBe('d');
    expect(() => parseEnv({ COUNTRIES: list() }, { COUNTRIES: 'DE,,FR' })).toThrow(/COUNTRIES: must be a comma-separated list/);
    expect(parseEnv({ COUNTRIES: list() }, { COUNTRIES: 'DE, FR' }).COUNTRIES).toEqual(['DE', 'FR']);
  });

  it('rejects a MongoDB URI with the wrong scheme', () => {
    expect(() => parseEnv(commonEnv, { MONGODB_URI: 'postgres://x' })).toThrow(/MONGODB_URI: must use mongodb: or mongodb\+srv:/);
  });

  it('reads a secret from the file a _FILE variable names, and names an unreadable or empty file', () => {
    const dir = mkdtempSync(join(tmpdir(), 'orderflow-config-'));
    try {
      writeFileSync(join(dir, 'token'), 'eyJ.abc.def\n');
      writeFileSync(join(dir, 'empty'), '\n');
      expect(parseEnv({ SERVICE_TOKEN_FILE: secretFile() }, { SERVICE_TOKEN_FILE: join(dir, 'token') }).SERVICE_TOKEN_FILE).toBe('eyJ.abc.def');
      expect(parseEnv({ SERVICE_TOKEN_FILE: secretFile() }, {}).SERVICE_TOKEN_FILE).toBeUndefined();
      expect(() => parseEnv({ SERVICE_TOKEN_FILE: secretFile() }, { SERVICE_TOKEN_FILE: join(dir, 'missing') })).toThrow(
        `SERVICE_TOKEN_FILE: cannot read ${join(dir, 'missing')}: ENOENT`,
      );
      expect(() => parseEnv({ SERVICE_TOKEN_FILE: secretFile() }, { SERVICE_TOKEN_FILE: join(dir, 'empty') })).toThrow(`${join(dir, 'empty')} is empty`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
