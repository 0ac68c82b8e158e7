// Tests of the Windows event XML parser on the real Sysmon / Security samples, checked against fast-xml-parser, and on broken XML.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { parseWinXml } from './winxml.js';
import { SHARED_DATA } from '../../../test/harness.js';

const SAMPLES = join(SHARED_DATA, 'sysmon-samples');
const ctx = { sourceId: 'win', receivedMs: Date.UTC(2024, 0, 1) };

function files(dir: string, suffix: string): string[] {
  if (!existsSync(dir)) throw new Error(`test data not found at ${dir} (expected the shared data beside the repository)`);
  return readdirSync(dir, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith(suffix)).sort().map((f) => join(dir, f));
}

function winlog(e: Event): Record<string, unknown> & { event_data: Record<string, string> } {
  return JSON.parse(e.extra_json!).winlog;
}

function reject(xml: string): string {
  try {
    parseWinXml(xml, ctx);
  } catch (err) {
    expect(err).toBeInstanceOf(ValidationError);
    return (err as Error).message;
  }
  throw new Error('accepted');
}

// ---------------------------------------------------------------- reference reading with fast-xml-parser

type FxNode = Record<string, unknown>;
const fxp = new XMLParser({
  ignoreAttributes: false, attributeNamePrefix: '', preserveOrder: true, trimValues: false,
  parseTagValue: false, parseAttributeValue: false, removeNSPrefix: true, processEntities: true,
  // Without it fast-xml-parser leaves character references such as &#xAE; as written.
  htmlEntities: true,
});

function tagOf(n: FxNode): string | undefined {
  return Object.keys(n).find((k) => k !== ':@' && k !== '#text' && !k.startsWith('?'));
}
function kids(n: FxNode): FxNode[] {
  return (n[tagOf(n)!] as FxNode[]) ?? [];
}
function elements(nodes: FxNode[]): FxNode[] {
  return nodes.filter((n) => tagOf(n) !== undefined);
}
function text(n: FxNode): string {
  return kids(n).map((c) => (c['#text'] as string | undefined) ?? '').join('');
}
function attrOf(n: FxNode, name: string): string | undefined {
  return (n[':@'] as Record<string, string> | undefined)?.[name];
}

/** The event_data every <Event> of a document should yield, read independently with fast-xml-parser. */
function referenceEventData(xml: string): { root: string; events: Record<string, string>[] } {
  const top = elements(fxp.parse(xml) as FxNode[]);
  const root = tagOf(top[0]!)!;
  const events = root === 'Events' ? elements(kids(top[0]!)) : top;
  return {
    root,
    events: events.filter((ev) => tagOf(ev) === 'Event').map((ev) => {
      const out: Record<string, string> = {};
      for (const part of elements(kids(ev))) {
        const tag = tagOf(part);
        if (tag === 'EventData') {
          let unnamed = 0;
          for (const d of elements(kids(part))) {
            const t = tagOf(d)!;
            const key = t === 'Data' ? (attrOf(d, 'Name') || `Data${++unnamed}`) : t;
            out[key] = t === 'Binary' ? text(d).trim() : text(d);
          }
        } else if (tag === 'UserData') {
          const walk = (n: FxNode, prefix: string): void => {
            for (const c of elements(kids(n))) {
              const key = prefix ? `${prefix}.${tagOf(c)}` : tagOf(c)!;
              if (elements(kids(c)).length) walk(c, key);
              else out[key] = text(c);
            }
          };
          for (const wrapper of elements(kids(part))) walk(wrapper, '');
        }
      }
      return out;
    }),
  };
}

// ---------------------------------------------------------------- the real samples

interface IndexRow { sample: string; channel: string; eventId: string; provider: string }
function indexRows(): IndexRow[] {
  const lines = readFileSync(join(SAMPLES, 'index.csv'), 'utf8').trim().split('\n').slice(1);
  return lines.map((l) => {
    const c = l.split(',');
    return { sample: c[1]!, channel: c[5]!, eventId: c[6]!, provider: c[7]! };
  });
}

