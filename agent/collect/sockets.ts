// Lists TCP/UDP sockets (listening and connected) through systeminformation, with addresses made uniform.
import si from 'systeminformation';
import type { SocketInfo } from '../snapshot.js';

/**
 * netstat and ss print addresses differently ('[::1]', '::1', '*', 'fe80::1%eth0',
 * '::ffff:10.0.0.1'); events carry one form: bare IPs, IPv4-mapped addresses as IPv4.
 */
export function cleanIp(raw: string): string {
  let ip = raw.trim();
  if (ip.startsWith('[') && ip.endsWith(']')) ip = ip.slice(1, -1);
  const pct = ip.indexOf('%');
  if (pct >= 0) ip = ip.slice(0, pct);
  // ss prints '*' for a dual-stack IPv6 socket bound to any address (netstat prints '::').
  if (ip === '*') return '::';
  if (ip === '') return '0.0.0.0';
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped ? mapped[1]! : ip.toLowerCase();
}

function port(raw: string | number): number {
  const n = typeof raw === 'number' ? raw : Number.parseInt(raw, 10);
  return Number.isInteger(n) && n >= 0 && n <= 65535 ? n : 0;
}

export function fromSystemInformation(c: { protocol: string; localAddress: string; localPort: string | number; peerAddress: string; peerPort: string | number; state: string; pid: number | null; process: string }): SocketInfo | undefined {
  const proto = c.protocol.toLowerCase();
  const transport = proto.startsWith('tcp') ? 'tcp' : proto.startsWith('udp') ? 'udp' : undefined;
  if (!transport) return undefined;
  const localIp = cleanIp(c.localAddress);
  const remoteIp = cleanIp(c.peerAddress);
  return {
    transport, type: proto.endsWith('6') || localIp.includes(':') ? 'ipv6' : 'ipv4',
    localIp, localPort: port(c.localPort), remoteIp, remotePort: port(c.peerPort),
    state: c.state.toUpperCase().replace(/-/g, '_'), pid: c.pid ?? 0, processName: c.process ?? '',
  };
}

export async function listSockets(): Promise<SocketInfo[]> {
  const out: SocketInfo[] = [];
  for (const c of await si.networkConnections()) {
    const s = fromSystemInformation(c as Parameters<typeof fromSystemInformation>[0]);
    if (s) out.push(s);
  }
  return out;
}
