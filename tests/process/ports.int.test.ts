// What `npm start` says of a port it needs and cannot have (scripts/ports.ts), read from /proc.
import { connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, expect, it } from 'vitest';
import { portFree, portInUseMessage } from '../../scripts/ports.js';
import { freePort } from '../../services/platform/testing/index.js';

const open: (Server | Socket)[] = [];
afterEach(async () => {
  // Connections first: a server's close waits for its connections.
  for (const handle of open.splice(0).reverse()) {
    if ('destroy' in handle) handle.destroy();
    else await new Promise((resolve) => handle.close(resolve));
  }
});

const listen = async (port: number) => {
  const server = createServer((socket) => open.push(socket));
  open.push(server);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return server;
};

it('names this process as the one listening on a taken port', async () => {
  const port = await freePort();
  await listen(port);
  expect(await portFree(port)).toBe(false);
  expect(await portInUseMessage(port)).toContain(`port ${port} is in use by pid ${process.pid} (`);
});

it('says when a taken port is the local end of an outgoing connection, not a server', async () => {
  const serverPort = await freePort();
  await listen(serverPort);
  // The kernel picks the connection's local port from its range for outgoing connections.
  const client = connect({ port: serverPort, host: '127.0.0.1' });
  open.push(client);
  await new Promise<void>((resolve, reject) => client.once('connect', resolve).once('error', reject));
  const localPort = client.localPort!;
  expect(await portFree(localPort)).toBe(false);
  const message = await portInUseMessage(localPort);
  expect(message).toContain(`port ${localPort} is the local end of an outgoing TCP connection (ESTABLISHED)`);
  expect(message).not.toContain('pid');
});
