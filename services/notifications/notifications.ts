// Sending each notification once, whatever crashes: the record comes first (the notification
// document, listed from then on, and NotificationSent through the outbox), then the e-mail, with
// a Message-ID (and mailbox file name) fixed by the notification id, so a resend after a crash is
// the same e-mail, not a second one. Who may send is a claim in the record: the delivery that
// wrote it, or a redelivery of that same message (its first delivery died: JetStream redelivers
// only then), or any delivery once the claim is older than the lease, which is shorter than the
// consumer's redelivery schedule, so a claim left by a crash is always taken over in time.
// An event that arrives before its order's OrderPlaced waits in `waiting_notifications` until
// OrderPlaced sends it, instead of spending deliveries.
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

/** A notification as stored: recorded (and listed) before its e-mail goes out. */
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
  /** `sent` once recorded; `sending` only in records written before the record came first. */
  status: 'sending' | 'sent';
  /** When the current claim to send was taken. */
  claimedAt: Date;
  /** The delivery holding the claim: `<stream>:<sequence>` of the message being handled. */
  claimedBy?: string;
  /** When the notification was recorded; the time it is listed under. */
  sentAt?: Date;
  /** When the e-mail was handed to the transport; unset while it may still have to go. */
  mailedAt?: Date;
}

interface ContactDocument extends OrderContact {
  [key: string]: unknown;
  _id: string;
}

/** A notification whose order has not been seen yet. */
interface WaitingDocument {
  [key: string]: unknown;
  /** The notification id it will have. */
  _id: string;
  orderId: string;
  trigger: Trigger;
  at: Date;
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
  /**
   * How long a claim protects a send in progress from other deliveries (a redelivery of the same
   * message takes over at once). Must stay below the consumer's redelivery schedule (200 ms + 1 s
   * + 5 s + 15 s before the last delivery). Default 10 s.
   */
  claimLeaseMs?: number;
}

