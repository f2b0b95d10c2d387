import { readFileSync, existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { subgraphUrlVariable, type SubgraphName } from '../../gateway/config.js';
import { serviceTable } from '../../scripts/services.js';
import { passwordVariableOf } from '../../services/platform/index.js';

// No Docker engine runs in CI, so the compose file is checked for what can be checked without
// one: it parses (with its YAML merge keys), and it wires every service the way the code expects.
interface ComposeService {
  build?: string;
  image?: string;
  command?: string[];
  ports?: string[];
  volumes?: string[];
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
    const port = serviceTable.find((s) => s.name === name)?.grpcPort;
    expect(service?.ports).toEqual([`${port}:${service?.environment?.GRPC_PORT}`]);
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

  it('publishes every host port once', () => {
    const hostPorts = Object.values(compose.services).flatMap((s) => (s.ports ?? []).map((p) => p.split(':')[0]));
    expect(new Set(hostPorts).size).toBe(hostPorts.length);
  });

  it('builds from a Dockerfile whose entry point runs one service by name', () => {
    expect(existsSync(new URL('../../Dockerfile', import.meta.url))).toBe(true);
    expect(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8')).toContain('scripts/service.ts');
  });

  it('copies into the image every folder the processes load code from', () => {
    const dockerfile = readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8');
    for (const folder of ['generated', 'services', 'scripts', 'gateway']) {
      expect(dockerfile, `COPY ${folder}`).toMatch(new RegExp(`^COPY ${folder} \\./${folder}$`, 'm'));
    }
  });
});