/** What each Sysmon / Security / other event ID should be filed under: written from the ECS and Sysmon docs. */
const EXPECTED_CATEGORY: Record<string, string> = {
  'sysmon:1': 'process', 'sysmon:2': 'file', 'sysmon:3': 'network', 'sysmon:4': 'configuration', 'sysmon:5': 'process',
  'sysmon:6': 'driver', 'sysmon:7': 'library', 'sysmon:8': 'process', 'sysmon:9': 'file', 'sysmon:10': 'process',
  'sysmon:11': 'file', 'sysmon:12': 'registry', 'sysmon:13': 'registry', 'sysmon:14': 'registry', 'sysmon:15': 'file',
  'sysmon:16': 'configuration', 'sysmon:17': 'file', 'sysmon:18': 'file', 'sysmon:19': 'configuration', 'sysmon:20': 'configuration',
  'sysmon:21': 'configuration', 'sysmon:22': 'network', 'sysmon:23': 'file', 'sysmon:24': 'process', 'sysmon:25': 'process',
  'sysmon:26': 'file', 'sysmon:27': 'file',
  'Security:1102': 'configuration', 'Security:4624': 'authentication', 'Security:4625': 'authentication', 'Security:4634': 'authentication',
  'Security:4647': 'authentication', 'Security:4648': 'authentication', 'Security:4672': 'iam', 'Security:4674': 'iam', 'Security:4688': 'process',
  'Security:4697': 'configuration', 'Security:4699': 'configuration', 'Security:4723': 'iam', 'Security:4724': 'iam',
  'Security:4778': 'session', 'Security:4779': 'session', 'Security:5136': 'configuration',
  'System:104': 'configuration',
  'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational:21': 'authentication',
  'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational:22': 'session',
  'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational:23': 'authentication',
  'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational:24': 'session',
  'Microsoft-Windows-TerminalServices-LocalSessionManager/Operational:25': 'session',
  'Microsoft-Windows-TerminalServices-RemoteConnectionManager/Operational:1149': 'authentication',
  'Microsoft-Windows-TaskScheduler/Operational:106': 'configuration',
  'Microsoft-Windows-TaskScheduler/Operational:140': 'configuration',
  'Microsoft-Windows-TaskScheduler/Operational:141': 'configuration',
};

describe('real Windows event samples', () => {
  const samples = files(SAMPLES, '.sample.xml');

  it('finds the samples', () => {
    expect(samples.length).toBeGreaterThanOrEqual(100);
  });

  for (const file of samples) {
    const name = relative(SAMPLES, file);
    it(`keeps every EventData and UserData value of ${name}`, () => {
      const xml = readFileSync(file, 'utf8');
      const ref = referenceEventData(xml);
      if (ref.root !== 'Event') {
        // One sample is only the <EventData> cut out of an event: it has no event ID to file it under.
        expect(reject(xml)).toMatch(new RegExp(`<${ref.root}> without an enclosing <Event>`));
        return;
      }
      const out = parseWinXml(xml, ctx);
      expect(out).toHaveLength(1);
      expect(winlog(out[0]!).event_data).toEqual(ref.events[0]);
    });
  }

  it('files each sample under the ECS category of its event ID', () => {
    const rows = indexRows().filter((r) => r.eventId);
    expect(rows.length).toBeGreaterThanOrEqual(100);
    const checked: string[] = [];
    for (const row of rows) {
      const [e] = parseWinXml(readFileSync(join(SAMPLES, row.sample), 'utf8'), ctx);
      expect(e!.event?.code, row.sample).toBe(row.eventId);
      const key = row.provider === 'Microsoft-Windows-Sysmon' ? `sysmon:${row.eventId}` : `${row.channel}:${row.eventId}`;
      const expected = EXPECTED_CATEGORY[key];
      expect(e!.event?.category?.[0], `${row.sample} (${key})`).toBe(expected);
      if (expected) checked.push(key);
    }
    // Every Sysmon event ID 1-27 is among the samples and was checked.
    for (let id = 1; id <= 27; id++) expect(checked).toContain(`sysmon:${id}`);
  });
});

