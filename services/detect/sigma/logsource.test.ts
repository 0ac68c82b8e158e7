// Which logsources events belong to, and how Sigma field names reach normalized fields.
import { describe, expect, it } from 'vitest';
import type { Event } from '../../core/proto.js';
import { eventFromDoc } from '../event-doc.js';
import { matches } from '../testdata/helpers.js';
import { readField, resolveField } from './fieldmap.js';
import { eventLogsource, logsourceMatches } from './logsource.js';

const win = (channel: string, code: number, eventData: Record<string, string> = {}): Event =>
  eventFromDoc({ 'event.code': String(code), 'event.module': channel.includes('Sysmon') ? 'sysmon' : 'windows', winlog: { channel, event_id: code, event_data: eventData } });
const SYSMON = 'Microsoft-Windows-Sysmon/Operational';

describe('eventLogsource', () => {
  it('gives Sysmon events their Sigma categories', () => {
    const cases: [number, string[]][] = [
      [1, ['process_creation']], [3, ['network_connection']], [7, ['image_load']], [10, ['process_access']], [11, ['file_event']],
      [12, ['registry_event', 'registry_add', 'registry_delete']], [13, ['registry_event', 'registry_set']], [14, ['registry_event', 'registry_rename']],
      [22, ['dns_query']], [23, ['file_delete']],
    ];
    for (const [code, categories] of cases) {
      expect(eventLogsource(win(SYSMON, code))).toMatchObject({ products: ['windows'], categories, services: ['sysmon'] });
    }
  });

  it('maps Windows channels to services and PowerShell event ids to their categories', () => {
    expect(eventLogsource(win('Security', 4625))).toMatchObject({ services: ['security'], categories: [] });
    expect(eventLogsource(win('Security', 4688))).toMatchObject({ services: ['security'], categories: ['process_creation'] });
    expect(eventLogsource(win('Microsoft-Windows-PowerShell/Operational', 4104))).toMatchObject({ services: ['powershell'], categories: ['ps_script'] });
    expect(eventLogsource(win('Microsoft-Windows-PowerShell/Operational', 4103))).toMatchObject({ categories: ['ps_module'] });
    expect(eventLogsource(win('Windows PowerShell', 400))).toMatchObject({ services: ['powershell-classic'], categories: ['ps_classic_start'] });
    expect(eventLogsource(win('Microsoft-Windows-Windows Defender/Operational', 1116))).toMatchObject({ services: ['windefend'] });
  });

  it('puts web access events from a source without a kind in webserver only (proxy rules need a proxy source)', () => {
    const ls = eventLogsource(eventFromDoc({ 'event.category': ['web'], 'event.module': 'nginx', 'url.original': '/x', 'http.request.method': 'GET' }));
    expect(ls.categories).toEqual(['webserver']);
    expect(ls.products).toEqual(['nginx']);
  });

  it("places events by their source's declared kind (observer.type)", () => {
    const web = { 'event.category': ['web'], 'event.module': 'nginx', 'url.original': '/x', 'http.request.method': 'GET' };
    expect(eventLogsource(eventFromDoc({ ...web, 'observer.type': 'webserver' }))).toMatchObject({ categories: ['webserver'], products: ['nginx'] });
    expect(eventLogsource(eventFromDoc({ ...web, 'observer.type': 'proxy' }))).toMatchObject({ categories: ['proxy'], products: [] });
    expect(eventLogsource(eventFromDoc({ 'event.category': ['network'], 'observer.type': 'firewall' }))).toMatchObject({ categories: ['firewall'] });
    expect(eventLogsource(eventFromDoc({ 'event.category': ['network'], 'observer.type': 'dns' }))).toMatchObject({ categories: ['dns'] });
    expect(eventLogsource(eventFromDoc({ 'process.name': 'sshd', 'observer.type': 'linux' }))).toMatchObject({ products: ['linux'], services: ['sshd', 'auth', 'syslog'] });
    expect(eventLogsource(eventFromDoc({ 'observer.type': 'auditd' }))).toMatchObject({ products: ['linux'], services: ['auditd'] });
    // Windows sources are placed by each event's channel.
    const sec = eventFromDoc({ 'event.code': '4625', 'event.module': 'windows', 'observer.type': 'windows', winlog: { channel: 'Security', event_id: 4625 } });
    expect(eventLogsource(sec)).toMatchObject({ products: ['windows'], services: ['security'] });
  });

  it('runs a rule only on its logsource: proxy never on access logs, security only on the Security channel', () => {
    const proxy = { category: 'proxy' };
    const web = eventLogsource(eventFromDoc({ 'event.category': ['web'], 'url.original': '/x', 'http.request.method': 'GET', 'observer.type': 'webserver' }));
    expect(logsourceMatches(proxy, web)).toBe(false);
    expect(logsourceMatches({ category: 'webserver' }, web)).toBe(true);
    const security = { product: 'windows', service: 'security' };
    expect(logsourceMatches(security, eventLogsource(win('Security', 4625)))).toBe(true);
    expect(logsourceMatches(security, eventLogsource(win(SYSMON, 1)))).toBe(false);
    expect(logsourceMatches(security, eventLogsource(win('System', 7045)))).toBe(false);
  });

  it('puts sshd and sudo syslog events in linux auth', () => {
    const ssh = eventLogsource(eventFromDoc({ 'event.category': ['authentication'], 'event.outcome': 'failure', 'process.name': 'sshd', 'event.module': 'syslog' }));
    expect(ssh).toMatchObject({ products: ['linux'], services: ['sshd', 'auth', 'syslog'] });
    expect(eventLogsource(eventFromDoc({ 'process.name': 'sudo', 'event.module': 'syslog' })).services).toContain('sudo');
  });

  it('places agent events by operating system and event category', () => {
    const proc = eventLogsource(eventFromDoc({ 'host.os.family': 'linux', 'event.category': ['process'], 'event.type': ['start'], 'process.executable': '/usr/bin/curl' }));
    expect(proc).toMatchObject({ products: ['linux'], categories: ['process_creation'] });
    const net = eventLogsource(eventFromDoc({ 'host.os.family': 'linux', 'event.category': ['network'], 'event.type': ['connection'], 'destination.ip': '1.2.3.4' }));
    expect(net.categories).toContain('network_connection');
    expect(eventLogsource(eventFromDoc({ 'host.os.family': 'linux', 'event.category': ['host'], 'host.cpu.usage': 0.5 })).categories).toEqual([]);
  });

  it('admits a rule only when every logsource value it names is the event\'s', () => {
    const ls = eventLogsource(win(SYSMON, 1));
    expect(logsourceMatches({ product: 'windows', category: 'process_creation' }, ls)).toBe(true);
    expect(logsourceMatches({ product: 'windows', service: 'sysmon' }, ls)).toBe(true);
    expect(logsourceMatches({}, ls)).toBe(true);
    expect(logsourceMatches({ product: 'linux', category: 'process_creation' }, ls)).toBe(false);
    expect(logsourceMatches({ product: 'windows', service: 'security' }, ls)).toBe(false);
  });
});

