// Windows event XML (Event Viewer, wevtutil, evtxexport) to events: a strict XML scanner and the walk of <Event>.
import { ValidationError } from '../../core/errors.js';
import type { Event } from '../../core/proto.js';
import { MAX_FIELD_CHARS, checkFieldSize, checkKey, codePoint, dict, freeName, guarded } from './guard.js';
import { type WinRecord, parseWinInt, winEvent } from './windows.js';

/**
 * One XML element. Windows events are small and flat, so the scanner builds this plain tree instead of
 * going through fast-xml-parser: that parsed about 5,000 Sysmon events/s on one core here, against the
 * 30,000 the stage must sustain. The tests read every real sample with fast-xml-parser too and check
 * that both agree.
 */
export interface XmlElement {
  /** Local name (any namespace prefix removed). */
  name: string;
  /** Qualified name as written, for matching the end tag. */
  qname: string;
  /** Attributes as [name, value, name, value, ...] with entities decoded; null when there are none. */
  attrs: string[] | null;
  children: XmlElement[] | null;
  /** Character data inside the element before its first child (all of it for a leaf), entities decoded, whitespace kept. */
  text: string;
  /** Offset of "<" and the offset after the end tag, in the scanned string. */
  start: number;
  end: number;
}

/** Deeper nesting than this is not a Windows event: the limit keeps hostile input from costing more. */
const MAX_DEPTH = 64;
/** Windows event elements carry a handful of attributes; more is not an event, and each is checked against the others. */
const MAX_ATTRIBUTES = 32;
/** Child elements per element inside an event (EventData fields are capped at 1024 after the scan). */
const MAX_CHILDREN = 1100;
// XML 1.0 allows no C0 control character other than tab, line feed and carriage return, and not U+FFFE/U+FFFF.
const BAD_CHAR = /[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]/;
const BREAKS = /[\t\n\r]/g;

function lineCol(s: string, at: number): string {
  let line = 1;
  let lineStart = 0;
  for (let k = s.indexOf('\n'); k >= 0 && k < at; k = s.indexOf('\n', k + 1)) { line++; lineStart = k + 1; }
  return `line ${line} column ${at - lineStart + 1}`;
}

function fail(s: string, at: number, reason: string): never {
  throw new ValidationError(`invalid event XML at ${lineCol(s, at)}: ${reason}`);
}

/** The start tag enclosing offset `at`, for reasons that name where a problem is. */
function enclosingTag(s: string, at: number): string {
  const lt = s.lastIndexOf('<', at);
  if (lt < 0) return 'outside any element';
  const gt = s.indexOf('>', lt);
  const tag = s.slice(lt, gt < 0 || gt > lt + 100 ? Math.min(s.length, lt + 100) : gt + 1);
  return `after ${tag}`;
}

function isXmlChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

// Position of the next "&" at or after the scan position. Text and attribute values are decoded in
// document order, so keeping it here makes finding entities O(n) for the whole document instead of one
// indexOf to the end of the document per value.
let nextAmp = -1;

function ampAtOrAfter(s: string, from: number): number {
  if (nextAmp < from) {
    nextAmp = s.indexOf('&', from);
    if (nextAmp < 0) nextAmp = s.length;
  }
  return nextAmp;
}

// Likewise the next tab or line break, which attribute values must have turned into spaces.
let nextBreak = -1;

function breakAtOrAfter(s: string, from: number): number {
  if (nextBreak < from) {
    BREAKS.lastIndex = from;
    const m = BREAKS.exec(s);
    nextBreak = m === null ? s.length : m.index;
  }
  return nextBreak;
}

// Likewise the next "<", which no attribute value may hold: one search per attribute to the end of a
// document without any "<" left would cost quadratic time on an element with thousands of attributes.
let nextLt = -1;

function ltAtOrAfter(s: string, from: number): number {
  if (nextLt < from) {
    nextLt = s.indexOf('<', from);
    if (nextLt < 0) nextLt = s.length;
  }
  return nextLt;
}

