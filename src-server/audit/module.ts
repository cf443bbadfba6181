import type { NodeModule } from '../rest/extensions';
import type { Store } from '../store/store';
import { AuditLog } from './audit-log';
import { AuditRetention } from './audit-retention';

/** The audit trail (audit-log.ts), kept `retentionDays` (audit-retention.ts: purged at start and daily). */

export interface AuditModule extends NodeModule {
  log: AuditLog;
  close(): Promise<void>;
}

export function auditModule(store: Store, settings: { retentionDays: number }): AuditModule {
  const log = new AuditLog(store.db);
  let retention: AuditRetention | undefined;
  return {
    log,
    start(_url, warn) {
      retention = new AuditRetention(store.db, settings.retentionDays, warn);
      retention.purgeInBackground();
    },
    async close() {
      retention?.stop();
      log.flush();
    },
  };
}
