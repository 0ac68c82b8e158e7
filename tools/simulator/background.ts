// Ordinary activity of the simulated organisation: web visits, SSH and Windows logons, processes,
// connections, DNS lookups and agent telemetry. None of it should raise a high or critical alert.
import { connectionEvent, processEvent, resourceEvent, type Stamp } from '../../agent/events.js';
import { AGENT_VERSION } from '../../agent/version.js';
import {
  accessLine, dnsJson, logonXml, syslogLine, sysmonNetworkXml, sysmonProcessXml, type SimRecord,
} from './formats.js';
import type { Rng } from './random.js';
import { DOMAIN, type LinuxHost, type World } from './world.js';

export const BROWSERS = [
  'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  'Mozilla/5.0 (X11; Linux x86_64; rv:127.0) Gecko/20100101 Firefox/127.0',
  'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  'Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)',
];
const SEARCH_WORDS = ['shoes', 'red dress', 'select size', 'union jack flag', 'drop earrings', 'order status', 'gift card', 'sleep mask', 'table lamp'];
const DOMAINS = ['www.google.com', 'outlook.office365.com', 'teams.microsoft.com', 'github.com', 'slack.com', 'www.wikipedia.org',
  'updates.example-vendor.com', 'api.stripe.com', 'cdn.jsdelivr.net', 'login.microsoftonline.com', 'www.bbc.co.uk', 'fonts.gstatic.com'];
const WIN_PROGRAMS: { image: string; cmd: string; ofn: string; parent: string }[] = [
  { image: 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', cmd: '"C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe" --type=renderer --lang=en-US', ofn: 'chrome.exe', parent: 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe' },
  { image: 'C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE', cmd: '"C:\\Program Files\\Microsoft Office\\root\\Office16\\OUTLOOK.EXE"', ofn: 'Outlook.exe', parent: 'C:\\Windows\\explorer.exe' },
  { image: 'C:\\Windows\\System32\\svchost.exe', cmd: 'C:\\Windows\\system32\\svchost.exe -k netsvcs -p -s Schedule', ofn: 'svchost.exe', parent: 'C:\\Windows\\System32\\services.exe' },
  { image: 'C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe', cmd: 'powershell.exe -ExecutionPolicy Bypass -File C:\\Scripts\\inventory.ps1', ofn: 'PowerShell.EXE', parent: 'C:\\Windows\\System32\\svchost.exe' },
  { image: 'C:\\Windows\\System32\\cmd.exe', cmd: 'C:\\Windows\\system32\\cmd.exe /c ipconfig /all', ofn: 'Cmd.Exe', parent: 'C:\\Windows\\explorer.exe' },
  { image: 'C:\\Windows\\System32\\notepad.exe', cmd: '"C:\\Windows\\system32\\notepad.exe" C:\\Users\\Public\\notes.txt', ofn: 'NOTEPAD.EXE', parent: 'C:\\Windows\\explorer.exe' },
  { image: 'C:\\Users\\Public\\AppData\\Local\\Microsoft\\Teams\\current\\Teams.exe', cmd: '"Teams.exe" --process-start-reason=AutoStart', ofn: 'Teams.exe', parent: 'C:\\Windows\\explorer.exe' },
];
const LINUX_PROGRAMS = [
  { name: 'python3', exe: '/usr/bin/python3.11', cmd: '/usr/bin/python3.11 /opt/app/worker.py --queue default', user: 'app' },
  { name: 'logrotate', exe: '/usr/sbin/logrotate', cmd: '/usr/sbin/logrotate /etc/logrotate.conf', user: 'root' },
  { name: 'backup.sh', exe: '/usr/local/bin/backup.sh', cmd: '/bin/sh /usr/local/bin/backup.sh --incremental', user: 'root' },
  { name: 'nginx', exe: '/usr/sbin/nginx', cmd: 'nginx: worker process', user: 'www-data' },
  { name: 'git', exe: '/usr/bin/git', cmd: 'git pull --ff-only', user: 'deploy' },
  { name: 'apt-get', exe: '/usr/bin/apt-get', cmd: 'apt-get -qq update', user: 'root' },
];

/** What background traffic is made of, by weight. */
const MIX = { web: 34, ssh: 6, logon: 10, process: 12, connection: 10, dns: 16, agent: 12 } as const;

export interface Counters { recordId: number; pid: number }

export class Background {
  private readonly counters: Counters;
  private readonly mix: Partial<Record<keyof typeof MIX, number>>;

  constructor(private readonly rng: Rng, private readonly world: World, counters: Counters, agents: boolean) {
    this.counters = counters;
    const { agent, ...logs } = MIX;
    this.mix = agents ? { ...logs, agent } : logs;
  }

