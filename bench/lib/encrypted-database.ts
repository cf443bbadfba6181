import { newDataKey, subkey } from '../../src-server/data-key';
import { openDatabase, type Db } from '../../src-server/store/database';

/** A store's database encrypted as the node keeps it (AEGIS-256, under a fresh key's 'database' subkey). */
export function openEncryptedDatabase(file: string): Db {
  return openDatabase(file, { key: subkey(newDataKey(), 'database') });
}
