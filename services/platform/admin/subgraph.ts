// Dead letters over GraphQL, for operators: `deadLetters`, `redriveDeadLetter` and
// `redriveDeadLetters`, hosted by one subgraph (query's) for the whole system, since every process
// sees all dead letters. The resolvers call the hosting process's own AdminService with the
// caller's forwarded token, so GraphQL and gRPC share its admin check, validation and errors;
// parked outbox commits belong to each service's own store and stay on that service's gRPC API.
import { GraphQLError } from 'graphql';
import {
  AdminServiceService,
  type DeadLetter,
  type DeadLetterFilter as DeadLetterFilterMessage,
} from '../../../generated/orderflow/platform/v1/admin_service.js';
import { grpcClient } from '../grpc/client.js';
import { viaGrpc } from '../graphql/errors.js';
import { connection, pageSize } from '../graphql/loaders.js';
import { deadLetterPageToken } from './grpc.js';

/** Root fields and types to add to the hosting subgraph's SDL (which declares `type Query`). */
export const deadLetterTypeDefs = /* GraphQL */ `
  extend type Query {
    "Messages whose handler failed for good, oldest first (admin)."
    deadLetters(filter: DeadLetterFilter, first: Int = 20, after: String): DeadLetterConnection!
  }

  type Mutation {
    "Sends one dead letter back to the one consumer that failed it (admin)."
    redriveDeadLetter(sequence: ID!): RedriveDeadLetterPayload!
    "Sends every dead letter the filter matches back to the consumer that failed it; all: true, with no filter, sends every one (admin)."
    redriveDeadLetters(filter: DeadLetterFilter, all: Boolean = false): RedriveDeadLettersPayload!
  }

  "Which dead letters: every field given must match exactly; none given matches every letter."
  input DeadLetterFilter {
    "The durable consumer that failed, e.g. \\"orders-payments\\"."
    consumer: String
    "The stream the consumer reads, e.g. \\"PAYMENTS_EVENTS\\"."
    stream: String
    "The message type, e.g. \\"orderflow.payments.v1.PaymentCaptured\\"."
    type: String
    "The order it concerns."
    orderId: ID
  }

  "A message whose handler failed every delivery, or at once when it could never be handled."
  type DeadLetter {
    "Its sequence in the DEAD_LETTERS stream: what redriveDeadLetter takes."
    sequence: ID!
    "The stream and durable consumer whose handler failed."
    stream: String!
    consumer: String!
    "The subject the message was published on."
    subject: String!
    type: String!
    "The handler's error message and error class name."
    error: String!
    errorName: String!
    orderId: ID!
    "The message id it was first published with."
    messageId: String!
    deadLetteredAt: DateTime
    "Deliveries before it was dead-lettered."
    deliveryCount: Int!
  }

  type DeadLetterConnection {
    edges: [DeadLetterEdge!]!
    nodes: [DeadLetter!]!
    pageInfo: PageInfo!
  }

  type DeadLetterEdge {
    cursor: String!
    node: DeadLetter!
  }

  type RedriveDeadLetterPayload {
    "The letter as it was before it was sent back."
    deadLetter: DeadLetter!
  }

  type RedriveDeadLettersPayload {
    "The letters sent back, oldest first."
    redriven: [DeadLetter!]!
  }
`;

interface DeadLetterFilterArg {
  consumer?: string | null;
  stream?: string | null;
  type?: string | null;
  orderId?: string | null;
}

const toFilter = (f: DeadLetterFilterArg | null | undefined): DeadLetterFilterMessage => ({
  consumer: f?.consumer ?? '',
  stream: f?.stream ?? '',
  type: f?.type ?? '',
  orderId: f?.orderId ?? '',
});

/** `sequence: ID!` as the uint64 AdminService takes; anything else is the caller's mistake, named. */
function sequenceOf(id: string): number {
  const seq = /^\d+$/.test(id) ? Number(id) : NaN;
  if (Number.isSafeInteger(seq)) return seq;
  const message = "must be a dead letter's sequence (a whole number)";
  throw new GraphQLError(`invalid request: sequence: ${message}`, {
    extensions: { code: 'BAD_USER_INPUT', fieldViolations: [{ field: 'sequence', path: ['sequence'], message }] },
  });
}

/** AdminService's request fields as the GraphQL arguments name them. */
const listNaming = { rename: { page_size: 'first', page_token: 'after' } };

/**
 * The dead-letter fields' resolvers, calling AdminService at `grpcTarget` (the hosting process's
 * own gRPC server) as the caller. `close` releases the client.
 */
export function deadLetterResolvers(grpcTarget: string) {
  const client = grpcClient(AdminServiceService, grpcTarget);
  return {
    close: () => client.close(),
    Query: {
      async deadLetters(_: unknown, args: { filter?: DeadLetterFilterArg | null; first: number | null; after?: string | null }) {
        const response = await viaGrpc(
          client.listDeadLetters({ filter: toFilter(args.filter), pageSize: pageSize(args.first), pageToken: args.after ?? '' }),
          listNaming,
        );
        // An edge's cursor is the service's page token for the position right after it.
        return connection(response.deadLetters, (letter) => deadLetterPageToken(letter.sequence), response.nextPageToken);
      },
    },
    Mutation: {
      async redriveDeadLetter(_: unknown, args: { sequence: string }) {
        return viaGrpc(client.redriveDeadLetter({ sequence: sequenceOf(args.sequence) }));
      },
      async redriveDeadLetters(_: unknown, args: { filter?: DeadLetterFilterArg | null; all?: boolean | null }) {
        return viaGrpc(client.redriveDeadLetters({ filter: toFilter(args.filter), all: args.all ?? false }));
      },
    },
    DeadLetter: {
      sequence: (letter: DeadLetter) => String(letter.sequence),
    },
  };
}
