#!/usr/bin/env node
// The `soc` command line: start MiniSOC and look at what it stored.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { ConfigError } from '../../services/core/errors.js';
import { registerAgentCommands, registerEnrollCommands, registerSourceCommands } from './commands.js';
import { registerAnalystCommands, registerRuleFilterCommands } from './analyst.js';
import { lazy } from './lazy.js';
import type { lookup } from './lookup.js';

/** The version in the repository's package.json (three levels up from dist/tools/cli, two from tools/cli). */
function socVersion(): string {
  for (const up of ['../../../package.json', '../../package.json']) {
    try { return (JSON.parse(readFileSync(new URL(up, import.meta.url), 'utf8')) as { version: string }).version; } catch { /* try the next */ }
  }
  return 'unknown';
}

// `soc rules list | head`: the reader has what it wanted when it closes the pipe; stop quietly, as Unix tools do.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});

const program = new Command('soc').description('MiniSOC: a small, fast security operations centre').version(socVersion()).showHelpAfterError();

program.command('up')
  .description('start nats-server (unless NATS_URL is set), Postgres (unless DATABASE_URL is set) and every service, each in its own supervised process')
  .option('--demo', 'also run the simulator: background traffic and an attack every few seconds (soc simulate)')
  .action(lazy(() => import('./up.js'), (m) => m.up));

program.command('events')
  .description('list stored events, newest first')
  .option('--since <when>', 'only events after this: a duration (15m, 2h, 7d) or an ISO time')
  .option('--host <name>', 'only events of this host')
  .option('--category <name>', 'only events of this ECS category (authentication, process, network, web, ...)')
  .option('--source <id>', 'only events of this log source or agent')
  .option('--limit <n>', 'at most this many events', '100')
  .option('--json', 'one ECS JSON document per line (NDJSON)')
  .action(lazy(() => import('./events.js'), (m) => m.events));

program.command('parse')
  .description('normalize log files offline and print the events as NDJSON; rejected records go to stderr as FILE:LINE: reason')
  .argument('<files...>', 'log files: JSON, NDJSON, syslog, access logs, Windows event XML, CEF')
  .option('--format <format>', 'the files\' format (default: recognised per record)')
  .option('--source <id>', 'source id to stamp on the events', 'file')
  .action(lazy(() => import('./parse.js'), (m) => m.parse));

program.command('lookup')
  .description('what enrichment would add for one address: GeoIP, special range, threat-intel matches, asset (JSON)')
  .argument('<ip>', 'an IPv4 or IPv6 address')
  .option('--feeds <file>', 'threat-intel feeds file (default: INTEL_FEEDS_FILE)')
  .option('--city-db <path>', 'MaxMind-format Country/City database (default: GEOIP_CITY_DB, else the shipped one)')
  .option('--asn-db <path>', 'MaxMind-format ASN database (default: GEOIP_ASN_DB)')
  .option('--no-assets', 'do not read the agents table (default: DATABASE_URL or a running soc up)')
  .option('--compact', 'print the JSON on one line')
  .action(lazy(() => import('./lookup.js'), (m) => (ip: string, opts: Parameters<typeof lookup>[1]) => m.lookup(ip, opts)));

const rules = program.command('rules').description('test Sigma rules and hunt with them');
rules.command('test')
  .description("run every rule's own test events through the production engine (non-zero exit on a failure or load error)")
  .argument('[dir]', 'rules directory', 'rules')
  .option('--json', 'one JSON line per test result')
  .action(lazy(() => import('./rules.js'), (m) => m.rulesTest));
rules.command('eval')
  .description('evaluate rules over log files (any format soc parse reads), one JSON line per match')
  .argument('<files...>', 'event files')
  .option('--rules <dir...>', 'rule directories or files', ['rules'])
  .option('--format <format>', 'the files\' format (default: recognised per record)')
  .option('--kind <kind>', 'what the files come from (a source kind: webserver, proxy, firewall, dns, linux, auditd, windows, agent)')
  .action(lazy(() => import('./rules.js'), (m) => m.rulesEval));
const catalogOptions = (c: ReturnType<typeof rules.command>) => c
  .option('--rules <dir...>', 'rule directories or files (default: RULES_DIR)')
  .option('--policy <file>', 'rules policy file (default: RULES_POLICY, else DATA_DIR/rules-policy.yml)')
  .option('--json', 'JSON output');
catalogOptions(rules.command('list').description('every rule with whether it runs, and why not (policy, compile problem); load errors on stderr'))
  .option('--state <state>', 'only rules in this state: runs, excluded, not-compiled')
  .option('--counts', 'with alerts opened (24 h, 7 d, all) and closed as false positive, from the database (DATABASE_URL or a running soc up)')
  .action(lazy(() => import('./rules.js'), (m) => m.rulesList));
catalogOptions(rules.command('show').description('one rule: level, status, author, references, techniques, logsource, state').argument('<id>', 'rule id or name'))
  .action(lazy(() => import('./rules.js'), (m) => m.rulesShow));
catalogOptions(rules.command('coverage').description('ATT&CK coverage of the running rules: techniques (with names) and rules per log source'))
  .action(lazy(() => import('./rules.js'), (m) => m.rulesCoverage));
rules.command('update')
  .description('replace the SigmaHQ pack with a newer release: validated first, summary of added, changed and removed rules, then hot reload')
  .requiredOption('--from <path>', 'the new release: a directory, a .zip or a .tar.gz')
  .option('--pack <dir>', 'the pack directory to replace (default: the rules-sigmahq entry of RULES_DIR)')
  .option('--dry-run', 'validate and print the summary only')
  .action(lazy(() => import('./rules-update.js'), (m) => m.rulesUpdate));
registerRuleFilterCommands(rules);

registerAgentCommands(program);
registerEnrollCommands(program);
registerSourceCommands(program);
registerAnalystCommands(program);

program.command('simulate')
  .description('send realistic background traffic and attack scenarios to a running MiniSOC (each scenario names the rules it must trigger)')
  .option('--rate <n>', 'background events per second', '200')
  .option('--duration <time>', 'stop after this long (30s, 5m, 1h); default: until interrupted')
  .option('--seed <n>', 'random seed: the same seed gives the same events', '1')
  .option('--scenario <names>', 'scenarios to run, repeatable or comma separated; all (default) or none', (v: string, prev: string[]) => [...prev, v], [] as string[])
  .option('--attack-every <time>', 'time between two scenario starts', '5s')
  .option('--loop', 'run the scenario list again and again instead of once')
  .option('--target <target>', 'http: POST /api/ingest (agents over NATS); nats: everything over NATS', 'http')
  .option('--url <url>', 'HTTP API base URL (default: the running soc up, else http://127.0.0.1:HTTP_PORT)')
  .option('--nats-url <url>', 'NATS for the simulated agents (default: NATS_URL, else the running soc up)')
  .option('--no-agents', 'no simulated agents (heartbeats, telemetry)')
  .option('--start <time>', 'event time of the first record (ISO); with --seed and --dry-run the output is identical run after run')
  .option('--dry-run', 'print the records as JSON lines instead of sending them (needs --duration)')
  .option('--list', 'list the scenarios and the rule ids each must trigger')
  .action(lazy(() => import('./../simulator/index.js'), (m) => m.simulate));

try {
  await program.parseAsync();
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`soc: ${err.message}\n`);
    process.exit(2);
  }
  throw err;
}