// ---------------------------------------------------------------- mappings, field by field

function sample(path: string): Event {
  const out = parseWinXml(readFileSync(join(SAMPLES, path), 'utf8'), ctx);
  expect(out).toHaveLength(1);
  return out[0]!;
}

describe('Windows event mapping', () => {
  it('maps Sysmon 1 to a process start with the process, its parent, hashes, user and the winlog contract', () => {
    const e = sample('sysmon/Sysmon_1_Info_ProcExec.sample.xml');
    expect(e.timestamp).toBe('2019-06-15T07:13:42.294109800Z');
    expect(e.event).toEqual({
      kind: 'event', code: '1', module: 'sysmon', provider: 'Microsoft-Windows-Sysmon', severity: 4,
      category: ['process'], type: ['start'], action: 'process_creation',
    });
    expect(e.host).toEqual({ name: 'iewin7' });
    expect(e.user).toEqual({ name: 'IEUser', domain: 'IEWIN7' });
    expect(e.process).toEqual({
      pid: 652,
      entity_id: '{365ABB72-9AA6-5D04-0000-00109C850F00}',
      executable: 'C:\\Windows\\System32\\mshta.exe',
      name: 'mshta.exe',
      command_line: '"C:\\Windows\\System32\\mshta.exe" "C:\\Users\\IEUser\\AppData\\Local\\Microsoft\\Windows\\Temporary Internet Files\\Content.IE5\\S97WTYG7\\update.hta"',
      working_directory: 'C:\\Users\\IEUser\\Desktop\\',
      start: '2019-06-15T07:13:42.278Z',
      integrity_level: 'High',
      pe_company: 'Microsoft Corporation',
      pe_description: 'Microsoft (R) HTML Application host',
      pe_product: 'Internet Explorer',
      hash_sha1: 'd4f0397f83083e1c6fb0894187cc72aebcf2f34f',
      hash_md5: 'abdfc692d9fe43e2ba8fe6cb5a8cb95a',
      hash_sha256: '949485ba939953642714ae6831d7dcb261691cac7cbb8c1a9220333801f60820',
      parent: {
        pid: 3660,
        entity_id: '{365ABB72-9972-5D04-0000-0010F0490C00}',
        executable: 'C:\\Program Files\\Internet Explorer\\iexplore.exe',
        name: 'iexplore.exe',
        command_line: '"C:\\Program Files\\Internet Explorer\\iexplore.exe" C:\\Users\\IEUser\\Downloads\\update.html',
      },
    });
    const w = winlog(e);
    expect(w).toMatchObject({
      channel: 'Microsoft-Windows-Sysmon/Operational', provider_name: 'Microsoft-Windows-Sysmon', event_id: 1,
      computer_name: 'IEWIN7', record_id: 7648, user: { identifier: 'S-1-5-18' }, process: { pid: 2044, thread: { id: 2092 } },
    });
    expect(w.event_data.RuleName).toBe('');
    expect(w.event_data.ProcessId).toBe('652');
  });

  it('maps Sysmon 3 to a network connection with both ends, transport and direction', () => {
    const e = sample('sysmon/Sysmon_3_Info_NetConn.sample.xml');
    expect(e.event?.category).toEqual(['network']);
    expect(e.source).toEqual({ ip: '192.168.56.1', port: 52545, domain: 'LAPTOP-JU4M3I0E' });
    expect(e.destination).toEqual({ ip: '192.168.56.101', port: 3389, domain: 'MSEDGEWIN10' });
    expect(e.network).toEqual({ transport: 'tcp', protocol: 'ms-wbt-server', direction: 'inbound', type: 'ipv4' });
    expect(e.user).toEqual({ name: 'NETWORK SERVICE', domain: 'NT AUTHORITY' });
  });

  it('maps Sysmon 22 to a DNS query with the resolved addresses', () => {
    const e = sample('sysmon/Sysmon_22_Info_DNS-Query.sample.xml');
    expect(e.dns).toEqual({ question_name: 'fs03vuln', response_code: 'NOERROR', resolved_ip: ['10.23.42.38'] });
    expect(e.process?.name).toBe('PsExec64.exe');
  });

  it('maps Sysmon 13 to a registry value set with hive, key and value', () => {
    const e = sample('sysmon/Sysmon_13_Info_RegKeyValueSet_Noisy.sample.xml');
    expect(e.event?.action).toBe('registry_set');
    expect(e.registry).toEqual({
      path: 'HKLM\\SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Print\\Printers\\Microsoft XPS Document Writer v4\\CopyFiles\\Module',
      hive: 'HKLM',
      key: 'SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\Print\\Printers\\Microsoft XPS Document Writer v4\\CopyFiles',
      value: 'Module',
      data_strings: 'C:\\Windows\\system32\\spool\\DRIVERS\\x64\\4\\Test.dll',
    });
  });

  it('maps Sysmon 11 to a file creation with the file path split', () => {
    const e = sample('sysmon/Sysmon_11_Info_FileCreated.sample.xml');
    expect(e.event?.type).toEqual(['creation']);
    const path = winlog(e).event_data.TargetFilename!;
    expect(e.file?.path).toBe(path);
    expect(`${e.file?.directory}\\${e.file?.name}`).toBe(path);
  });

  it('maps a 4625 wrong password to a failed logon with the target user, address, port and workstation', () => {
    const e = sample('builtin/Security/LogonLogoff/Logon/Sec_4625_Low_LogonFail_WrongPW.sample.xml');
    expect(e.event).toMatchObject({ category: ['authentication'], type: ['info'], action: 'logon_failed', outcome: 'failure', module: 'windows', code: '4625' });
    expect(e.user).toEqual({ name: 'Administrator', domain: '.', id: 'S-1-0-0' });
    expect(e.source).toEqual({ ip: '192.168.198.149', port: 33083, domain: 'fpEbpiox2Q3Qf8av' });
    expect(e.timestamp).toBe('2016-09-19T16:52:49.399674600Z');
  });

  it('maps a 4624 to a successful logon and leaves "-" addresses out', () => {
    const e = sample('builtin/Security/LogonLogoff/Logon/Sec_4624_Med_Logon-Type9-NewInteractive_PossibleTokenImpersonation.sample.xml');
    expect(e.event).toMatchObject({ category: ['authentication'], type: ['start'], action: 'logon', outcome: 'success' });
    expect(e.user).toEqual({ name: 'user', domain: 'domain', id: 'S-1-5-21-3445421715-2530690580-3149308974-1193' });
    expect(e.source).toBeUndefined();
    expect(e.process).toEqual({ pid: 0x2044, executable: 'C:\\Windows\\Temp\\temp.exe', name: 'temp.exe' });
  });

  it('maps a 4688 to a process start with hex process ids, parent and integrity level', () => {
    const e = sample('builtin/Security/DetailedTracking/ProcessCreation/Sec_4688_Med_ProcExec_RDP-Hijacking.sample.xml');
    expect(e.event).toMatchObject({ category: ['process'], type: ['start'], outcome: 'success' });
    expect(e.process).toEqual({
      pid: 0x1980, executable: 'C:\\Windows\\System32\\cmd.exe', name: 'cmd.exe', command_line: 'cmd.exe /k tscon 2 /dest rdp-tcp#14',
      integrity_level: 'System', parent: { pid: 0x24c, executable: 'C:\\Windows\\System32\\services.exe', name: 'services.exe' },
    });
    expect(e.user).toEqual({ name: 'WEF$', domain: 'WINDOMAIN', id: 'S-1-5-18' });
  });

  it('maps a 1102 log clearing and reads the user from UserData', () => {
    const e = sample('builtin/Security/Default/Sec_1102_High_SecLogCleared.sample.xml');
    expect(e.event).toMatchObject({ category: ['configuration'], type: ['deletion'], action: 'audit_log_cleared' });
    expect(e.user).toEqual({ name: 'Sec504', domain: 'SEC504STUDENT', id: 'S-1-5-21-2977773840-2930198165-1551093962-1000' });
    expect(winlog(e).event_data).toEqual({
      SubjectUserSid: 'S-1-5-21-2977773840-2930198165-1551093962-1000', SubjectUserName: 'Sec504', SubjectDomainName: 'SEC504STUDENT', SubjectLogonId: '0x1e3dd',
    });
  });

  it('maps an RDP logon from UserData to an authentication with user and address', () => {
    const e = sample('builtin/TerminalServices-LocalSessionManager_Op/LocalSessManager_21_Info_RDP-Logon.sample.xml');
    expect(e.user).toEqual({ name: 'Administrator', domain: 'WIN-QW3OXGRISMS' });
    expect(e.source).toEqual({ ip: '122.6.150.75' });
  });

  it('keeps an event of an unknown provider whole: unnamed Data numbered, Binary, qualifiers ignored', () => {
    const e = sample('builtin/System/Sys_6013_Info_ComputerUpTime.sample.xml');
    expect(e.event).toEqual({ kind: 'event', code: '6013', module: 'windows', provider: 'EventLog', severity: 4 });
    const d = winlog(e).event_data;
    expect(Object.keys(d)).toEqual(['Data1', 'Data2', 'Data3', 'Data4', 'Data5', 'Data6', 'Data7', 'Binary']);
    expect(d.Data5).toBe('8852');
    expect(d.Data7).toBe('-540 東京 (標準時)');
    expect(d.Binary!.startsWith('31002E00')).toBe(true);
    expect(e.timestamp).toBe('2025-03-27T22:34:51.3133019Z');
  });
});

