/**
 * Environment parsing: every `main.ts` declares the variables it reads, parses them once at
 * start-up and passes plain values down. Every bad or missing variable is reported at once, by
 * name, before anything starts.
 */
import { readFileSync } from 'node:fs';

/** How one variable is read. `parse` throws an Error whose message says what is wrong. */
export interface EnvVar<T> {
  readonly parse: (raw: string | undefined) => T;
  readonly describe: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: { variable: string; problem: string }[]) {
    super(`invalid configuration:\n${problems.map((p) => `  ${p.variable}: ${p.problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Parses every declared variable; throws one ConfigError naming all variables that are wrong. */
export function parseEnv<S extends Record<string, EnvVar<unknown>>>(
  schema: S,
  env: Env = process.env,
): { [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never } {
  const out: Record<string, unknown> = {};
  const problems: { variable: string; problem: string }[] = [];
  for (const [name, variable] of Object.entries(schema)) {
    const raw = env[name];
    try {
      out[name] = variable.parse(raw === '' ? undefined : raw);
    } catch (err) {
      problems.push({ variable: name, problem: err instanceof Error ? err.message : String(err) });
    }
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return out as { [K in keyof S]: S[K] extends EnvVar<infer T> ? T : never };
}

function required<T>(raw: string | undefined, fallback: T | undefined, parse: (raw: string) => T): T {
  if (raw === undefined) {
    if (fallback === undefined) throw new Error('is required but not set');
    return fallback;
  }
  return parse(raw);
}

/** A string. Without a default, the variable is required. */
export function str(options: { default?: string; maxLength?: number } = {}): EnvVar<string> {
  return {
    describe: options.default === undefined ? 'string (required)' : `string (default ${options.default})`,
    parse: (raw) =>
      required(raw, options.default, (value) => {
        if (options.maxLength !== undefined && value.length > options.maxLength) {
          throw new Error(`must be at most ${options.maxLength} characters`);
        }
        return value;
      }),
  };
}

/** An optional string: undefined when unset. */
export function optionalStr(): EnvVar<string | undefined> {
  return { describe: 'string (optional)', parse: (raw) => raw };
}

/**
 * A file holding a secret (the `_FILE` convention of container secrets): the value is the file's
 * contents, trimmed, read once at start-up; undefined when unset. An unreadable or empty file is
 * an error naming the path.
 */
export function secretFile(): EnvVar<string | undefined> {
  return {
    describe: 'path of a file holding the value (optional)',
    parse: (raw) => {
      if (raw === undefined) return undefined;
      let text: string;
      try {
        text = readFileSync(raw, 'utf8').trim();
      } catch (err) {
        throw new Error(`cannot read ${raw}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      }
      if (!text) throw new Error(`${raw} is empty`);
      return text;
    },
  };
}

/** An integer within [min, max]. */
export function int(options: { default?: number; min?: number; max?: number } = {}): EnvVar<number> {
  const { min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER } = options;
  return {
    describe: `integer in [${min}, ${max}]${options.default === undefined ? '' : ` (default ${options.default})`}`,
    parse: (raw) =>
      required(raw, options.default, (value) => {
        if (!/^-?\d+$/.test(value.trim())) throw new Error(`must be an integer, got ${JSON.stringify(value)}`);
        const n = Number(value);
        if (n < min || n > max) throw new Error(`must be between ${min} and ${max}, got ${n}`);
        return n;
      }),
  };
}

/** A TCP port; 0 asks the system for a free one. */
export function port(options: { default?: number } = {}): EnvVar<number> {
  return int({ ...options, min: 0, max: 65535 });
}

/** A URL with one of the given protocols, e.g. `nats:` or `mongodb:`. */
export function url(options: { default?: string; protocols: string[] }): EnvVar<string> {
  return {
    describe: `${options.protocols.join('|')} URL${options.default ? ` (default ${options.default})` : ''}`,
    parse: (raw) =>
      required(raw, options.default, (value) => {
        let parsed: URL;
        try {
          parsed = new URL(value);
        } catch {
          throw new Error(`must be a URL, got ${JSON.stringify(value)}`);
        }
        if (!options.protocols.includes(parsed.protocol)) {
          throw new Error(`must use ${options.protocols.join(' or ')}, got ${JSON.stringify(parsed.protocol)}`);
        }
        return value;
      }),
  };
}

/** An optional URL: undefined when unset. */
export function optionalUrl(options: { protocols: string[] }): EnvVar<string | undefined> {
  const inner = url(options);
  return { describe: `${inner.describe} (optional)`, parse: (raw) => (raw === undefined ? undefined : inner.parse(raw)) };
}

/** One of a fixed set of values. */
export function oneOf<T extends string>(values: readonly T[], options: { default?: T } = {}): EnvVar<T> {
  return {
    describe: `one of ${values.join(', ')}`,
    parse: (raw) =>
      required(raw, options.default, (value) => {
        if (!(values as readonly string[]).includes(value)) {
          throw new Error(`must be one of ${values.join(', ')}, got ${JSON.stringify(value)}`);
        }
        return value as T;
      }),
  };
}

/** A comma-separated list of non-empty strings. */
export function list(options: { default?: string[] } = {}): EnvVar<string[]> {
  return {
    describe: 'comma-separated list',
    parse: (raw) =>
      required(raw, options.default, (value) => {
        const items = value.split(',').map((s) => s.trim());
        if (items.some((s) => s === '')) throw new Error(`must be a comma-separated list without empty items`);
        return items;
      }),
  };
}

/** A boolean: true/false, 1/0, yes/no. */
export function bool(options: { default?: boolean } = {}): EnvVar<boolean> {
  return {
    describe: 'boolean',
    parse: (raw) =>
      required(raw, options.default, (value) => {
        const v = value.toLowerCase();
        if (['true', '1', 'yes'].includes(v)) return true;
        if (['false', '0', 'no'].includes(v)) return false;
        throw new Error(`must be true or false, got ${JSON.stringify(value)}`);
      }),
  };
}

/** The identity variables every process reads (gateway and services alike). */
export const authEnv = {
  /** The issuer's JWKS: an http(s) URL, or a file path in development. Required unless AUTH_DISABLED. */
  AUTH_JWKS_URL: optionalStr(),
  /** The `iss` tokens must carry; required with AUTH_JWKS_URL. */
  AUTH_ISSUER: optionalStr(),
  /** The `aud` tokens must carry. */
  AUTH_AUDIENCE: str({ default: 'orderflow' }),
  /** true: no token is checked and every caller is an admin (a warning is logged). Default false. */
  AUTH_DISABLED: bool({ default: false }),
  /** This service's own credential for calls to other services (a token with roles ["service"]). */
  SERVICE_TOKEN: optionalStr(),
  /** A file holding SERVICE_TOKEN (compose: written by the development issuer); SERVICE_TOKEN wins when both are set. */
  SERVICE_TOKEN_FILE: secretFile(),
} satisfies Record<string, EnvVar<unknown>>;

/** The variables every Orderflow service reads; each main.ts adds its own. */
export const commonEnv = {
  ...authEnv,
  /** NATS server(s) with JetStream. */
  NATS_URL: url({ default: 'nats://127.0.0.1:4222', protocols: ['nats:', 'tls:'] }),
  /** NATS user name (with NATS_PASSWORD); unset with NATS_NKEY_SEED or an open server. */
  NATS_USER: optionalStr(),
  /** Password of NATS_USER. */
  NATS_PASSWORD: optionalStr(),
  /** NATS nkey seed (`SU...`) to connect as an nkey user; wins over NATS_USER. */
  NATS_NKEY_SEED: optionalStr(),
  /** MongoDB connection string; when unset, the embedded SQLite engine is used. */
  MONGODB_URI: optionalUrl({ protocols: ['mongodb:', 'mongodb+srv:'] }),
  /**
   * The service's own MongoDB database. Default `<database of MONGODB_URI, or orderflow>_<service>`:
   * every service owns one database, so none can touch another's collections.
   */
  MONGODB_DATABASE: optionalStr(),
  /** Folder of the embedded engine's SQLite files, one per service (used when MONGODB_URI is unset). */
  DATA_DIR: str({ default: './data' }),
  /** Port of the gRPC server; 0 picks a free one. */
  GRPC_PORT: port({ default: 0 }),
  /** Address the gRPC server binds: loopback unless set (compose sets 0.0.0.0). */
  GRPC_HOST: str({ default: '127.0.0.1' }),
  /** Port of the service's GraphQL subgraph (HTTP, path /graphql); 0 picks a free one. */
  GRAPHQL_PORT: port({ default: 0 }),
  /** Address the GraphQL subgraph binds: loopback unless set (compose sets 0.0.0.0). */
  GRAPHQL_HOST: str({ default: '127.0.0.1' }),
  /** pino level: trace, debug, info, warn, error, fatal, silent. */
  LOG_LEVEL: oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const, { default: 'info' }),
  /** Port of the HTTP server answering /metrics (Prometheus) and /healthz; 0 picks a free one, logged at start. */
  METRICS_PORT: port({ default: 0 }),
  /** Address the metrics server binds; loopback unless a scraper elsewhere needs it. */
  METRICS_HOST: str({ default: '127.0.0.1' }),
  /** OTLP/HTTP collector base URL (spans go to <url>/v1/traces, protobuf); unset, no traces are exported. */
  OTEL_EXPORTER_OTLP_ENDPOINT: optionalUrl({ protocols: ['http:', 'https:'] }),
  /** service.name of exported spans; defaults to the service's own name. */
  OTEL_SERVICE_NAME: optionalStr(),
} satisfies Record<string, EnvVar<unknown>>;
