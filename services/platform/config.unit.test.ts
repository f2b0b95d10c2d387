import { describe, expect, it } from 'vitest';
import { ConfigError, commonEnv, int, list, parseEnv, port, str, url } from './config.js';

describe('parseEnv', () => {
  it('applies defaults and parses typed values', () => {
    const config = parseEnv(commonEnv, { GRPC_PORT: '50051' });
    expect(config).toEqual({
      NATS_URL: 'nats://127.0.0.1:4222',
      MONGODB_URI: undefined,
      DATA_DIR: './data',
      GRPC_PORT: 50051,
      GRPC_HOST: '0.0.0.0',
      GRAPHQL_PORT: 0,
      GRAPHQL_HOST: '0.0.0.0',
      LOG_LEVEL: 'info',
      METRICS_PORT: 0,
      METRICS_HOST: '127.0.0.1',
      OTEL_EXPORTER_OTLP_ENDPOINT: undefined,
      OTEL_SERVICE_NAME: undefined,
      ADMIN_API_KEY: undefined,
    });
  });

  it('refuses an admin key too short to be a secret', () => {
    expect(() => parseEnv(commonEnv, { ADMIN_API_KEY: 'hunter2' })).toThrow(/ADMIN_API_KEY: must be at least 16 characters, got 7/);
    expect(parseEnv(commonEnv, { ADMIN_API_KEY: 'a'.repeat(16) }).ADMIN_API_KEY).toBe('a'.repeat(16));
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
});