const WIN = (channel: string, provider: string, id: number, data: string, extra = '') =>
  `<Event><System><Provider Name="${provider}"/><EventID>${id}</EventID><Level>4</Level><Keywords>0x8020000000000000</Keywords><Channel>${channel}</Channel><Computer>DC01.corp.example.com</Computer></System><EventData>${data}</EventData>${extra}</Event>`;
const D = (fields: Record<string, string>) => Object.entries(fields).map(([k, v]) => `<Data Name="${k}">${v}</Data>`).join('');
const one = (xml: string): Event => parseWinXml(xml, ctx)[0]!;

describe('Windows event mapping of events without a sample', () => {
  it('takes the message from RenderingInfo when the export rendered it', () => {
    const e = one(WIN('Application', 'App', 1000, '', '<RenderingInfo Culture="en-US"><Message>Faulting application name: x.exe</Message><Level>Error</Level></RenderingInfo>'));
    expect(e.message).toBe('Faulting application name: x.exe');
  });

  it('keeps ::1 and 127.0.0.1 as source addresses of a logon', () => {
    expect(one(WIN('Security', 'Microsoft-Windows-Security-Auditing', 4624, D({ TargetUserName: 'a', IpAddress: '::1', IpPort: '0' }))).source).toEqual({ ip: '::1' });
    expect(one(WIN('Security', 'Microsoft-Windows-Security-Auditing', 4624, D({ TargetUserName: 'a', IpAddress: '127.0.0.1', IpPort: '5985' }))).source).toEqual({ ip: '127.0.0.1', port: 5985 });
  });

  it('reads the outcome of a Kerberos ticket request from its Status', () => {
    const ok = one(WIN('Security', 'Microsoft-Windows-Security-Auditing', 4768, D({ TargetUserName: 'alice', Status: '0x0', IpAddress: '::ffff:10.1.2.3', IpPort: '50000' })));
    expect(ok.event).toMatchObject({ action: 'kerberos_tgt_request', outcome: 'success', type: ['start'] });
    expect(ok.source).toEqual({ ip: '10.1.2.3', port: 50000 });
    const bad = one(WIN('Security', 'Microsoft-Windows-Security-Auditing', 4768, D({ TargetUserName: 'alice', Status: '0x6' })));
    expect(bad.event).toMatchObject({ outcome: 'failure', type: ['info'] });
  });

  it('names the admin as user and the added member as target of a 4732', () => {
    const e = one(WIN('Security', 'Microsoft-Windows-Security-Auditing', 4732, D({
      MemberName: 'CN=Eve,OU=Users,DC=corp,DC=example,DC=com', MemberSid: 'S-1-5-21-1-2-3-1107', TargetUserName: 'Administrators',
      SubjectUserName: 'admin', SubjectDomainName: 'CORP', SubjectUserSid: 'S-1-5-21-1-2-3-500',
    })));
    expect(e.event).toMatchObject({ category: ['iam'], type: ['group', 'change'], action: 'group_member_added', outcome: 'success' });
    expect(e.user).toEqual({ name: 'admin', domain: 'CORP', id: 'S-1-5-21-1-2-3-500', target: { name: 'CN=Eve,OU=Users,DC=corp,DC=example,DC=com', id: 'S-1-5-21-1-2-3-1107' } });
  });

  it('maps a 7045 service installation from the System log', () => {
    const e = one(WIN('System', 'Service Control Manager', 7045, D({ ServiceName: 'evil', ImagePath: '%COMSPEC% /c calc' })));
    expect(e.event).toMatchObject({ category: ['configuration'], type: ['creation'], action: 'service_installed' });
  });

  it('does not file an event of another provider that reuses a Security or System event ID', () => {
    expect(one(WIN('Application', 'Some App', 7045, '')).event?.category).toBeUndefined();
    expect(one(WIN('Application', 'Some App', 4625, '')).event?.category).toBeUndefined();
  });

  it('marks the Sysmon file blocks 27 and 28 as failures and files 29', () => {
    const sysmon = (id: number) => one(WIN('Microsoft-Windows-Sysmon/Operational', 'Microsoft-Windows-Sysmon', id, D({ TargetFilename: 'C:\\t\\x.exe', Hashes: 'SHA256=AB' })));
    expect(sysmon(27).event).toMatchObject({ category: ['file'], type: ['creation'], action: 'file_block_executable', outcome: 'failure' });
    expect(sysmon(28).event).toMatchObject({ category: ['file'], type: ['deletion'], action: 'file_block_shredding', outcome: 'failure' });
    expect(sysmon(29).event).toMatchObject({ category: ['file'], type: ['creation'], action: 'file_executable_detected' });
    expect(sysmon(29).file).toEqual({ path: 'C:\\t\\x.exe', name: 'x.exe', directory: 'C:\\t', extension: 'exe', hash_sha256: 'ab' });
  });

  it('tells a Sysmon 12 key creation from a deletion', () => {
    const reg = (type: string) => one(WIN('Microsoft-Windows-Sysmon/Operational', 'Microsoft-Windows-Sysmon', 12, D({ EventType: type, TargetObject: 'HKLM\\SOFTWARE\\Evil' })));
    expect(reg('CreateKey').event).toMatchObject({ type: ['creation'], action: 'registry_add' });
    expect(reg('DeleteKey').event).toMatchObject({ type: ['deletion'], action: 'registry_delete' });
    expect(reg('CreateKey').registry).toEqual({ path: 'HKLM\\SOFTWARE\\Evil', hive: 'HKLM', key: 'SOFTWARE\\Evil' });
  });

  it('takes the outcome of other Security events from the audit keywords', () => {
    expect(one(WIN('Security', 'Microsoft-Windows-Security-Auditing', 4663, '')).event?.outcome).toBe('success');
    expect(one(WIN('Security', 'Microsoft-Windows-Security-Auditing', 4663, '').replace('0x8020000000000000', '0x8010000000000000')).event?.outcome).toBe('failure');
  });
});

