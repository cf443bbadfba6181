import type { Command } from 'commander';
import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isInsideFolder } from '../data-dir';
import {
  DataKeyError,
  headlessKeySource,
  isFolderInClear,
  KEYCHAIN_WRAPPED_FILE,
  keyFileSetting,
  loadHeadlessDataKey,
  PASSPHRASE_WRAPPED_FILE,
  unwrapWithPassphrase,
  wrapWithPassphrase,
  writePrivateFile,
  subkey,
  type PassphraseWrapped,
} from '../data-key';
import { encryptFolder, planEncryption } from '../encrypt-folder';
import { readFolder, readSecret } from '../folder-access';
import { BINARY_FOLDER, DATABASE_FILE } from '../node';
import { encryptBinaries } from '../store/binary-store';
import { lockDataFolder } from '../node-lock';
import { checkDatabaseVersion, readNodeId } from '../store/database';

/**
 * `liaison key export|import|rotate` and `liaison encrypt` (docs/security.md): the data key's recovery kit, its
 * wrapping, and the conversion of a folder written before the data key. Passphrases are read from standard input,
 * never the command line. Registered by cli.ts.
 */

/** A recovery kit's passphrase: long enough that guessing it costs more than it is worth (scrypt makes each try slow). */
const MIN_PASSPHRASE = 12;

async function newPassphrase(prompt: string): Promise<string> {
  const passphrase = await readSecret(prompt);
  if (passphrase.length < MIN_PASSPHRASE) throw new Error(`The passphrase needs at least ${MIN_PASSPHRASE} characters (give it on standard input).`);
  return passphrase;
}

/** Throws DataKeyError unless `key` opens the folder's database. */
function checkKeyOpens(dataDir: string, key: Buffer): void {
  checkDatabaseVersion(join(dataDir, DATABASE_FILE), subkey(key, 'database'));
}

