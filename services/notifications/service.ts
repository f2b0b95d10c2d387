// Starts one notifications replica: runtime, the NotificationService gRPC server and the
// consumers of order, payment and shipping events. main.ts and the tests both start it here.
import { join } from 'node:path';
import {
  commonEnv,
  int,
  optionalStr,
  optionalUrl,
  parseEnv,
  startService,
  str,
  type RunningService,
  type ServiceOverrides,
} from '../platform/index.js';
import { notificationsGrpc } from './grpc.js';
import { notificationHandler, notificationStreams } from './handlers.js';
import { createMailer } from './mailer.js';
import { parseAddress } from './mime.js';
import { createNotifications } from './notifications.js';
import { notificationsSubgraph } from './subgraph.js';

/** The variables notifications reads: the common ones plus where and how mail goes. */
export const notificationsEnv = {
  ...commonEnv,
  /** SMTP server, e.g. `smtp://127.0.0.1:2525`; unset writes .eml files into MAILBOX_DIR instead. */
  SMTP_URL: optionalUrl({ protocols: ['smtp:', 'smtps:'] }),
  /** Folder of the .eml files when SMTP_URL is unset; default `<DATA_DIR>/mailbox`. */
  MAILBOX_DIR: optionalStr(),
  /** Sender of every e-mail. */
  MAIL_FROM: str({ default: 'Orderflow <orders@orderflow.local>', maxLength: 200 }),
  /** Events one replica handles at once per stream. */
  NOTIFICATIONS_CONCURRENCY: int({ default: 8, min: 1, max: 256 }),
};

export type NotificationsService = RunningService;
export type NotificationsOverrides = ServiceOverrides;

export async function bootNotifications(
  env: Record<string, string | undefined>,
  overrides: NotificationsOverrides = {},
): Promise<NotificationsService> {
  const config = parseEnv(notificationsEnv, env);
  parseAddress('MAIL_FROM', config.MAIL_FROM); // a sender no e-mail could carry stops the start, not every send
  const now = overrides.now ?? (() => new Date());
  return startService('notifications', config, overrides, async (runtime) => {
    const mailer = runtime.lifecycle.add(
      'mailer',
      createMailer({ smtpUrl: config.SMTP_URL, mailboxDir: config.MAILBOX_DIR ?? join(config.DATA_DIR, 'mailbox') }),
      async (m) => m.close(),
    );
    const notifications = createNotifications({ store: runtime.store, events: runtime.events, mailer, from: config.MAIL_FROM, logger: runtime.logger });
    await notifications.createIndexes();
    const grpc = await runtime.serveGrpc([notificationsGrpc(notifications, runtime.logger)], { port: config.GRPC_PORT, host: config.GRPC_HOST });
    const handler = notificationHandler(notifications, now);
    for (const { stream, durable } of notificationStreams) {
      await runtime.consume({ stream, consumer: { durable }, handler, concurrency: config.NOTIFICATIONS_CONCURRENCY });
    }
    runtime.logger.info({ grpcPort: grpc.port, transport: mailer.transport }, 'notifications started');
    return grpc;
  }, notificationsSubgraph);
}
