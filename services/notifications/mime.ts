// The MIME message of an e-mail (RFC 5322 with RFC 2045-2047): headers, then a
// multipart/alternative body with the plain-text and the HTML part, both UTF-8 in
// quoted-printable. Built directly into one string: the only shape our e-mails take, at a small
// fraction of the cost of a general message composer (which streams every part through
// transforms). Header values never carry a raw line break: text with anything but printable
// ASCII becomes an encoded word, and addresses are checked.
import { createHash } from 'node:crypto';
import type { OutgoingMail } from './mailer.js';

/** An address as it may appear in From or To: an optional display name and the address itself. */
export interface MailAddress {
  name: string;
  address: string;
}

// Local part and domain without spaces, angle brackets, quotes, commas or control characters.
const addrSpec = /^[^\s<>"(),;:\\@\x00-\x1f\x7f]+@[^\s<>"(),;:\\@\x00-\x1f\x7f]+$/;

/** Reads `addr@domain` or `Name <addr@domain>`; throws naming `field` when it is neither. */
export function parseAddress(field: string, value: string): MailAddress {
  const trimmed = value.trim();
  const named = /^(.*?)\s*<([^<>]*)>$/.exec(trimmed);
  const name = named ? named[1]!.replace(/^"(.*)"$/, '$1') : '';
  const address = named ? named[2]! : trimmed;
  if (!addrSpec.test(address) || /[\x00-\x1f\x7f]/.test(value)) {
    throw new TypeError(`${field}: ${JSON.stringify(value)} is not an e-mail address (addr@domain or Name <addr@domain>)`);
  }
  return { name, address };
}

/** The message as text, lines ending in `newline` (CRLF on the wire; LF in a mailbox file). */
export function buildMessage(mail: OutgoingMail, date: Date, newline: '\r\n' | '\n' = '\r\n'): string {
  const from = parseAddress('from', mail.from);
  const to = parseAddress('to', mail.to);
  if (!/^<[^\s<>]+@[^\s<>]+>$/.test(mail.messageId)) throw new TypeError(`messageId: ${JSON.stringify(mail.messageId)} is not <id@domain>`);
  // Derived from the content, so a resend of the same e-mail is byte-for-byte the same body.
  const boundary = `----=_orderflow_${createHash('sha256').update(mail.text).update('\0').update(mail.html).digest('hex').slice(0, 32)}`;
  const lines = [
    `From: ${formatAddress(from, newline)}`,
    `To: ${formatAddress(to, newline)}`,
    `Subject: ${headerText(mail.subject, newline)}`,
    `Message-ID: ${mail.messageId}`,
    `Date: ${date.toUTCString().replace('GMT', '+0000')}`,
    'MIME-Version: 1.0',
    `Content-Type: multipart/alternative;${newline} boundary="${boundary}"`,
    '',
    `--${boundary}`,
    'Content-Type: text/plain; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    quotedPrintable(mail.text, newline),
    `--${boundary}`,
    'Content-Type: text/html; charset=utf-8',
    'Content-Transfer-Encoding: quoted-printable',
    '',
    quotedPrintable(mail.html, newline),
    `--${boundary}--`,
    '',
  ];
  return lines.join(newline);
}

function formatAddress({ name, address }: MailAddress, newline: string): string {
  if (name === '') return address;
  // A name of plain words stays readable; one with specials is quoted; anything else is an encoded word.
  const shown = /^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]+$/.test(name) ? name : /^[\x20-\x7e]+$/.test(name) ? `"${name.replace(/(["\\])/g, '\\$1')}"` : encodedWords(name, newline);
  // Folded before the address when the line would grow past 78 characters.
  const lastLine = shown.slice(shown.lastIndexOf('\n') + 1);
  return lastLine.length + address.length + 9 > 78 ? `${shown}${newline} <${address}>` : `${shown} <${address}>`;
}

/** A header's free text: as it is when it is short printable ASCII, else RFC 2047 encoded words. */
function headerText(text: string, newline: string): string {
  return /^[\x20-\x7e]*$/.test(text) && text.length <= 900 ? text : encodedWords(text, newline);
}

/**
 * `=?UTF-8?B?…?=` words of at most 75 characters, folded onto continuation lines. Words split
 * between characters, never inside one's UTF-8 bytes.
 */
function encodedWords(text: string, newline: string): string {
  const words: string[] = [];
  let chunk = '';
  for (const char of text) {
    if (Buffer.byteLength(chunk + char) > 39) {
      words.push(chunk);
      chunk = '';
    }
    chunk += char;
  }
  if (chunk !== '') words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join(`${newline} `);
}

/**
 * Quoted-printable (RFC 2045 6.7) of UTF-8 text: line breaks stay hard breaks, lines are cut
 * with soft breaks at 76 characters, and a space or tab before a break is encoded.
 */
export function quotedPrintable(text: string, newline: '\r\n' | '\n'): string {
  return text
    .split(/\r?\n/)
    .map((line) => softWrap(encodeLine(line), newline))
    .join(newline);
}

function encodeLine(line: string): string {
  let out = '';
  const bytes = Buffer.from(line, 'utf8');
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i]!;
    const last = i === bytes.length - 1;
    if ((b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last)) out += String.fromCharCode(b);
    else out += `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** Cuts an encoded line into pieces of at most 75 characters plus `=`, never inside an `=XX`. */
function softWrap(encoded: string, newline: string): string {
  if (encoded.length <= 76) return encoded;
  const pieces: string[] = [];
  let start = 0;
  while (encoded.length - start > 76) {
    let end = start + 75;
    // Step back over a cut `=XX`.
    if (encoded[end - 1] === '=') end -= 1;
    else if (encoded[end - 2] === '=') end -= 2;
    pieces.push(`${encoded.slice(start, end)}=`);
    start = end;
  }
  pieces.push(encoded.slice(start));
  return pieces.join(newline);
}
