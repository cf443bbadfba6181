import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

/** Types are part of the contract between the server, the shell and the UI: the whole project must type-check. */
describe('the project', () => {
  it('type-checks (vue-tsc -b over the node and web projects)', () => {
    const result = spawnSync('npx', ['vue-tsc', '-b', '--force'], { encoding: 'utf8' });
    expect(result.stdout + result.stderr.replace(/npm warn.*\n/g, '')).toBe('');
    expect(result.status).toBe(0);
  }, 180_000);
});
