// orderflow.platform.v1.AdminService: what an operator can do about messages that failed. Every
// process serves it (runtime.serveGrpc adds it). Every method is `admin` in the access table
// (auth/policy.ts), and each handler checks the caller's admin role again with `requireAdmin`.
import { PermissionViolationError } from '@nats-io/nats-core';
import {
  AdminServiceService,
  type DeadLetter as DeadLetterMessage,
  type DeadLetterFilter as DeadLetterFilterMessage,
  type ParkedCommit as ParkedCommitMessage,
} from '../../../generated/orderflow/platform/v1/admin_service.js';
import { requireAdmin } from '../auth/caller.js';
import { IllegalStateError, NotFoundError, UnavailableError } from '../errors.js';
import type { OutboxRelay, ParkedSummary } from '../eventstore/index.js';
import { implement, type CallContext } from '../grpc/handlers.js';
import type { ServiceBinding } from '../grpc/server.js';
import type { Logger } from '../logging.js';
import { listDeadLetters, redriveDeadLetter, redriveDeadLetters, type DeadLetter, type DeadLetterFilter } from '../messaging/dead-letter.js';
import type { Nats } from '../messaging/nats.js';
import { Violations } from '../validation.js';

/** What the admin service acts on: the process's NATS and its own outbox relay. */
export interface AdminDependencies {
  nats: Nats;
  /** The process's relay; absent when its event store publishes nowhere. */
  relay: OutboxRelay | undefined;
  logger: Logger;
}

const defaultPageSize = 50;
const maxPageSize = 500;

/** A page token is the sequence of the last letter on the previous page: a listing resumes after it. */
export const deadLetterPageToken = (seq: number) => Buffer.from(`dl:${seq}`).toString('base64url');
function decodePageToken(token: string): number | undefined {
  const match = /^dl:(\d+)$/.exec(Buffer.from(token, 'base64url').toString());
  return match ? Number(match[1]) : undefined;
}

function toFilter(f: DeadLetterFilterMessage | undefined): DeadLetterFilter {
  return { stream: f?.stream ?? '', consumer: f?.consumer ?? '', type: f?.type ?? '', orderId: f?.orderId ?? '' };
}

const isEmpty = (f: DeadLetterFilter) => !f.stream && !f.consumer && !f.type && !f.orderId;

function toMessage(letter: DeadLetter): DeadLetterMessage {
  return {
    sequence: letter.seq,
    stream: letter.stream,
    consumer: letter.consumer,
    subject: letter.subject,
    type: letter.type,
    error: letter.error,
    errorName: letter.errorName,
    orderId: letter.orderId,
    messageId: letter.messageId,
    deadLetteredAt: letter.at,
    deliveryCount: letter.deliveries,
  };
}

function toParkedMessage(commit: ParkedSummary): ParkedCommitMessage {
  return {
    commitId: commit.commitId,
    streamId: commit.streamId,
    correlationId: commit.correlationId,
    committedAt: new Date(commit.committedAt),
    parkedAt: new Date(commit.parked.at),
    reason: commit.parked.error,
    messageTypes: commit.messageTypes,
  };
}

/**
 * Runs a dead-letter operation; a process whose NATS user is not granted the dead-letter stream
 * (only query's is: `operatesDeadLetters`) says where to ask instead of failing as INTERNAL.
 */
async function operatingDeadLetters<T>(operation: () => Promise<T>): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    const denied = err instanceof PermissionViolationError || (err instanceof Error && err.cause instanceof PermissionViolationError);
    if (!denied) throw err;
    throw new IllegalStateError("this process's NATS user may not operate dead letters: ask the query service's AdminService, or GraphQL deadLetters", {
      cause: err,
    });
  }
}

export function adminGrpc(deps: AdminDependencies): ServiceBinding {
  const { nats } = deps;
  const guard = (ctx: CallContext) => requireAdmin(ctx.caller, 'AdminService');
  const relay = () => {
    if (!deps.relay) throw new UnavailableError('this process has no outbox relay');
    return deps.relay;
  };
  return {
    definition: AdminServiceService,
    implementation: implement(
      AdminServiceService,
      {
        async listDeadLetters(request, ctx) {
          guard(ctx);
          const violations = new Violations().integer('page_size', request.pageSize, { min: 0, max: maxPageSize });
          const afterSeq = request.pageToken === '' ? 0 : decodePageToken(request.pageToken);
          if (afterSeq === undefined) violations.add('page_token', 'is not a token this service returned');
          violations.throwIfAny();
          const size = request.pageSize || defaultPageSize;
          // One more than the page tells whether another page follows.
          const found = await operatingDeadLetters(() => listDeadLetters(nats, { filter: toFilter(request.filter), afterSeq, limit: size + 1 }));
          const page = found.slice(0, size);
          const last = page.at(-1);
          return { deadLetters: page.map(toMessage), nextPageToken: found.length > size && last ? deadLetterPageToken(last.seq) : '' };
        },
        async redriveDeadLetter(request, ctx) {
          guard(ctx);
          new Violations().integer('sequence', request.sequence, { min: 1 }).throwIfAny();
          const letter = await operatingDeadLetters(() => redriveDeadLetter(nats, request.sequence));
          if (!letter) throw new NotFoundError('dead letter', String(request.sequence));
          ctx.log.info({ deadLetter: letter.seq, stream: letter.stream, consumer: letter.consumer, orderId: letter.orderId }, 'dead letter redriven');
          return { deadLetter: toMessage(letter) };
        },
        async redriveDeadLetters(request, ctx) {
          guard(ctx);
          const filter = toFilter(request.filter);
          const violations = new Violations();
          if (request.all && !isEmpty(filter)) violations.add('all', 'must not be set together with a filter');
          if (!request.all && isEmpty(filter)) violations.add('filter', 'must name a consumer, stream, type or order id, or set all to redrive every dead letter');
          violations.throwIfAny();
          const redriven = await operatingDeadLetters(() => redriveDeadLetters(nats, filter));
          ctx.log.info({ filter, redriven: redriven.length }, 'dead letters redriven');
          return { redriven: redriven.map(toMessage) };
        },
        async listParkedCommits(_request, ctx) {
          guard(ctx);
          return { commits: (await relay().parked()).map(toParkedMessage) };
        },
        async retryParkedCommit(request, ctx) {
          guard(ctx);
          new Violations().text('commit_id', request.commitId).throwIfAny();
          const commit = (await relay().parked()).find((c) => c.commitId === request.commitId);
          if (!commit) throw new NotFoundError('parked commit', request.commitId);
          // Publishes it (and the commits of its stream parked behind it) or parks it again.
          const outcome = await relay().retryParked(request.commitId);
          ctx.log.info({ commitId: commit.commitId, ...outcome }, 'parked commit retried');
          return { commit: toParkedMessage(commit) };
        },
      },
      deps.logger,
    ),
  };
}
