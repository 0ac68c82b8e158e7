// The command table of `soc agents`, `soc cmd`, enrollment and `soc sources`; each action loads its module when it runs.
import type { Command } from 'commander';
import { COMMAND_STATUSES } from '../../services/command/states.js';
import { SOURCE_KINDS } from '../../services/core/source-kinds.js';
import { lazy } from './lazy.js';

export function registerAgentCommands(program: Command): void {
  program.command('agents')
    .description('list agents with their health (online, degraded, offline) and when they were last heard of')
    .option('--status <status>', 'only agents with this status')
    .option('--json', 'one JSON object per line')
    .action(lazy(() => import('./agents.js'), (m) => m.agentsList));

  const cmd = program.command('cmd').description('send commands to agents and follow them');
  cmd.command('send')
    .description('queue a command for an agent; it is delivered when the agent is online, until it expires')
    .argument('<agent>', 'agent id')
    .argument('<action>', 'ping, collect-now, set-interval, list-processes, list-connections, kill-process, rotate-credentials')
    .argument('[args...]', 'arguments as key=value (kill-process pid=4242 start=2026-11-22T10:00:00Z)')
    .option('--expires <duration>', 'give up if not delivered within this (30s, 15m, 2h, 7d)', '1h')
    .option('--wait [duration]', 'wait for the outcome (default 60s) and exit non-zero unless it succeeded')
    .option('--json', 'print the command as JSON')
    .action(lazy(() => import('./agents.js'), (m) => m.cmdSend));
  cmd.command('list')
    .description('commands, newest first')
    .option('--agent <id>', 'only commands to this agent')
    .option('--status <status>', `only commands in this state (${COMMAND_STATUSES.join(', ')})`)
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'one JSON object per line')
    .action(lazy(() => import('./agents.js'), (m) => m.cmdList));
  cmd.command('show')
    .description('one command with its outcome and output')
    .argument('<id>', 'command id')
    .option('--json', 'as JSON')
    .action(lazy(() => import('./agents.js'), (m) => m.cmdShow));
}

export function registerEnrollCommands(program: Command): void {
  const agents = program.commands.find((c) => c.name() === 'agents');
  if (!agents) throw new Error('register the agents command first');
  agents.command('enroll')
    .description('print a one-time token an agent enrolls with (soc-agent enroll --token); only its hash is stored')
    .option('--expires <duration>', 'the token expires after this (30s, 15m, 2h, 7d)', '1h')
    .option('--tags <tags>', 'tags for the agent, comma separated')
    .option('--json', 'token, expiry and tags as JSON')
    .action(lazy(() => import('./agents-enroll.js'), (m) => m.enrollToken));
  agents.command('revoke')
    .description("revoke an agent's NATS credential: its connections are dropped and it cannot reconnect")
    .argument('<id>', 'agent id')
    .action(lazy(() => import('./agents-enroll.js'), (m) => m.revoke));
  agents.command('credentials')
    .description('credentials issued to agents, revoked ones included')
    .option('--json', 'one JSON object per line')
    .action(lazy(() => import('./agents-enroll.js'), (m) => m.credentials));
  program.command('init')
    .description('create the NATS operator, accounts, backend credentials and nats-server config under DATA_DIR (soc up does this on first start)')
    .option('--dir <dir>', 'data directory (default: DATA_DIR)')
    .option('--tls', 'also create a local CA with server and client certificates (openssl), for testing TLS')
    .option('--host <name...>', 'with --tls: names and addresses the server certificate is for', [])
    .action(lazy(() => import('./agents-enroll.js'), (m) => m.init));
  program.command('migrate')
    .description("migrate the schema as DATABASE_OWNER_URL, then let DATABASE_URL's role (created if missing) read and write rows and nothing else")
    .action(lazy(() => import('./migrate.js'), (m) => m.migrate));
}

export function registerSourceCommands(program: Command): void {
  const sources = program.command('sources').description('HTTP ingest sources and their API tokens');
  sources.command('add')
    .description('create a source bound to a format and print its token (shown once)')
    .argument('<name>', 'source name: letters, digits, - and _')
    .requiredOption('--format <format>', 'what the source posts: json, ndjson, syslog, access, nginx, apache, cef, winxml, sysmon, windows, xml or auto')
    .option('--kind <kind>', `what the source is, so rules run only on their logsource: ${SOURCE_KINDS.join(', ')} (default: judged from each event)`)
    .option('--host <name>', 'the host the source runs on: its events that name no host get it (a web server\'s access log)')
    .option('--rotate', 'the source exists: give it a new token (the old one stops working)')
    .action(lazy(() => import('./sources.js'), (m) => m.add));
  sources.command('revoke').description("revoke a source's token").argument('<name>', 'source name').action(lazy(() => import('./sources.js'), (m) => m.revoke));
  sources.command('list').description('sources, their format and whether their token is active').option('--json', 'one JSON object per line').action(lazy(() => import('./sources.js'), (m) => m.list));
}
