import { conflict } from '../fhir/outcome';
import type { PendingWrite, WriteRule } from '../rest/extensions';
import type { StoredResource } from '../store/repository';
import { checkIdentity, insOf, type IdentityWriter } from './identity';

/**
 * The identity rules of Patient writes through the API (identity.ts): a malformed INS, status or IPP is refused
 * (422); an INS identifies one person, so it is on one Patient of the node:
 * - a create carrying the INS of a patient the caller sees answers 200 with that patient (a conditional create, as
 *   If-None-Exist would), and writes nothing;
 * - a create carrying the INS of a patient the caller does not see is refused (409) without naming that patient:
 *   neither a duplicate nor a leak of someone else's record;
 * - an update giving a patient the INS of another one is refused (409).
 * The check and the write share one transaction, and writes run one at a time: two simultaneous creates with the
 * same INS make one patient, the second answered with it.
 */

const HIDDEN_TWIN = 'A patient with this INS already exists on this node, followed by another practice: ask that practice to share the record rather than create it again';

export const patientIdentityRule: WriteRule = {
  types: ['Patient'],
  existing(write) {
    checkIdentity(write.resource, writerOf(write));
    const twin = findTwin(write);
    if (!twin) return undefined;
    if (!twin.visible) throw conflict('ins-followed-elsewhere', HIDDEN_TWIN, 'Patient.identifier');
    if (!write.request.scopes.allows('Patient', 'READ')) throw conflict('ins-duplicate', `Patient/${twin.patient.id} already has this INS: read it (PATIENT_READ) rather than create it again`, 'Patient.identifier');
    return twin.patient;
  },
  before(write) {
    checkIdentity(write.resource, writerOf(write));
    const twin = findTwin(write);
    if (twin?.visible) throw conflict('ins-duplicate', `Patient/${twin.patient.id} already has this INS: one person, one patient record`, 'Patient.identifier');
    if (twin) throw conflict('ins-followed-elsewhere', HIDDEN_TWIN, 'Patient.identifier');
  },
};

/**
 * A user's session is `user:<id>` (rest/caller.ts Caller.key): Liaison's screens. An app acting for a user
 * (`<app>|user:<id>`) is software, which may have called INSi.
 */
function writerOf(write: PendingWrite): IdentityWriter {
  return {
    userSession: write.request.caller?.key.startsWith('user:') ?? false,
    previous: () => {
      try {
        return write.previousResource;
      } catch {
        // A version stored without the API's checks (an import, a sync) and unreadable: the new one replaces it.
        return undefined;
      }
    },
  };
}

/** Another current Patient with one of the write's INS (one the caller sees, if any), whoever follows it. */
function findTwin({ resource, id, request, base, interactions }: PendingWrite): { patient: StoredResource; visible: boolean } | undefined {
  const ins = insOf(resource);
  if (ins.length === 0) return undefined;
  const params = new URLSearchParams({ identifier: ins.map(({ system, value }) => `${system}|${value}`).join(','), _count: '10' });
  const twins = interactions.searchEngine.search({ resourceType: 'Patient', params, lenient: false, base }).matches.filter((patient) => patient.id !== id);
  if (twins.length === 0) return undefined;
  const visible = request.reach ? twins.find((patient) => interactions.searchEngine.isVisible(patient, request, base)) : twins[0];
  return visible ? { patient: visible, visible: true } : { patient: twins[0], visible: false };
}
