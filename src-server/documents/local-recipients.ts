import type { Db } from '../store/database';

/**
 * Who receives documents on this node itself: a Practitioner who is an enabled user, a practice Organization that
 * has enabled users, and those an API client acts for (the practice software reads its inbox through the API).
 * Their documents go by the internal channel: the Communication is the inbox entry, visible at once to their reach.
 * This node tells its sync peers who they are (the `$handshake`), so that the peers' documents for them go by the
 * internal channel too (NetworkRecipients).
 */
export class LocalRecipients {
  private readonly practitionerIsUser;
  private readonly organizationIsPractice;
  private readonly practitioners;
  private readonly organizationLists;

  constructor(db: Db) {
    this.practitionerIsUser = db.prepare<[string, string]>(
      `SELECT 1 FROM users WHERE practitioner_id = ? AND disabled_at IS NULL
       UNION ALL SELECT 1 FROM oauth_clients WHERE practitioner_id = ? AND revoked_at IS NULL LIMIT 1`,
    );
    this.organizationIsPractice = db.prepare<[string, string]>(
      `SELECT 1 FROM users WHERE instr(' ' || organizations || ' ', ' ' || ? || ' ') > 0 AND disabled_at IS NULL
       UNION ALL SELECT 1 FROM oauth_clients WHERE organization_id = ? AND revoked_at IS NULL LIMIT 1`,
    );
    this.practitioners = db
      .prepare<[], string>(
        `SELECT practitioner_id FROM users WHERE practitioner_id IS NOT NULL AND disabled_at IS NULL
         UNION SELECT practitioner_id FROM oauth_clients WHERE practitioner_id IS NOT NULL AND revoked_at IS NULL`,
      )
      .pluck();
    this.organizationLists = db
      .prepare<[], string>(
        `SELECT organizations FROM users WHERE disabled_at IS NULL
         UNION SELECT organization_id FROM oauth_clients WHERE organization_id IS NOT NULL AND revoked_at IS NULL`,
      )
      .pluck();
  }

  /** Whether `Practitioner/<id>` or `Organization/<id>` receives on this node. */
  has(type: string, id: string): boolean {
    if (type === 'Practitioner') return this.practitionerIsUser.get(id, id) !== undefined;
    if (type === 'Organization') return this.organizationIsPractice.get(id, id) !== undefined;
    return false;
  }

  /** Every recipient of this node, as references (`Practitioner/<id>`, `Organization/<id>`), sorted: ids only. */
  list(): string[] {
    const organizations = new Set(this.organizationLists.all().flatMap((list) => (list ?? '').split(' ').filter(Boolean)));
    return [...new Set(this.practitioners.all())].map((id) => `Practitioner/${id}`).sort().concat([...organizations].map((id) => `Organization/${id}`).sort());
  }
}
