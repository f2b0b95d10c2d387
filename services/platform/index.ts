// The platform's public face: every service imports from here, never from the files behind it.
// Test helpers live apart, in ./testing/index.ts.

export { authEnv, bool, commonEnv, ConfigError, int, list, oneOf, optionalStr, optionalUrl, parseEnv, port, secretFile, str, url, type EnvVar } from './config.js';
export { createLogger, messageLogger, silentLogger, type Logger, type LoggerSettings, type MessageLogContext } from './logging.js';
export {
  AlreadyExistsError,
  ConcurrencyError,
  DomainError,
  IllegalStateError,
  NotFoundError,
  PermissionDeniedError,
  UnauthenticatedError,
  UnavailableError,
  ValidationError,
  type FieldViolation,
} from './errors.js';
export {
  Commands,
  contractByType,
  contracts,
  decodeMessage,
  defineContract,
  encodeMessage,
  Events,
  newCommand,
  newEvent,
  MalformedMessageError,
  streamFor,
  streams,
  streamSpecs,
  defaultStreamLimits,
  UnknownMessageTypeError,
  type CommandContract,
  type Contract,
  type EventContract,
  type MessageKind,
  type MessageOf,
  type MessageType,
} from './contracts.js';
export {
  Header,
  jetStreamPublisher,
  messageHeaders,
  readMetadata,
  subjectFor,
  type MessageMetadata,
  type MessagePublisher,
  type OutgoingMessage,
} from './messaging/envelope.js';
export {
  connectNats,
  consumerDefaults,
  deadLetterStream,
  ensureConsumer,
  redriveStream,
  ensureStream,
  streamLimitDefaults,
  StreamNotProvisionedError,
  type ConnectNatsOptions,
  type ConsumerSpec,
  type Nats,
  type StreamSpec,
} from './messaging/nats.js';
export {
  adminUser,
  deniedToServices,
  generateNatsAuth,
  inboxPrefixOf,
  natsAuthenticator,
  passwordVariableOf,
  permissionsOf,
  serverAuthConfig,
  type DurableGrant,
  type GeneratedNatsAuth,
  type NatsClientCredentials,
  type NatsGrant,
  type NatsPermissions,
  type ServerCredential,
} from './messaging/nats-auth.js';
export {
  PoisonMessageError,
  runConsumer,
  type HandlerContext,
  type MessageHandler,
  type ReceivedMessage,
  type RunConsumerOptions,
  type RunningConsumer,
} from './messaging/consumer.js';
export { dispatch, route, type Route, type TypedHandler } from './messaging/dispatch.js';
export {
  countDeadLetters,
  DeadLetterHeader,
  getDeadLetter,
  listDeadLetters,
  redriveDeadLetter,
  redriveDeadLetters,
  RedriveHeader,
  redriveSubject,
  type DeadLetter,
  type DeadLetterFilter,
  type ListDeadLettersOptions,
} from './messaging/dead-letter.js';
export { eventCodec, type DomainEventOf, type EventCodec } from './eventstore/event-codec.js';
export {
  createEventStore,
  type AppendOptions,
  type AppendResult,
  type EventStore,
  type ExpectedVersion,
  type NewEvent,
  type NewMessage,
  type StoredEvent,
} from './eventstore/index.js';
export {
  DuplicateKeyError,
  openDocumentStore,
  type Collection,
  type Doc,
  type DocumentStore,
  type Filter,
  type Update,
} from './storage/index.js';
export { grpcClient, type CallSettings, type GrpcClient, type GrpcClientOptions } from './grpc/client.js';
export { grpcStatusOf, isServiceError, readGrpcFailure, toGrpcError, type GrpcFailure } from './grpc/errors.js';
export { implement, type CallContext, type UnaryHandlers } from './grpc/handlers.js';
export { startGrpcServer, type GrpcServer, type GrpcServerOptions, type ServiceBinding } from './grpc/server.js';
export { HealthRegistry, ServingStatus } from './grpc/health.js';
export {
  batchLoader,
  connection,
  DateTimeScalar,
  decimalAmount,
  enumNames,
  fieldPath,
  formatGraphQLError,
  graphqlErrorFromGrpc,
  pageSize,
  protoEnum,
  sharedResolvers,
  sharedTypeDefs,
  startSubgraphServer,
  viaGrpc,
  type FieldNaming,
  type GraphQLFieldViolation,
  type SubgraphDefinition,
  type SubgraphServer,
} from './graphql/index.js';
export { adminGrpc, deadLetterResolvers, deadLetterTypeDefs, type AdminDependencies } from './admin/index.js';
export { Lifecycle } from './lifecycle.js';
export {
  runMain,
  startRuntime,
  startService,
  type CommonConfig,
  type RunningService,
  type Runtime,
  type RuntimeSettings,
  type ServiceOverrides,
} from './runtime.js';
export { currencyMinorDigits, maxEmailLength, maxTextLength, unsafeText, Violations } from './validation.js';
export {
  activeSpanIds,
  contextFrom,
  currentTrace,
  SpanKind,
  TraceAttributes,
  traceHeaders,
  withSpan,
  withTrace,
  type SpanOptions,
  type TraceCarrier,
  type TraceContext,
} from './trace.js';
export { flushTraces, startTracing, type Tracing, type TracingSettings } from './tracing.js';
export {
  counter,
  durationBuckets,
  gauge,
  histogram,
  metricsText,
  registry as metricsRegistry,
  sampleAtScrape,
  serveMetrics,
  type HealthReport,
  type MetricsServer,
  type MetricsServerOptions,
  type Sampler,
} from './metrics.js';
export { probeStorage, ProcessHealth, watchNats, type StorageProbeOptions } from './health.js';
export {
  actingFor,
  anonymous,
  authenticatorFrom,
  authorizationPlugin,
  checkOperation,
  decide,
  describeCaller,
  disabledAuthenticator,
  graphqlPolicy,
  grpcPolicy,
  jwtAuthenticator,
  mayAccess,
  refusal,
  requireAccess,
  requireAdmin,
  scopedCustomer,
  type Authenticator,
  type Caller,
  type CallerContext,
  type Decision,
  type Role,
  type Rule,
} from './auth/index.js';
