import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { generateExtraction } from '../../../src-server/directory/generate';
import { keyEnv } from '../../helpers/data-key';
import { tempDir } from '../../helpers/node';
import { writeExtraction } from './helpers';

/** `liaison directory import --replace | --no-archive` and `liaison directory source` on a data folder no node serves. */

const data = tempDir();
afterAll(() => rmSync(data, { recursive: true, force: true }));
const liaison = (...args: string[]) => spawnSync('node', ['bin/liaison.js', 'directory', ...args, '--data', data], { encoding: 'utf8', env: keyEnv(data) });

describe('liaison directory', () => {
  it('refuses a one-line file over a directory, and imports it as an update (--no-archive) or the whole directory (--replace)', () => {
    const generated = generateExtraction(data, { lines: 300, seed: 9 });
    expect(liaison('import', generated.activityFile).status).toBe(0);
    const [header, first] = readFileSync(generated.activityFile, 'utf8').split('\n');
    const oneLine = writeExtraction(data, 'one-line.txt', [header.trimEnd(), first.trimEnd()]);
    const refused = liaison('import', oneLine);
    expect(refused.status).not.toBe(0);
    expect(refused.stderr).toMatch(/one-line\.txt would archive \d+ of \d+ Practitioner.*nothing was written/);
    expect(liaison('import', oneLine, '--replace', '--no-archive').stderr).toContain('--replace and --no-archive say opposite things');
    expect(liaison('import', oneLine, '--no-archive').stdout).toMatch(/Practitioner: 1 unchanged/);
    expect(liaison('import', oneLine, '--replace').stdout).toMatch(/Practitioner: 1 unchanged, \d+ archived/);
  });

  it('sets the refresh source and proxy in the folder\'s settings', () => {
    expect(liaison('source', '--url', 'https://mirror.example/', '--proxy', 'http://proxy.cabinet.local:3128').status).toBe(0);
    expect(JSON.parse(readFileSync(join(data, 'settings.json'), 'utf8')).directory).toEqual({ source: 'https://mirror.example', proxy: 'http://proxy.cabinet.local:3128' });
    expect(liaison('source', '--off', '--no-proxy').status).toBe(0);
    expect(JSON.parse(readFileSync(join(data, 'settings.json'), 'utf8')).directory).toEqual({ source: 'off', proxy: 'none' });
    const wrong = liaison('source', '--url', 'ftp://mirror.example');
    expect(wrong.status).not.toBe(0);
    expect(wrong.stderr).toContain('directory.source must be an http(s) URL');
  });
});