/** The character a named or numeric reference (the text between "&" and ";") stands for, or undefined. */
function entity(s: string, from: number, to: number): string | undefined {
  const len = to - from;
  const c = s.charCodeAt(from);
  if (c === 35 /* # */) {
    // Character references read digit by digit: no slice, no pattern, for each of possibly 100,000 of them.
    let cp = 0;
    const hex = s.charCodeAt(from + 1) === 120;
    const start = from + (hex ? 2 : 1);
    if (to === start || to - start > (hex ? 6 : 7)) return undefined;
    for (let k = start; k < to; k++) {
      const d = s.charCodeAt(k);
      const v = d >= 48 && d <= 57 ? d - 48 : hex && d >= 97 && d <= 102 ? d - 87 : hex && d >= 65 && d <= 70 ? d - 55 : -1;
      if (v < 0) return undefined;
      cp = cp * (hex ? 16 : 10) + v;
    }
    return isXmlChar(cp) ? String.fromCodePoint(cp) : '';
  }
  if (len === 2 && s.charCodeAt(from + 1) === 116 /* t */) return c === 108 ? '<' : c === 103 ? '>' : undefined;
  if (len === 3 && s.startsWith('amp', from)) return '&';
  if (len === 4 && s.startsWith('quot', from)) return '"';
  if (len === 4 && s.startsWith('apos', from)) return "'";
  return undefined;
}

/**
 * Decodes the five predefined entities and character references in s[from, to). Stops once the text is
 * over MAX_FIELD_CHARS: every caller refuses such a value, so decoding the rest would only cost time.
 */
function decode(s: string, from: number, to: number): string {
  let amp = ampAtOrAfter(s, from);
  if (amp >= to) return s.slice(from, to);
  let out = '';
  let last = from;
  while (amp < to) {
    let semi = amp + 1;
    while (semi < to && semi - amp <= 12 && s.charCodeAt(semi) !== 59) semi++;
    if (semi >= to || s.charCodeAt(semi) !== 59) fail(s, amp, '"&" does not start an entity reference (a literal ampersand is written &amp;)');
    const ch = entity(s, amp + 1, semi);
    if (ch === undefined) {
      const name = s.slice(amp + 1, semi);
      fail(s, amp, name.charCodeAt(0) === 35 ? `&${name}; is not a character reference` : `unknown entity &${name.slice(0, 12)}; (only &lt; &gt; &amp; &quot; &apos; and character references are defined)`);
    }
    if (ch === '') fail(s, amp, `character reference &${s.slice(amp + 1, semi)}; stands for a character XML 1.0 does not allow`);
    out += s.slice(last, amp);
    out += ch;
    last = semi + 1;
    if (out.length > MAX_FIELD_CHARS) return out;
    amp = ampAtOrAfter(s, last);
  }
  return out + s.slice(last, to);
}

function isSpace(c: number): boolean {
  return c === 32 || c === 10 || c === 9 || c === 13;
}

function isBlank(s: string, from: number, to: number): boolean {
  for (let k = from; k < to; k++) if (!isSpace(s.charCodeAt(k))) return false;
  return true;
}

/** End of the XML name starting at i (stops at whitespace and markup characters). */
function nameEnd(s: string, i: number): number {
  const n = s.length;
  let j = i;
  while (j < n) {
    const c = s.charCodeAt(j);
    if (c === 62 || c === 47 || c === 61 || c === 60 || c === 34 || c === 39 || isSpace(c)) break;
    j++;
  }
  return j;
}

function checkName(s: string, i: number, j: number, what: string): void {
  if (j === i) fail(s, i, `${what} has no name`);
  const c = s.charCodeAt(i);
  if ((c >= 48 && c <= 57) || c === 45 || c === 46) fail(s, i, `${what} name ${JSON.stringify(s.slice(i, j))} cannot start with ${s[i]}`);
}

function localName(q: string): string {
  const colon = q.indexOf(':');
  return colon < 0 ? q : q.slice(colon + 1);
}

/**
 * Scans an XML document (or a sequence of top-level elements, as wevtutil prints them) into elements.
 * Well-formedness is checked: matching tags, quoted attributes, no duplicate attribute, defined entities,
 * legal characters, nothing but markup outside the elements. DOCTYPE is refused.
 */
