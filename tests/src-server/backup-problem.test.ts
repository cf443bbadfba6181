import { describe, expect, it } from 'vitest';
import { backupProblemOf } from '../../src-server/backup/daily-backup';

/** The kind of a failed daily backup, recorded next to the system's English so that the UI can say it in French. */
const systemError = (code: string) => Object.assign(new Error(`${code}: something, write '/media/cle/liaison.lbak'`), { code });

describe('backupProblemOf', () => {
  it.each([
    ['ENOENT', 'folderMissing'],
    ['ENOTDIR', 'folderMissing'],
    ['EACCES', 'refused'],
    ['EPERM', 'refused'],
    ['ENOSPC', 'diskFull'],
    ['EDQUOT', 'diskFull'],
    ['EROFS', 'readOnly'],
    ['EIO', 'diskError'],
    ['EWHATEVER', 'other'],
  ])('reads %s as %s', (code, problem) => {
    expect(backupProblemOf(systemError(code))).toBe(problem);
  });

  it('reads an error without a system code as other', () => {
    expect(backupProblemOf(new Error('the worker stopped'))).toBe('other');
    expect(backupProblemOf(undefined)).toBe('other');
  });
});
