import { expect, it } from 'vitest';
import { liveScreen } from '../../scripts/order-ticker.js';

// What a terminal shows: carriage return and "erase line" applied to the text written.
function render(text: string): string[] {
  const lines: string[] = [''];
  for (const part of text.split(/(\r\x1b\[2K|\n)/)) {
    if (part === '\r\x1b[2K') lines[lines.length - 1] = '';
    else if (part === '\n') lines.push('');
    else lines[lines.length - 1] += part;
  }
  return lines;
}

it('keeps log lines and the live orders line on lines of their own', () => {
  let out = '';
  const screen = liveScreen((text) => (out += text));
  screen.log('NATS started');
  screen.show('orders: 1 in flight, 0 completed, 0 cancelled');
  screen.log('12:00:01.000 orders        info  order placed');
  screen.show('orders: 0 in flight, 1 completed, 0 cancelled');
  screen.log('12:00:02.000 orders        info  order completed');
  screen.release();
  screen.log('stopped');
  expect(render(out)).toEqual([
    'NATS started',
    '12:00:01.000 orders        info  order placed',
    '12:00:02.000 orders        info  order completed',
    'orders: 0 in flight, 1 completed, 0 cancelled',
    'stopped',
    '',
  ]);
});
