import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { buildMessage, parseAddress } from './mime.js';

/** An e-mail ready to send. `messageId` is deterministic, so a resend after a crash is recognisable; `from` and `to` are `addr@domain` or `Name <addr@domain>`. */
export interface OutgoingMail {
  messageId: string;
  from: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/** Sends e-mail: over SMTP, or into a mailbox folder as .eml files. */
export interface Mailer {
  /** `smtp` or `mailbox`, recorded with each notification. */
  readonly transport: 'smtp' | 'mailbox';
  send(mail: OutgoingMail): Promise<void>;
  close(): void;
}

const fileNameOf = (messageId: string) => `${messageId.replace(/[<>]/g, '').replace(/[^A-Za-z0-9_.@-]/g, '_')}.eml`;

/**
 * SMTP when `smtpUrl` is set (e.g. `smtp://127.0.0.1:2525`), through nodemailer's SMTP client;
 * otherwise .eml files in `mailboxDir`. Both carry the message `buildMessage` makes (mime.ts), so
 * the mailbox holds exactly the MIME message SMTP would carry, line breaks aside (LF in files).
 */
export function createMailer(options: { smtpUrl?: string | undefined; mailboxDir: string }): Mailer {
  if (options.smtpUrl) {
    const transport = nodemailer.createTransport(options.smtpUrl);
    return {
      transport: 'smtp',
      async send(mail) {
        // The envelope is the message's own sender and recipient; nodemailer sends `raw` as it is.
        const envelope = { from: parseAddress('from', mail.from).address, to: [parseAddress('to', mail.to).address] };
        await transport.sendMail({ envelope, raw: buildMessage(mail, new Date()) });
      },
      close: () => transport.close(),
    };
  }
  // The folder is made once, before the first e-mail (again after a failure, or when a write
  // finds it gone), not on every e-mail.
  let folder: Promise<unknown> | undefined;
  const ensureFolder = () =>
    (folder ??= mkdir(options.mailboxDir, { recursive: true }).catch((err: unknown) => {
      folder = undefined;
      throw err;
    }));
  const write = async (file: string, message: string) => {
    await ensureFolder();
    try {
      await writeFile(file, message);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
      folder = undefined;
      await ensureFolder();
      await writeFile(file, message);
    }
  };
  return {
    transport: 'mailbox',
    async send(mail) {
      // The same file name for a resend: the mailbox keeps one copy.
      await write(join(options.mailboxDir, fileNameOf(mail.messageId)), buildMessage(mail, new Date(), '\n'));
    },
    close: () => undefined,
  };
}
