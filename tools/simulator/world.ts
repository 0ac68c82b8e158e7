// The simulated organisation: workstations, servers, users, clients and the addresses they talk to, drawn once from the seed.
import type { Rng } from './random.js';

export const DOMAIN = 'CORP';
export const FQDN = 'corp.example.com';

export interface WinHost { name: string; ip: string; user: string }
export interface LinuxHost { name: string; ip: string; agentId: string; os: string }

export interface World {
  workstations: WinHost[];
  /** Windows servers (a domain controller and a file server): where network logons land. */
  servers: WinHost[];
  /** Linux servers: sshd logs, web servers, and the simulated agents. */
  linux: LinuxHost[];
  webServers: LinuxHost[];
  users: string[];
  /** Staff who log in to Linux servers over SSH, each from their own workstation. */
  admins: { user: string; ip: string }[];
  /** Web visitors (public addresses). */
  clients: string[];
  /** Public services hosts connect to (CDNs, SaaS). */
  services: string[];
  /** Internal DNS resolver. */
  resolver: { name: string; ip: string };
}

const FIRST = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan', 'judy', 'mallory', 'niaj', 'olivia', 'peggy',
  'rupert', 'sybil', 'trent', 'victor', 'walter', 'yara', 'zoe', 'liam', 'noah', 'emma', 'ava', 'mia', 'lucas', 'ella', 'leo', 'nora'];

// Prefixes of large hosting and access networks, so visitors look like the Internet and GeoIP has answers.
const CLIENT_PREFIXES = ['81.2', '86.120', '92.184', '109.190', '151.64', '176.31', '185.86', '188.114', '24.48', '68.32', '73.15', '98.210',
  '101.33', '110.44', '122.160', '177.33', '189.6', '200.160', '41.190', '102.89', '5.188', '31.13', '77.88', '95.90'];
const SERVICE_PREFIXES = ['142.250', '172.217', '13.107', '52.96', '151.101', '104.16', '140.82', '17.253', '157.240', '34.117'];

function ip(rng: Rng, prefix: string): string {
  return `${prefix}.${rng.int(0, 255)}.${rng.int(1, 254)}`;
}

export function buildWorld(rng: Rng): World {
  const users = [...FIRST];
  const workstations = Array.from({ length: 20 }, (_, i) => ({
    name: `WS-${String(i + 1).padStart(2, '0')}`, ip: `10.10.1.${11 + i}`, user: users[i]!,
  }));
  const servers = [{ name: 'DC01', ip: '10.10.0.10', user: 'SYSTEM' }, { name: 'FS01', ip: '10.10.0.20', user: 'SYSTEM' }];
  const linux: LinuxHost[] = ['web-1', 'web-2', 'db-1', 'bastion-1', 'app-1'].map((name, i) => ({
    name, ip: `10.20.0.${11 + i}`, agentId: `sim-${name}`, os: 'Debian GNU/Linux 12 (bookworm)',
  }));
  const admins = users.slice(0, 6).map((user, i) => ({ user, ip: workstations[i]!.ip }));
  const clients = [...new Set(Array.from({ length: 400 }, () => ip(rng, rng.pick(CLIENT_PREFIXES))))];
  const services = [...new Set(Array.from({ length: 200 }, () => ip(rng, rng.pick(SERVICE_PREFIXES))))];
  return {
    workstations, servers, linux, webServers: linux.filter((h) => h.name.startsWith('web-')), users, admins, clients, services,
    resolver: { name: 'dns-1', ip: '10.10.0.53' },
  };
}
