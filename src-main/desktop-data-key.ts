import { isFolderInClear, isNewFolder, loadDataKey, type Keychain } from '../src-server/data-key';

/**
 * The desktop's data key: unwrapped by the operating system's keychain (Electron safeStorage, main process only)
 * from the data folder's `data-key.wrapped`, made there at the folder's first start; where the system has no keyring
 * (Linux 'basic_text') the user's passphrase is asked instead. Loaded once per run: a restarted node gets the same key
 * without asking again. The node process receives it over its message channel (node-supervisor.ts).
 */
export function desktopDataKey(dataDir: string, keychain: Keychain, askPassphrase: () => Promise<string>): () => Promise<Buffer> {
  let key: Promise<Buffer> | undefined;
  return () => {
    // A folder written before the data key gets one now; the node process converts it before it opens it.
    key ??= loadDataKey(dataDir, { kind: 'keychain', keychain, passphrase: askPassphrase }, { create: isNewFolder(dataDir) || isFolderInClear(dataDir) });
    // A failure (a wrong passphrase) is not kept: the next launch asks again.
    key.catch(() => (key = undefined));
    return key;
  };
}
