// What buildMessage makes, read back by a full MIME parser (mailparser): headers, both bodies,
// non-ASCII text, long lines, and addresses that must not reach a header.
import { simpleParser } from 'mailparser';
import { describe, expect, it } from 'vitest';
import { buildMessage, parseAddress, quotedPrintable } from './mime.js';

const mail = {
  messageId: '<ord_1:OrderPlaced@orderflow.local>',
  from: 'Orderflow <orders@orderflow.local>',
  to: 'ana@example.com',
  subject: 'Order ord_1 received — EUR 9.00',
  text: 'Hello Ana,\n\nThank you for your order.\n',
  html: '<p>Hello Ana,</p>\n<p>Thank you for your order.</p>',
};
const date = new Date('2026-12-01T10:20:30Z');

describe('buildMessage', () => {
  it('reads back with the sender, recipient, subject, id, date and both bodies it was given', async () => {
    for (const newline of ['\r\n', '\n'] as const) {
      const parsed = await simpleParser(buildMessage(mail, date, newline));
      expect(parsed.from?.value).toEqual([{ name: 'Orderflow', address: 'orders@orderflow.local' }]);
      expect(parsed.to && !Array.isArray(parsed.to) ? parsed.to.value : undefined).toEqual([{ name: '', address: 'ana@example.com' }]);
      expect(parsed.subject).toBe(mail.subject);
      expect(parsed.messageId).toBe(mail.messageId);
      expect(parsed.date?.toISOString()).toBe(date.toISOString());
      expect(parsed.text).toBe(mail.text);
      expect(parsed.html).toBe(mail.html);
    }
  });

  it('keeps every line within 78 characters and carries long non-ASCII text and names intact', async () => {
    const long = {
      ...mail,
      from: 'Äpfel & Birnen GmbH <shop@orderflow.local>',
      subject: `Bestellung ${'überfällig '.repeat(12)}— ${'🍏'.repeat(5)}`,
      text: `${'Grüße aus Köln, = und Tabs\t '.repeat(9)}\nzweite Zeile \nend`,
      html: `<p>${'<b>Straße</b> '.repeat(30)}</p>`,
    };
    const message = buildMessage(long, date);
    for (const line of message.split('\r\n')) expect(line.length).toBeLessThanOrEqual(78);
    const parsed = await simpleParser(message);
    expect(parsed.from?.value).toEqual([{ name: 'Äpfel & Birnen GmbH', address: 'shop@orderflow.local' }]);
    expect(parsed.subject).toBe(long.subject);
    expect(parsed.text).toBe(long.text);
    expect(parsed.html).toBe(long.html);
  });

  it('is the same text for the same e-mail at the same time (a resend overwrites its file with the same bytes)', () => {
    expect(buildMessage(mail, date)).toBe(buildMessage({ ...mail }, date));
  });

  it('refuses an address or message id that would break a header, naming the field', () => {
    expect(() => buildMessage({ ...mail, to: 'ana@example.com\r\nBcc: all@example.com' }, date)).toThrow(/^to: /);
    expect(() => buildMessage({ ...mail, from: 'Orderflow\n <orders@orderflow.local>' }, date)).toThrow(/^from: /);
    expect(() => buildMessage({ ...mail, to: 'not an address' }, date)).toThrow(/^to: "not an address" is not an e-mail address/);
    expect(() => buildMessage({ ...mail, messageId: '<a@b>\r\nX: y' }, date)).toThrow(/^messageId: /);
  });

  it('encodes a subject with a line break instead of starting a header with it', async () => {
    const parsed = await simpleParser(buildMessage({ ...mail, subject: 'Order placed\r\nBcc: all@example.com' }, date));
    expect(parsed.headers.has('bcc')).toBe(false);
    expect(parsed.subject).toContain('Bcc: all@example.com');
  });
});

describe('parseAddress', () => {
  it('reads a bare address, a named one and a quoted name', () => {
    expect(parseAddress('to', 'ana@example.com')).toEqual({ name: '', address: 'ana@example.com' });
    expect(parseAddress('from', 'Orderflow <orders@orderflow.local>')).toEqual({ name: 'Orderflow', address: 'orders@orderflow.local' });
    expect(parseAddress('from', '"Shop, Inc." <s@x.io>')).toEqual({ name: 'Shop, Inc.', address: 's@x.io' });
  });
});

describe('quotedPrintable', () => {
  it('encodes "=", bytes beyond ASCII and a space ending a line, and leaves other printable text as it is', () => {
    expect(quotedPrintable('a=b é \nok', '\n')).toBe('a=3Db =C3=A9=20\nok');
  });
});
