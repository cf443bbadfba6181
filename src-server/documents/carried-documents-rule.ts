import { unprocessable } from '../fhir/outcome';
import type { WriteRule } from '../fhir/rest/extensions';
import { arrayOf, isJson, localRef, referenceOf } from './references';

/**
 * A message may only carry documents its writer can already see. The access rules show a DocumentReference to
 * whoever sees a message carrying it (`payload`): without this check, anyone could post a message naming
 * themselves and another practice's document, and read that document through it. Checked before the write, while
 * the new message does not show the document yet. A document an earlier version already carried stays allowed.
 */
export function carriedDocumentsRule(): WriteRule {
  return {
    types: ['Communication', 'CommunicationRequest'],
    before({ type, resource, previousResource, request, base, interactions }) {
      if (!request.reach) return;
      const carriedBefore = new Set(previousResource ? carried(previousResource, base) : []);
      for (const id of carried(resource, base)) {
        if (carriedBefore.has(id)) continue;
        const stored = interactions.repository.read('DocumentReference', id);
        if (!stored || !interactions.searchEngine.isVisible(stored, request, base)) {
          throw unprocessable(`DocumentReference/${id} does not exist`, `${type}.payload`);
        }
      }
    },
  };
}

/** Ids of the local DocumentReferences a message's payload references. */
function carried(message: unknown, base: string): string[] {
  return arrayOf(isJson(message) ? message.payload : undefined)
    .filter(isJson)
    .map((payload) => localRef(referenceOf(payload.contentReference), base))
    .filter((ref) => ref?.type === 'DocumentReference')
    .map((ref) => ref!.id);
}
