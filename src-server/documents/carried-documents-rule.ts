import type { WriteRule } from '../rest/extensions';
import { grantingReferencesRule, openedBy } from './granting-references';
import { arrayOf, isJson, referenceOf } from './references';

/**
 * A message may only carry documents its writer can already see: the access rules show a DocumentReference to
 * whoever sees a message carrying it (`payload`), so anyone could otherwise post a message naming themselves and
 * another practice's document, and read that document through it (granting-references.ts).
 */
export function carriedDocumentsRule(): WriteRule {
  return grantingReferencesRule({ types: ['Communication', 'CommunicationRequest'], target: 'DocumentReference', expression: (type) => `${type}.payload`, targetsOf: carried });
}

/** Ids of the DocumentReferences of this node a message's payload opens. */
function carried(message: unknown): string[] {
  return arrayOf(isJson(message) ? message.payload : undefined)
    .filter(isJson)
    .map((payload) => openedBy(referenceOf(payload.contentReference), 'DocumentReference'))
    .filter((id): id is string => id !== undefined);
}