  private pid(): number {
    this.counters.pid = this.counters.pid >= 65000 ? 1200 : this.counters.pid + this.rng.int(1, 7);
    return this.counters.pid;
  }

  private header(ts: number, computer: string) {
    return { ts, computer, recordId: ++this.counters.recordId };
  }

  next(ts: number): SimRecord {
    switch (this.rng.weighted(this.mix as Record<keyof typeof MIX, number>)) {
      case 'web': return this.web(ts);
      case 'ssh': return this.ssh(ts);
      case 'logon': return this.logon(ts);
      case 'process': return this.process(ts);
      case 'connection': return this.connection(ts);
      case 'dns': return this.dns(ts);
      case 'agent': return this.agentEvent(ts);
    }
  }

  private web(ts: number): SimRecord {
    const r = this.rng;
    const kind = r.weighted({ page: 40, asset: 30, api: 15, search: 8, login: 4, missing: 2, error: 1 });
    let path = '/';
    let status = 200;
    let method = 'GET';
    switch (kind) {
      case 'page': path = r.pick(['/', '/index.html', '/products', `/products/${r.int(1, 5000)}`, '/cart', '/account', '/about', '/contact']); break;
      case 'asset': path = r.pick([`/static/app.${r.hex(8)}.js`, '/static/style.css', `/images/p${r.int(1, 900)}.jpg`, '/favicon.ico']); status = r.chance(0.3) ? 304 : 200; break;
      case 'api': path = r.pick([`/api/v1/items?page=${r.int(1, 40)}`, `/api/v1/cart/${r.int(1, 99999)}`, '/api/v1/session']); method = r.chance(0.2) ? 'POST' : 'GET'; break;
      case 'search': path = `/search?q=${encodeURIComponent(r.pick(SEARCH_WORDS)).replace(/%20/g, '+')}`; break;
      case 'login': path = '/login'; method = 'POST'; status = r.chance(0.9) ? 302 : 200; break;
      case 'missing': path = r.pick(['/old-catalogue.pdf', '/products/0', '/apple-touch-icon.png', '/images/banner-2019.jpg']); status = 404; break;
      case 'error': path = `/api/v1/items?page=${r.int(1, 40)}`; status = 502; break;
    }
    const text = accessLine(ts, {
      ip: r.pick(this.world.clients), method, path, status, bytes: status === 304 ? 0 : r.int(180, 90_000),
      referer: r.chance(0.6) ? 'https://shop.example.com/' : '-', ua: r.pick(BROWSERS),
    });
    return { kind: 'log', ts, source: 'web', text };
  }

  private ssh(ts: number): SimRecord {
    const r = this.rng;
    const host = r.pick(this.world.linux);
    const admin = r.pick(this.world.admins);
    const port = r.int(40_000, 65_000);
    const msg = r.weighted({ accepted: 30, opened: 25, closed: 25, sudo: 10, cron: 10, failed: 0.5 });
    const line = (program: string, text: string) => ({ kind: 'log' as const, ts, source: 'linux-auth' as const, text: syslogLine(ts, host.name, program, this.pid(), text) });
    switch (msg) {
      case 'accepted': return line('sshd', `Accepted publickey for ${admin.user} from ${admin.ip} port ${port} ssh2: ED25519 SHA256:${r.hex(43)}`);
      case 'opened': return line('sshd', `pam_unix(sshd:session): session opened for user ${admin.user}(uid=${1000 + this.world.users.indexOf(admin.user)}) by (uid=0)`);
      case 'closed': return line('sshd', `Disconnected from user ${admin.user} ${admin.ip} port ${port}`);
      case 'sudo': return line('sudo', `   ${admin.user} : TTY=pts/${r.int(0, 3)} ; PWD=/home/${admin.user} ; USER=root ; COMMAND=/usr/bin/systemctl restart ${r.pick(['nginx', 'app', 'postgresql'])}`);
      case 'cron': return line('CRON', 'pam_unix(cron:session): session opened for user root(uid=0) by (uid=0)');
      case 'failed': return line('sshd', `Failed password for ${admin.user} from ${admin.ip} port ${port} ssh2`);
    }
  }

  private logon(ts: number): SimRecord {
    const r = this.rng;
    const ws = r.pick(this.world.workstations);
    const server = r.pick(this.world.servers);
    const success = !r.chance(0.005);
    const type = r.weighted({ network: 85, rdp: 3, interactive: 12 });
    const logonType = type === 'network' ? 3 : type === 'rdp' ? 10 : 2;
    const computer = logonType === 2 ? ws.name : server.name;
    const text = logonXml(this.header(ts, computer), success, {
      user: ws.user, logonType, ip: logonType === 2 ? '-' : ws.ip, port: logonType === 2 ? 0 : r.int(49_152, 65_000), workstation: ws.name,
    });
    return { kind: 'log', ts, source: 'windows-security', text };
  }

