import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { issueTypesOf, REFUSALS, type RefusalRule } from '../../../src-server/fhir/refusals';

/**
 * docs/errors.md lists every refusal code of the node for vendors, generated from the catalogue (fhir/refusals.ts):
 * its part between the markers is what this renders, so the two never drift. `UPDATE_ERRORS_DOC=1` rewrites it.
 */

const ROOT = join(import.meta.dirname, '../../..');
const DOC = join(ROOT, 'docs/errors.md');
const BEGIN = '<!-- refusal codes: generated from src-server/fhir/refusals.ts by tests/src-server/fhir/errors-doc.test.ts -->';
const END = '<!-- end of refusal codes -->';

/** The catalogue's sections, as its comments name them, each with its codes in order. */
function sections(): Array<{ title: string; codes: string[] }> {
  const source = readFileSync(join(ROOT, 'src-server/fhir/refusals.ts'), 'utf8');
  const body = source.slice(source.indexOf('export const REFUSALS = {'), source.indexOf('} as const satisfies'));
  const found: Array<{ title: string; codes: string[] }> = [];
  for (const line of body.split('\n')) {
    const title = /^ {2}\/\/ (.+?)\.?$/.exec(line)?.[1];
    if (title) found.push({ title: title.replace(/ \(.*\)$/, ''), codes: [] });
    const code = /^ {2}'([a-z0-9-]+)':/.exec(line)?.[1];
    if (code) found.at(-1)!.codes.push(code);
  }
  return found;
}

const cell = (text: string) => text.replace(/\|/g, '\\|');

function render(): string {
  const lines = [BEGIN, ''];
  for (const { title, codes } of sections()) {
    lines.push(`### ${title}`, '', '| Code | HTTP | Issue type | When | `expression` | Parameters |', '| --- | --- | --- | --- | --- | --- |');
    for (const code of codes) {
      const rule: RefusalRule = REFUSALS[code as keyof typeof REFUSALS];
      const types = [...new Set(rule.statuses.flatMap((status) => issueTypesOf(rule, status)))];
      const parameters = Object.entries(rule.parameters ?? {}).map(([name, what]) => `\`${name}\`: ${what}`).join('; ');
      lines.push(`| \`${code}\` | ${rule.statuses.join(', ')} | ${types.map((type) => `\`${type}\``).join(', ')} | ${cell(rule.when)} | ${rule.expression ? cell(rule.expression) : '—'} | ${cell(parameters) || '—'} |`);
    }
    lines.push('');
  }
  lines.push(END);
  return lines.join('\n');
}

describe('docs/errors.md', () => {
  it('lists every code of the catalogue, with its status, issue type, when, expression and parameters', () => {
    const doc = readFileSync(DOC, 'utf8');
    const generated = doc.slice(doc.indexOf(BEGIN), doc.indexOf(END) + END.length);
    if (process.env.UPDATE_ERRORS_DOC) writeFileSync(DOC, doc.replace(generated, render()));
    expect(generated).toBe(render());
    expect(sections().flatMap((section) => section.codes).sort()).toEqual(Object.keys(REFUSALS).sort());
  });
});
