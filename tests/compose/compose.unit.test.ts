import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { subgraphUrlVariable, type SubgraphName } from '../../gateway/config.js';
import { gatewayProcess, serviceTable } from '../../scripts/services.js';
import { passwordVariableOf } from '../../services/platform/index.js';

// No Docker engine runs in CI, so the compose file is checked for what can be checked without
// one: it parses (with its YAML merge keys), and it wires every service the way the code expects.
interface ComposeService {
  build?: string;
  profiles?: string[];
  volumes?: string[];
  image?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8');
const compose = parse(read('docker-compose.yml'), { merge: true }) as {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
};

describe('docker-compose.yml', () => {
  it('runs MongoDB as a replica set and NATS with JetStream, both with health checks', () => {
    expect(compose.services.mongo?.command).toEqual(expect.arrayContaining(['--replSet', 'rs0']));
    expect(compose.services.mongo?.healthcheck?.test.join(' ')).toContain('rs.initiate');
    expect(compose.services.nats?.command).toContain('-js');
    expect(compose.services.nats?.healthcheck).toBeDefined();
  });

  it.each(serviceTable.map((s) => s.name))('runs the %s service from the one image, on MongoDB and NATS', (name) => {
    const service = compose.services[name];
    expect(service, `compose service ${name}`).toBeDefined();
    expect(service?.build).toBe('.');
    expect(service?.command).toEqual([name]);
    expect(service?.environment?.MONGODB_URI).toMatch(/^mongodb:\/\/mongo:27017\/\w+\?replicaSet=rs0$/);
    expect(service?.environment?.NATS_URL).toBe('nats://nats:4222');
    expect(service?.depends_on?.mongo?.condition).toBe('service_healthy');
    expect(service?.depends_on?.nats?.condition).toBe('service_healthy');
    // Reached only inside the compose network: nothing of a service is published on the host.
    expect(service?.ports).toBeUndefined();
  });

  it('runs the gateway on port 4000 over every service\'s subgraph', () => {
    const gateway = compose.services.gateway;
    expect(gateway?.command).toEqual(['gateway']);
    expect(gateway?.ports).toEqual(['4000:4000']);
    expect(gateway?.environment?.NATS_URL).toBe('nats://nats:4222');
    for (const { name } of serviceTable) {
      const port = compose.services[name]?.environment?.GRAPHQL_PORT;
      expect(gateway?.environment?.[subgraphUrlVariable(name as SubgraphName)]).toBe(`http://${name}:${port}/graphql`);
      expect(gateway?.depends_on?.[name]).toBeDefined();
    }
  });

  it('runs NATS with the generated users and gives each process its own user and password variable', () => {
    expect(compose.services.nats?.command).toEqual(expect.arrayContaining(['-c', '/etc/nats/orderflow-auth.conf']));
    expect(compose.services.nats?.volumes).toContain('./deploy/nats/orderflow-auth.conf:/etc/nats/orderflow-auth.conf:ro');
    for (const name of [...serviceTable.map((s) => s.name), 'gateway']) {
      const env = compose.services[name]?.environment;
      expect(env?.NATS_USER, name).toBe(name);
      expect(env?.NATS_PASSWORD, name).toMatch(new RegExp(`^\\$\\{${passwordVariableOf(name)}:\\?`));
      expect(compose.services.nats?.environment?.[passwordVariableOf(name)], name).toBe(env?.NATS_PASSWORD);
      expect(compose.services[name]?.depends_on?.['nats-provision']?.condition, name).toBe('service_completed_successfully');
    }
    expect(compose.services['nats-provision']?.environment?.NATS_USER).toBe('admin');
  });

  it('publishes only the gateway and the mail catcher\'s web UI on the host (operators\' UIs only under their profile)', () => {
    const published = Object.entries(compose.services)
      .filter(([, s]) => !(s as { profiles?: string[] }).profiles?.length)
      .flatMap(([name, s]) => (s.ports ?? []).map((p) => `${name} ${p}`));
    expect(published.sort()).toEqual(['gateway 4000:4000', 'mailpit 8025:8025']);
  });

  it('pins a current NATS release by version, the one the CI\'s MongoDB leg builds', () => {
    const tools = readFileSync(new URL('../../scripts/tools.sh', import.meta.url), 'utf8');
    const built = /^NATS_SERVER_VERSION=v(\S+)$/m.exec(tools)?.[1];
    expect(built).toBeDefined();
    expect(compose.services.nats?.image).toBe(`nats:${built}-alpine`);
  });

  it('builds an image that runs the compiled service entry point as a non-root user', () => {
    expect(existsSync(new URL('../../Dockerfile', import.meta.url))).toBe(true);
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    const final = dockerfile.slice(dockerfile.lastIndexOf('\nFROM '));
    expect(final).toContain('ENTRYPOINT ["node", "dist/scripts/service.js"]');
    expect(final).toMatch(/^USER node$/m);
    expect(final).not.toContain('tsx');
    // The runtime stage copies the build output, not sources or tests.
    expect(final).toMatch(/^COPY --from=build \/app\/dist \.\/dist$/m);
    expect(final).not.toMatch(/^COPY (services|tests|gateway|scripts) /m);
  });

  it('checks tokens against the issuer on the compose network, each service calling with its own token file', () => {
    const issuer = compose.services.issuer;
    expect(issuer?.ports).toBeUndefined();
    expect(issuer?.environment?.AUTH_DIR).toBe('/auth');
    expect(issuer?.volumes).toContain('auth:/auth');
    expect(compose.volumes).toHaveProperty('auth');
    const jwks = `${issuer?.environment?.AUTH_ISSUER}/.well-known/jwks.json`;
    expect(issuer?.healthcheck?.test.join(' ')).toContain(`127.0.0.1:${issuer?.environment?.ISSUER_PORT}/.well-known/jwks.json`);
    for (const name of [...serviceTable.map((s) => s.name), gatewayProcess.name]) {
      const service = compose.services[name];
      expect(service?.environment?.AUTH_JWKS_URL, name).toBe(jwks);
      expect(service?.environment?.AUTH_ISSUER, name).toBe(issuer?.environment?.AUTH_ISSUER);
      expect(service?.environment?.AUTH_DISABLED, name).toBeUndefined();
      expect(service?.depends_on?.issuer?.condition, name).toBe('service_healthy');
    }
    for (const { name } of serviceTable) {
      expect(compose.services[name]?.environment?.SERVICE_TOKEN_FILE, name).toBe(`/auth/tokens/${name}`);
      expect(compose.services[name]?.volumes, name).toContain('auth:/auth:ro');
    }
  });

  it('starts every one-off and helper container from a script the build compiles', () => {
    for (const [name, service] of Object.entries(compose.services)) {
      const entrypoint = (service as { entrypoint?: string[] }).entrypoint;
      if (!entrypoint || service.build !== '.') continue;
      expect(entrypoint[0], name).toBe('node');
      const script = /^dist\/(.+)\.js$/.exec(entrypoint[1] ?? '')?.[1];
      expect(script, `${name} runs ${entrypoint[1]}`).toBeDefined();
      expect(existsSync(new URL(`../../${script}.ts`, import.meta.url)), `${script}.ts`).toBe(true);
    }
  });

  it('compiles every folder the processes load code from, and no tests', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    for (const folder of ['generated', 'services', 'scripts', 'gateway']) {
      expect(dockerfile, `COPY ${folder}`).toMatch(new RegExp(`^COPY ${folder} \\./${folder}$`, 'm'));
    }
    const build = JSON.parse(
      readFileSync(new URL('../../tsconfig.build.json', import.meta.url), 'utf8').replace(/^\s*\/\/.*$/gm, ''),
    ) as { exclude: string[] };
    expect(build.exclude).toContain('**/*.test.ts');
  });
});

