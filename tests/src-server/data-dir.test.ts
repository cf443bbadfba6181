import { join, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { isInsideFolder } from '../../src-server/data-dir';

describe('isInsideFolder (where a key must never be written)', () => {
  const folder = join(sep, 'home', 'claire', 'Liaison');

  it('counts the folder itself, what is under it, and a file whose name starts with two dots as inside', () => {
    expect(isInsideFolder(folder, folder)).toBe(true);
    expect(isInsideFolder(folder, join(folder, 'keys', 'data.key'))).toBe(true);
    expect(isInsideFolder(folder, join(folder, '..data.key'))).toBe(true);
    expect(isInsideFolder(folder, `${folder}${sep}sub${sep}..${sep}kit.json`)).toBe(true);
  });

  it('counts a sibling with the same prefix, the parent and a path climbing out as outside', () => {
    expect(isInsideFolder(folder, `${folder}-copie${sep}data.key`)).toBe(false);
    expect(isInsideFolder(folder, join(folder, '..'))).toBe(false);
    expect(isInsideFolder(folder, `${folder}${sep}..${sep}data.key`)).toBe(false);
    expect(isInsideFolder(folder, join(sep, 'media', 'usb', 'kit.json'))).toBe(false);
  });
});
