import { relative, resolve } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

/**
 * ESLint (eslint.config.js) over the whole project: typescript-eslint's type-aware rules catch the promises nobody
 * awaits or catches, which end the node when they reject. `npm run lint` runs it alone.
 */
const root = resolve(import.meta.dirname, '../..');

describe('the project', () => {
  it('passes ESLint (eslint.config.js) over src-*, tests, bench and scripts', async () => {
    const results = await new ESLint({ cwd: root }).lintFiles(['.']);
    const problems = results.flatMap((result) =>
      result.messages.map((message) => `${relative(root, result.filePath)}:${message.line}:${message.column} ${message.message} (${message.ruleId ?? 'parsing'})`),
    );
    expect(problems).toEqual([]);
    // Every folder is linted, so a change of the config cannot leave one out unnoticed.
    const linted = new Set(results.map((result) => relative(root, result.filePath).split('/')[0]));
    expect([...linted]).toEqual(expect.arrayContaining(['src-server', 'src-main', 'src-renderer', 'tests', 'bench', 'scripts', 'bin']));
    expect(results.some((result) => result.filePath.endsWith('.vue'))).toBe(true);
  }, 600_000);
});
