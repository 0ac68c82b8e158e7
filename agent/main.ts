#!/usr/bin/env node
// The soc-agent command line: run the agent, or print one collection without any backend.
import { Command, Option } from 'commander';
import { toEcs } from '../services/core/ecs.js';
import { ConfigError } from '../services/core/errors.js';
import { createLogger, type Logger } from '../services/core/log.js';
import { Agent } from './agent.js';
import { Collectors } from './collect/index.js';
import { loadAgentConfig, type AgentConfig, type ConfigKey } from './config.js';
import { diff } from './differ.js';
import { rfc3339, type Stamp } from './events.js';
import { DataDirLockedError } from './lock.js';
import { defaultCredsFile, enroll, EnrollFailed, hasCredentials, saveEnrolled } from './enroll.js';
import type { Snapshot } from './snapshot.js';
import { AGENT_VERSION } from './version.js';

/** Logs go to stderr: stdout is for `collect` output. */
function agentLogger(level: string): Logger {
  return createLogger('soc-agent', { level, stderr: true });
}

interface CommonOptions { config?: string; id?: string; natsUrl?: string; dataDir?: string; logLevel?: string }

function config(o: CommonOptions): AgentConfig {
  const overrides: Partial<Record<ConfigKey, unknown>> = { id: o.id, natsUrls: o.natsUrl, dataDir: o.dataDir, logLevel: o.logLevel };
  return loadAgentConfig({ file: o.config, overrides });
}

/** The enrolled credentials (dataDir/agent.creds) when no credsFile is set; enrolls first when a token is configured. */
async function credentials(cfg: AgentConfig, log: Logger, o: CommonOptions): Promise<AgentConfig> {
  const creds = cfg.credsFile ?? defaultCredsFile(cfg.dataDir);
  if (!hasCredentials(creds) && cfg.enrollServer && cfg.enrollToken) {
    const e = await enroll({ server: cfg.enrollServer, token: cfg.enrollToken, agentId: cfg.id, credsFile: creds, caFile: cfg.enrollCaFile });
    const saved = saveEnrolled(cfg.dataDir, { agentId: cfg.id, server: cfg.enrollServer, enrolled: e, caFile: cfg.enrollCaFile });
    log.info({ credsFile: e.credsFile, natsUrls: e.natsUrls, tags: e.tags, settings: saved }, 'enrolled');
    // The URLs and CA the server gave apply now, beneath whatever was set explicitly.
    return credentials(config(o), log, o);
  }
  return hasCredentials(creds) ? { ...cfg, credsFile: creds } : cfg;
}

async function enrollCommand(o: CommonOptions & { server?: string; token?: string; caFile?: string }): Promise<void> {
  const cfg = config(o);
  const server = o.server ?? cfg.enrollServer;
  const token = o.token ?? cfg.enrollToken;
  if (!server || !token) throw new ConfigError('enroll needs --server (or enrollServer) and --token (or enrollToken)');
  const creds = cfg.credsFile ?? defaultCredsFile(cfg.dataDir);
  const caFile = o.caFile ?? cfg.enrollCaFile;
  const e = await enroll({ server, token, agentId: cfg.id, credsFile: creds, caFile });
  const saved = saveEnrolled(cfg.dataDir, { agentId: cfg.id, server, enrolled: e, caFile });
  process.stdout.write([
    `enrolled as ${cfg.id}${e.tags.length ? ` (tags ${e.tags.join(',')})` : ''}; credentials in ${e.credsFile} (mode 0600)`,
    `settings in ${saved}${e.natsUrls.length ? ` (NATS: ${e.natsUrls.join(',')})` : ''}: start the agent with \`soc-agent run\`${o.dataDir ? ` --data-dir ${o.dataDir}` : ''}`,
  ].join('\n') + '\n');
}

