// The bench's settings, read once from the command line: `npm run bench -- --quick --rates 10,20`.
// `--quick` only changes the defaults; a flag given explicitly always wins.

/** Every setting of one bench run. */
export interface BenchSettings {
  /** Small numbers everywhere, for CI and smoke runs. Default false. */
  quick: boolean;
  /** Messages the broker-ceiling phase publishes and then consumes. Default 200,000 (quick 20,000). */
  ceilingMessages: number;
  /** Publishes in flight before awaiting their acks. Default 1,000. */
  ceilingWindow: number;
  /** Payload size of a ceiling message in bytes. Default 200. */
  ceilingBytes: number;
  /** Closed-loop warm-up at `concurrency` before anything is measured, in seconds. Default 180 (quick 2). */
  warmupSeconds: number;
  /** Fixed gRPC placeOrder rates in orders/s. Default 20,50,100 (quick 5,10). */
  rates: number[];
  /** Seconds of each fixed rate. Default 15 (quick 3). */
  rateSeconds: number;
  /** Fixed rate of the GraphQL slice through the gateway in orders/s. Default 10 (quick 5). */
  graphqlRate: number;
  /** Seconds of the GraphQL slice. Default 10 (quick 3). */
  graphqlSeconds: number;
  /** Orders in flight in the closed-loop sustained phases. Default 64 (quick 16). */
  concurrency: number;
  /** Seconds of each sustained phase. Default 20 (quick 5). */
  sustainSeconds: number;
  /** Orders placed between the two sustained phases, so the stores hold them. Default 50,000 (quick 300). */
  preload: number;
  /** Orders in flight while preloading. Default 128 (quick 32). */
  preloadConcurrency: number;
  /** Fixed gRPC rate of the soak, the last phase, which follows every process's memory. Default 50 (quick 5). */
  soakRate: number;
  /** Seconds of the soak; 0 skips it. Default 600 (quick 10). */
  soakSeconds: number;
  /** How long one order may take to end before the bench counts it as lost. Default 60 s. */
  orderTimeoutSeconds: number;
  /** `tsx` (TypeScript loaded at start), `compiled` (dist/), or `auto`: compiled when built. Default auto. */
  runtime: 'auto' | 'tsx' | 'compiled';
  /** Folder that receives `<timestamp>/report.json` and `report.md`. Default bench/reports. */
  out: string;
  /** Keep the temporary NATS store and data folder (their paths are printed). Default false. */
  keep: boolean;
}

interface FlagSpec {
  key: keyof BenchSettings;
  kind: 'int' | 'ints' | 'bool' | 'string';
  full: unknown;
  quick?: unknown;
  help: string;
}

const specs: FlagSpec[] = [
  { key: 'quick', kind: 'bool', full: false, help: 'small numbers everywhere (CI, smoke)' },
  { key: 'ceilingMessages', kind: 'int', full: 200_000, quick: 20_000, help: 'messages of the broker-ceiling phase' },
  { key: 'ceilingWindow', kind: 'int', full: 1_000, help: 'ceiling publishes in flight before awaiting their acks' },
  { key: 'ceilingBytes', kind: 'int', full: 200, help: 'ceiling message size in bytes' },
  { key: 'warmupSeconds', kind: 'int', full: 180, quick: 2, help: 'unmeasured closed-loop warm-up at --concurrency' },
  { key: 'rates', kind: 'ints', full: [20, 50, 100], quick: [5, 10], help: 'fixed gRPC placeOrder rates, orders/s' },
  { key: 'rateSeconds', kind: 'int', full: 15, quick: 3, help: 'seconds of each fixed rate' },
  { key: 'graphqlRate', kind: 'int', full: 10, quick: 5, help: 'fixed rate of the GraphQL slice, orders/s' },
  { key: 'graphqlSeconds', kind: 'int', full: 10, quick: 3, help: 'seconds of the GraphQL slice' },
  { key: 'concurrency', kind: 'int', full: 64, quick: 16, help: 'orders in flight in the sustained phases' },
  { key: 'sustainSeconds', kind: 'int', full: 20, quick: 5, help: 'seconds of each sustained phase' },
  { key: 'preload', kind: 'int', full: 50_000, quick: 300, help: 'orders placed before the second sustained phase' },
  { key: 'preloadConcurrency', kind: 'int', full: 128, quick: 32, help: 'orders in flight while preloading' },
  { key: 'soakRate', kind: 'int', full: 50, quick: 5, help: 'fixed gRPC rate of the memory soak, orders/s' },
  { key: 'soakSeconds', kind: 'int', full: 600, quick: 10, help: 'seconds of the memory soak (0 skips it)' },
  { key: 'orderTimeoutSeconds', kind: 'int', full: 60, help: 'an order not ended by then counts as lost' },
  { key: 'runtime', kind: 'string', full: 'auto', help: 'auto | tsx | compiled (dist/)' },
  { key: 'out', kind: 'string', full: 'bench/reports', help: 'reports folder' },
  { key: 'keep', kind: 'bool', full: false, help: 'keep the temporary NATS store and data folder' },
];

