// The analysts' `soc` commands (incidents, alerts, rules filters, timeline, export, stats, tail, users), on the same queries as the API.
import type { Command } from 'commander';
import { lazy } from './lazy.js';

export function registerAnalystCommands(program: Command): void {
  program.command('incidents')
    .description('alerts folded by dedup key, newest (or highest score) first')
    .option('--status <list>', 'open, acknowledged, closed (comma separated)')
    .option('--severity <list>', 'informational, low, medium, high, critical (comma separated)')
    .option('--rule <id>', 'only this rule')
    .option('--host <name>', 'only this host')
    .option('--technique <id>', 'MITRE ATT&CK technique (T1110 also matches its sub-techniques)')
    .option('--q <text>', 'search: each word in the rule title or id, host, user, an address or a technique id (case-insensitive), or the alert id')
    .option('--since <when>', 'last seen after: a duration (15m, 2h, 7d) or an ISO time')
    .option('--until <when>', 'first seen before')
    .option('--sort <by>', 'time or score', 'time')
    .option('--limit <n>', 'at most this many', '50')
    .option('--json', 'one JSON object per line')
    .action(lazy(() => import('./incidents.js'), (m) => m.incidents));

  const alerts = program.command('alerts').description('look at and triage alerts');
  alerts.command('show').argument('<id>').description('the alert, the events that raised it and its triage history')
    .option('--json', 'as one JSON document').action(lazy(() => import('./incidents.js'), (m) => m.alertsShow));
  alerts.command('ack').argument('<ids...>').description('acknowledge one or more alerts, all or none (audited as cli:<your user>)')
    .option('--assignee <name>', 'assign them too').option('--comment <text>', 'a note for the audit log').action(lazy(() => import('./incidents.js'), (m) => m.alertsAck));
  alerts.command('close').argument('<ids...>').description('close one or more alerts with a reason, all or none (audited); --filter (one alert) also saves a filter for a false positive')
    .requiredOption('--reason <reason>', 'true_positive, false_positive, benign or duplicate')
    .option('--comment <text>', 'a note for the audit log')
    .option('--filter', 'false_positive or benign: also save the proposed Sigma filter, so the same activity stops alerting (see soc alerts filter)')
    .option('--fields <list>', 'with --filter: the event fields the filter selects on (comma separated)')
    .action(lazy(() => import('./incidents.js'), (m) => m.alertsClose));
  alerts.command('assign').argument('<ids...>').description('assign one or more alerts to an analyst, all or none (audited as cli:<your user>)')
    .requiredOption('--to <name>', 'who works on them').option('--comment <text>', 'a note for the audit log').action(lazy(() => import('./incidents.js'), (m) => m.alertsAssign));
  alerts.command('reopen').argument('<id>').description('reopen a closed alert (refused when its dedup key has a newer open alert)')
    .option('--comment <text>', 'a note for the audit log').action(lazy(() => import('./incidents.js'), (m) => m.alertsReopen));
  alerts.command('filter').argument('<id>')
    .description('the Sigma filter proposed for a false positive (YAML on stdout, the fields on offer on stderr); --save or --from saves one into the KV bucket RULE_FILTERS')
    .option('--fields <list>', 'the event fields to select on (comma separated; default: host, user, source address, process)')
    .option('--save', 'save the proposed filter as printed (the alert must be closed as false_positive or benign)')
    .option('--from <file>', 'save this filter document instead (an edited proposal), checked by the rule loader first')
    .option('--comment <text>', 'a note for the audit log')
    .action(lazy(() => import('./incidents.js'), (m) => m.alertsFilter));

  program.command('timeline')
    .description('one entity\'s events and alerts across sources, newest first, one line each; the entities seen with it on stderr')
    .argument('<entity>', 'ip:<address>, host:<name>, user:<name>, process:<name or executable path>, rule:<rule id>')
    .option('--since <when>', 'from: a duration before now (24h, 7d) or an ISO time (default: a day before --until)')
    .option('--until <when>', 'before: an ISO time or a duration before now (default: now); at most 31 days after --since')
    .option('--limit <n>', 'at most this many items', '100')
    .option('--top <n>', 'neighbours per kind', '5')
    .option('--json', 'one JSON object per line: the items, then the neighbours ({"type":"neighbour",...})')
    .action(lazy(() => import('./timeline.js'), (m) => m.timelineCommand));

  program.command('export')
    .description('stream events or alerts to a file as CSV or NDJSON (the filters of soc events / soc incidents)')
    .option('--kind <kind>', 'events or alerts', 'events')
    .option('--format <format>', 'csv or ndjson', 'csv')
    .requiredOption('--out <file>', 'where to write (- for stdout)')
    .option('--since <when>', 'a duration (15m, 2h, 7d) or an ISO time')
    .option('--until <when>', 'an ISO time or a duration before now')
    .option('--host <name>').option('--source <id>').option('--category <name>').option('--user <name>')
    .option('--q <text>', 'events: text the message contains; alerts: words of the incidents search (soc incidents --q)')
    .option('--filter <expr...>', 'field=value or field~prefix on the ECS document')
    .option('--status <list>', 'alerts: status').option('--severity <list>', 'alerts: severity').option('--rule <id>', 'alerts: rule')
    .action(lazy(() => import('./export.js'), (m) => m.exportCommand));

  program.command('stats')
    .description('lag per stage, events per second per source, DLQ size, agents by status')
    .option('--json', 'as one JSON document')
    .action(lazy(() => import('./live.js'), (m) => m.stats));

  program.command('tail')
    .description('live enriched events and alerts, one line each, until Ctrl-C')
    .option('--alerts-only', 'only alerts')
    .option('--json', 'one JSON object per line')
    .action(lazy(() => import('./live.js'), (m) => m.tail));

  const users = program.command('users').description('dashboard and API users');
  users.command('add').argument('<name>').description('add a user; the password comes from stdin, a prompt, or is generated and printed')
    .requiredOption('--role <role>', 'viewer, analyst or admin')
    .option('--password-stdin', 'read the password from stdin')
    .action(lazy(() => import('./users.js'), (m) => m.usersAdd));
  users.command('list').description('users and their roles').option('--json', 'one JSON object per line').action(lazy(() => import('./users.js'), (m) => m.usersList));
  users.command('disable').argument('<name>').description('disable a user and end their sessions').action(lazy(() => import('./users.js'), (m) => m.usersDisable));
  users.command('enable').argument('<name>').description('enable a disabled user').action(lazy(() => import('./users.js'), (m) => m.usersEnable));
  users.command('reset-password').argument('<name>').description('set a new password (stdin, a prompt, or generated and printed); their sessions end')
    .option('--password-stdin', 'read the password from stdin').action(lazy(() => import('./users.js'), (m) => m.usersResetPassword));
  users.command('set-role').argument('<name>').argument('<role>').description('change a user\'s role (viewer, analyst, admin); their sessions end').action(lazy(() => import('./users.js'), (m) => m.usersSetRole));
  users.command('end-sessions').argument('<name>').description('end every session and API token of a user').action(lazy(() => import('./users.js'), (m) => m.usersEndSessions));
}

/** `soc rules filters list|remove`: the filters saved from false positives, in the KV bucket RULE_FILTERS (NATS_URL or a running soc up). */
export function registerRuleFilterCommands(rules: Command): void {
  const filters = rules.command('filters').description('the filters saved from false positives (KV bucket RULE_FILTERS; soc alerts filter makes them)');
  filters.command('list').description('every saved filter: when, for which alert, the rules it names, its title (or why detect skips it)')
    .option('--json', 'one JSON object per line')
    .action(lazy(() => import('./incidents.js'), (m) => m.rulesFiltersList));
  filters.command('remove').argument('<alert id>', 'the alert the filter was saved for').description('lift the filter saved for an alert (audited as cli:<your user>); detect reloads without it')
    .option('--comment <text>', 'a note for the audit log')
    .action(lazy(() => import('./incidents.js'), (m) => m.rulesFiltersRemove));
}
