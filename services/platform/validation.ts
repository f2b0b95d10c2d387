import { ValidationError, type FieldViolation } from './errors.js';

/** ISO 4217 codes Orderflow accepts, with the number of minor-unit digits of each. */
export const currencyMinorDigits: Readonly<Record<string, number>> = Object.freeze({
  EUR: 2, USD: 2, GBP: 2, CHF: 2, SEK: 2, NOK: 2, DKK: 2, PLN: 2, CZK: 2, CAD: 2, AUD: 2, JPY: 0,
});

/** Longest free text a request may carry, unless a field says otherwise. */
export const maxTextLength = 200;

/** Longest e-mail address accepted (RFC 5321's path limit). */
export const maxEmailLength = 254;

// C0 controls, DEL, C1 controls; bidi embeddings/overrides U+202A–U+202E and isolates
// U+2066–U+2069 (they make a log line or an e-mail read other than it is).
const unsafeCharacter = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;
// A lone surrogate is not text. Over gRPC, protobuf's UTF-8 decoding turns one (and any invalid
// UTF-8) into U+FFFD before a handler sees it, so that character is refused as well.
const invalidUnicode = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]|\ufffd/;

/**
 * Why `value` must not enter an id, name, address, e-mail or reason, or undefined when it may:
 * control characters end up in NATS headers, log lines and e-mail headers; bidi controls hide what
 * a text says.
 */
export function unsafeText(value: string): string | undefined {
  if (invalidUnicode.test(value)) return 'must be valid Unicode (no lone surrogates or invalid UTF-8)';
  const found = unsafeCharacter.exec(value);
  if (found) return `must not contain control or bidi characters (found U+${found[0].codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')})`;
  return undefined;
}

// One plain address, local@domain: no display name, angle brackets, group syntax, commas,
// quotes or spaces. Deliberately loose beyond that; the mail server has the last word.
const emailPattern = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$/;

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

  /** A non-empty string of at most `maxLength` characters (default 200), free of unsafe characters (`unsafeText`). */
  text(field: string, value: string, options: { maxLength?: number; pattern?: RegExp; patternHint?: string } = {}): this {
    const max = options.maxLength ?? maxTextLength;
    if (value.trim() === '') return this.add(field, 'is required');
    if (value.length > max) return this.add(field, `must be at most ${max} characters`);
    const unsafe = unsafeText(value);
    if (unsafe) return this.add(field, unsafe);
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

  /** An optional string: empty is fine; too long or unsafe characters (`unsafeText`) are not. */
  optionalText(field: string, value: string, maxLength = maxTextLength): this {
    if (value.length > maxLength) return this.add(field, `must be at most ${maxLength} characters`);
    const unsafe = unsafeText(value);
    if (unsafe) this.add(field, unsafe);
    return this;
  }

  /** One plain e-mail address, `local@domain`, at most 254 characters: no display name, list or group. */
  email(field: string, value: string): this {
    const before = this.#list.length;
    this.text(field, value, { maxLength: maxEmailLength });
    if (this.#list.length > before) return this;
    const local = value.slice(0, value.lastIndexOf('@'));
    if (!emailPattern.test(value) || local.length > 64 || local.startsWith('.') || local.endsWith('.') || local.includes('..')) {
      this.add(field, 'must be one plain e-mail address, like name@example.com');
    }
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
