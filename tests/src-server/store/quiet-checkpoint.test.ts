import { existsSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest';
import { openDatabase } from '../../../src-server/store/database';
import { GroupCommit } from '../../../src-server/store/group-commit';
import { QuietCheckpoint } from '../../../src-server/store/quiet-checkpoint';
import { Repository } from '../../../src-server/store/repository';

const dir = mkdtempSync(join(tmpdir(), 'liaison-quiet-checkpoint-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const walSize = (file: string) => (existsSync(`${file}-wal`) ? statSync(`${file}-wal`).size : 0);
// The quiet period is counted on a fake clock, so that a slow machine's late timers cannot make a pause of their own.
afterEach(() => {
  vi.useRealTimers();
});

describe('QuietCheckpoint', () => {
  it('folds the WAL back into the database once group-committed writes pause, not while they go on', async () => {
    const file = join(dir, 'store.sqlite');
    const db = openDatabase(file);
    const repository = new Repository(db);
    const quiet = new QuietCheckpoint(db, 300);
    const commits = new GroupCommit(db, () => quiet.written());
    const write = (n: number) => commits.run(() => repository.create('Patient', { resourceType: 'Patient', name: [{ family: `Famille${n}` }] }));
    // Timers only: the group commit's setImmediate stays real.
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });

    // Writes every 100 ms for 600 ms: never 300 ms of quiet, so the WAL keeps what they wrote.
    for (let n = 0; n < 6; n++) {
      await write(n);
      vi.advanceTimersByTime(100);
      expect(walSize(file)).toBeGreaterThan(0);
    }
    vi.advanceTimersByTime(199);
    expect(walSize(file)).toBeGreaterThan(0);
    vi.advanceTimersByTime(1);
    expect(walSize(file)).toBe(0);
    quiet.stop();
    db.close();
  });
});
