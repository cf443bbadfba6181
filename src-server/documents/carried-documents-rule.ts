import type { WriteRule } from '../fhir/rest/extensions';
import { grantingReferencesRule } from './granting-references';
import { arrayOf, isJson, localRef, referenceOf } from './references';

/**
 * A message may only carry documents its writer can already see: the access rules show a DocumentReference to
 * whoever sees a message carrying it (`payload`), so anyone could otherwise post a message naming themselves and
 * another practice's document, and read that document through it (granting-references.ts).
 */
export function carriedDocumentsRule(): WriteRule {
  return grantingReferencesRule({ types: ['Communication', 'CommunicationRequest'], target: 'DocumentReference', expression: (type) => `${type}.payload`, targetsOf: carried });
}

/** Ids of the local DocumentReferences a message's payload references. */
function carried(message: unknown, base: string): string[] {
  return arrayOf(isJson(message) ? message.payload : undefined)
    .filter(isJson)
    .map((payload) => localRef(referenceOf(payload.contentReference), base))
    .filter((ref) => ref?.type === 'DocumentReference')
    .map((ref) => ref!.id);
}
