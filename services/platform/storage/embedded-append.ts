// How the embedded engine appends a write to its collection file. nedb appends each write with
// fs.promises.appendFile: open, write, close, each a trip through libuv's thread pool, and a
// collection's writes wait for one another. Here the file stays open and each write is one
// write(2): the line is in the kernel when the write is acknowledged, so a killed process loses
// nothing it acknowledged — the same guarantee as before (neither fsyncs), at a fraction of the
// latency. Compaction rewrites the file and renames it over the old one, so the descriptor is
// dropped then and the next write opens the new file.
import { closeSync, openSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Datastore } from './embedded-collection.js';

const model = createRequire(import.meta.url)('@seald-io/nedb/lib/model.js') as { serialize(doc: unknown): string };

/** The part of nedb's Persistence this replaces (`lib/persistence.js`, @seald-io/nedb 4). */
interface Persistence {
  filename: string;
  inMemoryOnly: boolean;
  modes: { fileMode: number };
  /** Async in nedb 4 (an identity unless a hook is configured). */
  afterSerialization(line: string): Promise<string>;
  persistNewStateAsync(docs: unknown[]): Promise<void>;
}

/** Makes `datastore` append through a file descriptor it keeps open; call before it loads. */
export function appendThroughOpenFile(datastore: Datastore): void {
  const persistence = (datastore as unknown as { persistence: Persistence }).persistence;
  if (typeof persistence?.persistNewStateAsync !== 'function') throw new Error('unexpected nedb version: no persistNewStateAsync');
  let fd: number | undefined;
  const release = () => {
    if (fd === undefined) return;
    closeSync(fd);
    fd = undefined;
  };
  // Emitted right after the compacted file replaced the old one, before any other write runs.
  (datastore as unknown as { on(event: string, listener: () => void): void }).on('compaction.done', release);
  persistence.persistNewStateAsync = async (docs) => {
    if (persistence.inMemoryOnly || docs.length === 0) return;
    let lines = '';
    for (const doc of docs) lines += `${await persistence.afterSerialization(model.serialize(doc))}\n`;
    fd ??= openSync(persistence.filename, 'a', persistence.modes.fileMode);
    const buffer = Buffer.from(lines, 'utf8');
    for (let written = 0; written < buffer.length; ) written += writeSync(fd, buffer, written);
  };
}
