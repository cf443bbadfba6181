import { badRequest, conflict, preconditionFailed, unprocessable } from '../fhir/outcome';
import type { FhirOperation, OperationCall, OperationDescription } from '../rest/extensions';
import { parseEtag, versionHeaders } from '../rest/interactions';
import type { FhirRequest, FhirResponse } from '../rest/types';
import type { StoredResource } from '../store/repository';
import { arrayOf, isJson, localRef, referenceOf, type Json } from './references';

/**
 * `POST [base]/DocumentReference/<id>/$attach` (docs/documents.md, "Letters without a known patient"): files a letter
 * the caller received into the record of a patient they follow. A letter whose subject names no patient of this node
 * (the INS as a logical reference, a contained Patient, nothing) is the practice's own: it is updated, its subject
 * now the patient, the subject as sent kept in `subject-as-sent`. A letter about a patient of another practice (the
 * internal channel, a peer by sync) is that practice's resource, shared: it is left as it is and the caller's practice
 * gets its own copy, about its patient, naming the letter in `context.related` (its author still named, not its custodian). Both are written through the
 * interactions as the caller, so the access and write rules hold and the FHIR API's audit trail records the call.
 */

/** On an attached letter: its subject as the letter gave it (a logical reference, `#contained`, another node's patient). */
export const SUBJECT_AS_SENT_URL = 'http://liaison.health/fhir/StructureDefinition/subject-as-sent';

const ATTACH: OperationDescription = {
  description:
    'Files a received letter into the record of a patient the caller follows. A letter that names no patient of this node is updated (its subject as sent kept in the subject-as-sent extension); one about another practice\'s patient is left as it is and the caller gets its own copy (context.related names the letter). Honours If-Match. Attaching again to the same patient answers the letter as filed; to another, 409.',
  parameters: [
    { name: 'patient', use: 'in', min: 1, max: '1', type: 'Reference', documentation: 'Patient/<id>: a patient the caller follows' },
    { name: 'return', use: 'out', min: 1, max: '1', type: 'DocumentReference', documentation: 'The letter as filed: updated (200) or the caller\'s copy (201)' },
  ],
};

export function attachOperation(): FhirOperation {
  return { name: '$attach', level: 'instance', types: ['DocumentReference'], methods: ['POST'], definition: ATTACH, run: attach };
}

function attach({ request, base, id, interactions }: OperationCall): FhirResponse {
  const patient = patientOf(request.body, base);
  const { repository, searchEngine } = interactions;
  const caller: Pick<FhirRequest, 'scopes' | 'reach' | 'caller'> = { scopes: request.scopes, reach: request.reach, caller: request.caller };
  const follows = (patientId: string) => {
    const stored = repository.read('Patient', patientId);
    return stored !== undefined && searchEngine.isVisible(stored, request, base);
  };
  return repository.transaction(() => {
    // Seen by the caller: the operation's read rules ran before.
    const stored = repository.read('DocumentReference', id!)!;
    if (request.ifMatch !== undefined && parseEtag(request.ifMatch, 'If-Match') !== stored.versionId) {
      throw preconditionFailed('version-mismatch', `DocumentReference/${id} is at version ${stored.versionId}, not the one of If-Match`);
    }
    if (!follows(patient)) throw unprocessable('attach-patient-unknown', `Patient/${patient} does not exist`, 'patient');
    const letter = JSON.parse(stored.json) as Json;
    const subject = localRef(referenceOf(letter.subject), base);
    const filed = (document: StoredResource): FhirResponse => {
      if (localRef(referenceOf(JSON.parse(document.json).subject), base)?.id === patient) return { status: 200, headers: versionHeaders(document), body: document.json };
      throw conflict('attach-already-attached', `DocumentReference/${id} is already filed in the record of another patient: edit that document to move it`);
    };
    if (subject?.type === 'Patient' && follows(subject.id)) return filed(stored);
    const { meta: _meta, ...current } = letter;
    const filedAs: Json = { ...current, subject: { reference: `Patient/${patient}` }, ...keptAsSent(letter) };
    if (subject?.type !== 'Patient') {
      return interactions.handle({ ...caller, method: 'PUT', path: `DocumentReference/${id}`, query: new URLSearchParams(), body: filedAs, ifMatch: `W/"${stored.versionId}"` }, base);
    }
    // Another practice's letter: the caller's own copy, made once (the copies it sees name the letter).
    const copies = searchEngine.search({ resourceType: 'DocumentReference', params: new URLSearchParams({ 'related-ref': `DocumentReference/${id}`, _count: '1' }), lenient: false, base, reach: request.reach, caller: request.caller }).matches;
    if (copies.length > 0) return filed(copies[0]);
    // Those who keep and vouch for the letter (custodian, authenticator) are the sender's: they do not keep the copy.
    const { id: _id, text: _text, custodian: _custodian, authenticator: _authenticator, ...shared } = filedAs;
    const context = isJson(letter.context) ? letter.context : {};
    const copy = { ...shared, context: { ...context, related: [...arrayOf(context.related), { ref: { reference: `DocumentReference/${id}` } }] } };
    return interactions.handle({ ...caller, method: 'POST', path: 'DocumentReference', query: new URLSearchParams(), body: copy }, base);
  });
}

/** The letter's extensions with its subject as sent (none for a letter without subject), replacing an earlier one. */
function keptAsSent(letter: Json): { extension?: unknown[] } {
  const extension = [...arrayOf(letter.extension).filter((kept) => !(isJson(kept) && kept.url === SUBJECT_AS_SENT_URL)), ...(isJson(letter.subject) ? [{ url: SUBJECT_AS_SENT_URL, valueReference: letter.subject }] : [])];
  return extension.length > 0 ? { extension } : {};
}

/** The id of the `Patient/<id>` the Parameters name. */
function patientOf(body: unknown, base: string): string {
  const parameter = arrayOf(isJson(body) && body.resourceType === 'Parameters' ? body.parameter : undefined).find((part) => isJson(part) && part.name === 'patient');
  const patient = localRef(isJson(parameter) ? referenceOf(parameter.valueReference) : undefined, base);
  if (patient?.type !== 'Patient') throw badRequest('attach-patient-missing', '$attach takes a Parameters whose `patient` is a Reference to Patient/<id>', 'patient');
  return patient.id;
}
