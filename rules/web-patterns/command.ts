// Patterns of rules/web_command_injection.yml: shell commands joined to a value (; | & newline), substitutions,
// shell evasions and code-execution calls, in every URL encoding.
import {
  alt, BIN_DIR, ch, CMD_END, CMD_SEP, DOT, IFS, pct, QUOTE, SEP, SHELL_SPACE, SHELL_SPACE_NO_NEWLINE, SLASH, SPACE, SUBST, BACKSLASH,
} from './blocks.js';

/** Names that are commands and nothing else: one after a separator is enough, whatever follows it. */
const UNIQUE_COMMANDS = [
  'whoami', 'uname', 'ifconfig', 'ipconfig', 'netstat', 'nslookup', 'wget', 'zsh', 'ksh', 'tcsh', 'powershell', 'pwsh', 'systeminfo', 'tasklist',
  'ncat', 'netcat', 'socat', 'busybox', 'certutil', 'bitsadmin', 'wmic', 'mshta', 'rundll32', 'regsvr32', 'cscript', 'wscript', 'nohup', 'chmod',
  'chown', 'useradd', 'usermod', 'adduser', 'crontab', 'base64', 'xxd', 'getent', 'printenv', 'lsb_release', 'traceroute', 'tracert', 'mkfifo',
  'killall', 'pkill', 'nmap', 'lsof', 'quser', 'qwinsta', 'nltest', 'dsquery', 'schtasks', 'icacls', 'cacls', 'msiexec', 'printf', 'reboot',
  'shutdown', 'ipconfig', 'uptime', 'hostname', 'pwd',
];
/** Short names that also occur in text (Tom; ID 42, the LS engine): one counts when the command ends there or an option follows. */
const SHORT_COMMANDS = ['id', 'ls', 'ps', 'env', 'dir', 'ver', 'sh', 'dash', 'csh', 'cmd', 'telnet', 'sudo', 'gcc', 'tftp', 'whois', 'arp', 'passwd'];
const PLAIN_COMMANDS = [...UNIQUE_COMMANDS, ...SHORT_COMMANDS];
/** Names that are also words or names (cat food, sleep well, Ruby, NC, hair curl, Amazon Echo): they need an argument only a shell takes. */
const WORD_COMMANDS = [
  'cat', 'type', 'set', 'find', 'more', 'head', 'tail', 'less', 'sort', 'kill', 'host', 'file', 'which', 'rm', 'cp', 'mv', 'touch', 'tac',
  'nl', 'od', 'cut', 'tee', 'cd', 'tree', 'timeout', 'copy', 'del', 'move', 'ren', 'mkdir', 'grep', 'egrep', 'sed', 'awk',
  'ssh', 'scp', 'ftp', 'tar', 'zip', 'unzip', 'git', 'wc', 'du', 'df', 'ip', 'chdir', 'systemctl', 'service', 'mount', 'strings', 'xargs', 'exec',
  'eval', 'openssl', 'node', 'java', 'lua', 'expr', 'rev', 'base32', 'uniq', 'diff', 'ping', 'sleep', 'usleep', 'bash', 'python[23]?', 'perl',
  'ruby', 'php', 'nc', 'net1?', 'dig', 'vol', 'reg', 'sc', 'attrib', 'powercat', 'echo', 'curl', 'vi', 'vim', 'nano', 'view',
];
/** Noise that no text has inside a word: empty quotes, a backslash, $@, ${x}, $(). */
const HARD_NOISE = alt(`${QUOTE}${QUOTE}`, alt('\\\\', pct('5c')), `${ch('$')}${alt('@', pct('40'), `${ch('{')}[a-z_]{0,8}${ch('}')}`, `${ch('(')}${ch(')')}`)}`);

/**
 * A word a shell reads as a command name once it drops the noise: c\\at, wh''oami, p$@rintenv, and lone
 * quotes around short pieces (w'h'o'am'i, c'a't; rock'n'roll starts with four letters and is left alone).
 */
const DISGUISED = alt(
  `[a-z]{1,6}${HARD_NOISE}[a-z]{1,10}(?:${HARD_NOISE}[a-z]{1,8}){0,4}`,
  `[a-z]{1,2}${QUOTE}[a-z]{0,3}${QUOTE}[a-z]{0,6}(?:${QUOTE}[a-z]{0,4}){0,4}`,
);