// ---------------------------------------------------------------- documents and broken XML

const EVENT = (id: number, data: string) => `<Event xmlns="http://schemas.microsoft.com/win/2004/08/events/event"><System><Provider Name="Test"/><EventID>${id}</EventID><TimeCreated SystemTime="2024-01-01T00:00:0${id % 10}.5Z"/><Channel>Application</Channel><Computer>PC1</Computer></System><EventData>${data}</EventData></Event>`;

describe('Windows event XML documents', () => {
  it('yields one event per <Event> of an <Events> file, each with its own XML as raw', () => {
    const doc = `<?xml version="1.0" encoding="utf-8"?>\n<Events>\n${EVENT(1, '<Data Name="a">1</Data>')}\n${EVENT(2, '<Data Name="a">2</Data>')}\n</Events>\n`;
    const out = parseWinXml(doc, ctx);
    expect(out.map((e) => e.event?.code)).toEqual(['1', '2']);
    expect(out[1]!.raw).toBe(EVENT(2, '<Data Name="a">2</Data>'));
    expect(out.map((e) => winlog(e).event_data.a)).toEqual(['1', '2']);
  });

  it('reads events printed one after another without a root, as wevtutil does', () => {
    expect(parseWinXml(EVENT(1, '') + EVENT(2, ''), ctx)).toHaveLength(2);
  });

  it('decodes entities and character references and keeps CDATA and whitespace verbatim', () => {
    const [e] = parseWinXml(EVENT(1, '<Data Name="a"> x &amp; &lt;y&gt; &#x41;&#66; </Data><Data Name="b"><![CDATA[<raw> & ]]></Data>'), ctx);
    expect(winlog(e!).event_data).toEqual({ a: ' x & <y> AB ', b: '<raw> & ' });
  });

  it('reads a tab or line break inside an attribute value as a space, as XML says', () => {
    const [e] = parseWinXml(EVENT(1, '<Data Name="a\tb\r\nc">x</Data>'), ctx);
    expect(winlog(e!).event_data).toEqual({ 'a b c': 'x' });
  });

  it('reads single-quoted attributes and namespace prefixes', () => {
    const xml = "<e:Event xmlns:e='urn:x'><e:System><e:Provider Name='P'/><e:EventID>7</e:EventID></e:System><e:EventData><e:Data Name='k'>v</e:Data></e:EventData></e:Event>";
    const [e] = parseWinXml(xml, ctx);
    expect(e!.event?.code).toBe('7');
    expect(winlog(e!).event_data).toEqual({ k: 'v' });
  });

  it('refuses a Data or UserData element named after a prototype, with a reason, without touching Object.prototype', () => {
    expect(() => parseWinXml(EVENT(1, '<Data Name="__proto__">polluted</Data>'), ctx)).toThrow(/EventData uses the key "__proto__", which is refused/);
    expect(() => parseWinXml(EVENT(1, '<Data Name="constructor">c</Data>'), ctx)).toThrow(/EventData uses the key "constructor"/);
    expect(() => parseWinXml(EVENT(1, '<Data Name="a.prototype">c</Data>'), ctx)).toThrow(/EventData uses the key "prototype"/);
    const userData = '<Event><System><Provider Name="P"/><EventID>1</EventID></System><UserData><W><__proto__>x</__proto__></W></UserData></Event>';
    expect(() => parseWinXml(userData, ctx)).toThrow(/UserData uses the key "__proto__"/);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('produces an event for an event ID nobody maps, with everything kept', () => {
    const [e] = parseWinXml(EVENT(9, '<Data Name="x">y</Data>'), ctx);
    expect(e!.event).toEqual({ kind: 'event', code: '9', module: 'windows', provider: 'Test' });
    expect(winlog(e!)).toEqual({ channel: 'Application', provider_name: 'Test', event_id: 9, computer_name: 'PC1', event_data: { x: 'y' } });
  });
});

describe('broken Windows event XML', () => {
  const good = EVENT(1, '<Data Name="a">1</Data>');

  it('rejects a truncated event and names the unclosed element', () => {
    expect(reject(good.slice(0, good.indexOf('</EventData>')))).toMatch(/truncated: <EventData> \(opened at line 1 column \d+\) is not closed/);
  });

  it('rejects a truncated start tag', () => {
    expect(reject(good.slice(0, good.indexOf('Name="a"') + 4))).toMatch(/truncated/);
  });

  it('rejects mismatched end tags', () => {
    expect(reject(good.replace('</Data>', '</Date>'))).toMatch(/end tag <\/Date> does not match <Data>/);
  });

  it('rejects an undefined entity', () => {
    expect(reject(good.replace('>1</Data>', '>&nbsp;</Data>'))).toMatch(/unknown entity &nbsp;/);
  });

  it('rejects a bare ampersand', () => {
    expect(reject(good.replace('>1</Data>', '>a & b</Data>'))).toMatch(/does not start an entity reference/);
  });

  it('rejects a DOCTYPE, which could define entities', () => {
    expect(reject(`<!DOCTYPE Event [<!ENTITY a "aaaa">]>${good}`)).toMatch(/DOCTYPE is not accepted/);
  });

  it('rejects a raw control character and says which element holds it', () => {
    expect(reject(good.replace('>1</Data>', '>SeSecurity\x01Privilege</Data>'))).toMatch(/control character U\+0001 after <Data Name="a">: XML 1\.0 does not allow it/);
  });

  it('rejects a character reference to a control character', () => {
    expect(reject(good.replace('>1</Data>', '>&#1;</Data>'))).toMatch(/stands for a character XML 1\.0 does not allow/);
  });

  it('rejects text outside any element', () => {
    expect(reject(`${good} trailing`)).toMatch(/text " trailing" outside any element/);
  });

  it('rejects an event without System', () => {
    expect(reject('<Event><EventData><Data Name="a">1</Data></EventData></Event>')).toMatch(/<Event> has no <System> element/);
  });

  it('rejects an event without an EventID', () => {
    expect(reject('<Event><System><Provider Name="P"/></System></Event>')).toMatch(/<System> has no <EventID>/);
  });

  it('rejects an EventID that is not a number', () => {
    expect(reject(good.replace('<EventID>1<', '<EventID>one<'))).toMatch(/EventID "one" is not a number/);
  });

  it('rejects a document of something other than events', () => {
    expect(reject('<html><body/></html>')).toMatch(/expected <Event> or <Events>, found <html>/);
  });

  it('rejects duplicate attributes', () => {
    expect(reject(good.replace('Name="a"', 'Name="a" Name="b"'))).toMatch(/attribute Name appears twice/);
  });

  it('rejects a Data value over 64 KiB', () => {
    expect(reject(good.replace('>1</Data>', `>${'A'.repeat(70000)}</Data>`))).toMatch(/text of <Data> is 70000 characters, over the limit/);
  });

  it('rejects a System field over 64 KiB', () => {
    expect(reject(good.replace('>PC1<', `>${'A'.repeat(70000)}<`))).toMatch(/text of <Computer> is 70000 characters, over the limit/);
  });

  it('rejects a TimeCreated that is not a time', () => {
    expect(reject(good.replace('2024-01-01T00:00:01.5Z', 'yesterday'))).toMatch(/TimeCreated SystemTime "yesterday" is not a time/);
  });

  it('rejects nesting deeper than any event has', () => {
    expect(reject(`<Event>${'<a>'.repeat(100)}${'</a>'.repeat(100)}</Event>`)).toMatch(/nest deeper than 64/);
  });

  it('rejects an empty record', () => {
    expect(reject('  \n')).toMatch(/empty XML record/);
  });
});
