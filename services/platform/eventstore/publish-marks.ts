// Marking commits published, in batches: the relay hands over what it published, and the marks
// go out together, at once for a commit whose secret must leave the store, within `delayMs` for
// the rest. A crash before a mark only means a re-publish, which JetStream de-duplicates.
import type { Logger } from '../logging.js';
import type { Collection } from '../storage/index.js';
import type { CommitDocument } from './types.js';

export interface PublishMarksOptions {
  /** How long a plain commit's mark may wait for others; 0 marks each hand-over at once. */
  delayMs: number;
  /** Waiting marks that are written at once, whatever the delay. */
  maxWaiting: number;
}

const carriesSecret = (c: CommitDocument) => c.messages.some((m) => m.sensitive && !m.scrubbed);

export class PublishMarks {
  #waiting: CommitDocument[] = [];
  #timer: NodeJS.Timeout | undefined;
  #writing: Promise<void> = Promise.resolve();

  constructor(
    private readonly commits: Collection<CommitDocument>,
    private readonly logger: Logger,
    private readonly options: PublishMarksOptions,
  ) {}

  /**
   * Marks commits published: at once those carrying a secret to blank, the others within
   * `delayMs`, together with whatever else was published meanwhile.
   */
  async add(published: CommitDocument[]): Promise<void> {
    const secret = published.filter(carriesSecret);
    if (secret.length > 0) await this.#write(secret);
    this.#waiting.push(...published.filter((c) => !carriesSecret(c)));
    if (this.options.delayMs <= 0 || this.#waiting.length >= this.options.maxWaiting) await this.flush();
    else this.#timer ??= setTimeout(() => void this.flush().catch(() => undefined), this.options.delayMs);
  }

  /**
   * Writes the waiting marks, after any write of them in progress. A failed write leaves its
   * commits unmarked in the store: the sweep publishes them again, which JetStream de-duplicates.
   */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#waiting.splice(0);
    const write = this.#writing.then(async () => {
      if (batch.length === 0) return;
      try {
        await this.#write(batch);
      } catch (err) {
        this.logger.warn({ err, commits: batch.length }, 'marking commits published failed; the sweep will publish them again');
      }
    });
    this.#writing = write;
    return write;
  }

  /**
   * Marks commits published. Secrets needed only in flight leave the store in the same write, once
   * they are on the broker. Otherwise only a commit still unpublished is marked, so one that
   * another replica's sweep published as well keeps its first publishedAt. A lone commit, the
   * usual case (each append wakes the relay), is found by an equality on its id, the cheapest
   * lookup on any server (FerretDB answers an \$in on _id by scanning the collection).
   */
  async #write(published: CommitDocument[]): Promise<void> {
    const mark = { published: true, publishedAt: new Date() };
    const plain: string[] = [];
    for (const c of published) {
      if (carriesSecret(c)) {
        const messages = c.messages.map((m) => (m.sensitive ? { ...m, data: '', scrubbed: true } : m));
        await this.commits.updateOne({ _id: c._id }, { $set: { ...mark, messages } });
      } else {
        plain.push(c._id);
      }
    }
    if (plain.length === 1) await this.commits.updateOne({ _id: plain[0]!, published: false }, { $set: mark });
    else if (plain.length > 1) await this.commits.updateMany({ _id: { $in: plain }, published: false }, { $set: mark });
  }
}
