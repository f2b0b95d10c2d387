// Sending each notification once: a claim document per (order, trigger) decides which delivery
// sends; the e-mail goes out; the claim is marked sent; NotificationSent goes through the outbox.
import {
  ConcurrencyError,
  DuplicateKeyError,
  Events,
  newEvent,
  type DocumentStore,
  type EventStore,
  type Logger,
} from '../platform/index.js';
import type { Mailer } from './mailer.js';
import { render, type OrderContact, type Trigger } from './templates.js';

/** A notification as stored: the claim while sending, the record once sent. */
export interface NotificationDocument {
  [key: string]: unknown;
  /** `<orderId>:<trigger type>`: one e-mail per order and trigger. */
  _id: string;
  orderId: string;
  customerId: string;
  recipient: string;
  subject: string;
  triggerType: string;
  transport: string;
  status: 'sending' | 'sent';
  claimedAt: Date;
  sentAt?: Date;
}

interface ContactDocument extends OrderContact {
  [key: string]: unknown;
  _id: string;
}

/** The order's OrderPlaced has not been seen yet: the event is retried later, not dropped. */
export class ContactUnknownError extends Error {
  constructor(readonly orderId: string) {
    super(`no OrderPlaced seen yet for order ${orderId}; will retry`);
    this.name = 'ContactUnknownError';
  }
}

/** Another delivery is sending this notification right now. */
export class NotificationInProgressError extends Error {
  constructor(readonly notificationId: string) {
    super(`notification ${notificationId} is being sent by another delivery; will retry`);
    this.name = 'NotificationInProgressError';
  }
}

export interface NotificationsOptions {
  store: DocumentStore;
  events: EventStore;
  mailer: Mailer;
  from: string;
  logger: Logger;
  /** How long a claim protects a send in progress before another delivery may take over. Default 30s. */
  claimLeaseMs?: number;
}

export function createNotifications(options: NotificationsOptions) {
  const contacts = options.store.collection<ContactDocument>('order_contacts');
  const notifications = options.store.collection<NotificationDocument>('notifications');
  const lease = options.claimLeaseMs ?? 30_000;

  const recordSent = async (doc: NotificationDocument, now: Date) => {
    const data = Events.NotificationSent.codec.fromPartial({
      notificationId: doc._id,
      orderId: doc.orderId,
      customerId: doc.customerId,
      recipient: doc.recipient,
      subject: doc.subject,
      triggerType: doc.triggerType,
      occurredAt: now,
    });
    try {
      await options.events.append(`notification-${doc._id}`, 0, [newEvent(Events.NotificationSent, data, `${doc._id}:sent`)], {
        correlationId: doc.orderId,
      });
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err; // recorded by an earlier delivery
    }
  };

  /** Takes the right to send: a new claim, or one whose holder has been silent past the lease. */
  const claim = async (doc: NotificationDocument, now: Date): Promise<NotificationDocument | 'sent'> => {
    try {
      await notifications.insertOne(doc);
      return doc;
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    const existing = await notifications.findOne({ _id: doc._id });
    if (!existing || existing.status === 'sent') return existing ? 'sent' : claim(doc, now);
    if (now.getTime() - existing.claimedAt.getTime() < lease) throw new NotificationInProgressError(doc._id);
    // The holder died mid-send: take over. The resend carries the same Message-ID.
    const taken = await notifications.findOneAndUpdate(
      { _id: doc._id, status: 'sending', claimedAt: existing.claimedAt },
      { $set: { claimedAt: now } },
    );
    if (!taken) throw new NotificationInProgressError(doc._id);
    return taken;
  };

  return {
    async rememberOrder(contact: OrderContact): Promise<void> {
      await contacts.updateOne({ _id: contact.orderId }, { $setOnInsert: { ...contact } }, { upsert: true });
    },

    async notify(orderId: string, trigger: Trigger, now: Date): Promise<void> {
      const contact = await contacts.findOne({ _id: orderId });
      if (!contact) throw new ContactUnknownError(orderId);
      const mail = render(contact, trigger);
      const id = `${orderId}:${trigger.type}`;
      const claimed = await claim(
        {
          _id: id,
          orderId,
          customerId: contact.customerId,
          recipient: contact.email,
          subject: mail.subject,
          triggerType: trigger.type,
          transport: options.mailer.transport,
          status: 'sending',
          claimedAt: now,
        },
        now,
      );
      if (claimed === 'sent') {
        const sent = await notifications.findOne({ _id: id });
        if (sent) await recordSent(sent, sent.sentAt ?? now);
        return;
      }
      await options.mailer.send({ messageId: `<${id}@orderflow.local>`, from: options.from, to: contact.email, ...mail });
      const sentDoc = { ...claimed, status: 'sent' as const, sentAt: now };
      await notifications.updateOne({ _id: id }, { $set: { status: 'sent', sentAt: now } });
      options.logger.info({ notificationId: id, to: contact.email, transport: options.mailer.transport }, 'e-mail sent');
      await recordSent(sentDoc, now);
    },

    /** Sent notifications of a customer or an order, newest first, after the cursor. */
    async list(filter: { customerId?: string; orderId?: string }, pageSize: number, after?: { sentAt: Date; id: string }) {
      const base: Record<string, unknown> = { status: 'sent', ...(filter.customerId ? { customerId: filter.customerId } : { orderId: filter.orderId }) };
      const query = after
        ? { $and: [base, { $or: [{ sentAt: { $lt: after.sentAt } }, { sentAt: after.sentAt, _id: { $lt: after.id } }] }] }
        : base;
      return notifications.find(query, { sort: { sentAt: -1, _id: -1 }, limit: pageSize + 1 });
    },

    async createIndexes() {
      await notifications.createIndex({ customerId: 1, sentAt: -1 });
      await notifications.createIndex({ orderId: 1, sentAt: -1 });
    },
  };
}

export type Notifications = ReturnType<typeof createNotifications>;
