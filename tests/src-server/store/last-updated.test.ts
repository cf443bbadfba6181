import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase, type Db } from '../../../src-server/store/database';
import { Repository } from '../../../src-server/store/repository';

/** lastUpdated never goes backwards on this node, so that write order (vseq) is lastUpdated order. */

const dir = mkdtempSync(join(tmpdir(), 'liaison-stamp-test-'));
const open: Db[] = [];
afterEach(() => {
  vi.useRealTimers();
  for (const db of open.splice(0)) db.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function repositoryAt(file: string): Repository {
  const db = openDatabase(join(dir, file));
  open.push(db);
  return new Repository(db);
}

const patient = { resourceType: 'Patient', name: [{ family: 'Horloge' }] };

describe('lastUpdated', () => {
  it('is max(now, the last stamp issued) when the clock goes backwards', () => {
    const repository = repositoryAt('backwards.sqlite');
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2030-01-01T10:00:00.000Z'));
    const first = repository.create('Patient', patient);
    vi.setSystemTime(new Date('2030-01-01T09:00:00.000Z'));
    const second = repository.create('Patient', patient);
    const updated = repository.update('Patient', first.id, patient).stored;
    expect(first.lastUpdated).toBe('2030-01-01T10:00:00.000Z');
    expect(second.lastUpdated).toBe('2030-01-01T10:00:00.000Z');
    expect(updated.lastUpdated).toBe('2030-01-01T10:00:00.000Z');
    vi.setSystemTime(new Date('2030-01-01T11:00:00.000Z'));
    expect(repository.create('Patient', patient).lastUpdated).toBe('2030-01-01T11:00:00.000Z');
  });

  it('starts from the newest stored version when the store is opened again', () => {
    vi.useFakeTimers({ toFake: ['Date'] });
    vi.setSystemTime(new Date('2031-06-01T12:00:00.000Z'));
    const before = repositoryAt('reopened.sqlite');
    before.create('Patient', patient);
    open.splice(0).forEach((db) => db.close());
    vi.setSystemTime(new Date('2031-05-01T12:00:00.000Z'));
    expect(repositoryAt('reopened.sqlite').create('Patient', patient).lastUpdated).toBe('2031-06-01T12:00:00.000Z');
  });
});