const names = (xs: string[]): string => alt(...xs);
/** Any command name, with an optional .exe, or a disguised one. */
const ANY_COMMAND = alt(`${names([...PLAIN_COMMANDS, ...WORD_COMMANDS])}(?:${DOT}exe)?`, DISGUISED);
/** A name that is a command and nothing else, so it needs no argument to count. */
const PLAIN_COMMAND = `${names(PLAIN_COMMANDS)}(?:${DOT}exe)?`;

/** A Windows system directory before a binary: c:\windows\system32\ */
const WIN_DIR = `[a-z]${ch(':')}${SEP}windows${SEP}(?:system32|syswow64)${SEP}`;

/** A separator and what may follow it before the command: more separators, spaces, a closing quote or bracket. */
const SEPARATOR_RUN = `${CMD_SEP}${alt(CMD_SEP, SHELL_SPACE_NO_NEWLINE, QUOTE, ch(')'))}{0,8}`;
/** The start of an injected command: a separator run that may end in the command's directory (/bin/, c:\\windows\\system32\\). */
const INJECT = `${CMD_SEP}${alt(CMD_SEP, SHELL_SPACE_NO_NEWLINE, QUOTE, ch(')'), BIN_DIR, WIN_DIR)}{0,8}`;

/** Spaces a shell takes between a command and its arguments: whitespace, $IFS, a tab, a redirection. */
const ARG_SPACE = `${alt(SHELL_SPACE, ch('<'))}{1,8}`;

/** An argument only a shell command line has: a path, an option, an address, a URL, a variable, a redirection. */
const SHELL_ARG = alt(
  `${alt(SLASH, BACKSLASH, `~${SLASH}`, `${DOT}{1,8}${SLASH}`)}[a-z0-9._?*-]`,
  `${SLASH}${alt('$', CMD_SEP, SPACE)}`,
  `${ch('-')}{1,8}[a-z0-9]`,
  `${DOT}${alt('$', SHELL_SPACE)}`,
  `hk${alt('lm', 'cu', 'cr', 'u', 'cc', 'ey_')}`,
  '\\d{1,3}(?:\\.|%(?:25){0,4}2e)\\d{1,3}(?:\\.|%(?:25){0,4}2e)\\d{1,3}',
  `[a-z]{3,5}${ch(':')}${SLASH}${SLASH}`,
  `${ch('$')}${alt('[a-z_]', ch('('), ch('{'))}`,
  ch('>'),
  `[a-z]${ch(':')}${alt(BACKSLASH, SLASH)}`,
  `${QUOTE}[^\\s'"]`,
  `${alt('%', pct('25'))}[a-z_]{2,20}${alt('%', pct('25'))}`,
  `${ch('+')}[rwxst]{1,3}${CMD_END}`,
  `[0-7]{3,4}${ARG_SPACE}`,
  `${alt('aux', 'axf?', '-ef', 'addr', 'a', 'route', 'link', 'user', 'localgroup', 'share', 'session', 'view', 'use', 'start', 'config', 'query', 'add', 'delete', 'save', 'export')}${CMD_END}`,
);

/** How a bare command ends: the value ends, another separator or a comment follows, or an option or path (not a word: "; id required"). */
const BARE_END = alt(
  '$', CMD_SEP, QUOTE, ch(')'), ch('`'), ch('#'), ch('<'), ch('>'), pct('00'),
  `${SHELL_SPACE}{1,8}${alt('$', CMD_SEP, ch('#'), ch('-'), SLASH, BACKSLASH, QUOTE, ch('$'), ch('>'), ch('<'), ch('`'), '\\d')}`,
);

/** A host name for a network tool (DNS exfiltration probes): dig +short x.oast.example, host a.b.example */
const NETWORK_TOOL = `${alt('dig', 'host', 'nslookup', 'ping', 'curl', 'wget', 'whois', 'nc', 'ncat', 'telnet', 'ssh', 'ftp', 'tftp', 'traceroute', 'tracert')}${ARG_SPACE}(?:${ch('+')}[a-z]{1,10}${ARG_SPACE})?[a-z0-9_-]{1,63}(?:${DOT}[a-z0-9_-]{1,63}){1,6}${CMD_END}`;

/** The marker of an echo probe (echo cmdi_ok, echo vuln1337): a token with a digit or an underscore. */
const ECHO_MARKER = `echo${ARG_SPACE}[a-z0-9]{0,20}[_0-9][a-z0-9_]{0,20}${BARE_END}`;

/** WMI from a shell: wmic process call create, wmic useraccount list. */
const WMIC = `wmic(?:${DOT}exe)?${ARG_SPACE}${alt('process', 'os', 'useraccount', 'qfe', 'service', 'shadowcopy', 'nicconfig', 'computersystem', 'logicaldisk', 'startup', 'product', 'group', 'share', 'environment', ch('/'))}`;

