// Patterns of rules/web_path_traversal.yml: ../ in every encoding, sensitive files, absolute system paths, PHP wrappers.
import { alt, ch, DOT, DOT_ANY, NAME_END, pct, PCT, SEP, SEP_ANY, SEPS, SLASH, STEP_JUNK, VALUE_START, BACKSLASH } from './blocks.js';

/** A path below a directory: name/ with any separator spelling between the parts. */
const under = (...parts: string[]): string => parts.join(`${SEP}{1,8}`);

/** A ../ step (..\ ..;/ .%00./ ....//) in any spelling, or a trailing .. (/static/.., ?dir=..). */
export const TRAVERSAL = alt(
  `${DOT_ANY}${STEP_JUNK}?${DOT_ANY}${STEP_JUNK}?${SEP_ANY}`,
  `${alt('^', '=', pct('3d'), SEP_ANY)}${DOT_ANY}${DOT_ANY}${alt('$', '[&#;?]', pct('00', '26', '23', '3f'))}`,
);

/** Entries of /etc an attacker reads to learn the system (its users, hosts, services and their configuration). */
const ETC_FILES = alt(
  'passwd', 'shadow', 'gshadow', 'group', 'hosts', 'hostname', 'issue', 'motd', 'crontab', 'fstab', 'mtab', 'resolv\\.conf', 'os-release', 'lsb-release',
  'redhat-release', 'debian_version', 'profile', 'bashrc', 'environment', 'sudoers', 'inittab', 'inetd\\.conf', 'exports', 'network', 'sysconfig',
  'ssh', 'ssl', 'pam\\.d', 'cron\\.\\w', 'init\\.d', 'apache2?', 'httpd', 'nginx', 'mysql', 'php\\d?', 'postgresql', 'redis', 'my\\.cnf', 'security',
  'shells', 'login\\.defs', 'ldap', 'samba', 'vsftpd\\.conf', 'proftpd', 'named\\.conf', 'aliases', 'master\\.passwd', 'ftpusers', 'hosts\\.(?:allow|deny)',
  'timezone', 'localtime', 'machine-id', 'nsswitch\\.conf', 'rc\\.local', 'sysctl\\.conf', 'kubernetes', 'docker', 'systemd', 'apt', 'yum\\.conf',
  'logrotate\\.conf', 'rsyslog\\.conf', 'syslog\\.conf', 'supervisor', 'tomcat\\d{0,2}', 'openvpn', 'wireguard', 'xinetd\\.d', 'iptables', 'knockd\\.conf',
);

/** Paths specific enough to flag wherever they start, even without a leading separator (?file=etc/passwd). */
const SENSITIVE_PATHS = alt(
  `${under('etc', alt('passwd', 'shadow', 'gshadow', 'master\\.passwd', 'sudoers', under('security', 'passwd')))}-?${NAME_END}`,
  under('proc', alt('self', 'thread-self', '\\d{1,7}'), alt('environ', 'cmdline', 'maps', 'smaps', 'mem', 'status', 'fd', 'cwd', 'exe', 'root', 'mounts', 'stat', 'limits', 'auxv', 'net')),
  under(alt('windows', 'winnt'), alt('win\\.ini', 'system\\.ini', 'system32', 'syswow64', 'sysnative', 'repair', 'panther', 'debug', 'ntds', 'php\\.ini', 'explorer\\.exe')),
  under('system32', alt(under('config', alt('sam', 'system', 'security', 'software', 'regback')), under('drivers', 'etc'), 'inetsrv', 'cmd\\.exe', 'logfiles')),
  under('inetpub', alt('wwwroot', 'logs', 'temp', 'history')),
  `${alt('web-inf', 'meta-inf')}${SEP}`,
  under('\\.ssh', alt('id_[a-z0-9]{2,7}', 'authorized_keys', 'known_hosts')),
  under('\\.aws', alt('credentials', 'config')),
  under('\\.kube', 'config'),
  under('\\.docker', 'config\\.json'),
  under('\\.git', alt('config', 'head', 'index', 'logs', 'refs', 'objects')),
  under('\\.svn', alt('entries', 'wc\\.db')),
  under('serviceaccount', 'token'),
);

/** Files that no page links to, after a separator (/x/etc/hosts, /.env, \\boot.ini). */
const SENSITIVE_NAMES = alt(
  `${under('etc', ETC_FILES)}${NAME_END}`,
  `${under('proc', alt('version', 'cpuinfo', 'meminfo', 'mounts', 'sched_debug', 'kallsyms', 'modules', 'config\\.gz', under('net', alt('tcp6?', 'udp6?', 'arp', 'fib_trie', 'route', 'unix'))))}${NAME_END}`,
  `${alt('boot\\.ini', 'autoexec\\.bat', 'ntuser\\.dat', 'win\\.ini', 'system\\.ini')}${NAME_END}`,
  `\\.${alt('bash', 'zsh', 'sh', 'mysql', 'psql', 'python', 'node_repl')}_history`,
  `\\.${alt('viminfo', 'lesshst', 'htpasswd', 'htaccess', 'npmrc', 'pgpass', 'netrc', 'git-credentials', 's3cfg', 'dockercfg', 'env')}${NAME_END}`,
  `${alt('wp-config', 'config\\.inc', 'localsettings')}\\.php`,
  under(alt('apache2?', 'httpd', 'nginx'), alt(`logs?${SEPS}`, ''), `${alt('access', 'error')}[._-]?log`),
  `${alt('web-inf', 'meta-inf')}$`,
);

