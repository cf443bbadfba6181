import { forbidden } from '../fhir/outcome';
import type { FhirRequest } from '../rest/types';
import type { PendingWrite, WriteRule } from '../rest/extensions';
import { appointmentTypesOf, practiceOfTypes } from './appointment-types';
import { openingHoursOf } from './opening-hours';
import { practitionerBehind, storedReader } from './whose-time';
import { referencesIn } from './times';

/**
 * The practice's schedule as FHIR (issue 28): a practitioner's opening hours (their Schedule) and the practice's
 * appointment types (its CodeSystem) are checked on every API write (422), and only an admin of the practice may
 * write them (403); the owner client and the node's own work may too. Sync stores its peers' versions as they came.
 */

type Json = Readonly<Record<string, unknown>>;

/** The practices a practitioner belongs to, as the node's users say (auth/users.ts). */
export type PracticesOf = (practitionerId: string) => readonly string[];

export function scheduleRules(practicesOf: PracticesOf): WriteRule[] {
  return [
    { types: ['Schedule'], before: (write) => checkSchedule(write, practicesOf) },
    { types: ['CodeSystem'], before: checkAppointmentTypes },
  ];
}

function checkSchedule(write: PendingWrite, practicesOf: PracticesOf): void {
  openingHoursOf(write.resource);
  const { caller } = write.request;
  if (!caller) return;
  requireAdmin(write.request, 'a Schedule');
  // Its practitioners, before and after the write, must all be of the admin's practices: no taking over another's.
  const read = storedReader(write.interactions.repository);
  const practitioners = [write.resource, write.previousResource].flatMap((schedule) => (schedule ? referencesIn(schedule.actor).flatMap((actor) => practitionerBehind(actor, write.base, read)) : []));
  for (const practitioner of new Set(practitioners)) {
    if (!practicesOf(practitioner).some((practice) => caller.practiceIds.includes(practice))) {
      throw forbidden('schedule-admin-only', `Practitioner/${practitioner} is not of a practice you are an admin of: only its admin may write their Schedule`);
    }
  }
}

function checkAppointmentTypes(write: PendingWrite): void {
  const practices = [write.resource, write.previousResource].flatMap((codeSystem) => (codeSystem ? (practiceOfTypes(codeSystem as Json) ?? []) : []));
  if (practices.length === 0) return;
  appointmentTypesOf(write.resource, write.id ?? '');
  const { caller } = write.request;
  if (!caller) return;
  requireAdmin(write.request, "a practice's appointment types");
  for (const practice of practices) {
    if (!caller.practiceIds.includes(practice)) throw forbidden('schedule-admin-only', `Organization/${practice} is not a practice you are an admin of`);
  }
}

function requireAdmin(request: FhirRequest, what: string): void {
  if (!request.caller?.admin) throw forbidden('schedule-admin-only', `Only an admin of the practice may write ${what}`);
}