/** The delay of a time-based probe: sleep 5, ping 127.0.0.1 counts, timeout 10. */
const DELAY = `${alt('sleep', 'usleep', 'timeout', 'ping')}${ARG_SPACE}\\d{1,6}${BARE_END}`;

/** A command after a separator with a shell argument: ;cat /etc/passwd, | ping -c 3 x, && dir c:\ */
export const INJECTED_WITH_ARGS = [`${ANY_COMMAND}${ARG_SPACE}${SHELL_ARG}`, DELAY, NETWORK_TOOL, ECHO_MARKER, WMIC].map((x) => `${INJECT}${x}`);

/** A binary named by its absolute path after a separator: ;/bin/ls, |/usr/bin/id| */
export const INJECTED_BINARY = `${SEPARATOR_RUN}${alt(BIN_DIR, WIN_DIR)}[a-z0-9_.?*\\[\\]-]{1,16}${CMD_END}`;

/** A command substitution: $(id), `whoami`, $(sleep 5) */
export const SUBSTITUTION = `${SUBST}${alt(SHELL_SPACE, ch('{'), BIN_DIR, WIN_DIR)}{0,8}${ANY_COMMAND}${alt(CMD_END, ch(','))}`;

/** Shell-only syntax: ${IFS}, brace expansion {cat,/etc/passwd}, ANSI-C quoting $'\x69', globbed binaries /???/c?t. */
export const SHELL_SYNTAX = [
  IFS,
  `${ch('{')}${alt(BIN_DIR, WIN_DIR)}{0,4}${ANY_COMMAND}${ch(',')}${alt(SLASH, ch('-'), ch('$'), DOT, `[a-z]{3,5}${ch(':')}`)}`,
  `${ch('{')}${alt(BIN_DIR, WIN_DIR)}{0,4}${PLAIN_COMMAND}${ch(',')}`,
  `${ch('$')}${QUOTE}${alt('\\\\', pct('5c'))}${alt('x[0-9a-f]', '[0-7]', 'u[0-9a-f]')}`,
  `${SEP}[a-z]{0,2}${alt(ch('?'), ch('*'))}{1,8}[a-z]{0,2}${SEP}[a-z?*%0-9]{0,12}${alt(ch('?'), ch('*'))}`,
  `${SEP}${alt('s?bin', 'etc', 'usr', 'dev', 'tmp', 'proc')}${SEP}[a-z]{0,4}${alt(ch('?'), ch('*'))}[a-z?*]{0,6}${CMD_END}`,
];

/** A < raw, encoded or as the HTML entity a reflected payload was escaped with. */
const LT = alt(ch('<'), `${ch('&')}lt${ch(';')}`);

// Alternatives that are lists become separate expressions (a list value in the rule): one big alternation
// costs V8 several times more to compile than its parts.

