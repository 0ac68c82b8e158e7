// Checks for values built from untrusted input: no key that names a prototype, bounded nesting.

/**
 * Keys refused wherever input becomes an object key. `__proto__` assigned on a plain object replaces its
 * prototype, and `constructor` / `prototype` lead from any object to Object.prototype in code that walks
 * paths; no log format needs them, so refusing them keeps every reader of a stored event safe.
 */
export function isPrototypeKey(key: string): boolean {
  return key === '__proto__' || key === 'constructor' || key === 'prototype';
}

/**
 * The prototype key a key from input is or holds as a dotted segment ("a.__proto__.b": dotted names are
 * expanded into nested objects by the JSON parser and walked by field readers), or undefined.
 */
export function prototypeKeyIn(key: string): string | undefined {
  if (isPrototypeKey(key)) return key;
  if (key.indexOf('.') < 0) return undefined;
  for (const part of key.split('.')) if (isPrototypeKey(part)) return part;
  return undefined;
}

/** The reason a key from input is refused, naming where it was found. */
export function prototypeKeyReason(key: string, where: string): string {
  return `${where} uses the key ${JSON.stringify(key)}, which is refused: it names an object prototype in JavaScript`;
}

/** Deepest nesting of objects and arrays accepted in a JSON record or an agent's extra fields. */
export const MAX_JSON_DEPTH = 32;

function pathOf(parts: string[]): string {
  const p = parts.join('.');
  return p.length > 120 ? `${p.slice(0, 117)}...` : p || '(top level)';
}

/**
 * Why a parsed JSON value cannot be taken, or undefined: a prototype key at any depth, or nesting deeper
 * than `maxDepth` (deeper values overflow the stack of JSON.stringify and of every recursive reader).
 */
export function jsonProblem(value: unknown, maxDepth = MAX_JSON_DEPTH): string | undefined {
  const path: string[] = [];
  const walk = (v: unknown, depth: number): string | undefined => {
    if (v === null || typeof v !== 'object') return undefined;
    if (depth > maxDepth) return `the record nests deeper than ${maxDepth} levels (at ${pathOf(path)})`;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const item: unknown = v[i];
        if (item === null || typeof item !== 'object') continue;
        path.push(String(i));
        const problem = walk(item, depth + 1);
        if (problem) return problem;
        path.pop();
      }
      return undefined;
    }
    for (const k of Object.keys(v)) {
      const bad = prototypeKeyIn(k);
      if (bad !== undefined) return prototypeKeyReason(bad, path.length ? `the object at ${pathOf(path)}` : 'the record');
      const item: unknown = (v as Record<string, unknown>)[k];
      if (item === null || typeof item !== 'object') continue;
      path.push(k);
      const problem = walk(item, depth + 1);
      if (problem) return problem;
      path.pop();
    }
    return undefined;
  };
  return walk(value, 1);
}
