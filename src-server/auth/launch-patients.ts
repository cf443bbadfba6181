import { FhirError } from '../fhir/outcome';
import type { FhirApi } from '../rest/fhir-api';
import type { FhirRequest } from '../rest/types';
import type { Reaches } from './reach';
import { Scopes } from './scopes';
import type { Users } from './users';

/**
 * The patients a user may choose from at a SMART launch (`launch/patient`, app-login.ts), found and checked through
 * the FHIR API as that user: the consent page's picker lists only patients they see, and the one posted back is read
 * again under the same rule (store/search/visibility.ts), so a forged id of another patient is refused.
 */

/** A patient as the picker shows it. */
export interface PatientChoice {
  id: string;
  /** Family name(s) in capitals, then given names: how a French record names a patient. */
  name: string;
  /** YYYY-MM-DD (or YYYY-MM, YYYY), when known. */
  birthDate?: string;
  /** FHIR's administrative gender: "née le" or "né le". */
  gender?: string;
}

/** What the user typed: part of a name (two letters at least) and a birth date. */
export interface PatientQuery {
  name?: string;
  birthDate?: string;
}

/** Patients the picker lists at once. */
export const LISTED_PATIENTS = 20;
const BIRTH_DATE = /^\d{4}-\d{2}-\d{2}$/;
const MAX_NAME = 100;

type Json = Record<string, unknown>;

export class LaunchPatients {
  constructor(
    private readonly api: Pick<FhirApi, 'answer'>,
    private readonly reaches: Reaches,
    private readonly users: Users,
  ) {}

  /** The user's patients matching the query (the last LISTED_PATIENTS written, by name), under their access rules. */
  async find(userId: string, query: PatientQuery, base: string): Promise<PatientChoice[]> {
    const params = new URLSearchParams({ _count: String(LISTED_PATIENTS) });
    const name = query.name?.trim().slice(0, MAX_NAME);
    if (name && name.replace(/[^\p{L}\p{N}]/gu, '').length >= 2) params.set('name', name);
    if (query.birthDate && BIRTH_DATE.test(query.birthDate)) params.set('birthdate', query.birthDate);
    const bundle = await this.ask(userId, 'PATIENT_SEARCH', 'Patient', params, base);
    const entries = Array.isArray(bundle?.entry) ? (bundle.entry as Json[]) : [];
    const choices = entries.map((entry) => choiceOf(entry.resource as Json)).filter((choice) => choice !== undefined);
    return choices.sort((a, b) => a.name.localeCompare(b.name, 'fr'));
  }

  /** The patient `id`, when the user may see it; undefined otherwise (another's, archived away, or no such patient). */
  async seen(userId: string, id: string, base: string): Promise<PatientChoice | undefined> {
    if (!/^[A-Za-z0-9\-.]{1,64}$/.test(id)) return undefined;
    const patient = await this.ask(userId, 'PATIENT_READ', `Patient/${id}`, new URLSearchParams(), base);
    return patient && choiceOf(patient);
  }

  /** A GET as the user (their reach, only the scope it needs); a refusal (404 for a patient they may not see) is undefined. */
  private async ask(userId: string, scope: string, path: string, query: URLSearchParams, base: string): Promise<Json | undefined> {
    const user = this.users.get(userId);
    const party = { userId, ...(user.practitionerId !== undefined ? { practitionerId: user.practitionerId } : {}), organizationIds: user.organizations, staff: user.roles.includes('staff') };
    const request: FhirRequest = { scopes: new Scopes([scope]), reach: this.reaches.of(party), method: 'GET', path, query };
    try {
      const answer = await this.api.answer(request, base);
      if (answer.status !== 200) return undefined;
      return (typeof answer.body === 'string' ? JSON.parse(answer.body) : answer.body) as Json;
    } catch (error) {
      if (error instanceof FhirError) return undefined;
      throw error;
    }
  }
}

function choiceOf(patient: Json | undefined): PatientChoice | undefined {
  if (patient?.resourceType !== 'Patient' || typeof patient.id !== 'string') return undefined;
  const names = Array.isArray(patient.name) ? (patient.name as Json[]) : [];
  const official = names.find((name) => name.use === 'official') ?? names[0];
  const family = typeof official?.family === 'string' ? official.family.toLocaleUpperCase('fr') : '';
  const given = Array.isArray(official?.given) ? (official.given as unknown[]).filter((one) => typeof one === 'string').join(' ') : '';
  const name = [family, given].filter(Boolean).join(' ') || (typeof official?.text === 'string' ? official.text : 'Patient sans nom');
  return { id: patient.id, name, ...(typeof patient.birthDate === 'string' ? { birthDate: patient.birthDate } : {}), ...(typeof patient.gender === 'string' ? { gender: patient.gender } : {}) };
}
