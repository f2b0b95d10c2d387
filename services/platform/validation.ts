import { ValidationError, type FieldViolation } from './errors.js';

/** ISO 4217 codes Orderflow accepts, with the number of minor-unit digits of each. */
export const currencyMinorDigits: Readonly<Record<string, number>> = Object.freeze({
  EUR: 2, USD: 2, GBP: 2, CHF: 2, SEK: 2, NOK: 2, DKK: 2, PLN: 2, CZK: 2, CAD: 2, AUD: 2, JPY: 0,
});

/** Longest free text a request may carry, unless a field says otherwise. */
export const maxTextLength = 200;

/**
 * Collects every problem of a request before anything is written, so one INVALID_ARGUMENT names
 * each bad field at once (`items[2].quantity: must be at least 1`).
 */
export class Violations {
  readonly #list: FieldViolation[] = [];

  add(field: string, description: string): this {
    this.#list.push({ field, description });
    return this;
  }

  /** A non-empty string of at most `maxLength` characters (default 200). */
  text(field: string, value: string, options: { maxLength?: number; pattern?: RegExp; patternHint?: string } = {}): this {
    const max = options.maxLength ?? maxTextLength;
    if (value.trim() === '') return this.add(field, 'is required');
    if (value.length > max) return this.add(field, `must be at most ${max} characters`);
    if (options.pattern && !options.pattern.test(value)) this.add(field, options.patternHint ?? `must match ${options.pattern}`);
    return this;
  }

  /** The ids of a batch read: at most `max` (default 500), each non-empty and at most `maxLength` (default 100). */
  idList(field: string, ids: readonly string[], options: { max?: number; maxLength?: number } = {}): this {
    const max = options.max ?? 500;
    if (ids.length > max) return this.add(field, `must hold at most ${max} ids`);
    ids.forEach((id, i) => this.text(`${field}[${i}]`, id, { maxLength: options.maxLength ?? 100 }));
    return this;
  }

  /** An optional string: empty is fine, too long is not. */
  optionalText(field: string, value: string, maxLength = maxTextLength): this {
    if (value.length > maxLength) this.add(field, `must be at most ${maxLength} characters`);
    return this;
  }

  /** An integer within [min, max]. */
  integer(field: string, value: number, options: { min?: number; max?: number } = {}): this {
    if (!Number.isSafeInteger(value)) return this.add(field, 'must be an integer');
    if (options.min !== undefined && value < options.min) return this.add(field, `must be at least ${options.min}`);
    if (options.max !== undefined && value > options.max) this.add(field, `must be at most ${options.max}`);
    return this;
  }

  /** Money: a known ISO 4217 currency and a non-negative (or positive) integer amount in minor units. */
  money(field: string, value: { amountMinor: number; currency: string } | undefined, options: { positive?: boolean } = {}): this {
    if (!value) return this.add(field, 'is required');
    if (!(value.currency in currencyMinorDigits)) {
      this.add(`${field}.currency`, `must be one of ${Object.keys(currencyMinorDigits).join(', ')}`);
    }
    return this.integer(`${field}.amount_minor`, value.amountMinor, { min: options.positive ? 1 : 0, max: Number.MAX_SAFE_INTEGER });
  }

  /** Throws ValidationError naming every violation, if there is any. */
  throwIfAny(): void {
    if (this.#list.length > 0) throw new ValidationError([...this.#list]);
  }
}