export function scanXml(s: string): XmlElement[] {
  nextAmp = -1;
  nextBreak = -1;
  nextLt = -1;
  const bad = BAD_CHAR.test(s) ? BAD_CHAR.exec(s) : null;
  if (bad) fail(s, bad.index, `control character ${codePoint(s, bad.index)} ${enclosingTag(s, bad.index)}: XML 1.0 does not allow it`);
  const roots: XmlElement[] = [];
  const stack: XmlElement[] = [];
  let cur: XmlElement | undefined;
  const n = s.length;
  let i = s.charCodeAt(0) === 0xfeff ? 1 : 0;
  while (i < n) {
    const lt = s.indexOf('<', i);
    const textEnd = lt < 0 ? n : lt;
    if (textEnd > i) {
      if (cur) {
        // Text of leaf elements is kept verbatim. Once an element has children, what lies between them is
        // indentation (Windows events have no mixed content), so it is not even looked at.
        if (cur.children === null) {
          const t = decode(s, i, textEnd);
          cur.text = cur.text ? cur.text + t : t;
          if (cur.text.length > MAX_FIELD_CHARS) checkFieldSize(`text of <${cur.qname}>`, cur.text);
        }
      } else if (!isBlank(s, i, textEnd)) {
        fail(s, i, `text ${JSON.stringify(s.slice(i, Math.min(textEnd, i + 20)))} outside any element`);
      }
    }
    if (lt < 0) break;
    const c = s.charCodeAt(lt + 1);
    if (c === 47 /* / */) {
      // The end tag is compared in place: most are exactly "</" + the open element's name + ">".
      let k: number;
      if (cur && s.startsWith(cur.qname, lt + 2) && (s.charCodeAt(lt + 2 + cur.qname.length) === 62 || isSpace(s.charCodeAt(lt + 2 + cur.qname.length)))) {
        k = lt + 2 + cur.qname.length;
      } else {
        const j = nameEnd(s, lt + 2);
        const qname = s.slice(lt + 2, j);
        if (j >= n) fail(s, lt, `truncated: end tag </${qname.slice(0, 40)} is not closed`);
        if (!cur) fail(s, lt, `end tag </${qname.slice(0, 40)}> has no start tag`);
        fail(s, lt, `end tag </${qname.slice(0, 40)}> does not match <${cur.qname}>`);
      }
      while (k < n && isSpace(s.charCodeAt(k))) k++;
      if (k >= n) fail(s, lt, `truncated: end tag </${cur.qname} is not closed`);
      if (s.charCodeAt(k) !== 62) fail(s, k, `end tag </${cur.qname}> has ${codePoint(s, k)} before ">"`);
      cur.end = k + 1;
      if (cur.children !== null && isBlank(cur.text, 0, cur.text.length)) cur.text = '';
      stack.pop();
      cur = stack.length ? stack[stack.length - 1] : undefined;
      i = k + 1;
    } else if (c === 33 /* ! */) {
      if (s.startsWith('<!--', lt)) {
        const end = s.indexOf('-->', lt + 4);
        if (end < 0) fail(s, lt, 'truncated: comment is not closed with -->');
        i = end + 3;
      } else if (s.startsWith('<![CDATA[', lt)) {
        if (!cur) fail(s, lt, 'CDATA section outside any element');
        const end = s.indexOf(']]>', lt + 9);
        if (end < 0) fail(s, lt, 'truncated: CDATA section is not closed with ]]>');
        const t = s.slice(lt + 9, end);
        cur.text = cur.text ? cur.text + t : t;
        if (cur.text.length > MAX_FIELD_CHARS) checkFieldSize(`text of <${cur.qname}>`, cur.text);
        i = end + 3;
      } else if (s.startsWith('<!DOCTYPE', lt)) {
        fail(s, lt, 'DOCTYPE is not accepted: Windows event exports never carry one, and its entity definitions could expand without bound');
      } else {
        fail(s, lt, `unknown markup ${JSON.stringify(s.slice(lt, lt + 12))}`);
      }
    } else if (c === 63 /* ? */) {
      const end = s.indexOf('?>', lt + 2);
      if (end < 0) fail(s, lt, 'truncated: processing instruction is not closed with ?>');
      i = end + 2;
    } else {
      const j = nameEnd(s, lt + 1);
      checkName(s, lt + 1, j, 'element');
      const qname = s.slice(lt + 1, j);
      const el: XmlElement = { name: qname.indexOf(':') < 0 ? qname : localName(qname), qname, attrs: null, children: null, text: '', start: lt, end: -1 };
      let k = j;
      let selfClosing = false;
      for (;;) {
        const before = k;
        while (k < n && isSpace(s.charCodeAt(k))) k++;
        if (k >= n) fail(s, lt, `truncated: start tag <${qname.slice(0, 40)} is not closed`);
        const ch = s.charCodeAt(k);
        if (ch === 62) { k++; break; }
        if (ch === 47) {
          if (s.charCodeAt(k + 1) !== 62) fail(s, k, `"/" in start tag <${qname}> is not followed by ">"`);
          k += 2;
          selfClosing = true;
          break;
        }
        if (k === before) fail(s, k, `attributes of <${qname}> must be separated by whitespace`);
        const an = nameEnd(s, k);
        checkName(s, k, an, `attribute of <${qname}>`);
        const aname = s.slice(k, an);
        k = an;
        while (k < n && isSpace(s.charCodeAt(k))) k++;
        if (s.charCodeAt(k) !== 61) fail(s, k, k >= n ? `truncated: attribute ${aname} of <${qname}> has no value` : `attribute ${aname} of <${qname}> has no "=" and value`);
        k++;
        while (k < n && isSpace(s.charCodeAt(k))) k++;
        const q = s.charCodeAt(k);
        if (q !== 34 && q !== 39) fail(s, k, k >= n ? `truncated: attribute ${aname} of <${qname}> has no value` : `attribute ${aname} of <${qname}> is not quoted`);
        // Native searches, not a loop: on a busy core a JavaScript loop costs several ns per character.
        const close = s.indexOf(q === 34 ? '"' : "'", k + 1);
        if (close < 0) fail(s, k, `truncated: value of attribute ${aname} of <${qname}> is not closed`);
        const lt2 = ltAtOrAfter(s, k + 1);
        if (lt2 < close) fail(s, lt2, `"<" inside the value of attribute ${aname} of <${qname}>`);
        let value = decode(s, k + 1, close);
        // Attribute-value normalization: literal line breaks and tabs read as spaces.
        if (breakAtOrAfter(s, k + 1) < close) value = value.replace(/\r\n|[\t\n\r]/g, ' ');
        checkFieldSize(`attribute ${aname} of <${qname}>`, value);
        const attrs = el.attrs ?? (el.attrs = []);
        if (attrs.length >= 2 * MAX_ATTRIBUTES) fail(s, k, `<${qname}> has more than ${MAX_ATTRIBUTES} attributes`);
        for (let a = 0; a < attrs.length; a += 2) if (attrs[a] === aname) fail(s, k, `attribute ${aname} appears twice in <${qname}>`);
        attrs.push(aname, value);
        k = close + 1;
      }
      if (cur) {
        const cs = cur.children ??= [];
        // An <Events> document may hold any number of events; inside an event, thousands of elements are
        // not a Windows event, and building them would cost time and memory for nothing.
        if (cs.length >= MAX_CHILDREN && !(stack.length === 1 && cur.name === 'Events')) fail(s, lt, `<${cur.qname}> has more than ${MAX_CHILDREN} child elements`);
        cs.push(el);
      } else {
        roots.push(el);
      }
      if (selfClosing) {
        el.end = k;
      } else {
        if (stack.length >= MAX_DEPTH) fail(s, lt, `elements nest deeper than ${MAX_DEPTH} levels`);
        stack.push(el);
        cur = el;
      }
      i = k;
    }
  }
  if (cur) fail(s, n, `truncated: <${cur.qname}> (opened at ${lineCol(s, cur.start)}) is not closed`);
  return roots;
}

