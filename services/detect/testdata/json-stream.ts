// Test-only: reads files that hold JSON objects written back to back (not an array), as upstream evtx_dump writes them.

/** Splits a text of concatenated JSON objects into the objects. */
export function parseConcatenatedJson(text: string): unknown[] {
  const out: unknown[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') { if (depth++ === 0) start = i; }
    else if (c === '}' && --depth === 0) { out.push(JSON.parse(text.slice(start, i + 1))); start = -1; }
  }
  return out;
}
