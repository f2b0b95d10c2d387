/**
 * Micro-bench, one process (not the production shape; `npm run bench` is): event store and outbox
 * relay throughput on this machine: appends per second, and the time from append to the event
 * being stored in JetStream (p50, p99), with the embedded engine (or MongoDB when MONGODB_URI is
 * set). Run: npm run bench:micro.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ConcurrencyError,
  connectNats,
  createEventStore,
  Events,
  encodeMessage,
  ensureStream,
  jetStreamPublisher,
  openDocumentStore,
  silentLogger,
  streams,
  type MessagePublisher,
} from '../../services/platform/index.js';
import { startNatsServer } from '../../services/platform/testing/index.js';

const total = Number(process.env.BENCH_EVENTS ?? 20_000);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 64);
const say = (line: string) => process.stdout.write(`${line}\n`);

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

const server = await startNatsServer();
const dataDir = await mkdtemp(join(tmpdir(), 'orderflow-bench-'));
try {
  const nats = await connectNats({ url: server.url, name: 'bench', logger: silentLogger() });
  for (const spec of streams) await ensureStream(nats.jsm, spec);
  const store = await openDocumentStore({ dataDir, mongodbUri: process.env.MONGODB_URI });
  const appendedAt = new Map<string, number>();
  const latencies: number[] = [];
  const inner = jetStreamPublisher(nats);
  // Measures when JetStream acknowledged each message: the moment it is durable on the broker.
  const publisher: MessagePublisher = {
    async publish(msg) {
      await inner.publish(msg);
      const started = appendedAt.get(msg.id);
      if (started !== undefined) latencies.push(performance.now() - started);
    },
  };
  const events = createEventStore({ store, logger: silentLogger(), publisher });
  await events.start();
  const data = encodeMessage(Events.OrderDelivered, Events.OrderDelivered.codec.fromPartial({ orderId: 'bench' }));

  say(`micro-bench, event store in one process (not the production shape): ${total} appends, ${concurrency} writers, ${store.kind} storage, nats-server ${server.url}`);
  const started = performance.now();
  let next = 0;
  let lastReport = started;
  const writer = async () => {
    for (let i = next++; i < total; i = next++) {
      const id = `e-${i}`;
      appendedAt.set(id, performance.now());
      for (;;) {
        try {
          await events.append(`order-${i % 2_000}`, 'any', [{ type: Events.OrderDelivered.type, data, id }]);
          break;
        } catch (err) {
          // Two writers raced on one stream: retry at the new head, as a caller would.
          if (!(err instanceof ConcurrencyError)) throw err;
        }
      }
      if (performance.now() - lastReport > 1_000) {
        lastReport = performance.now();
        say(`  ${i} appended, ${latencies.length} published`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, writer));
  const appendSeconds = (performance.now() - started) / 1_000;
  await events.relay?.flushed();
  const allSeconds = (performance.now() - started) / 1_000;
  latencies.sort((a, b) => a - b);
  say(`appends:            ${(total / appendSeconds).toFixed(0)}/s (${appendSeconds.toFixed(2)} s)`);
  say(`appended+published: ${(total / allSeconds).toFixed(0)}/s (${allSeconds.toFixed(2)} s)`);
  say(`append -> in JetStream: p50 ${percentile(latencies, 50).toFixed(1)} ms, p99 ${percentile(latencies, 99).toFixed(1)} ms`);
  // Read side of the same commits: every stream read back from the store, one after another.
  const readStarted = performance.now();
  let read = 0;
  for (let s = 0; s < Math.min(total, 2_000); s++) read += (await events.readStream(`order-${s}`)).length;
  const readSeconds = (performance.now() - readStarted) / 1_000;
  if (read !== total) throw new Error(`read back ${read} events, appended ${total}`);
  say(`read back:          ${(total / readSeconds).toFixed(0)} events/s (${readSeconds.toFixed(2)} s, ${Math.min(total, 2_000)} streams)`);
  say(`heap used: ${(process.memoryUsage().heapUsed / 1024 / 1024).toFixed(0)} MiB`);
  await events.close();
  await store.close();
  await nats.nc.drain();
} finally {
  await server.stop();
  await rm(dataDir, { recursive: true, force: true });
}
