import { describe, expect, it } from 'vitest';
import { useTestNode } from '../../helpers/node';
import { activityLine, DOCTOR, HEADER_52, tempDirs, writeExtraction } from './helpers';

/**
 * An import holds to the input limits as any write does (docs/directory.md): a resource over a limit is refused,
 * counted and named in the report with the element at fault, and the import goes on with the rest of the file.
 */

type Json = Record<string, any>;
const MiB = 1024 * 1024;

const node = useTestNode();
const dirs = tempDirs();

async function admin(path: string, json?: unknown): Promise<Json> {
  const response = await fetch(`${node().url}/admin/directory${path}`, {
    method: json ? 'POST' : 'GET',
    headers: { authorization: `Bearer ${node().token}`, ...(json ? { 'content-type': 'application/json' } : {}) },
    ...(json ? { body: JSON.stringify(json) } : {}),
  });
  return (await response.json()) as Json;
}

describe('a directory import line over a limit', () => {
  it('is refused and reported with the element at fault, and the import goes on', async () => {
    const person = (n: number, familyName: string) => ({ ...DOCTOR, ppId: `1000104536${n}`, idnps: `81000104536${n}`, familyName });
    const file = writeExtraction(dirs(), 'PS_LibreAcces_Personne_activite.txt', [
      HEADER_52,
      activityLine(person(1, 'MARTIN')),
      activityLine(person(2, 'N'.repeat(MiB + 1))),
      activityLine(person(3, 'DURAND')),
    ]);
    let job = await admin('/imports', { path: file });
    while (job.status === 'running') {
      await new Promise((resolve) => setTimeout(resolve, 50));
      job = await admin(`/imports/${job.id}`);
    }
    expect(job.status).toBe('done');
    expect(job.report.lines).toEqual({ read: 3, accepted: 3, rejected: 0 });
    expect(job.report.resources.Practitioner).toMatchObject({ created: 2, invalid: 1 });
    expect(job.report.failures).toEqual([
      expect.stringMatching(/^Practitioner\/pp-810001045362: Practitioner\.name\[0\]\.family: a string may hold at most 1 MiB \(1,048,576 bytes of UTF-8\): this one has 1,048,577$/),
    ]);
    const status = async (id: string) => (await node().request(`Practitioner/${id}`)).status;
    expect([await status('pp-810001045361'), await status('pp-810001045362'), await status('pp-810001045363')]).toEqual([200, 404, 200]);
  });
});
