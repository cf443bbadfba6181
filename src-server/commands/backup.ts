import type { Command } from 'commander';
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { Readable } from 'node:stream';
import { backupSealing, backupStream, restoreBackup, writeBackupFile, type BackupSecret } from '../backup/backup';
import { readSecret, withDataFolder } from '../folder-access';
import { loadHeadlessDataKey } from '../data-key';
import { atRestKeys, atRestKeysOf } from '../node';

/**
 * `liaison backup --data DIR --out FILE` and `liaison restore --in FILE --data DIR` (backup/backup.ts). A backup is
 * taken while the node serves, through its admin API (the node streams it, this command writes it), or directly
 * when no node runs. It is sealed under the backup key the data key gives, or with `--passphrase` under a passphrase
 * read from $LIAISON_BACKUP_PASSPHRASE or standard input (never the command line, which other users see).
 * Registered by cli.ts.
 */

export function registerBackupCommands(program: Command, defaultDataDir: string): void {
  program
    .command('backup')
    .description('write a sealed backup of a data folder (its node may be running)')
    .requiredOption('--out <file>', 'the backup file to write (replaced only once the new backup is complete)')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .option('--passphrase', 'seal it under a passphrase ($LIAISON_BACKUP_PASSPHRASE or stdin) rather than the data key')
    .action(async (options: { out: string; data: string; passphrase?: boolean }) => {
      const passphrase = options.passphrase ? await passphraseOf('Passphrase for this backup: ') : undefined;
      const out = resolve(options.out);
      await withDataFolder(options.data, {
        direct: (_db, dataDir) => writeBackupFile(backupStream({ dataDir }, passphrase === undefined ? { key: atRestKeysOf(dataDir).backup } : { passphrase }), out),
        served: async (api) => {
          const response = await api.fetch('POST', '/admin/backup', passphrase === undefined ? {} : { passphrase });
          await writeBackupFile(Readable.fromWeb(response.body as import('node:stream/web').ReadableStream<Uint8Array>), out);
        },
      });
      console.log(`Backup written: ${out} (${statSync(out).size} bytes).`);
    });
  program
    .command('restore')
    .description('restore a backup into an empty data folder')
    .requiredOption('--in <file>', 'the backup file')
    .option('--data <dir>', 'data directory (empty or absent)', defaultDataDir)
    .action(async (options: { in: string; data: string }) => {
      const file = resolve(options.in);
      const dataDir = resolve(options.data);
      const secret: BackupSecret =
        (await backupSealing(file)) === 'passphrase'
          ? { passphrase: await passphraseOf('Passphrase of this backup: ') }
          : // The folder's data key as a command finds it (LIAISON_KEY_FILE), the one its backup was sealed under.
            { key: atRestKeys(await loadHeadlessDataKey(dataDir, process.env, { create: false })).backup };
      const { files } = await restoreBackup(file, dataDir, secret);
      console.log(`Backup restored into ${dataDir}: ${files} files. The text index is rebuilt at the node's first start.`);
    });
}

async function passphraseOf(prompt: string): Promise<string> {
  return process.env.LIAISON_BACKUP_PASSPHRASE ?? (await readSecret(prompt));
}
