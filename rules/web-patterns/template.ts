// Patterns of rules/web_template_injection.yml: server-side template and expression language injection
// (Jinja2, Twig, FreeMarker, Velocity, Thymeleaf/Spring EL, ERB, Smarty, Handlebars, OGNL, Log4j lookups).
import { alt, ch, pct, QUOTE, SPACE } from './blocks.js';

const D = alt('\\.', pct('2e'));
const OPEN_PAREN = ch('(');
const LB = ch('{');
const RB = ch('}');
const S = `${SPACE}{0,4}`;
/** Template openings no text has: {{ ${ #{ *{ @{ <%= {% {{= ${{ */
const OPEN = alt(`${LB}${LB}${ch('=')}?`, `${ch('$')}${LB}${LB}?`, `${ch('#')}${LB}`, `${ch('*')}${LB}`, `${ch('@')}${LB}`, `${ch('<')}${ch('%')}${ch('=')}?`, `${LB}${ch('%')}`);
/** Openings that text also has ({10*2}, [[2020-21]], @(a-b)): only a multiplication counts after them. */
const WEAK_OPEN = alt(LB, `${ch('[')}{2}`, `${ch('@')}${OPEN_PAREN}`);
const NUMBER_OR_STRING = alt('\\d{1,6}', `${QUOTE}\\w{1,6}${QUOTE}`);
const TIMES = alt('\\*', pct('2a'));

/** Arithmetic inside a template opening: the classic probe for which engine renders input ({{7*7}} -> 49). */
export const PROBE = alt(
  `${OPEN}${S}${NUMBER_OR_STRING}${S}${alt('[*+/-]', pct('2a', '2b', '2f'))}${S}${NUMBER_OR_STRING}`,
  `${WEAK_OPEN}${S}${NUMBER_OR_STRING}${S}${TIMES}${S}${NUMBER_OR_STRING}${S}${alt(RB, ch(']'), ch(')'))}`,
);

/** Directives and statements of template engines a form value never holds. */
export const DIRECTIVES = alt(
  `${LB}${ch('%')}${S}${alt('debug', 'import', 'include', 'extends', 'from', 'print', 'macro', 'for', 'if', 'set')}${alt(SPACE, OPEN_PAREN, ch('%'))}`,
  `${alt(ch('<'), ch('['))}${ch('#')}${alt('assign', 'list', 'if', 'include', 'import', 'function', 'macro', 'attempt', 'setting', 'global', 'local')}${alt(SPACE, ch('>'), ch(']'))}`,
  `${ch('#')}${alt('set', 'foreach', 'evaluate', 'define', 'parse', 'include')}${S}${OPEN_PAREN}`,
  `${LB}${LB}${S}${alt('self', 'config', 'request', 'settings', 'app', '_self', 'dump', 'range', 'lipsum', 'cycler', 'joiner', 'namespace', 'url_for', 'get_flashed_messages', 'g')}${S}${alt(RB, D, ch('['), OPEN_PAREN, ch('|'))}`,
  `${ch('$')}${LB}${alt('applicationscope', 'pagecontext', 'sessionscope', 'requestscope', 'initparam', 'header', 'headervalues', 'cookie', 'facescontext', 'param', 'paramvalues')}${alt(RB, D, ch('['))}`,
  `${OPEN}${S}${QUOTE}[^'"%]{0,20}${QUOTE}${S}${alt(D, ch('|'))}${S}[a-z_]{2,20}${OPEN_PAREN}`,
  `${ch('$')}${LB}${LB}`,
  `${LB}${LB}${ch('#')}${alt('with', 'each', 'lookup')}${SPACE}${QUOTE}`,
);

/** Two underscores, raw, encoded or as \\x5f escapes inside a string. */
const UNDERSCORES = `${alt('_', pct('5f'), '\\\\x5f')}{2}`;

