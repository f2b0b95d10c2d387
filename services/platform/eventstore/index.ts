export { createEventStore, type EventStore, type EventStoreOptions } from './event-store.js';
export { OutboxRelay, commitMessages, type ParkedSummary, type RelayOptions, type RelayStats, type RetryOutcome } from './relay.js';
export type {
  AppendOptions,
  AppendResult,
  CommitDocument,
  ExpectedVersion,
  NewEvent,
  NewMessage,
  ParkedCommit,
  StoredEvent,
} from './types.js';
