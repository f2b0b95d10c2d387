import { describe, expect, it } from 'vitest';
import { CancellationReason } from '../../generated/orderflow/orders/v1/order.js';
import { formatMoney, render, type OrderContact } from './templates.js';

const contact: OrderContact = {
  orderId: 'ord_42',
  customerId: 'cus_1',
  email: 'ada@example.com',
  items: [
    { productId: 'TEA', name: 'Green <tea>', quantity: 2, unitPrice: { amountMinor: 450, currency: 'EUR' }, lineTotal: { amountMinor: 900, currency: 'EUR' } },
  ],
  total: { amountMinor: 900, currency: 'EUR' },
};

describe('formatMoney', () => {
  it('shows minor units with the currency digits', () => {
    expect(formatMoney({ amountMinor: 123456, currency: 'EUR' })).toBe('EUR 1234.56');
    expect(formatMoney({ amountMinor: 5, currency: 'USD' })).toBe('USD 0.05');
    expect(formatMoney({ amountMinor: 1500, currency: 'JPY' })).toBe('JPY 1500');
  });
});

describe('render', () => {
  it('names the order and its amounts in the subject and both bodies, escaping HTML', () => {
    const mail = render(contact, { type: 'OrderPlaced' });
    expect(mail.subject).toBe('Order ord_42 received — EUR 9.00');
    expect(mail.text).toContain('2 × Green <tea> (EUR 4.50) = EUR 9.00');
    expect(mail.html).toContain('Green &lt;tea&gt;');
    expect(mail.html).not.toContain('<tea>');
  });

  it('gives the cancellation reason as its category in words', () => {
    const mail = render(contact, { type: 'OrderCancelled', reason: CancellationReason.CANCELLATION_REASON_OUT_OF_STOCK });
    expect(mail.subject).toBe('Order ord_42 cancelled');
    expect(mail.text).toContain('because some items are out of stock');
  });

  it.each([
    [{ type: 'OrderCompleted' } as const, 'Order ord_42 confirmed', 'EUR 9.00'],
    [{ type: 'PaymentDeclined', reason: 'card declined: insufficient funds' } as const, 'Payment for order ord_42 declined', 'insufficient funds'],
    [{ type: 'ShipmentDispatched', trackingNumber: 'OFX123' } as const, 'Order ord_42 is on its way', 'OFX123'],
    [{ type: 'ShipmentDelivered' } as const, 'Order ord_42 delivered', 'delivered'],
  ])('renders %o', (trigger, subject, inBody) => {
    const mail = render(contact, trigger);
    expect(mail.subject).toBe(subject);
    expect(mail.text).toContain(inBody);
    expect(mail.html).toContain(inBody);
  });
});
