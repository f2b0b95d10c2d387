// The error a handler throws for a message that can never be handled. A module of its own, so the
// contracts (which throw it while decoding) need not load the consumer, which loads the contracts
// through the NATS permissions.

/**
 * The message can never be handled (it does not decode, or it breaks the contract): it goes to
 * the dead-letter stream at once instead of being retried.
 */
export class PoisonMessageError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
