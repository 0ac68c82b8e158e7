// What an ingest source is: the kind decides which Sigma logsources its events belong to (docs/rules.md).

/**
 * webserver: a web server's access log (Sigma category webserver); proxy: a forward proxy's log of client
 * requests (category proxy); firewall, dns: those categories; linux: syslog and authentication logs (product
 * linux, services from the program); auditd: Linux audit records; windows: Windows event logs (service from each
 * event's channel); agent: MiniSOC agent telemetry.
 */
export const SOURCE_KINDS = ['webserver', 'proxy', 'firewall', 'dns', 'linux', 'auditd', 'windows', 'agent'] as const;
export type SourceKind = (typeof SOURCE_KINDS)[number];

export function isSourceKind(v: string): v is SourceKind {
  return (SOURCE_KINDS as readonly string[]).includes(v);
}
