import { describe, expect, it } from 'vitest';
import { ConfigError, parseEnv } from '../platform/index.js';
import { shippingEnv } from './service.js';

describe('shippingEnv', () => {
  it('defaults to the documented policy', () => {
    const config = parseEnv(shippingEnv, {});
    expect(config).toMatchObject({
      SHIPPING_COUNTRIES: ['DE', 'FR', 'NL', 'BE', 'AT', 'IT', 'ES', 'GB', 'US'],
      SHIPPING_CARRIER: 'Orderflow Express',
      SHIPPING_TRANSIT_DAYS: 3,
      SHIPPING_COMMAND_CONCURRENCY: 8,
    });
  });

  it('reads countries case-insensitively', () => {
    expect(parseEnv(shippingEnv, { SHIPPING_COUNTRIES: 'de, fr ,CH' }).SHIPPING_COUNTRIES).toEqual(['DE', 'FR', 'CH']);
  });

  it('names every bad variable at once', () => {
    let caught: unknown;
    try {
      parseEnv(shippingEnv, { SHIPPING_COUNTRIES: 'DE,Germany', SHIPPING_TRANSIT_DAYS: '-1' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).problems).toEqual([
      { variable: 'SHIPPING_COUNTRIES', problem: 'must be two-letter country codes, got "GERMANY"' },
      { variable: 'SHIPPING_TRANSIT_DAYS', problem: 'must be between 0 and 90, got -1' },
    ]);
  });
});
