// Patterns of rules/web_injection.yml: SQL injection and cross-site scripting in request URLs, in every encoding.
import { alt, ascii, ch, chars, PCT, pct, SPACE_SET } from './blocks.js';

/** An SQL comment used as a space: /**\/, /*!50000*\/ (no * or % inside, so where it ends is never in doubt). */
const COMMENT = `${ch('/')}${ch('*')}[^*%]{0,40}${ch('*')}${ch('/')}`;
/** What SQL takes as a space: whitespace, + in a form, an encoded space or no-break space, a comment. */
const SP = alt(chars(SPACE_SET), COMMENT);
const Q = chars(ascii('\'"`'));
const OPEN = ch('(');
const CLOSE = ch(')');
const EQ = ch('=');
const LIKE = `${SP}like${SP}`;
/** A comparison operator: = <> != < > */
const CMP = alt(EQ, `${ch('<')}${ch('>')}`, `${ch('!')}${EQ}`, ch('<'), ch('>'));
/** A boolean operator: or and xor || && */
const BOOL = alt('or', 'and', 'xor', `${ch('|')}{2}`, `${ch('&')}{2}`);
/** Where an SQL keyword starts: the start, a character that is not part of a name, or an encoded byte. */
const WORD_START = alt('^', '[^a-z_]', '%[0-9a-f]{2}');
const WORD_END = alt('$', '[^a-z]');

export const UNION = `${WORD_START}union${alt(SP, OPEN)}{1,16}(?:${alt('all', 'distinct')}${alt(SP, OPEN)}{1,16})?select${WORD_END}`;

/**
 * or x=x, or 'a'='a', or 'unusual'='unusual': an operand compared with an operand of its kind. Without
 * backreferences "with itself" cannot be said, so one letter or digit compared with one (as payload lists
 * write it), or a quoted word compared with a quoted word, after a boolean operator.
 */
export const TAUTOLOGY = `${alt(Q, CLOSE, SP, '=')}${alt('or', 'and', 'xor', 'having', `${ch('|')}{2}`, `${ch('&')}{2}`)}${alt(SP, OPEN)}{1,16}${alt(
  `${Q}?[a-z0-9]${Q}?${alt(SP, CLOSE)}{0,16}${alt(EQ, LIKE)}${alt(SP, OPEN)}{0,16}${Q}?[a-z0-9]${alt('$', '[^a-z0-9_]')}`,
  `${Q}\\w{1,40}${Q}${alt(SP, CLOSE)}{0,16}${alt(EQ, LIKE)}${alt(SP, OPEN)}{0,16}${Q}\\w`,
)}`;

export const NUMERIC_TEST = `${alt(Q, CLOSE, SP, '=')}${alt('and', 'or', 'xor', 'having', 'where')}${alt(SP, OPEN)}{1,16}\\d{1,20}${SP}{0,16}${CMP}${SP}{0,16}\\d{1,20}`;

export const QUOTE_BOOL = `${Q}${alt(SP, CLOSE)}{0,16}${BOOL}${alt(SP, OPEN)}{0,16}${alt(
  'true', 'false', `${Q}${Q}`, `${Q}?\\w{0,40}${Q}?${SP}{0,16}${alt(CMP, `like${SP}`)}`, `\\w{1,40}${SP}{1,16}${alt('like', 'is')}${SP}`,
)}`;

export const QUOTE_COMMENT = `${Q}${alt(SP, CLOSE)}{0,16}${alt(`${ch('-')}{2}`, `${ch('#')}${alt('$', '[&\\s+]', pct('20', '26', '0a', '00'))}`, `${ch('/')}${ch('*')}`, `${ch(';')}${pct('00')}`, pct('00'))}`;

export const STACKED = `${ch(';')}${SP}{0,16}${alt('drop', 'exec', 'execute', 'declare', 'shutdown', 'waitfor', 'insert', 'update', 'delete', 'truncate', 'alter', 'create', 'select', 'begin')}${alt(SP, OPEN)}`;

export const FUNCTIONS = `${WORD_START}${alt('sleep', 'pg_sleep', 'benchmark', 'extractvalue', 'updatexml', 'load_file', 'sys_eval', 'name_const', 'make_set', 'randomblob', 'group_concat', 'concat_ws', 'substring', 'ascii', 'char', 'chr', 'convert')}${SP}{0,16}${OPEN}`;