/** Fragments of payloads that only attacks send: shells with -c/-i, reverse shells, base64 pipes to a shell, cmd /c. */
export const PAYLOAD_FRAGMENTS = [
  `${alt(BIN_DIR, SEP, '')}${alt('ba', 'z', 'k', 'da', '')}sh${ARG_SPACE}${ch('-')}[ci]${CMD_END}`,
  `${SEP}bin${SEP}${alt('ba', 'z', 'k', 'da', '')}sh${CMD_END}`,
  `${SEP}dev${SEP}${alt('tcp', 'udp')}${SEP}`,
  `${alt('nc', 'ncat', 'netcat')}${ARG_SPACE}(?:[^&]{0,40}?${SPACE})?${ch('-')}[ec]${ARG_SPACE}`,
  `base64${ARG_SPACE}${ch('-')}{1,8}${alt('d', 'decode')}`,
  `${ch('|')}${SHELL_SPACE}{0,4}${alt(BIN_DIR, '')}${alt('ba', 'z', 'k', 'da', '')}sh${alt('$', CMD_SEP, SHELL_SPACE, QUOTE, ch(')'), ch('`'))}`,
  `cmd(?:${DOT}exe)?${ARG_SPACE}${SLASH}[ckr]${CMD_END}`,
  `${alt('powershell', 'pwsh')}(?:${DOT}exe)?${ARG_SPACE}${ch('-')}${alt('c', 'command', 'e', 'enc', 'encodedcommand', 'ep', 'executionpolicy', 'exec', 'nop', 'noprofile', 'w', 'windowstyle', 'f', 'file', 'noni', 'noninteractive', 'sta')}${CMD_END}`,
  `${alt('iex', 'invoke-expression', 'downloadstring', 'downloadfile', 'downloaddata')}${SPACE}{0,4}${ch('(')}`,
  `new-object${SHELL_SPACE}{1,8}${alt('system\\.', '')}net\\.webclient`,
  `${alt('certutil', 'bitsadmin')}(?:${DOT}exe)?${ARG_SPACE}${alt(ch('-'), SLASH)}${alt('urlcache', 'decode', 'transfer')}`,
  `${ch('(')}${SHELL_SPACE}{0,4}${ch(')')}${SHELL_SPACE}{0,4}${ch('{')}${SHELL_SPACE}{0,4}[a-z_:]{1,12}${SHELL_SPACE}{0,4}${ch(';')}${SHELL_SPACE}{0,4}${ch('}')}${SHELL_SPACE}{0,4}${ch(';')}`,
  `${LT}${ch('!')}${ch('-')}{2}${SHELL_SPACE}{0,4}${ch('#')}${alt('exec', 'include', 'echo', 'config', 'printenv')}`,
  `${LT}${ch('?')}${alt('php', ch('='))}`,
  `${ch('{')}${ch('$')}${ch('{')}`,
  `${alt('system', 'passthru', 'shell_exec', 'exec', 'popen', 'proc_open', 'pcntl_exec', 'eval', 'assert', 'create_function', 'call_user_func')}${SPACE}{0,4}${ch('(')}${SPACE}{0,4}${alt(QUOTE, ch('$'), ch('`'), 'base64_decode', 'str_rot13', 'gzinflate', 'chr')}`,
  `${alt(ch('$'), '')}${ch('{')}${alt(ch('@'), '')}${alt('system', 'passthru', 'shell_exec', 'exec', 'eval')}${ch('(')}`,
  `${ch('$')}${ch('{')}${ch('@')}[a-z_]{2,24}${ch('(')}`,
];

/** A disguised word right after a separator: ;wh''oami, |e\\nv, &&p$@rintenv, ;w'h'o'am'i */
export const BROKEN_WORD = `${INJECT}${DISGUISED}${CMD_END}`;

/** Any command after a separator and ended like a command: ;id, |whoami, %0aid, &&ls */
export const INJECTED_COMMAND = `${INJECT}${alt(`${names(UNIQUE_COMMANDS)}(?:${DOT}exe)?${CMD_END}`, `${names(SHORT_COMMANDS)}(?:${DOT}exe)?${BARE_END}`)}`;

/** A path argument: /etc/passwd, c:\\boot.ini, ../x */
const PATH_ARG = alt(`${alt(SLASH, BACKSLASH, `~${SLASH}`, `${DOT}{1,8}${SLASH}`)}[a-z0-9._?*-]`, `[a-z]${ch(':')}${alt(BACKSLASH, SLASH)}`);

/** A command line as the whole value (?host=ping -c 3 x, ?cmd=cat /etc/passwd): the parameter goes to a shell. */
export const COMMAND_LINE_VALUE = [
  `${PLAIN_COMMAND}${ARG_SPACE}${alt(PATH_ARG, `${ch('-')}{1,8}[a-z]`, `${ch('$')}${alt(ch('('), ch('{'))}`, ch('>'))}`, `${names(WORD_COMMANDS)}${ARG_SPACE}${PATH_ARG}`, DELAY,
].map((x) => `${alt('=', pct('3d'), SEP)}${alt(BIN_DIR, WIN_DIR)}{0,4}${x}`);

const STRONG = {
  selection_with_args: INJECTED_WITH_ARGS,
  selection_binary_path: INJECTED_BINARY,
  selection_substitution: SUBSTITUTION,
  selection_shell_syntax: SHELL_SYNTAX,
  selection_broken_word: BROKEN_WORD,
  selection_payload: PAYLOAD_FRAGMENTS,
};

export const COMMAND_INJECTION = STRONG;

/** Code-injection probes that also appear in questions about them: phpinfo(), print(md5(...)). */
export const CODE_PROBE = `${alt('phpinfo', `print${ch('(')}${SPACE}{0,4}md5`)}${SPACE}{0,4}${ch('(')}`;

export const POSSIBLE_COMMAND_INJECTION = {
  selection_command: INJECTED_COMMAND,
  selection_code_probe: CODE_PROBE,
  selection_command_line: COMMAND_LINE_VALUE,
  ...Object.fromEntries(Object.entries(STRONG).map(([k, v]) => [k.replace(/^selection_/, 'filter_'), v])),
};