export function registerKeyCommands(program: Command, defaultDataDir: string): void {
  const key = program.command('key').description("the data folder's encryption key: recovery kit, passphrase");
  key
    .command('export')
    .description('write a recovery kit: the data key wrapped by a passphrase you choose (read from standard input); keep it away from the computer')
    .requiredOption('--out <file>', 'where to write the kit (not inside the data folder)')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action(async (options: { data: string; out: string }) => {
      const dataDir = resolve(options.data);
      const out = resolve(options.out);
      if (isInsideFolder(dataDir, out)) throw new Error('Write the recovery kit outside the data folder: a copy of the folder would carry its own key.');
      if (existsSync(out)) throw new Error(`${out} exists already: choose another file.`);
      const dataKey = await loadHeadlessDataKey(dataDir);
      const nodeId = await readFolder(dataDir, (db) => readNodeId(db));
      const kit = wrapWithPassphrase(dataKey, await newPassphrase('Passphrase of the recovery kit: '), { nodeId });
      writePrivateFile(out, Buffer.from(`${JSON.stringify(kit, null, 2)}\n`));
      console.log(`Recovery kit written to ${out} (node ${nodeId}). Keep it, and its passphrase, apart from this computer.`);
    });
  key
    .command('import')
    .description("recover the data key from a recovery kit (its passphrase on standard input) and keep it as a key file or under LIAISON_PASSPHRASE")
    .requiredOption('--kit <file>', 'the recovery kit')
    .option('--key-file <file>', 'write the key to this file (outside the data folder), for LIAISON_KEY_FILE')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action(async (options: { data: string; kit: string; keyFile?: string }) => {
      const dataDir = resolve(options.data);
      const kit = JSON.parse(readFileSync(resolve(options.kit), 'utf8')) as PassphraseWrapped;
      const dataKey = unwrapWithPassphrase(kit, await readSecret('Passphrase of the recovery kit: '), options.kit);
      checkKeyOpens(dataDir, dataKey);
      const lock = lockDataFolder(dataDir);
      try {
        if (options.keyFile) {
          const file = resolve(options.keyFile);
          if (existsSync(file)) throw new Error(`${file} exists already: choose another file.`);
          if (isInsideFolder(dataDir, file)) throw new Error('Keep the key file outside the data folder.');
          writePrivateFile(file, Buffer.from(`${dataKey.toString('hex')}\n`));
          console.log(`The data key is in ${file}: start the node with LIAISON_KEY_FILE=${file}.`);
        } else {
          const passphrase = process.env.LIAISON_PASSPHRASE;
          if (!passphrase || passphrase.length < MIN_PASSPHRASE) throw new Error(`Give --key-file, or the folder's new passphrase (${MIN_PASSPHRASE} characters at least) in LIAISON_PASSPHRASE.`);
          writePrivateFile(join(dataDir, PASSPHRASE_WRAPPED_FILE), Buffer.from(JSON.stringify(wrapWithPassphrase(dataKey, passphrase), null, 2)));
          console.log(`The data key is wrapped by the passphrase in ${join(dataDir, PASSPHRASE_WRAPPED_FILE)}: the node (and the desktop app) ask for it.`);
        }
        // A keychain wrapping that no longer opens (another computer, a reset keychain) would be tried first: set aside.
        if (!options.keyFile && existsSync(join(dataDir, KEYCHAIN_WRAPPED_FILE))) renameSync(join(dataDir, KEYCHAIN_WRAPPED_FILE), join(dataDir, `${KEYCHAIN_WRAPPED_FILE}.old`));
      } finally {
        lock.release();
      }
    });
  key
    .command('rotate')
    .description('wrap the data key again under a new passphrase (read from standard input): the data stays as it is, the old passphrase no longer opens it')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action(async (options: { data: string }) => {
      const dataDir = resolve(options.data);
      const source = headlessKeySource(process.env, keyFileSetting(dataDir));
      if (source.kind !== 'passphrase') throw new DataKeyError('liaison key rotate re-wraps the key kept under LIAISON_PASSPHRASE: give the current passphrase there.');
      const dataKey = await loadHeadlessDataKey(dataDir);
      const lock = lockDataFolder(dataDir);
      try {
        writePrivateFile(join(dataDir, PASSPHRASE_WRAPPED_FILE), Buffer.from(JSON.stringify(wrapWithPassphrase(dataKey, await newPassphrase('New passphrase: ')), null, 2)));
      } finally {
        lock.release();
      }
      console.log('The data key is wrapped by the new passphrase; the old one no longer opens the folder. Recovery kits made before still do: they hold the same key.');
    });

  program
    .command('encrypt')
    .description('encrypt a data folder written before encryption, or convert one of an earlier cipher (the node stopped): crash-safe, needs about twice the database in free disk')
    .option('--data <dir>', 'data directory', defaultDataDir)
    .action(async (options: { data: string }) => {
      const dataDir = resolve(options.data);
      const lock = lockDataFolder(dataDir);
      try {
        const dataKey = await loadHeadlessDataKey(dataDir, process.env, { create: isFolderInClear(dataDir) });
        const plan = planEncryption(dataDir, dataKey);
        const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
        if (plan.toDo) {
          console.log(`Encrypting ${dataDir}: ${mib(plan.bytes)} of database; needs ${mib(plan.needed)} free, ${mib(plan.available)} available.`);
          if (plan.available < plan.needed) throw new Error(`Not enough free disk: ${mib(plan.needed)} needed, ${mib(plan.available)} available. Nothing was changed.`);
        }
        const done = encryptFolder(dataDir, dataKey);
        // The documents too, now rather than in the background of the node's next start (crash-safe and resumable).
        const sealed = await encryptBinaries(join(dataDir, BINARY_FOLDER), subkey(dataKey, 'content'));
        if (sealed > 0) done.push(`Sealed ${sealed} document file(s) in ${join(dataDir, BINARY_FOLDER)}.`);
        console.log(done.length ? done.join('\n') : `${dataDir} is encrypted already.`);
      } finally {
        lock.release();
      }
    });
}
