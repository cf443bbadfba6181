import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { loadNodeSettings, saveBackupSettings, writeFileAtomically } from '../node-settings';
import { backupStream, writeBackupFile } from './backup';

/**
 * The desktop's daily backup: once a day, a sealed backup of the data folder (under the backup key) into the folder
 * the practice chose in Settings (`backup.folder` of settings.json), as `liaison-<date>.lbak`, the KEPT newest kept.
 * The last one's time and result are in `<data>/backup-status.json`, shown in Settings.
 */

export interface BackupStatus {
  /** When the last backup ended. */
  at: string;
  ok: boolean;
  file?: string;
  bytes?: number;
  /** Why it failed, in English (the system's words, for support). */
  error?: string;
  /** What kind of failure `error` is, for a screen to say it in its user's language. */
  problem?: BackupProblem;
}

/**
 * The kinds of failure an administrator acts on differently: choose a folder; plug the disk in or fix the path; give
 * the node the right to write there; free some space; a read-only medium; a disk that fails; anything else.
 */
export type BackupProblem = 'noFolder' | 'folderMissing' | 'refused' | 'diskFull' | 'readOnly' | 'diskError' | 'other';

const PROBLEM_BY_CODE: Record<string, BackupProblem> = {
  ENOENT: 'folderMissing',
  ENOTDIR: 'folderMissing',
  ENODEV: 'folderMissing',
  ENXIO: 'folderMissing',
  EACCES: 'refused',
  EPERM: 'refused',
  ENOSPC: 'diskFull',
  EDQUOT: 'diskFull',
  EFBIG: 'diskFull',
  EROFS: 'readOnly',
  EIO: 'diskError',
};

class NoFolderChosen extends Error {}

/** The kind of a backup's failure, from the system's error code. */
export function backupProblemOf(error: unknown): BackupProblem {
  if (error instanceof NoFolderChosen) return 'noFolder';
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return (code && PROBLEM_BY_CODE[code]) || 'other';
}

const STATUS_FILE = 'backup-status.json';
const DAY_MS = 24 * 60 * 60_000;
/** How often the node looks whether a backup is due (and how soon after it starts). */
const CHECK_MS = 60 * 60_000;
const FIRST_CHECK_MS = 60_000;
const KEPT = 7;
const NAME = /^liaison-\d{4}-\d{2}-\d{2}T\d{2}-\d{2}-\d{2}Z\.lbak$/;

export interface DailyBackupSettings {
  dataDir: string;
  key: Buffer;
  copyWorker?: URL;
}

export class DailyBackup {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<BackupStatus> | undefined;

  constructor(private readonly settings: DailyBackupSettings) {}

  /** The chosen folder (none: no daily backup) and the last backup's result. */
  state(): { folder?: string; last?: BackupStatus } {
    const { folder } = loadNodeSettings(this.settings.dataDir).backup;
    const statusFile = join(this.settings.dataDir, STATUS_FILE);
    const last = existsSync(statusFile) ? (JSON.parse(readFileSync(statusFile, 'utf8')) as BackupStatus) : undefined;
    return { ...(folder ? { folder } : {}), ...(last ? { last } : {}) };
  }

  /** Chooses the folder (made at the first backup if it does not exist), or none. */
  choose(folder: string | undefined): void {
    saveBackupSettings(this.settings.dataDir, folder ? { folder } : {});
  }

  /** A backup now into the chosen folder; its result, also kept as the last one. */
  runNow(): Promise<BackupStatus> {
    this.running ??= this.run().finally(() => (this.running = undefined));
    return this.running;
  }

  start(warn: (message: string) => void): void {
    const check = () => {
      const { folder, last } = this.state();
      if (!folder || (last && Date.now() - Date.parse(last.at) < DAY_MS)) return;
      void this.runNow().then((status) => status.ok || warn(`The daily backup failed: ${status.error}`));
    };
    const again = () => {
      check();
      this.timer = setTimeout(again, CHECK_MS).unref();
    };
    this.timer = setTimeout(again, FIRST_CHECK_MS).unref();
  }

  async close(): Promise<void> {
    clearTimeout(this.timer);
    await this.running?.catch(() => undefined);
  }

  private async run(): Promise<BackupStatus> {
    const { dataDir, key, copyWorker } = this.settings;
    const { folder } = loadNodeSettings(dataDir).backup;
    let status: BackupStatus;
    try {
      if (!folder) throw new NoFolderChosen('no backup folder is chosen');
      mkdirSync(folder, { recursive: true, mode: 0o700 });
      const file = join(folder, `liaison-${new Date().toISOString().slice(0, 19).replaceAll(':', '-')}Z.lbak`);
      await writeBackupFile(backupStream({ dataDir, copyWorker }, { key }), file);
      for (const old of readdirSync(folder).filter((name) => NAME.test(name)).sort().reverse().slice(KEPT)) rmSync(join(folder, old), { force: true });
      status = { at: new Date().toISOString(), ok: true, file, bytes: statSync(file).size };
    } catch (error) {
      status = { at: new Date().toISOString(), ok: false, error: (error as Error).message, problem: backupProblemOf(error) };
    }
    writeFileAtomically(join(dataDir, STATUS_FILE), JSON.stringify(status));
    return status;
  }
}
