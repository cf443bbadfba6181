import { randomBytes } from 'node:crypto';
import { open, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes a message into a folder an interface engine watches. The file appears whole or not at all: it is written
 * and synced under a hidden temporary name, then renamed (atomic on one file system). Its name comes from the
 * control id, so a resent delivery replaces its own file instead of adding one.
 */

const dropFileName = (controlId: string) => `LIAISON_${controlId}.hl7`;

export async function writeDropFile(folder: string, controlId: string, message: string): Promise<string> {
  const target = join(folder, dropFileName(controlId));
  // Hidden and suffixed .tmp: watchers skip such files, and two writers never share one.
  const temporary = join(folder, `.${dropFileName(controlId)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const file = await open(temporary, 'wx', 0o640);
    try {
      await file.writeFile(message, 'utf8');
      await file.sync();
    } finally {
      await file.close();
    }
    await rename(temporary, target);
    await syncFolder(folder);
    return target;
  } catch (error) {
    await rm(temporary, { force: true });
    throw error;
  }
}

/** Makes the rename itself durable before the delivery is reported done. Windows cannot open a folder: skipped there. */
async function syncFolder(folder: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(folder, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
