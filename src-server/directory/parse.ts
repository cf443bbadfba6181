import type { Layout } from './layouts';

/**
 * One line of an extraction into a record of named, cleaned fields, or the reason it cannot be read. A bad line is
 * reported and skipped by the caller: it never stops an import.
 */

export type Parsed<R> = { ok: true; record: R } | { ok: false; reason: string };

/**
 * `|`-separated fields. ANS files do not quote, but re-exported ones (spreadsheets) do: a field that starts with `"`
 * and has a closing `"` right before a `|` (or the end) is quoted, `""` inside being one quote. Any other quote is
 * a character of the value ("CABINET "LES TILLEULS"").
 */
export function splitFields(line: string): string[] {
  if (!line.includes('"')) return line.split('|');
  const fields: string[] = [];
  let start = 0;
  while (start <= line.length) {
    if (line[start] === '"') {
      const quoted = readQuoted(line, start);
      if (quoted) {
        fields.push(quoted.value);
        start = quoted.end + 1;
        continue;
      }
    }
    let end = line.indexOf('|', start);
    if (end < 0) end = line.length;
    fields.push(line.slice(start, end));
    start = end + 1;
  }
  return fields;
}

function readQuoted(line: string, start: number): { value: string; end: number } | undefined {
  let value = '';
  let at = start + 1;
  for (;;) {
    const quote = line.indexOf('"', at);
    if (quote < 0) return undefined;
    value += line.slice(at, quote);
    if (line[quote + 1] === '"') {
      value += '"';
      at = quote + 2;
      continue;
    }
    const next = quote + 1;
    return next === line.length || line[next] === '|' ? { value, end: next } : undefined;
  }
}

// Control characters (a stray NUL or form feed in a name) go; no-break and other odd spaces become plain spaces.
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/g;
const ODD_SPACE = /[\t\u00a0\u2000-\u200b\u202f\u3000]/g;
const NEEDS_CLEANING = /[\u0000-\u001f\u007f\u00a0\u2000-\u200b\u202f\u3000]/;

export function cleanField(value: string): string {
  if (NEEDS_CLEANING.test(value)) value = value.replace(CONTROL, '').replace(ODD_SPACE, ' ');
  return value.trim();
}

/** The record of a line under `layout`: the right number of fields (plus the empty one the trailing `|` makes). */
export function parseLine<R>(layout: Layout<R>, line: string): Parsed<R> {
  let fields = splitFields(line);
  if (fields.length === layout.width + 1 && fields[layout.width].trim() === '') fields = fields.slice(0, layout.width);
  if (fields.length !== layout.width) return { ok: false, reason: `expected ${layout.width} fields separated by '|', found ${fields.length}` };
  const record = {} as Record<string, string>;
  for (const [field, position] of layout.positions) record[field] = position < 0 ? '' : cleanField(fields[position]);
  return { ok: true, record: record as R };
}
