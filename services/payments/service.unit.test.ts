import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../platform/index.js';
import { paymentsEnv } from './service.js';

describe('paymentsEnv', () => {
  it('defaults to the documented gateway and consumer settings', () => {
    expect(parseEnv(paymentsEnv, {})).toMatchObject({
      PAYMENT_GATEWAY_LATENCY_MS: 20,
      PAYMENT_GATEWAY_FLAKY_FAILURES: 2,
      PAYMENT_GATEWAY_TIMEOUT_DELAY_MS: 30_000,
      PAYMENT_COMMAND_CONCURRENCY: 32,
      PAYMENT_COMMAND_MAX_DELIVER: 5,
      PAYMENT_COMMAND_BACKOFF_MS: [200, 1_000, 5_000, 15_000],
    });
  });

  it('reads the backoff as a list of milliseconds', () => {
    expect(parseEnv(paymentsEnv, { PAYMENT_COMMAND_BACKOFF_MS: '50, 100' }).PAYMENT_COMMAND_BACKOFF_MS).toEqual([50, 100]);
  });

  it('names every bad variable at once', () => {
    let caught: unknown;
    try {
      parseEnv(paymentsEnv, { PAYMENT_COMMAND_BACKOFF_MS: '50,soon', PAYMENT_COMMAND_CONCURRENCY: '0', PAYMENT_GATEWAY_LATENCY_MS: 'fast' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual([
      { variable: 'PAYMENT_GATEWAY_LATENCY_MS', problem: 'must be an integer, got "fast"' },
      { variable: 'PAYMENT_COMMAND_CONCURRENCY', problem: 'must be between 1 and 1024, got 0' },
      { variable: 'PAYMENT_COMMAND_BACKOFF_MS', problem: 'must be whole milliseconds up to 3600000, got "soon"' },
    ]);
  });
});
