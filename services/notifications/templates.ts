// The e-mails, one per trigger: subject, plain text and HTML, rendered from the order's contact
// record and the triggering event. Pure: no I/O, no clock.
import type { Money, PricedItem } from '../../generated/orderflow/common/v1/common.js';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { currencyMinorDigits } from '../platform/index.js';

/** What the service remembers of an order from its OrderPlaced, to address later e-mails. */
export interface OrderContact {
  orderId: string;
  customerId: string;
  email: string;
  items: PricedItem[];
  total: Money;
}

/** The events that send an e-mail, with what each template needs from its event. */
export type Trigger =
  | { type: 'OrderPlaced' }
  | { type: 'OrderCompleted' }
  // Only the category: the event's `detail` may be the free text a caller wrote when cancelling
  // (CancelOrder's reason), and a customer's e-mail must not carry text anyone could write. The
  // detail stays in the order's history for operators.
  | { type: 'OrderCancelled'; reason: CancellationReason }
  | { type: 'PaymentDeclined'; reason: string }
  | { type: 'ShipmentDispatched'; trackingNumber: string }
  | { type: 'ShipmentDelivered' };

export interface RenderedMail {
  subject: string;
  text: string;
  html: string;
}

/** `EUR 12.34`: minor units shown with the currency's own number of digits. */
export function formatMoney(money: Money | undefined): string {
  if (!money) return '';
  const digits = currencyMinorDigits[money.currency] ?? 2;
  const sign = money.amountMinor < 0 ? '-' : '';
  const abs = Math.abs(money.amountMinor);
  const major = Math.floor(abs / 10 ** digits);
  const minor = digits > 0 ? `.${String(abs % 10 ** digits).padStart(digits, '0')}` : '';
  return `${money.currency} ${sign}${major}${minor}`;
}

const escapeHtml = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const reasonText: Record<CancellationReason, string> = {
  [CancellationReason.CANCELLATION_REASON_UNSPECIFIED]: 'it could not be completed',
  [CancellationReason.CANCELLATION_REASON_OUT_OF_STOCK]: 'some items are out of stock',
  [CancellationReason.CANCELLATION_REASON_PAYMENT_DECLINED]: 'the payment was declined',
  [CancellationReason.CANCELLATION_REASON_PAYMENT_FAILED]: 'the payment could not be processed',
  [CancellationReason.CANCELLATION_REASON_SHIPMENT_FAILED]: 'we cannot ship to the address given',
  [CancellationReason.CANCELLATION_REASON_STEP_TIMED_OUT]: 'it timed out',
  [CancellationReason.CANCELLATION_REASON_CUSTOMER_REQUESTED]: 'you asked us to cancel it',
  [CancellationReason.UNRECOGNIZED]: 'it could not be completed',
};

/** Headline and paragraphs of each trigger, as plain text; both bodies are built from them. */
function content(contact: OrderContact, trigger: Trigger): { subject: string; lines: string[] } {
  const order = contact.orderId;
  const total = formatMoney(contact.total);
  switch (trigger.type) {
    case 'OrderPlaced':
      return {
        subject: `Order ${order} received — ${total}`,
        lines: [
          `Thank you for your order ${order}.`,
          ...contact.items.map((i) => `${i.quantity} × ${i.name} (${formatMoney(i.unitPrice)}) = ${formatMoney(i.lineTotal)}`),
          `Total: ${total}`,
        ],
      };
    case 'OrderCompleted':
      return { subject: `Order ${order} confirmed`, lines: [`Your order ${order} is confirmed and paid: ${total}.`, 'We will tell you when it ships.'] };
    case 'OrderCancelled':
      return {
        subject: `Order ${order} cancelled`,
        lines: [
          `Your order ${order} (${total}) was cancelled because ${reasonText[trigger.reason]}.`,
          'Any amount charged has been refunded.',
        ],
      };
    case 'PaymentDeclined':
      return {
        subject: `Payment for order ${order} declined`,
        lines: [`The payment of ${total} for order ${order} was declined: ${trigger.reason}.`],
      };
    case 'ShipmentDispatched':
      return {
        subject: `Order ${order} is on its way`,
        lines: [`Your order ${order} has been dispatched.`, `Tracking number: ${trigger.trackingNumber}`],
      };
    case 'ShipmentDelivered':
      return { subject: `Order ${order} delivered`, lines: [`Your order ${order} has been delivered. Enjoy!`] };
    default: {
      const unknown: never = trigger;
      throw new Error(`no template for ${JSON.stringify(unknown)}`);
    }
  }
}

/** Renders the e-mail of a trigger. Every interpolated value is HTML-escaped in the HTML body. */
export function render(contact: OrderContact, trigger: Trigger): RenderedMail {
  const { subject, lines } = content(contact, trigger);
  const text = `${lines.join('\n')}\n\n— Orderflow\n`;
  const html =
    '<!doctype html><html><body style="font-family:sans-serif">' +
    lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('') +
    '<p>— Orderflow</p></body></html>';
  return { subject, text, html };
}