export const SENSITIVE_FILE = [SENSITIVE_PATHS, `${SEP}${SENSITIVE_NAMES}`];

/** Top-level directories of a Unix system and the parts of them an attacker reads. */
const UNIX_ROOTS = alt(
  `${under('etc')}${SEPS}[a-z0-9._-]`,
  `${under('proc')}${SEPS}[a-z0-9._-]`,
  under('sys', alt('class', 'kernel', 'devices', 'firmware', 'fs', 'module', 'power', 'bus', 'block')),
  under('boot', alt('grub', 'vmlinuz', 'initrd', 'config-', 'system\\.map')),
  `${alt('root', 'bin', 'sbin')}${SEPS}[a-z0-9._-]`,
  under('dev', alt('tcp', 'udp', 'shm', 'fd', 'null', 'zero', 'u?random', 'std(?:in|out|err)', 'mem', 'kmem', 'sd[a-z]', 'tty', 'mqueue')),
  under('var', alt('log', 'www', 'lib', 'mail', 'spool', 'run', 'backups', 'cache', 'db', 'tmp', 'opt', 'adm', 'lock')),
  under('usr', alt('local', 'lib', 'share', 'bin', 'sbin', 'etc', 'src', 'include', 'libexec')),
  `${under('home', '[a-z0-9._-]{1,32}')}${SEPS}\\.`,
  under('private', alt('etc', 'var', 'tmp')),
);

/** An absolute Unix path where a value starts (?file=/etc/hosts, //var/log/, a space before it). */
export const UNIX_PATH = `${VALUE_START}${SEPS}${UNIX_ROOTS}`;

const WORD_SPACE = alt('[\\s+_]', pct('20'));

/** A Windows drive path to system locations (C:\Windows, c:/boot.ini, C:\inetpub), admin shares, %SYSTEMROOT%. */
export const WINDOWS_PATH = alt(
  `${alt('^', '[^a-z0-9]', `${PCT}[0-9a-f]{2}`)}[a-z]${ch(':')}${SEP}{1,8}${alt(
    'windows', 'winnt', 'boot\\.ini', 'autoexec\\.bat', 'config\\.sys', 'inetpub',
    `documents${WORD_SPACE}and${WORD_SPACE}settings`, `system${WORD_SPACE}volume${WORD_SPACE}information`, 'pagefile\\.sys', 'hiberfil\\.sys',
    `${ch('$')}recycle\\.bin`, 'xampp', 'wamp(?:64)?', 'php', 'apache', 'nginx', 'mysql',
    under('users', '[^\\\\/%]{1,40}', alt('ntuser\\.dat', 'appdata', under('desktop', 'desktop\\.ini'), '\\.ssh')),
  )}`,
  `${BACKSLASH}${alt('[a-z]', 'admin', 'ipc')}${ch('$')}${alt(BACKSLASH, '$')}`,
  `${BACKSLASH}${BACKSLASH}${alt('\\?', pct('3f'), DOT)}${BACKSLASH}`,
  `${alt('%', pct('25'))}${alt('systemroot', 'windir', 'systemdrive', 'comspec')}${alt('%', pct('25'))}`,
);

/** PHP stream wrappers and local file URLs: file inclusion with a payload, not just a read. */
export const FILE_WRAPPER = alt(
  // <?php in base64, as data:// and php://input payloads carry it
  'PD9waHA',
  `php${ch(':')}${SLASH}{2}${alt('filter', 'input', 'fd', 'memory', 'temp', 'stdin')}`,
  `${alt('expect', 'phar', 'zip', 'glob', 'data', 'compress\\.zlib', 'compress\\.bzip2', 'zlib', 'rar', 'ogg', 'ssh2\\.(?:shell|exec|tunnel|sftp|scp)')}${ch(':')}${SLASH}{2}`,
  `file${ch(':')}${SLASH}{1,8}${alt(UNIX_ROOTS, `[a-z]${ch(':')}`, 'localhost', '127\\.0\\.0\\.1', '\\[::1\\]')}`,
);

export const PATH_TRAVERSAL = {
  selection_traversal: TRAVERSAL,
  selection_sensitive_file: SENSITIVE_FILE,
  selection_unix_path: UNIX_PATH,
  selection_windows_path: WINDOWS_PATH,
};

/**
 * Remote file inclusion: a URL as a parameter value that ends in ? or %00, so that whatever the application
 * appends (.php, .inc) is cut off (?page=http://x/shell.txt?).
 */
export const REMOTE_INCLUSION = `${ch('=')}${alt('https?', 'ftps?')}${ch(':')}${SLASH}{2}[^&\\s?%]{1,200}${alt(ch('?'), pct('00'))}${alt('$', '&')}`;

export const FILE_INCLUSION = {
  selection_wrapper: FILE_WRAPPER,
  selection_remote: REMOTE_INCLUSION,
};
