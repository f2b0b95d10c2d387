import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { subgraphUrlVariable, type SubgraphName } from '../../gateway/config.js';
import { serviceTable } from '../../scripts/services.js';

// No Docker engine runs in CI, so the compose file is checked for what can be checked without
// one: it parses (with its YAML merge keys), and it wires every service the way the code expects.
interface ComposeService {
  build?: string;
  image?: string;
  command?: string[];
  ports?: string[];
  environment?: Record<string, string>;
  depends_on?: Record<string, { condition: string }>;
  healthcheck?: { test: string[] };
}
const compose = parse(readFileSync(new URL('../../docker-compose.yml', import.meta.url), 'utf8'), { merge: true }) as {
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

  it('publishes only the gateway and the mail catcher\'s web UI on the host', () => {
    const published = Object.entries(compose.services).flatMap(([name, s]) => (s.ports ?? []).map((p) => `${name} ${p}`));
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
