import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { resealKeyFile, resealRelyingPartyKey } from './auth/rp-key';
import { SIGNING_KEY_FILE } from './auth/signing-key';
import { syncFolder } from './data-key';
import { resealIdentitySecret } from './node-settings';
import { dataFolderKey, OLD_DATA_FOLDER_KEY_FILE, seal, unseal } from './sealing';
import type { Db } from './store/database';
import { PeerStore } from './sync/peers';

/**
 * One key hierarchy: a data folder made before the data key sealed its secrets (the sync peers' client secrets, the
 * identity provider's secret, the relying party's key) with a key file of their own, `sync-secret.key`. At start
 * they are sealed again under the data key and the old file removed. Each secret already sealed under the data key is
 * left as it is, so a start interrupted halfway finishes the work at the next one. Says what it did, or nothing.
 */
export function resealUnderDataKey(dataDir: string, db: Db): string | undefined {
  const oldFile = join(dataDir, OLD_DATA_FOLDER_KEY_FILE);
  if (!existsSync(oldFile)) return undefined;
  const oldKey = readFileSync(oldFile);
  const newKey = dataFolderKey(dataDir);
  const reseal = (sealed: string): string => {
    try {
      unseal(newKey, sealed);
      return sealed;
    } catch {
      return seal(newKey, unseal(oldKey, sealed));
    }
  };
  new PeerStore(db, dataDir).resealSecrets(reseal);
  resealIdentitySecret(dataDir, reseal);
  resealRelyingPartyKey(dataDir, reseal);
  resealKeyFile(dataDir, SIGNING_KEY_FILE, reseal);
  rmSync(oldFile);
  syncFolder(dataDir);
  return `The secrets of ${dataDir} are now sealed under its data key; ${OLD_DATA_FOLDER_KEY_FILE} was removed.`;
}
