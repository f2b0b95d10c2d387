import { DeliverPolicy } from '@nats-io/jetstream';
import { Events, type Nats } from '../services/platform/index.js';

/**
 * A terminal with log lines scrolling above one live line. The live line is written without a
 * newline so it can be rewritten in place; a log line first clears it, then draws it again
 * below itself, so the two never share a line.
 */
export function liveScreen(write: (text: string) => void) {
  let live = '';
  return {
    /** Prints a log line above the live line. */
    log(line: string) {
      write(live ? `\r\x1b[2K${line}\n${live}` : `${line}\n`);
    },
    /** Replaces the live line. */
    show(line: string) {
      live = line;
      write(`\r\x1b[2K${line}`);
    },
    /** Ends the live line with a newline, so what follows starts on a line of its own. */
    release() {
      if (live) write('\n');
      live = '';
    },
  };
}

/** Orders seen since the ticker started. */
export interface OrderCounts {
  inFlight: number;
  completed: number;
  cancelled: number;
}

/**
 * A live line of orders in flight, completed and cancelled, for `npm start`. It reads the order
 * events as they are published (an ordered consumer from "now"), so it costs the services
 * nothing. On a terminal the line is rewritten in place; otherwise a line is printed when the
 * counts change, at most once per `intervalMs`.
 */
export async function startOrderTicker(nats: Nats, write: (line: string) => void, intervalMs = 1_000) {
  const counts: OrderCounts = { inFlight: 0, completed: 0, cancelled: 0 };
  const consumer = await nats.js.consumers.get('ORDERS_EVENTS', { deliver_policy: DeliverPolicy.New });
  const messages = await consumer.consume();
  void (async () => {
    for await (const m of messages) {
      const type = m.headers?.get('Orderflow-Type');
      if (type === Events.OrderPlaced.type) counts.inFlight++;
      else if (type === Events.OrderCompleted.type) (counts.inFlight--, counts.completed++);
      else if (type === Events.OrderCancelled.type) (counts.inFlight--, counts.cancelled++);
    }
  })();
  let shown = '';
  const timer = setInterval(() => {
    // Orders placed before the ticker started can end after it: never show a negative count.
    const line = `orders: ${Math.max(0, counts.inFlight)} in flight, ${counts.completed} completed, ${counts.cancelled} cancelled`;
    if (line !== shown) write(line);
    shown = line;
  }, intervalMs);
  return {
    counts,
    async stop() {
      clearInterval(timer);
      await messages.close();
    },
  };
}