export function attr(el: XmlElement, name: string): string | undefined {
  const a = el.attrs;
  if (a === null) return undefined;
  for (let k = 0; k < a.length; k += 2) if (a[k] === name) return a[k + 1];
  return undefined;
}

function child(el: XmlElement, name: string): XmlElement | undefined {
  const cs = el.children;
  if (cs === null) return undefined;
  for (let k = 0; k < cs.length; k++) if (cs[k]!.name === name) return cs[k];
  return undefined;
}

/** UserData holds one provider-defined element; its leaves become event_data fields (nested ones as a.b). */
function flattenUserData(el: XmlElement, prefix: string, out: Record<string, string>, next: Map<string, number>, budget: { left: number }): void {
  const cs = el.children;
  if (cs === null) return;
  for (let k = 0; k < cs.length; k++) {
    const c = cs[k]!;
    checkKey(c.name, 'UserData');
    const key = prefix ? `${prefix}.${c.name}` : c.name;
    if (c.children !== null) { flattenUserData(c, key, out, next, budget); continue; }
    if (--budget.left < 0) tooManyFields();
    const name = freeName(out, key, next);
    checkFieldSize(`UserData ${name}`, c.text);
    out[name] = c.text;
  }
}

/** Windows events carry tens of fields; past this many the record is not one, and mapping it would only cost time. */
const MAX_EVENT_FIELDS = 1024;

function tooManyFields(): never {
  throw new ValidationError(`the event has more than ${MAX_EVENT_FIELDS} EventData / UserData fields; Windows events carry far fewer`);
}

