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
/** /proc/net/tcp's state codes, for the sockets that are not listening. */
const tcpStates: Record<string, string> = {
  '01': 'ESTABLISHED',
  '02': 'SYN_SENT',
  '03': 'SYN_RECV',
  '04': 'FIN_WAIT1',
  '05': 'FIN_WAIT2',
  '06': 'TIME_WAIT',
  '07': 'CLOSE',
  '08': 'CLOSE_WAIT',
  '09': 'LAST_ACK',
  '0B': 'CLOSING',
};

/** The TCP sockets whose local end is `port` (IPv4 and IPv6): state code and inode of each. */
async function socketsOn(port: number): Promise<{ state: string; inode: string }[]> {
  const found: { state: string; inode: string }[] = [];
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    const text = await readFile(table, 'utf8').catch(() => '');
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      const local = cols[1];
      if (local && Number.parseInt(local.split(':')[1] ?? '', 16) === port) found.push({ state: cols[3]!, inode: cols[9]! });
    }
  }
  return found;
}

/** The processes holding a listening socket on `port`; empty when none is found or /proc is unreadable. */
export async function portHolders(port: number): Promise<PortHolder[]> {
  return holdersOf(await socketsOn(port));
}

/** The processes holding the listening ones among `sockets`. */
async function holdersOf(sockets: { state: string; inode: string }[]): Promise<PortHolder[]> {
  const inodes = new Set(sockets.filter((s) => s.state === listening).map((s) => s.inode));
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
  const sockets = await socketsOn(port);
  const holders = await holdersOf(sockets);
  if (holders.length === 0) {
    // Linux gives ports from 32768-60999 to outgoing connections: one may hold the port for a while
    // (a minute in TIME_WAIT after it closed), with nothing listening on it.
    const states = [...new Set(sockets.filter((s) => s.state !== listening).map((s) => tcpStates[s.state] ?? s.state))];
    if (states.length > 0) {
      return `port ${port} is the local end of an outgoing TCP connection (${states.join(', ')}), not of a server; a closed one frees it within a minute, so try again then (on Linux, \`sysctl net.ipv4.ip_local_reserved_ports\` keeps ports out of the range outgoing connections use)`;
    }
    return `port ${port} is in use by another process; is an earlier npm start still running?`;
  }
  const who = holders.map((h) => `pid ${h.pid}${h.command ? ` (${h.command})` : ''}`).join(', ');
  return `port ${port} is in use by ${who}; is an earlier npm start still running? Stop it with: kill ${holders.map((h) => h.pid).join(' ')}`;
}

/** Messages for every port of `ports` in use; empty when all are free. */
export async function portsInUse(ports: number[]): Promise<string[]> {
  const messages: string[] = [];
  for (const port of ports) if (!(await portFree(port))) messages.push(await portInUseMessage(port));
  return messages;
}
