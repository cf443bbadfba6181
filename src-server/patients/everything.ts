import { badRequest } from '../fhir/outcome';
import { parseDateRange } from '../fhir/search/dates';
import { DATE_MAX, DATE_MIN } from '../fhir/search/index-values';
import type { FhirOperation, OperationDescription } from '../rest/extensions';
import { readPageCount, readSince } from '../rest/paging-parameters';
import type { PatientCompartment } from '../store/patient-compartment';
import type { StoredResource } from '../store/repository';
import { decodeCursor, encodeCursor, pageBundle } from './paging';
import { PAGED_RECORD, patientOperation, requestedTypes } from './patient-operation';

/**
 * `GET Patient/<id>/$everything`: the patient's record — the Patient and every resource of its compartment
 * (encounters, episodes of care, documents, messages, appointments…) — newest first (lastUpdated, which is write
 * order), paged by a keyset cursor over the compartment, with the Practitioners and Organizations each page points
 * at. Only what the caller may see: types it has no READ scope for are left out, and every resource passes the
 * access rules (the operation's reach check already answered 404 for a hidden patient).
 *
 * Parameters: `_count`, `_cursor` (from the `next` link), `_since` (changed since an instant), `_type` (some types
 * only), `start`/`end` (care dates, STU3's own: a resource whose care date lies outside is left out; one without a
 * care date stays).
 */

/** The care date of the types whose `date` parameter is not it (or who have none). */
const CARE_DATE_OF: Readonly<Record<string, string>> = { DocumentReference: 'created', Communication: 'sent', CommunicationRequest: 'authored' };
/** Directory resources the record points at, which its reader needs (who wrote, who treats, where). */
const REFERENCED_TYPES = ['Practitioner', 'Organization'];

const EVERYTHING: OperationDescription = {
  description: "The patient's record: the Patient and every resource of its compartment the caller may see, newest first, with the Practitioners and Organizations each page points at.",
  base: 'http://hl7.org/fhir/OperationDefinition/Patient-everything',
  parameters: [
    { name: 'start', use: 'in', min: 0, max: '1', type: 'date', documentation: 'Care from this date on (a resource without a care date stays)' },
    { name: 'end', use: 'in', min: 0, max: '1', type: 'date', documentation: 'Care up to this date' },
    { name: '_since', use: 'in', min: 0, max: '1', type: 'instant', documentation: 'Only what changed since this instant' },
    { name: '_type', use: 'in', min: 0, max: '1', type: 'string', documentation: 'Only these types of the Patient compartment, comma-separated' },
    ...PAGED_RECORD,
  ],
};

export function everythingOperation(compartment: PatientCompartment): FhirOperation {
  return patientOperation('$everything', EVERYTHING, ({ request, base, id, interactions }, reader) => {
    const { query, scopes } = request;
    const count = readPageCount(query.get('_count'));
    const beforeVseq = decodeCursor(query.get('_cursor'), 1)?.[0];
    const since = readSince(query.get('_since'));
    const care = readCareRange(query.get('start'), query.get('end'));
    const types = requestedTypes(query.get('_type'), compartment.types(), 'a type of the Patient compartment').filter((type) => scopes.allows(type, 'READ'));
    const rows = compartment.record({ ...reader, types, beforeVseq, since, care, careDateOf: CARE_DATE_OF, limit: count + 1 });
    const page = rows.slice(0, count);
    const referenced = referencedDirectory(compartment, page, base, (type, refId) => interactions.repository.read(type, refId)).filter((resource) => scopes.allows(resource.resourceType, 'READ'));
    const next = rows.length > count ? encodeCursor([rows[count - 1].vseq]) : undefined;
    return { status: 200, headers: {}, body: pageBundle({ url: `${base}/Patient/${id}/$everything`, query, matches: page, included: referenced, next }, base, interactions.repository) };
  });
}

/** The Practitioners and Organizations the page's resources point at (local references), by type and id. */
function referencedDirectory(compartment: PatientCompartment, page: Array<StoredResource & { vseq: number }>, base: string, read: (type: string, id: string) => StoredResource | undefined): StoredResource[] {
  return compartment.referencedBy(page.map((resource) => resource.vseq), REFERENCED_TYPES, base).flatMap(({ type, id }) => read(type, id) ?? []);
}

/** STU3's `start` and `end` (dates): all care from the start of `start` to the end of `end`; undefined without either. */
function readCareRange(start: string | null, end: string | null): { start: number; end: number } | undefined {
  if (start === null && end === null) return undefined;
  const bound = (raw: string | null, name: string) => {
    if (raw === null) return undefined;
    const range = parseDateRange(raw);
    if (!range) throw badRequest('date-parameter-invalid', `${name} must be a date (YYYY[-MM[-DD]]), not '${raw}'`, name);
    return range;
  };
  const from = bound(start, 'start');
  const to = bound(end, 'end');
  return { start: from?.start ?? DATE_MIN, end: to?.end ?? DATE_MAX };
}
