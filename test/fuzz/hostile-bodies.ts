// Adversarial request bodies of every ingest format, shaped to make a splitter or parser do super-linear
// work; shared by `npm run bench:hostile` (10 MiB each) and the end-to-end hostile-input test (smaller).
import type { BodyFormat } from '../../services/ingest/core.js';

export interface HostileShape { format: BodyFormat; name: string; body: () => string }

/** The shapes, each body about `size` characters. */
export function hostileBodies(size: number): HostileShape[] {
  const SIZE = size;
  /** `unit` repeated to `size` characters (cut to fit), with `head` before and `tail` after. */
  function fill(unit: string, head = '', tail = '', size = SIZE): string {
    const n = Math.max(1, Math.floor((size - head.length - tail.length) / unit.length));
    return head + unit.repeat(n) + tail;
  }

  /** Lines of `line` (each cut to `width`) to the body size. */
  function lines(line: string): string {
    return fill(`${line}\n`);
  }

  const ts = 'Nov 22 10:00:00';
  const wide = (prefix: string, unit: string, width = 60_000) => prefix + unit.repeat(Math.floor((width - prefix.length) / unit.length));

  return [
    // Windows event XML and `auto` bodies that start like XML.
    { format: 'winxml', name: '<Event> repeated, never closed', body: () => fill('<Event>') },
    { format: 'winxml', name: '<Event\\t> repeated, then one </Event>', body: () => fill('<Event\t', '', '</Event>') },
    { format: 'winxml', name: 'unclosed <!-- repeated between events', body: () => fill('<!--', '<Event><System><EventID>1</EventID></System></Event>') },
    { format: 'winxml', name: '<?xml repeated without ?>', body: () => fill('<?xml ', '<Event><System><EventID>1</EventID></System></Event>') },
    { format: 'winxml', name: '10 events of 1 MiB: attributes without end', body: () => fill(`<Event><System><EventID>1</EventID></System><EventData>${wide('<Data ', ' a="1"', SIZE / 10 - 60)}</EventData></Event>\n`) },
    { format: 'winxml', name: '10 events of 1 MiB: 50,000 same-name UserData fields', body: () => fill(`<Event><System><EventID>1</EventID></System><UserData><W>${'<A>x</A>'.repeat(Math.floor(SIZE / 10 / 8) - 20)}</W></UserData></Event>\n`) },
    { format: 'winxml', name: '1 MiB events nested 60 deep, entity-heavy text', body: () => fill(`<Event><System><EventID>1</EventID></System><EventData><Data Name="x">${'&amp;&#x41;'.repeat(Math.floor((SIZE / 10 - 1000) / 11))}</Data></EventData>${'<a>'.repeat(60)}${'</a>'.repeat(60)}</Event>\n`) },
    { format: 'winxml', name: '160,000 small Sysmon-like events', body: () => fill('<Event><System><Provider Name="Microsoft-Windows-Sysmon"/><EventID>1</EventID><Channel>Microsoft-Windows-Sysmon/Operational</Channel></System><EventData><Data Name="Image">C:\\x.exe</Data></EventData></Event>\n', '<Events>\n', '</Events>') },
    { format: 'auto', name: '<?xml then <Event> repeated, never closed', body: () => fill('<Event>', '<?xml version="1.0"?>') },
    { format: 'auto', name: '<Events then unclosed <Event', body: () => fill('<Event ', '<Events>') },
    // JSON and NDJSON.
    { format: 'json', name: 'array nested 5 million deep', body: () => `${'['.repeat(SIZE / 2)}${']'.repeat(SIZE / 2)}` },
    { format: 'json', name: 'array of 10 elements nested 500,000 deep', body: () => `[${Array.from({ length: 10 }, () => `${'['.repeat(SIZE / 40)}${']'.repeat(SIZE / 40)}`).join(',')}]` },
    { format: 'json', name: '{ then newlines (NDJSON fallback check)', body: () => fill('\n', '{') },
    { format: 'json', name: 'array of 600,000 objects with __proto__', body: () => `[${fill('{"__proto__":{"p":1}},', '', '{}', SIZE - 2)}]` },
    { format: 'json', name: 'one object with 700,000 keys', body: () => `{${Array.from({ length: Math.floor(SIZE / 16) }, (_, i) => `"k${i}":1`).join(',')}}` },
    { format: 'ndjson', name: '900,000 lines of 1,000 nested arrays... cut short', body: () => lines('[[[[[[[[[[') },
    { format: 'ndjson', name: 'lines 1 MiB deep each', body: () => lines(`${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`) },
    { format: 'ndjson', name: '1.4 million small records', body: () => lines('{"m":"x"}') },
    // Syslog (auth messages at the 64 KiB field limit), access logs and CEF.
    { format: 'syslog', name: 'sshd "Accepted ... for" + " from : port 0: " × 4,000', body: () => lines(wide(`<38>${ts} h sshd[1]: Accepted x for `, ' from : port 0: ')) },
    { format: 'syslog', name: 'sshd "Disconnecting invalid user" + "a port 1: " ×, CR end', body: () => lines(`${wide(`<38>${ts} h sshd[1]: Disconnecting invalid user `, 'a port 1: ')}\r`) },
    { format: 'syslog', name: 'PAM fields: one 60 KB word without "="', body: () => lines(wide(`<85>${ts} h sshd[1]: pam_unix(sshd:auth): authentication failure; `, 'a')) },
    { format: 'syslog', name: 'su "+ tty user:" with 60 KB of colons', body: () => lines(wide(`<86>${ts} h su[1]: + pts/0 a`, ':')) },
    { format: 'syslog', name: 'RFC 5424 with 6,000 structured-data params', body: () => lines(wide('<13>1 2026-11-22T10:00:00Z h app - - [m', ' a="1"') + '] x') },
    { format: 'syslog', name: 'lines of 1 MiB (over the field limit)', body: () => lines(wide(`<13>${ts} h app: `, 'x', 1024 * 1024)) },
    { format: 'access', name: 'quoted fields of 60 KB backslashes', body: () => lines(`1.2.3.4 - - [22/Nov/2026:10:00:00 +0000] "${'\\x'.repeat(30_000)}" 200 1 "-" "a"`) },
    { format: 'access', name: 'unclosed quoted request, 60 KB', body: () => lines(`1.2.3.4 - - [22/Nov/2026:10:00:00 +0000] "${'a'.repeat(60_000)}`) },
    { format: 'cef', name: '10,000 extension keys per record', body: () => lines(wide('CEF:0|V|P|1|1|n|5|', ' k=v')) },
    { format: 'cef', name: 'one 60 KB key-like token without "="', body: () => lines(wide('CEF:0|V|P|1|1|n|5|k=v ', 'a')) },
    { format: 'auto', name: 'mixed hostile lines, format guessed per line', body: () => lines(`<38>${ts} h sshd[1]: Accepted x for ${' from : port 0: '.repeat(200)}`) + lines(`CEF:0|V|P|1|1|n|5|${' k=v'.repeat(2000)}`) },
  ];
}