const flagName = (key: string) => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

export function usage(): string {
  const lines = specs.map((s) => {
    const name = `${flagName(s.key)}${s.kind === 'bool' ? '' : ' <value>'}`;
    const dflt = (v: unknown) => (Array.isArray(v) ? v.join(',') : String(v));
    const quick = s.quick === undefined ? '' : `, quick ${dflt(s.quick)}`;
    return `  ${name.padEnd(30)} ${s.help} (default ${dflt(s.full)}${quick})`;
  });
  return `usage: npm run bench -- [flags]\n${lines.join('\n')}`;
}

/** Thrown for a flag the bench does not know or a value it cannot read; the message names it. */
export class FlagError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FlagError';
  }
}

function parseValue(spec: FlagSpec, raw: string): unknown {
  const int = (text: string) => {
    if (!/^\d+$/.test(text.trim())) throw new FlagError(`${flagName(spec.key)} must be a whole number, got ${JSON.stringify(text)}`);
    return Number(text);
  };
  switch (spec.kind) {
    case 'int':
      return int(raw);
    case 'ints':
      return raw.split(',').map(int);
    case 'string':
      if (spec.key === 'runtime' && !['auto', 'tsx', 'compiled'].includes(raw)) throw new FlagError(`--runtime must be auto, tsx or compiled, got ${JSON.stringify(raw)}`);
      return raw;
    case 'bool':
      return true;
  }
}

/** Reads the flags; throws FlagError naming the first bad one. */
export function parseFlags(argv: string[]): BenchSettings {
  const given = new Map<keyof BenchSettings, unknown>();
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [name, inline] = arg.split('=', 2) as [string, string | undefined];
    const spec = specs.find((s) => flagName(s.key) === name);
    if (!spec) throw new FlagError(`unknown flag ${JSON.stringify(arg)}`);
    if (spec.kind === 'bool') {
      given.set(spec.key, true);
      continue;
    }
    const raw = inline ?? argv[++i];
    if (raw === undefined) throw new FlagError(`${name} needs a value`);
    given.set(spec.key, parseValue(spec, raw));
  }
  const quick = given.get('quick') === true;
  const settings = Object.fromEntries(
    specs.map((s) => [s.key, given.has(s.key) ? given.get(s.key) : quick && s.quick !== undefined ? s.quick : s.full]),
  ) as unknown as BenchSettings;
  if (settings.rates.length === 0 || settings.rates.some((r) => r < 1)) throw new FlagError('--rates must list rates of at least 1 order/s');
  for (const key of ['concurrency', 'preloadConcurrency', 'graphqlRate', 'ceilingWindow', 'ceilingBytes', 'ceilingMessages', 'orderTimeoutSeconds', 'soakRate'] as const) {
    if (settings[key] < 1) throw new FlagError(`${flagName(key)} must be at least 1`);
  }
  return settings;
}
