// The saga's timers, derived from state so they survive restarts: each order's view carries the
// deadline of what it awaits (`stepDeadline`, indexed). At start and on every tick, each replica
// asks for the overdue orders and runs CheckDeadline on them; the decider times out an overdue
// step or re-sends an unanswered compensation, and the expected version makes that happen once
// when several replicas fire together. A tick also sweeps orders placed without a view (a crash
// between the append and the view write), so no order waits on a timer nobody knows about.
import type { Logger } from '../platform/index.js';
import type { Orders } from './orders.js';
import type { OrderSecrets, OrderViews } from './views.js';

export interface SagaTimersOptions {
  orders: Orders;
  views: OrderViews;
  secrets: OrderSecrets;
  now: () => Date;
  logger: Logger;
  /** Milliseconds between ticks. */
  intervalMs: number;
  /** Orders handled per query; overdue ones beyond it wait for the next tick. Default 500. */
  batch?: number;
}

export interface SagaTimers {
  /** Runs one tick now (tests and start-up). */
  tick(): Promise<void>;
  stop(): Promise<void>;
}

/** Runs `work` over `ids`, a few at a time, logging (not throwing) each failure. */
async function each(ids: string[], logger: Logger, what: string, work: (id: string) => Promise<void>): Promise<void> {
  const width = 16;
  for (let i = 0; i < ids.length; i += width) {
    await Promise.all(
      ids.slice(i, i + width).map((orderId) =>
        work(orderId).catch((err: unknown) => logger.warn({ err, orderId }, `${what} failed; the next tick tries again`)),
      ),
    );
  }
}

export function startSagaTimers(options: SagaTimersOptions): SagaTimers {
  const { orders, views, secrets, now, logger, intervalMs } = options;
  const batch = options.batch ?? 500;
  let timer: NodeJS.Timeout | undefined;
  let running: Promise<void> | undefined;
  let stopped = false;

  const checkDeadlines = async (at: Date) => {
    const overdue = await views.overdue(at, batch);
    await each(overdue, logger, 'deadline check', async (orderId) => {
      const outcome = await orders.execute(orderId, { type: 'CheckDeadline', now: now() });
      if (outcome.appended.length > 0) {
        logger.info({ orderId, recorded: outcome.appended.map((e) => e.type), status: outcome.state.status }, 'saga deadline passed');
      } else {
        // Not overdue after all (another replica acted, or the view lagged): bring the view up to date.
        await orders.refreshView(orderId);
      }
    });
  };

  // In bulk, since every order passes through here once: orders with a view are just marked; only
  // the (rare) ones without get their view rebuilt from the stream, or their secret dropped.
  const sweepUnchecked = async (at: Date) => {
    // A few rounds per tick at most, so orders that keep failing cannot hold the tick.
    for (let round = 0; round < 10; round++) {
      const unchecked = await secrets.unchecked(at, batch);
      if (unchecked.length === 0) return;
      const viewed = new Set(await views.existing(unchecked));
      await secrets.checked([...viewed]);
      await each(
        unchecked.filter((id) => !viewed.has(id)),
        logger,
        'placement sweep',
        async (orderId) => {
          const { state } = await orders.refreshView(orderId);
          if (state.status !== 'none') {
            logger.warn({ orderId }, 'an order had no view (a crash after placing it?); rebuilt from its stream');
            await secrets.checked([orderId]);
          } else {
            logger.warn({ orderId }, 'an order was never stored (its placement failed); its secret is removed');
            await secrets.remove(orderId);
          }
        },
      );
      if (unchecked.length < batch) return;
    }
  };

  const tick = async () => {
    const at = now();
    try {
      await sweepUnchecked(at);
      await checkDeadlines(at);
    } catch (err) {
      logger.warn({ err }, 'saga timer tick failed; the next tick tries again');
    }
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => {
      running = tick().finally(() => {
        running = undefined;
        schedule();
      });
    }, intervalMs);
    timer.unref();
  };

  running = tick().finally(() => {
    running = undefined;
    schedule();
  });

  return {
    tick,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await running;
    },
  };
}
