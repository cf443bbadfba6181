import type { Readable } from 'node:stream';
import type { NodeModule } from '../rest/extensions';
import { backupStream } from './backup';
import { DailyBackup } from './daily-backup';

/**
 * Backups of the running node's data folder (backup.ts): streamed to `liaison backup` through the admin API
 * (`POST /admin/backup`), sealed under the backup key the data key gives, or under a passphrase; and the daily
 * backup into the folder the practice chose (daily-backup.ts, `/admin/backup/daily`).
 */

export interface BackupSettings {
  dataDir: string;
  /** The backup key (32 bytes), given by the data key. */
  key: Buffer;
  /** The database copy's thread, when the node runs bundled (the desktop build); its source otherwise. */
  copyWorker?: URL;
}

export class Backups {
  constructor(private readonly settings: BackupSettings) {}

  /** A backup of the folder as it is now, sealed under the backup key, or under `passphrase` when one is given. */
  stream(passphrase?: string): Readable {
    const { dataDir, key, copyWorker } = this.settings;
    return backupStream({ dataDir, copyWorker }, passphrase === undefined ? { key } : { passphrase });
  }
}

export interface BackupModule extends NodeModule {
  backups: Backups;
  daily: DailyBackup;
}

export function backupModule(settings: BackupSettings): BackupModule {
  const daily = new DailyBackup(settings);
  return {
    backups: new Backups(settings),
    daily,
    start: (_url, warn) => daily.start(warn),
    close: () => daily.close(),
  };
}
