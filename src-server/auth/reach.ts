import { COLLEAGUE, LAUNCH_PATIENT, type ReachReference } from '../store/search/visibility';
import type { Db } from '../store/database';
import { PracticeSettings } from './practice-settings';
import type { Party } from './tokens';

/**
 * Whom a party acts as, for the access rules (store/search/visibility.ts): the user's Practitioner, the practice
 * Organizations they belong to, and for staff (a secretary, a practice's API client) the practitioners of those
 * practices, whose patients they work on. A practitioner who logs in (or an app acting for them) also follows the
 * patients of their colleagues in the practices that share them (auth/practice-settings.ts), as COLLEAGUE references:
 * they see those patients, and what is seen through a patient, without acting as the colleague. Practices' members
 * are the node's users, set by an admin: the national directory's PractitionerRoles say where people work, not whose
 * records they may open. An app's grant made by a SMART launch with a patient chosen (app-login.ts) also holds that
 * Patient, which confines it to the patient's compartment.
 */
export class Reaches {
  private readonly membersOf;
  private readonly practices: PracticeSettings;
  /** Per party object: a principal (and its party) lives as long as TokenStore caches it, so changes apply within seconds. */
  private readonly cache = new WeakMap<Party, readonly ReachReference[]>();

  constructor(db: Db) {
    this.membersOf = db.prepare<[string], { practitioner_id: string }>(
      `SELECT practitioner_id FROM users
       WHERE practitioner_id IS NOT NULL AND disabled_at IS NULL
         AND instr(' ' || organizations || ' ', ' ' || ? || ' ') > 0 AND instr(' ' || roles || ' ', ' practitioner ') > 0`,
    );
    this.practices = new PracticeSettings(db);
  }

  of(party: Party): readonly ReachReference[] {
    let reach = this.cache.get(party);
    if (reach) return reach;
    const references = new Map<string, ReachReference>();
    const add = (type: string, id: string) => references.set(`${type}/${id}`, [type, id]);
    if (party.practitionerId) add('Practitioner', party.practitionerId);
    // Only a logged-in practitioner: an API client made for one practitioner keeps to that practitioner's patients.
    const sharing = party.userId !== undefined && party.practitionerId !== undefined && !party.staff;
    for (const organization of party.organizationIds) {
      add('Organization', organization);
      if (party.staff) for (const member of this.membersOf.all(organization)) add('Practitioner', member.practitioner_id);
      else if (sharing && this.practices.sharesPatients(organization)) {
        for (const member of this.membersOf.all(organization)) if (member.practitioner_id !== party.practitionerId) add(COLLEAGUE, member.practitioner_id);
      }
    }
    // Last: the first reference is whom the caller acts as (a Provenance's agent, sync/conflicts.ts).
    if (party.launchPatientId !== undefined) add(LAUNCH_PATIENT, party.launchPatientId);
    reach = [...references.values()];
    this.cache.set(party, reach);
    return reach;
  }
}
