// The condition grammar: precedence, quantifiers over identifier patterns, and its errors.
import { describe, expect, it } from 'vitest';
import { matches } from '../testdata/helpers.js';
import { ConditionError, parseCondition } from './condition.js';

const ids = ['selection', 'selection_img', 'selection_cli', 'filter_main_a', 'filter_main_b', 'filter_optional', 'keywords', '_helper'];

describe('parseCondition', () => {
  it('binds not tighter than and, and and tighter than or', () => {
    expect(parseCondition('selection or keywords and not filter_optional', ids)).toEqual({
      op: 'or',
      args: [{ op: 'ref', name: 'selection' }, { op: 'and', args: [{ op: 'ref', name: 'keywords' }, { op: 'not', arg: { op: 'ref', name: 'filter_optional' } }] }],
    });
  });

  it('lets parentheses override precedence', () => {
    expect(parseCondition('(selection or keywords) and filter_optional', ids)).toEqual({
      op: 'and',
      args: [{ op: 'or', args: [{ op: 'ref', name: 'selection' }, { op: 'ref', name: 'keywords' }] }, { op: 'ref', name: 'filter_optional' }],
    });
  });

  it('expands identifier patterns with wildcards at any position', () => {
    expect(parseCondition('all of selection_*', ids)).toEqual({ op: 'of', count: 'all', pattern: 'selection_*', names: ['selection_img', 'selection_cli'] });
    expect(parseCondition('1 of filter_*_a', ids)).toMatchObject({ names: ['filter_main_a'] });
    expect(parseCondition('1 of selection*', ids)).toMatchObject({ names: ['selection', 'selection_img', 'selection_cli'] });
  });

  it('leaves identifiers starting with an underscore out of them', () => {
    const node = parseCondition('1 of them', ids);
    expect(node).toMatchObject({ op: 'of', count: 1, pattern: 'them' });
    expect((node as { names: string[] }).names).not.toContain('_helper');
    expect((node as { names: string[] }).names).toHaveLength(ids.length - 1);
  });

  it('reads keywords case-insensitively and accepts x of with any count', () => {
    expect(parseCondition('selection AND NOT keywords', ids)).toMatchObject({ op: 'and' });
    expect(parseCondition('2 of filter_*', ids)).toMatchObject({ op: 'of', count: 2, names: ['filter_main_a', 'filter_main_b', 'filter_optional'] });
  });

  it('reports the column of each mistake', () => {
    const err = (c: string): ConditionError => { try { parseCondition(c, ids); } catch (e) { return e as ConditionError; } throw new Error('parsed'); };
    expect(err('selection and selction')).toMatchObject({ column: 15, message: "unknown search identifier 'selction'" });
    expect(err('selection and (keywords')).toMatchObject({ message: "expected ')' to close the '(' at column 15" });
    expect(err('selection keywords')).toMatchObject({ column: 11 });
    expect(err('1 of nothing_*')).toMatchObject({ column: 6, message: "'nothing_*' matches no search identifier" });
    expect(err('3 of selection_*').message).toMatch(/can never match/);
    expect(err('selection and')).toMatchObject({ column: 14 });
    expect(err('Selection').message).toMatch(/did you mean 'selection'/);
  });
});

describe('conditions on events', () => {
  const det = {
    selection_img: { 'Image|endswith': '\\net.exe' },
    selection_cli: { 'CommandLine|contains': ['user', 'group'] },
    filter_main_domain: { 'CommandLine|contains': '/domain' },
    filter_main_add: { 'CommandLine|contains': '/add' },
  };
  const ev = (commandLine: string): Record<string, unknown> => ({ 'process.executable': 'C:\\Windows\\net.exe', 'process.command_line': commandLine });

  it('all of ANDs the matching searches and 1 of ORs them', () => {
    expect(matches({ ...det, condition: 'all of selection_* and not 1 of filter_main_*' }, ev('net user bob'))).toBe(true);
    expect(matches({ ...det, condition: 'all of selection_* and not 1 of filter_main_*' }, ev('net user bob /domain'))).toBe(false);
    expect(matches({ ...det, condition: 'all of selection_* and not 1 of filter_main_*' }, ev('net view'))).toBe(false);
  });

  it('x of needs at least x of the searches', () => {
    expect(matches({ ...det, condition: '2 of filter_main_*' }, ev('net user /add /domain'))).toBe(true);
    expect(matches({ ...det, condition: '2 of filter_main_*' }, ev('net user /add'))).toBe(false);
  });

  it('ORs a list of conditions', () => {
    expect(matches({ ...det, condition: ['filter_main_add', 'filter_main_domain'] }, ev('net group /domain'))).toBe(true);
    expect(matches({ ...det, condition: ['filter_main_add', 'filter_main_domain'] }, ev('net group'))).toBe(false);
  });
});