  private process(ts: number): SimRecord {
    const r = this.rng;
    const ws = r.pick(this.world.workstations);
    const p = r.pick(WIN_PROGRAMS);
    const text = sysmonProcessXml(this.header(ts, ws.name), {
      pid: this.pid(), image: p.image, commandLine: p.cmd, user: `${DOMAIN}\\${ws.user}`, parentPid: r.int(400, 9000),
      parentImage: p.parent, parentCommandLine: p.parent, originalFileName: p.ofn,
    });
    return { kind: 'log', ts, source: 'sysmon', text };
  }

  private connection(ts: number): SimRecord {
    const r = this.rng;
    const ws = r.pick(this.world.workstations);
    const internal = r.chance(0.3);
    const server = r.pick(this.world.servers);
    // Drawn in the same order as before, so a seed gives the same run.
    const srcPort = internal ? r.int(49_152, 65_000) : 0;
    const port = internal ? r.pick([445, 389, 88, 135]) : 0;
    // Kerberos and LDAP to a domain controller come from lsass.exe; SMB and RPC from the kernel (System, pid 4).
    const lsass = port === 88 || port === 389;
    const text = sysmonNetworkXml(this.header(ts, ws.name), internal
      ? { pid: lsass ? 712 : 4, image: lsass ? 'C:\\Windows\\System32\\lsass.exe' : 'System', user: 'NT AUTHORITY\\SYSTEM', srcIp: ws.ip, srcPort, dstIp: server.ip, dstPort: port, initiated: true }
      : { pid: r.int(2000, 9000), image: 'C:\\Program Files\\Google\\Chrome\\Application\\chrome.exe', user: `${DOMAIN}\\${ws.user}`, srcIp: ws.ip, srcPort: r.int(49_152, 65_000), dstIp: r.pick(this.world.services), dstPort: r.chance(0.9) ? 443 : 80, initiated: true });
    return { kind: 'log', ts, source: 'sysmon', text };
  }

  private dns(ts: number): SimRecord {
    const r = this.rng;
    const nx = r.chance(0.03);
    const text = dnsJson(ts, this.world.resolver, {
      clientIp: r.pick(this.world.workstations).ip, name: nx ? `wpad.${r.hex(4)}.local` : r.pick(DOMAINS), type: r.chance(0.8) ? 'A' : 'AAAA',
      answers: nx ? [] : [r.pick(this.world.services)], rcode: nx ? 'NXDOMAIN' : 'NOERROR',
    });
    return { kind: 'log', ts, source: 'dns', text };
  }

  private agentEvent(ts: number): SimRecord {
    const r = this.rng;
    const agent = r.pick(this.world.linux);
    const stamp = agentStamp(agent);
    const kind = r.weighted({ process: 40, outbound: 30, inbound: 20, resource: 10 });
    if (kind === 'process') {
      const p = r.pick(LINUX_PROGRAMS);
      const pid = this.pid();
      const event = processEvent(stamp, ts, 'started', {
        pid, ppid: 1, name: p.name, executable: p.exe, commandLine: p.cmd, args: p.cmd.split(' '), user: p.user, startMs: ts, cpu: 0, memoryRss: r.int(4, 200) * 1_000_000, kernel: false,
      });
      return { kind: 'telemetry', ts, agent, event };
    }
    if (kind === 'resource') {
      const total = 8 * 1024 ** 3;
      const event = resourceEvent(stamp, ts, {
        cpuUsage: r.int(2, 60) / 100, memoryTotal: total, memoryUsed: Math.round(total * r.int(20, 70) / 100), diskUsage: r.int(20, 70) / 100,
        diskMount: '/', networkRxBytes: 0, networkTxBytes: 0,
      });
      return { kind: 'telemetry', ts, agent, event };
    }
    const outbound = kind === 'outbound';
    const event = connectionEvent(stamp, ts, {
      transport: 'tcp', type: 'ipv4', localIp: agent.ip, localPort: outbound ? r.int(32_768, 60_999) : 443,
      remoteIp: outbound ? r.pick(this.world.services) : r.pick(this.world.clients), remotePort: outbound ? 443 : r.int(1024, 65_000),
      state: 'ESTABLISHED', pid: r.int(300, 9000), processName: outbound ? 'python3' : 'nginx',
    }, !outbound);
    return { kind: 'telemetry', ts, agent, event };
  }
}

export function agentStamp(agent: LinuxHost): Stamp {
  return { agentId: agent.agentId, version: AGENT_VERSION, hostName: agent.name };
}
