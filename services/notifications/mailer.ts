import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import nodemailer from 'nodemailer';

/** An e-mail ready to send. `messageId` is deterministic, so a resend after a crash is recognisable. */
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
 * SMTP when `smtpUrl` is set (e.g. `smtp://127.0.0.1:2525`); otherwise .eml files in `mailboxDir`.
 * Both go through nodemailer's message builder, so the mailbox holds exactly the MIME message SMTP
 * would carry.
 */
export function createMailer(options: { smtpUrl?: string | undefined; mailboxDir: string }): Mailer {
  if (options.smtpUrl) {
    const transport = nodemailer.createTransport(options.smtpUrl);
    return {
      transport: 'smtp',
      async send(mail) {
        await transport.sendMail(mail);
      },
      close: () => transport.close(),
    };
  }
  const transport = nodemailer.createTransport({ streamTransport: true, buffer: true, newline: 'unix' });
  // The folder is made once, before the first e-mail (again after a failure, or when a write
  // finds it gone), not on every e-mail.
  let folder: Promise<unknown> | undefined;
  const ensureFolder = () =>
    (folder ??= mkdir(options.mailboxDir, { recursive: true }).catch((err: unknown) => {
      folder = undefined;
      throw err;
    }));
  const write = async (file: string, message: Buffer) => {
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
      const info = await transport.sendMail(mail);
      // The same file name for a resend: the mailbox keeps one copy.
      await write(join(options.mailboxDir, fileNameOf(mail.messageId)), info.message as Buffer);
    },
    close: () => transport.close(),
  };
}