async function run(o: CommonOptions): Promise<void> {
  const log = agentLogger(config(o).logLevel);
  const cfg = await credentials(config(o), log, o);
  const agent = new Agent({ config: cfg, log });
  await agent.start();
  let stopping = false;
  const shutdown = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    agent.stop().then(() => process.exit(0), (err: unknown) => { log.error({ err }, 'stop failed'); process.exit(1); });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

function snapshotJson(s: Snapshot): Record<string, unknown> {
  const sockets = s.sockets ?? [];
  return {
    collected_at: rfc3339(s.timeMs),
    host: s.host,
    resources: s.resources,
    processes: (s.processes ?? []).map((p) => ({
      pid: p.pid, ppid: p.ppid, name: p.name, executable: p.executable, command_line: p.commandLine, user: p.user,
      start: rfc3339(p.startMs), cpu: p.cpu, memory_rss: p.memoryRss, kernel: p.kernel,
    })),
    listening: sockets.filter((x) => x.state === 'LISTEN'),
    connections: sockets.filter((x) => x.state !== 'LISTEN'),
  };
}

function printSummary(s: Snapshot, timings: Record<string, number>): void {
  const j = snapshotJson(s);
  const h = s.host!;
  const r = s.resources!;
  const out = [
    `${h.hostname} ${h.osName} ${h.osVersion} (kernel ${h.kernel}, ${h.architecture}) ${h.ips.join(' ')}`,
    `cpu ${(r.cpuUsage * 100).toFixed(1)} %  memory ${((r.memoryUsed / r.memoryTotal) * 100).toFixed(1)} %  disk ${(r.diskUsage * 100).toFixed(1)} % (${r.diskMount})`,
    `${(j.processes as unknown[]).length} processes, ${(j.listening as unknown[]).length} listening sockets, ${(j.connections as unknown[]).length} other sockets`,
    ...(s.sockets ?? []).filter((x) => x.state === 'LISTEN').map((x) => `  listen ${x.transport} ${x.localIp}:${x.localPort} ${x.processName}${x.pid ? ` (${x.pid})` : ''}`),
    `collector ms: ${JSON.stringify(timings)}`,
  ];
  process.stdout.write(out.join('\n') + '\n');
}

async function collectCommand(o: CommonOptions & { once?: boolean; json?: boolean }): Promise<void> {
  const collectors = new Collectors();
  if (o.once) {
    const snap = await collectors.all();
    if (o.json) process.stdout.write(JSON.stringify({ ...snapshotJson(snap), collector_ms: collectors.timingsMs }, null, 2) + '\n');
    else printSummary(snap, collectors.timingsMs);
    return;
  }
  // Continuous: the events the agent would send, one ECS document per line, without any backend.
  const cfg = config(o);
  const facts = collectors.host.facts();
  const stamp: Stamp = { agentId: cfg.id, version: AGENT_VERSION, hostName: facts.hostname };
  let state = diff({}, await collectors.all(), stamp).state;
  const tick = async () => {
    const r = diff(state, { ...(await collectors.activity()), ...(await collectors.resources()) }, stamp);
    state = r.state;
    for (const e of r.events) process.stdout.write(JSON.stringify(toEcs(e)) + '\n');
    setTimeout(() => void tick(), cfg.collectIntervalS * 1000);
  };
  setTimeout(() => void tick(), cfg.collectIntervalS * 1000);
}

function program(): Command {
  const p = new Command('soc-agent').description('MiniSOC endpoint agent: processes, sockets, resources and host facts to NATS JetStream')
    .version(AGENT_VERSION).showHelpAfterError();
  const common = (c: Command) => c
    .option('-c, --config <file>', 'YAML or JSON settings file (SOC_AGENT_* variables override it, flags override both)')
    .option('--id <id>', 'agent id (default: the host name, sanitised)')
    .option('--nats-url <urls>', 'NATS server URL(s), comma separated')
    .option('--data-dir <dir>', 'where the spool and the batch sequence live')
    .addOption(new Option('--log-level <level>').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']));
  common(p.command('run').description('run the agent: collect, send telemetry and heartbeats, answer commands')).action(run);
  common(p.command('enroll').description('enroll with MiniSOC: a new key pair, a one-time token (soc agents enroll), a .creds file'))
    .option('--server <url>', 'MiniSOC HTTP(S) base URL (or enrollServer)')
    .option('--token <token>', 'one-time enrollment token (or enrollToken)')
    .option('--ca-file <file>', 'CA of the HTTPS server when it is not in the system trust store (or enrollCaFile)')
    .action(enrollCommand);
  common(p.command('collect').description('collect without a backend: one snapshot (--once), or the events as ECS NDJSON until stopped'))
    .option('--once', 'print one collection (processes, listening ports, connections, resources, host) and exit')
    .option('--json', 'with --once: JSON instead of a summary')
    .action(collectCommand);
  return p;
}

function main(): void {
  program().parseAsync().catch((err: unknown) => {
    if (err instanceof ConfigError || err instanceof DataDirLockedError || err instanceof EnrollFailed) {
      process.stderr.write(`soc-agent: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(`soc-agent: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  });
}

main();
