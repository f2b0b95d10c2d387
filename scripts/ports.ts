/**
 * Who holds a TCP port, for `npm start`'s message when one of its ports is taken: the listening
 * socket is found in /proc/net/tcp{,6} and its inode among the open files of /proc/<pid>/fd.
 * Linux only; elsewhere (or without permission to look) the holder is simply unknown.
 */
import { readdir, readFile, readlink } from 'node:fs/promises';
import { createServer } from 'node:net';

/** A process listening on a port, as far as /proc tells. */
export interface PortHolder {
  pid: number;
  /** Its command line, space-separated; empty when unreadable. */
  command: string;
}

const listening = '0A';

/** Inodes of the sockets listening on `port` (IPv4 and IPv6). */
async function listeningInodes(port: number): Promise<Set<string>> {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (!local || cols[3] !== listening) continue;
      if (Number.parseInt(local.split(':')[1] ?? '', 16) === port) inodes.add(cols[9]!);
    }
  }
  return inodes;
}

/** The processes holding a listening socket on `port`; empty when none is found or /proc is unreadable. */
export async function portHolders(port: number): Promise<PortHolder[]> {
  const inodes = await listeningInodes(port);
  if (inodes.size === 0) return [];
  const holders: PortHolder[] = [];
  for (const entry of await readdir('/proc').catch(() => [] as string[])) {
    if (!/^\d+$/.test(entry)) continue;
    const fds = await readdir(`/proc/${entry}/fd`).catch(() => [] as string[]);
    for (const fd of fds) {
      const target = await readlink(`/proc/${entry}/fd/${fd}`).catch(() => '');
      const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
      if (inode && inodes.has(inode)) {
        const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').filter(Boolean).join(' ');
        holders.push({ pid: Number(entry), command });
        break;
      }
    }
  }
  return holders;
}

/** Whether `port` can be listened on at `host` right now. */
export function portFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = createServer();
    probe.once('error', () => resolve(false));
    probe.listen({ port, host, exclusive: true }, () => probe.close(() => resolve(true)));
  });
}

/** The message for a port `npm start` needs and cannot have, naming the holder when it is found. */
export async function portInUseMessage(port: number): Promise<string> {
  const holders = await portHolders(port);
  if (holders.length === 0) return `port ${port} is in use by another process; is an earlier npm start still running?`;
  const who = holders.map((h) => `pid ${h.pid}${h.command ? ` (${h.command})` : ''}`).join(', ');
  return `port ${port} is in use by ${who}; is an earlier npm start still running? Stop it with: kill ${holders.map((h) => h.pid).join(' ')}`;
}

/** Messages for every port of `ports` in use; empty when all are free. */
export async function portsInUse(ports: number[]): Promise<string[]> {
  const messages: string[] = [];
  for (const port of ports) if (!(await portFree(port))) messages.push(await portInUseMessage(port));
  return messages;
}