describe('docker-compose.yml, profile observability', () => {
  const profiled = Object.entries(compose.services).filter(([, s]) => s.profiles?.includes('observability'));
  const processes = [...serviceTable.map((s) => s.name), gatewayProcess.name];

  it('adds a collector, Jaeger, Prometheus and Grafana, each image pinned to a version', () => {
    expect(profiled.map(([name]) => name).sort()).toEqual(['grafana', 'jaeger', 'otel-collector', 'prometheus']);
    for (const [name, service] of profiled) {
      // A tag with digits, not latest or a bare name: the stack does not change under the operator.
      expect(service.image, name).toMatch(/^[\w./-]+:v?\d+\.\d+(\.\d+)?$/);
    }
    expect(compose.services['otel-collector']?.image).toMatch(/^otel\/opentelemetry-collector-contrib:/);
    expect(compose.services.jaeger?.image).toMatch(/^jaegertracing\/all-in-one:/);
    expect(compose.services.jaeger?.ports).toEqual(['16686:16686']);
    expect(compose.services.prometheus?.ports).toEqual(['9090:9090']);
    expect(compose.services.grafana?.ports).toEqual(['3000:3000']);
  });

  it('mounts configuration files that exist in the repository', () => {
    for (const [name, service] of profiled) {
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!;
        if (source.startsWith('./')) expect(existsSync(new URL(`../../${source.slice(2)}`, import.meta.url)), `${name} mounts ${source}`).toBe(true);
      }
    }
  });

  it.each(processes)('serves metrics of %s on the compose network and sends its spans to the collector', (name) => {
    const env = compose.services[name]?.environment;
    expect(env?.METRICS_HOST).toBe('0.0.0.0');
    expect(env?.METRICS_PORT).toMatch(/^\d+$/);
    expect(env?.OTEL_EXPORTER_OTLP_ENDPOINT).toBe('http://otel-collector:4318');
    // Metrics stay inside the compose network: nothing of the process is published.
    expect(compose.services[name]?.ports ?? []).not.toEqual(expect.arrayContaining([expect.stringMatching(new RegExp(`:${env?.METRICS_PORT}$`))]));
  });

  it('has the collector receive OTLP over HTTP and export to Jaeger', () => {
    const collector = parse(read('ops/otel-collector.yaml')) as {
      receivers: { otlp: { protocols: { http: { endpoint: string } } } };
      exporters: Record<string, { endpoint: string }>;
      service: { pipelines: { traces: { receivers: string[]; exporters: string[] } } };
    };
    expect(collector.receivers.otlp.protocols.http.endpoint).toBe('0.0.0.0:4318');
    expect(collector.service.pipelines.traces.receivers).toEqual(['otlp']);
    const [exporter] = collector.service.pipelines.traces.exporters;
    expect(collector.exporters[exporter!]?.endpoint).toBe('jaeger:4317');
  });

  it('has Prometheus scrape every process at its METRICS_PORT', () => {
    const prometheus = parse(read('ops/prometheus/prometheus.yml')) as {
      scrape_configs: { job_name: string; static_configs: { targets: string[] }[] }[];
    };
    const targets = Object.fromEntries(prometheus.scrape_configs.map((c) => [c.job_name, c.static_configs.flatMap((s) => s.targets)]));
    for (const name of processes) {
      expect(targets[name], `scrape job ${name}`).toEqual([`${name}:${compose.services[name]?.environment?.METRICS_PORT}`]);
    }
  });

  it('provisions a dashboard whose every query names a metric the code defines', () => {
    const dir = new URL('../../ops/grafana/dashboards/', import.meta.url);
    const dashboards = readdirSync(dir).filter((f) => f.endsWith('.json'));
    expect(dashboards).toEqual(['orderflow.json']);
    const dashboard = JSON.parse(read('ops/grafana/dashboards/orderflow.json')) as { panels: { title: string; targets: { expr: string }[] }[] };
    const queried = new Set(dashboard.panels.flatMap((p) => p.targets.flatMap((t) => t.expr.match(/orderflow_\w+/g) ?? [])));
    expect(queried.size).toBeGreaterThan(10);
    const source = sourceFiles(['services', 'gateway']).map((f) => readFileSync(f, 'utf8')).join('\n');
    for (const name of queried) {
      // Histograms are queried through their _bucket/_count/_sum series.
      const base = name.replace(/_(bucket|count|sum)$/, '');
      expect(source.includes(`'${name}'`) || source.includes(`'${base}'`), `metric ${name} is defined in the code`).toBe(true);
    }
    const datasource = parse(read('ops/grafana/provisioning/datasources/prometheus.yml')) as { datasources: { uid: string; url: string }[] };
    expect(datasource.datasources[0]).toMatchObject({ uid: 'prometheus', url: 'http://prometheus:9090' });
  });
});

/** Every non-test TypeScript file under the given folders of the repository. */
function sourceFiles(folders: string[]): string[] {
  const root = new URL('../../', import.meta.url);
  return folders.flatMap((folder) =>
    (readdirSync(new URL(folder, root), { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
      .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.includes('.test.'))
      .map((e) => `${e.parentPath}/${e.name}`),
  );
}