/** Object graph walks that lead to code execution: Python dunders and Jinja globals, Java reflection, Node internals. */
export const OBJECT_WALK = alt(
  `${alt(D, ch('['), QUOTE, ch('|'))}${UNDERSCORES}${alt('class', 'mro', 'subclasses', 'globals', 'builtins', 'init', 'import', 'base', 'bases', 'dict', 'getattribute', 'reduce', 'loader', 'spec')}${UNDERSCORES}`,
  `${ch('|')}${S}attr${S}${OPEN_PAREN}`,
  `${alt('lipsum', 'cycler', 'joiner', 'namespace', 'url_for', 'get_flashed_messages', 'config', 'request', 'self')}${D}${alt('__', pct('5f'))}`,
  `java${D}lang${D}${alt('runtime', 'processbuilder', 'system', 'class', 'reflect', 'thread', 'classloader')}`,
  `${alt('getruntime', 'processbuilder', 'getclass', 'forname', 'getmethod', 'newinstance', 'getdeclaredmethod', 'classloader')}${S}${OPEN_PAREN}`,
  `${alt(LB, OPEN_PAREN, ch('['), SPACE)}T${S}${OPEN_PAREN}${S}java${D}`,
  `constructor${D}constructor`, `process${D}mainmodule`, 'child_process', `execsync${S}${OPEN_PAREN}`, `global${D}process`,
  `system${D}diagnostics${D}process`,
  `${UNDERSCORES}import${UNDERSCORES}${S}${OPEN_PAREN}`,
  `os${D}${alt('system', 'popen', 'exec[lv]p?e?', 'spawn[lv]p?e?')}${S}${OPEN_PAREN}`,
  `subprocess${D}${alt('call', 'run', 'popen', 'check_output', 'getoutput')}`,
);

/** Engine internals and directives that run commands: FreeMarker, Twig, Smarty, ERB, OGNL, Velocity, Log4j lookups. */
export const ENGINE_INTERNALS = alt(
  `freemarker${D}template${D}utility`,
  `${ch('?')}new${OPEN_PAREN}${ch(')')}`,
  `_self${D}env`, 'registerundefinedfiltercallback', `getfilter${S}${OPEN_PAREN}`,
  `${ch('|')}${S}${alt('filter', 'map', 'reduce', 'sort')}${S}${OPEN_PAREN}${S}${QUOTE}${alt('system', 'exec', 'passthru', 'shell_exec', 'popen')}`,
  `${LB}${alt('php', `${ch('/')}php`)}${RB}`, 'smarty_internal_', `${LB}${alt('system', 'exec', 'passthru', 'shell_exec', 'eval')}${S}${OPEN_PAREN}`,
  `${ch('<')}${ch('%')}${ch('=')}?${S}${alt('system', 'exec', 'spawn', '`', pct('60'), 'io\\.popen', 'file\\.(?:open|read)', '%x', 'eval', 'require', 'global\\.process', 'process\\.')}`,
  `${ch('#')}${LB}${S}${alt('system', 'exec', 'spawn', '`', pct('60'), 'io\\.popen', 'file\\.', '%x', 'eval', 'global\\.process', 'process\\.', 't\\(')}`,
  `${ch('#')}_memberaccess`, `${ch('@')}java${D}lang`, `${ch('#')}context${ch('[')}`, 'allowstaticmethodaccess', 'denymethodexecution', `ognl${D}ognlcontext`, `${ch('%')}${LB}${S}${OPEN_PAREN}${ch('#')}`,
  `${ch('$')}class${D}inspect`,
  `${ch('$')}${LB}${alt(`${alt('jndi', 'lower', 'upper', 'env', 'sys', 'java', 'ctx', 'date', 'main', 'bundle', 'docker', 'k8s', 'spring', 'base64', 'web', 'log4j', 'marker', 'sd', 'map', 'event', 'jvmrunargs')}${ch(':')}`, `${ch(':')}{2}-`, `${ch('$')}${LB}`)}`,
);

export const TEMPLATE_INJECTION = { selection_object_walk: OBJECT_WALK, selection_engine_internals: ENGINE_INTERNALS };

export const TEMPLATE_PROBE = {
  selection_probe: PROBE,
  selection_directive: DIRECTIVES,
  filter_object_walk: OBJECT_WALK,
  filter_engine_internals: ENGINE_INTERNALS,
};