export function createNotifications(options: NotificationsOptions) {
  const contacts = options.store.collection<ContactDocument>('order_contacts');
  const notifications = options.store.collection<NotificationDocument>('notifications');

  const waiting = options.store.collection<WaitingDocument>('waiting_notifications');
  const lease = options.claimLeaseMs ?? 10_000;

  const recordSent = async (doc: NotificationDocument) => {
    const data = Events.NotificationSent.codec.fromPartial({
      notificationId: doc._id,
      orderId: doc.orderId,
      customerId: doc.customerId,
      recipient: doc.recipient,
      subject: doc.subject,
      triggerType: doc.triggerType,
      occurredAt: doc.sentAt ?? doc.claimedAt,
    });
    try {
      await options.events.append(`notification-${doc._id}`, 0, [newEvent(Events.NotificationSent, data, `${doc._id}:sent`)], {
        correlationId: doc.orderId,
      });
    } catch (err) {
      if (!(err instanceof ConcurrencyError)) throw err; // recorded by an earlier delivery
    }
  };

  const mailed = (doc: NotificationDocument) => doc.mailedAt !== undefined || (doc.status === 'sent' && doc.claimedBy === undefined);

  /**
   * Records the notification (once) and returns it when this delivery may send its e-mail, or
   * 'mailed' when that is done already. Throws NotificationInProgressError while another live
   * delivery holds the claim.
   */
  const record = async (doc: NotificationDocument, delivery: string, now: Date): Promise<NotificationDocument | 'mailed'> => {
    try {
      await notifications.insertOne(doc);
      return doc;
    } catch (err) {
      if (!(err instanceof DuplicateKeyError)) throw err;
    }
    const existing = await notifications.findOne({ _id: doc._id });
    if (!existing) return record(doc, delivery, now);
    if (mailed(existing)) return 'mailed';
    const sameMessage = existing.claimedBy === delivery;
    if (!sameMessage && now.getTime() - existing.claimedAt.getTime() < lease) throw new NotificationInProgressError(doc._id);
    // The holder died mid-send (or is this very message, redelivered): take over. The resend is
    // the same e-mail: same Message-ID, same mailbox file.
    const taken = await notifications.findOneAndUpdate(
      { _id: doc._id, claimedAt: existing.claimedAt, mailedAt: { $exists: false } },
      { $set: { claimedAt: now, claimedBy: delivery, status: 'sent', sentAt: existing.sentAt ?? now } },
    );
    if (!taken) throw new NotificationInProgressError(doc._id);
    return taken;
  };

  /** Sends a notification of a known order: record, then e-mail, then mark it mailed. */
  const send = async (contact: ContactDocument, trigger: Trigger, delivery: string, now: Date): Promise<void> => {
    const mail = render(contact, trigger);
    const id = `${contact.orderId}:${trigger.type}`;
    const recorded = await record(
      {
        _id: id,
        orderId: contact.orderId,
        customerId: contact.customerId,
        recipient: contact.email,
        subject: mail.subject,
        triggerType: trigger.type,
        transport: options.mailer.transport,
        status: 'sent',
        claimedAt: now,
        claimedBy: delivery,
        sentAt: now,
      },
      delivery,
      now,
    );
    if (recorded === 'mailed') {
      const doc = await notifications.findOne({ _id: id });
      if (doc) await recordSent(doc);
      return;
    }
    await recordSent(recorded);
    await options.mailer.send({ messageId: `<${id}@orderflow.local>`, from: options.from, to: contact.email, ...mail });
    await notifications.updateOne({ _id: id }, { $set: { mailedAt: now } });
    options.logger.info({ notificationId: id, to: contact.email, transport: options.mailer.transport }, 'e-mail sent');
  };

  /**
   * Sends what waited for this order's OrderPlaced, then forgets it. The OrderPlaced and the event
   * that waited are often handled at the same moment, and both come here: one that finds the
   * other sending a waiting notification leaves it to that delivery, whose message is redelivered
   * until it has sent it (and forgotten it), instead of failing its own message and retrying.
   */
  const sendWaiting = async (contact: ContactDocument, delivery: string, now: Date): Promise<void> => {
    for (const parked of await waiting.find({ orderId: contact.orderId })) {
      try {
        await send(contact, parked.trigger, delivery, now);
      } catch (err) {
        if (!(err instanceof NotificationInProgressError)) throw err;
        options.logger.debug({ notificationId: parked._id }, 'a waiting notification is being sent by another delivery');
        continue;
      }
      await waiting.deleteOne({ _id: parked._id });
    }
  };

  return {
    /** Keeps the order's contact, and sends whatever arrived before it. */
    async rememberOrder(contact: OrderContact, delivery: string, now: Date): Promise<void> {
      await contacts.updateOne({ _id: contact.orderId }, { $setOnInsert: { ...contact } }, { upsert: true });
      const stored = await contacts.findOne({ _id: contact.orderId });
      if (stored) await sendWaiting(stored, delivery, now);
    },

    /**
     * Sends the trigger's e-mail once. `delivery` names the message being handled
     * (`<stream>:<sequence>`), the same on each of its redeliveries.
     */
    async notify(orderId: string, trigger: Trigger, now: Date, delivery: string): Promise<void> {
      let contact = await contacts.findOne({ _id: orderId });
      if (!contact) {
        await waiting.updateOne({ _id: `${orderId}:${trigger.type}` }, { $setOnInsert: { orderId, trigger, at: now } }, { upsert: true });
        // OrderPlaced may have been handled between our read and the write: look again, or it
        // would never see this one.
        contact = await contacts.findOne({ _id: orderId });
        if (!contact) {
          options.logger.info({ orderId, trigger: trigger.type }, 'waiting for the order\'s OrderPlaced');
          return;
        }
        await sendWaiting(contact, delivery, now);
        return;
      }
      await send(contact, trigger, delivery, now);
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
      await waiting.createIndex({ orderId: 1 });
    },
  };
}

export type Notifications = ReturnType<typeof createNotifications>;