export const STATEMENTS = alt(
  `waitfor${SP}{1,16}${alt('delay', 'time')}`,
  `into${SP}{1,16}${alt('out', 'dump')}file`,
  `${ch('@')}{2}${alt('version', 'datadir', 'hostname', 'servername')}`,
  `declare${SP}{1,16}${ch('@')}`,
  `exec(?:ute)?${SP}{0,16}(?:${OPEN}${SP}{0,16})?${alt(ch('@'), 'master\\.', 'xp_', 'sp_')}`,
  `case${SP}{1,16}when${SP}`,
  `${OPEN}${SP}{0,16}select${SP}`,
);

export const ORDER_BY = `${alt(Q, CLOSE, SP)}${alt('order', 'group')}${SP}{1,16}by${SP}{1,16}${alt('\\d', 'sleep', 'if', 'case', OPEN)}`;

export const SQL_INJECTION = {
  selection_union: UNION,
  selection_tautology: TAUTOLOGY,
  selection_numeric_test: NUMERIC_TEST,
  selection_quote_bool: QUOTE_BOOL,
  selection_quote_comment: QUOTE_COMMENT,
  selection_stacked: STACKED,
  selection_functions: FUNCTIONS,
  selection_statements: STATEMENTS,
  selection_orderby: ORDER_BY,
};

// ---------------------------------------------------------------- cross-site scripting

/** A < raw, encoded, as a JavaScript or HTML escape. */
const LT = alt(ch('<'), '\\\\x3c', '\\\\u003c', '&lt;', `${pct('26')}lt${pct('3b')}`, '&#0{0,16}60;?', '&#x0{0,16}3c;?');
const TAGS = ['script', 'iframe', 'svg', 'img', 'image', 'object', 'embed', 'applet', 'body', 'frameset', 'frame', 'meta', 'base', 'link', 'style', 'math',
  'video', 'audio', 'source', 'input', 'form', 'button', 'textarea', 'keygen', 'details', 'marquee', 'isindex', 'xss', 'template', 'animate',
  '\\?xml-stylesheet', 'import', 'listener', 'bgsound', 'layer', 'ilayer', 'xmp', 'vmlframe', 'noscript', 'noembed', 'portal'];

export const TAG = `${LT}${alt(ch('/'), pct('00'), SP)}{0,16}${alt(...TAGS)}${alt('$', '[^a-z0-9_-]')}`;

/** An event handler attribute: on + letters + = */
const HANDLER = `on[a-z]{3,30}${SP}{0,16}${EQ}`;

export const HANDLER_IN_TAG = `${ch('<')}[^<>]{0,200}?${alt(SP, ch('/'), Q)}${HANDLER}`;

export const HANDLER_AFTER_QUOTE = `${Q}${alt(SP, ch('/'), ch('>'))}{0,16}${HANDLER}`;

/** Anything but a space after the colon ("javascript: the good parts" is a book): a raw character or an escape of one. */
const NOT_SPACE = alt('$', '[^\\s+%]', `${PCT}(?:0[0-8e-f]|1[0-9a-f]|2[1-46-9a-f]|[3-9][0-9a-f]|a[1-9a-f]|[b-f][0-9a-f])`);

export const PROTOCOL = `${alt('java', 'vb', 'live')}script${alt(SP, pct('00'), '&#0{0,16}9;?', '&#x0{0,16}9;?', '&tab;')}{0,16}${alt(ch(':'), '&colon;')}${NOT_SPACE}`;

export const JS_CALL = `${WORD_START}${alt('alert', 'prompt', 'confirm', 'eval')}${SP}{0,16}${alt(OPEN, ch('`'))}`;

export const CSS_AND_DATA = alt(
  `${WORD_START}expression${SP}{0,16}${OPEN}`,
  `${alt('srcdoc', 'formaction')}${SP}{0,16}${EQ}`,
  `data${ch(':')}text${ch('/')}html`,
);

export const XSS = {
  selection_tag: TAG,
  selection_handler_in_tag: HANDLER_IN_TAG,
  selection_handler_after_quote: HANDLER_AFTER_QUOTE,
  selection_protocol: PROTOCOL,
  selection_js_call: JS_CALL,
  selection_css_and_data: CSS_AND_DATA,
};
