import { badRequest } from '../fhir/outcome';
import { isResourceType } from '../fhir/validation/model';
import type { FhirOperation, OperationCall, OperationDescription, OperationParameter } from '../rest/extensions';
import type { FhirResponse } from '../rest/types';
import type { CompartmentReader } from '../store/patient-compartment';

/** What the patient operations share: the types they are asked for, and how they plug in (store/patient-compartment.ts reads). */

/** The paging parameters of the patient operations (from their `next` links), and the page they answer. */
export const PAGED_RECORD: readonly OperationParameter[] = [
  { name: '_count', use: 'in', min: 0, max: '1', type: 'integer', documentation: 'Resources a page holds (10 by default, 100 at most)' },
  { name: '_cursor', use: 'in', min: 0, max: '1', type: 'string', documentation: "The next page's position, as the `next` link gives it" },
  { name: 'return', use: 'out', min: 1, max: '1', type: 'Bundle', documentation: 'A searchset Bundle, paged by its `next` link' },
];

/** `_type`: the listed types, each one of `allowed` (else 400, naming `what` they must be), or every allowed type. */
export function requestedTypes(raw: string | null, allowed: readonly string[], what: string): string[] {
  if (raw === null) return [...allowed];
  const types = raw.split(',').map((type) => type.trim()).filter(Boolean);
  for (const type of types) {
    if (!isResourceType(type) || !allowed.includes(type)) throw badRequest('type-parameter-invalid', `_type: '${type}' is not ${what}`, '_type');
  }
  return allowed.filter((type) => types.includes(type));
}

/**
 * A GET operation on a Patient (`Patient/<id>/$name`) that reads its compartment: `read` gets the call and whose
 * compartment it reads, as whom (the instance-level dispatch already applied the patient's reading rules).
 */
export function patientOperation(name: string, definition: OperationDescription, read: (call: OperationCall, reader: CompartmentReader) => FhirResponse): FhirOperation {
  return {
    name,
    definition,
    level: 'instance',
    types: ['Patient'],
    methods: ['GET'],
    run(call) {
      const { request, base, id } = call;
      return read(call, { patientId: id!, base, reach: request.reach, caller: request.caller });
    },
  };
}
