export { createEventStore, type EventStore, type EventStoreOptions } from './event-store.js';
export { OutboxRelay, commitMessages, type RelayOptions, type RelayStats } from './relay.js';
export type {
  AppendOptions,
  AppendResult,
  CommitDocument,
  CommitParking,
  ParkedCommit,
  ExpectedVersion,
  NewEvent,
  NewMessage,
  StoredEvent,
} from './types.js';
