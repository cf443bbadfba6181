import { isJson } from '../fhir/json';
import { badRequest, refusal } from '../fhir/outcome';
import type { Db } from '../store/database';

/**
 * A practice's own settings (`practice_settings`), set by its admin in Réglages or `PUT /admin/practices/<id>`. For
 * now one: whether its practitioners share their patients (docs/access.md, "Who sees which patients"), on unless the
 * admin turned it off, as in most group practices. A practice is an Organization id its users belong to.
 */

export interface PracticeSetting {
  /** The practice's Organization id. */
  id: string;
  sharesPatients: boolean;
  /** The last change, when an admin made one (none: the defaults). */
  updatedAt?: string;
  updatedBy?: string;
}

/** What an admin may change (the body of `PUT /admin/practices/<id>`). */
const KEYS = new Set(['sharesPatients']);

export class PracticeSettings {
  private readonly row;

  constructor(private readonly db: Db) {
    this.row = db.prepare<[string], { shares_patients: number; updated_at: string; updated_by: string }>('SELECT shares_patients, updated_at, updated_by FROM practice_settings WHERE organization_id = ?');
  }

  /** Whether the practitioners of this practice see each other's patients. */
  sharesPatients(organizationId: string): boolean {
    return (this.row.get(organizationId)?.shares_patients ?? 1) === 1;
  }

  get(organizationId: string): PracticeSetting {
    const row = this.row.get(organizationId);
    return row ? { id: organizationId, sharesPatients: row.shares_patients === 1, updatedAt: row.updated_at, updatedBy: row.updated_by } : { id: organizationId, sharesPatients: true };
  }

  /** The practices of the node: those its users belong to, and those with settings of their own. */
  list(): PracticeSetting[] {
    const ids = new Set<string>();
    for (const { organizations } of this.db.prepare<[], { organizations: string }>("SELECT organizations FROM users WHERE organizations <> ''").all()) {
      for (const id of organizations.split(' ')) if (id) ids.add(id);
    }
    for (const { organization_id } of this.db.prepare<[], { organization_id: string }>('SELECT organization_id FROM practice_settings').all()) ids.add(organization_id);
    return [...ids].sort().map((id) => this.get(id));
  }

  /** Applies an admin's change (`{ "sharesPatients": false }`), checked: anything else is refused, nothing written. */
  change(organizationId: string, change: unknown, by: string): PracticeSetting {
    if (!isJson(change)) throw badRequest('practice-settings-invalid', 'Send a JSON object: { "sharesPatients": true | false }');
    const unknownKey = Object.keys(change).find((key) => !KEYS.has(key));
    if (unknownKey) throw badRequest('practice-settings-invalid', `'${unknownKey}' is not a practice setting (expected sharesPatients)`, unknownKey);
    const { sharesPatients } = change;
    if (typeof sharesPatients !== 'boolean') throw badRequest('practice-settings-invalid', 'sharesPatients must be true or false', 'sharesPatients');
    if (!this.list().some((practice) => practice.id === organizationId)) throw refusal(404, 'practice-not-on-node', `No user of this node belongs to the practice '${organizationId}'`);
    this.db
      .prepare(
        `INSERT INTO practice_settings (organization_id, shares_patients, updated_at, updated_by) VALUES (?, ?, ?, ?)
         ON CONFLICT (organization_id) DO UPDATE SET shares_patients = excluded.shares_patients, updated_at = excluded.updated_at, updated_by = excluded.updated_by`,
      )
      .run(organizationId, sharesPatients ? 1 : 0, new Date().toISOString(), by);
    return this.get(organizationId);
  }
}