function eventData(ev: XmlElement, out: Record<string, string>): void {
  const ed = child(ev, 'EventData');
  const budget = { left: MAX_EVENT_FIELDS };
  if (ed && ed.children !== null) {
    if (ed.children.length > MAX_EVENT_FIELDS) tooManyFields();
    budget.left -= ed.children.length;
    let unnamed = 0;
    for (const d of ed.children) {
      let key: string;
      if (d.name === 'Data') {
        // Name is almost always the only attribute: look there before searching.
        const a = d.attrs;
        const name = a !== null && a[0] === 'Name' ? a[1] : attr(d, 'Name');
        key = name !== undefined && name !== '' ? name : `Data${++unnamed}`;
      } else {
        key = d.name;
      }
      checkKey(key, 'EventData');
      const value = d.name === 'Binary' ? d.text.trim() : d.text;
      if (value.length > MAX_FIELD_CHARS) checkFieldSize(`EventData ${key}`, value);
      out[key] = value;
    }
  }
  const ud = child(ev, 'UserData');
  const next = new Map<string, number>();
  if (ud && ud.children !== null) for (const wrapper of ud.children) flattenUserData(wrapper, '', out, next, budget);
  // Events the log service could not render carry the payload here instead.
  const pe = child(ev, 'ProcessingErrorData');
  if (pe && pe.children !== null) {
    if (pe.children.length > budget.left) tooManyFields();
    for (const c of pe.children) {
      checkKey(c.name, 'ProcessingErrorData');
      checkFieldSize(`ProcessingErrorData ${c.name}`, c.text);
      out[c.name] = c.text;
    }
  }
}

/** The fields of one <Event> element. */
export function winRecordFromXml(s: string, ev: XmlElement): WinRecord {
  const system = child(ev, 'System');
  if (!system) fail(s, ev.start, '<Event> has no <System> element, so its event ID, channel and time are unknown');
  const rec: WinRecord = { eventData: dict<string>() };
  for (const c of system.children ?? []) {
    switch (c.name) {
      case 'Provider': rec.provider = attr(c, 'Name') ?? attr(c, 'EventSourceName'); rec.providerGuid = attr(c, 'Guid'); break;
      case 'EventID': {
        const t = c.text.trim();
        const id = parseWinInt(t);
        if (id === undefined || id > 0xffffffff) fail(s, c.start, `EventID ${JSON.stringify(t.slice(0, 20))} is not a number`);
        rec.eventId = id;
        break;
      }
      case 'Level': rec.level = parseWinInt(c.text.trim()); break;
      case 'Keywords': rec.keywords = c.text.trim(); break;
      case 'TimeCreated': rec.timeCreated = attr(c, 'SystemTime'); break;
      case 'EventRecordID': rec.recordId = parseWinInt(c.text.trim()); break;
      case 'Correlation': rec.activityId = attr(c, 'ActivityID'); break;
      case 'Execution': rec.processId = parseWinInt(attr(c, 'ProcessID')); rec.threadId = parseWinInt(attr(c, 'ThreadID')); break;
      case 'Channel': rec.channel = c.text.trim(); break;
      case 'Computer': rec.computer = c.text.trim(); break;
      case 'Security': rec.userSid = attr(c, 'UserID'); break;
    }
  }
  if (rec.eventId === undefined) fail(s, system.start, '<System> has no <EventID>');
  eventData(ev, rec.eventData);
  const rendering = child(ev, 'RenderingInfo');
  const message = rendering && child(rendering, 'Message');
  if (message && message.text) rec.message = message.text;
  return rec;
}

function parse(record: string): Event[] {
  if (record.trim() === '') throw new ValidationError('empty XML record');
  const roots = scanXml(record);
  const events: XmlElement[] = [];
  for (const r of roots) {
    if (r.name === 'Event') events.push(r);
    else if (r.name === 'Events') { for (const c of r.children ?? []) if (c.name === 'Event') events.push(c); }
    else if (r.name === 'EventData' || r.name === 'System' || r.name === 'UserData') {
      fail(record, r.start, `<${r.name}> without an enclosing <Event>: the record is a fragment of an event, not an exported event`);
    } else {
      fail(record, r.start, `expected <Event> or <Events>, found <${r.qname.slice(0, 40)}>`);
    }
  }
  if (events.length === 0) throw new ValidationError(roots.length ? 'the <Events> element holds no <Event>' : 'the XML record holds no element');
  const single = events.length === 1;
  return events.map((ev) => winEvent(winRecordFromXml(record, ev), single ? record : record.slice(ev.start, ev.end)));
}

/** Windows event XML: one <Event>, an <Events> document, or several <Event> elements in a row; one event each. */
export const parseWinXml = guarded('Windows event XML', (record) => parse(record));