describe('field mapping', () => {
  const pc = { product: 'windows', category: 'process_creation' };

  it('reads the Windows EventData field first and falls back to the ECS field', () => {
    const ref = resolveField('Image', pc);
    expect(ref.paths[0]).toBe('winlog.event_data.Image');
    expect(ref.paths).toContain('process.executable');
    const both = eventFromDoc({ 'process.executable': 'ecs.exe', winlog: { event_data: { Image: 'C:\\evtx.exe' } } });
    expect(readField(ref, both)).toBe('C:\\evtx.exe');
    expect(readField(ref, eventFromDoc({ 'process.executable': '/usr/bin/curl' }))).toBe('/usr/bin/curl');
  });

  it('lets a Linux agent process event match a rule written with Sysmon field names', () => {
    const det = { sel: { 'Image|endswith': '/curl', 'CommandLine|contains': ' -k ' }, condition: 'sel' };
    expect(matches(det, { 'host.os.family': 'linux', 'event.category': ['process'], 'event.type': ['start'], 'process.executable': '/usr/bin/curl', 'process.command_line': 'curl -k https://x' })).toBe(true);
  });

  it('maps the Windows header fields to their own homes, never EventData', () => {
    expect(resolveField('EventID', pc).paths).toEqual(['event.code']);
    expect(resolveField('Channel', pc).paths).toEqual(['winlog.channel']);
    expect(resolveField('Provider_Name', { product: 'windows' }).paths).toEqual(['winlog.provider_name', 'event.provider']);
  });

  it('maps web server field names to ECS', () => {
    const web = { category: 'webserver' };
    expect(resolveField('c-uri', web).paths).toEqual(['url.original']);
    expect(resolveField('cs-method', web).paths).toEqual(['http.request.method']);
    expect(resolveField('sc-status', web).paths).toEqual(['http.response.status_code']);
    expect(resolveField('c-ip', web).paths).toEqual(['source.ip']);
    expect(resolveField('cs-user-agent', web).paths).toEqual(['user_agent.original']);
  });

  it('keeps a mapping to the logsources it belongs to', () => {
    expect(resolveField('OriginalFileName', pc).paths).toContain('process.pe.original_file_name');
    // In an image load, OriginalFileName is the DLL's, which has no ECS home in the event.
    expect(resolveField('OriginalFileName', { product: 'windows', category: 'image_load' }).paths).not.toContain('process.pe.original_file_name');
  });

  it('reads EventData names written with spaces under their Sigma name without spaces', () => {
    const e = eventFromDoc({ winlog: { event_data: { 'Threat Name': 'Virus:DOS/EICAR_Test_File' } } });
    expect(readField(resolveField('ThreatName', { product: 'windows', service: 'windefend' }), e)).toBe('Virus:DOS/EICAR_Test_File');
  });

  it('reads dotted names as written (ECS taxonomy)', () => {
    expect(resolveField('destination.ip', pc).paths).toEqual(['destination.ip']);
  });
});
